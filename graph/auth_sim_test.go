package graph_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

var userCount = insights.Report{Granularity: insights.Daily, Name: insights.UserCount}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecretFileRotation starts with a wrong secret in the file, then
// rotates in the right one: the next fetch uses it without a restart.
func TestSecretFileRotation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "client-secret")
	writeFile(t, file, []byte("wrong-secret\n"))
	sim, c, _ := simClient(t, func(c *graph.Config) {
		c.ClientSecret, c.ClientSecretFile = "", file
	})
	_, err := c.Fetch(t.Context(), userCount)
	if insights.ReasonOf(err) != insights.ReasonToken {
		t.Fatalf("wrong secret: error %v, want a token error", err)
	}
	writeFile(t, file, []byte(sim.ClientSecret+"\n"))
	if _, err := c.Fetch(t.Context(), userCount); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// selfSignedPEM returns a certificate and its key in one PEM file, as
// azidentity.ParseCertificates reads it.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // azidentity wants RSA
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
}

func TestOtherAuthModesAgainstSimulator(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "client.pem")
	writeFile(t, certFile, selfSignedPEM(t))
	// A federated token as the workload identity webhook mounts it; the
	// simulator checks its audience only.
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"api://AzureADTokenExchange","sub":"system:serviceaccount:monitoring:exporter"}`))
	tokenFile := filepath.Join(dir, "federated-token")
	writeFile(t, tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9."+payload+".c2lnbmF0dXJl"))

	tests := []struct {
		name string
		edit func(*graph.Config)
	}{
		{"client certificate", func(c *graph.Config) {
			c.AuthMode, c.ClientSecret, c.ClientCertificateFile = azconf.AuthClientCertificate, "", certFile
		}},
		{"auto picks the certificate", func(c *graph.Config) {
			c.ClientSecret, c.ClientCertificateFile = "", certFile
		}},
		{"auto picks workload identity, as the AKS webhook's environment has it", func(c *graph.Config) {
			c.ClientSecret, c.FederatedTokenFile = "", tokenFile
		}},
		{"workload identity", func(c *graph.Config) {
			c.AuthMode, c.ClientSecret, c.FederatedTokenFile = azconf.AuthWorkloadIdentity, "", tokenFile
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := simClient(t, tt.edit)
			rows, err := c.Fetch(t.Context(), userCount)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 || sim.Stats().TokenRequests != 1 {
				t.Errorf("%d rows, %d token requests", len(rows), sim.Stats().TokenRequests)
			}
		})
	}
}

// TestBudgetApplies checks the client spends the shared budget unless it
// is disabled: three pages at one request per 100 ms take at least 200 ms.
func TestBudgetApplies(t *testing.T) {
	limiters := transport.NewLimitersWith(transport.Limit{Requests: 1, Window: 100 * time.Millisecond},
		transport.Limit{Requests: 100, Window: time.Second}, time.Now)
	sim, _, _ := simClient(t, nil)
	c := graphsimtest.Client(t, sim, func(c *graph.Config) { c.DisableBudget = false }, graph.Deps{Limiters: limiters})
	report := insights.Report{Granularity: insights.Daily, Name: insights.MFATelecomFraud}
	begin := time.Now()
	rows, err := c.Fetch(t.Context(), report)
	if err != nil {
		t.Fatal(err)
	}
	pages := pagesNeeded(len(rows))
	if pages < 2 {
		t.Fatalf("only %d page; the test needs several", pages)
	}
	if least := time.Duration(pages-1) * 100 * time.Millisecond; time.Since(begin) < least {
		t.Errorf("%d pages took %v, less than the budget allows (%v)", pages, time.Since(begin), least)
	}
}
