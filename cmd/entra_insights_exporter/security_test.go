package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/bcrypt"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// canary is a client secret no output may ever contain.
const canary = "Zq8~canary-SECRET-do-not-print.7f3a9c"

// accessToken matches the simulator's access tokens ("graphsim." and 26
// base32 characters), which no output may contain either.
var accessToken = regexp.MustCompile(`graphsim\.[A-Z2-7]{20,}`)

// TestSecretsNeverLeak runs the exporter (a child process) at debug level
// with a distinctive secret from AZURE_CLIENT_SECRET through token errors,
// Graph errors and a failed reload, and greps everything it wrote or served for the secret and
// for access tokens: stdout, stderr, /metrics, the landing page, the health
// endpoints and every error body.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000, ClientSecret: canary})
	caFile, err := sim.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	config := reportsConfig(t, faultReports)
	in := startChild(t, map[string]string{azconf.EnvClientSecret: canary},
		"--log.level=debug",
		"--azure.tenant-id="+sim.TenantID, "--azure.tenant-name=contoso", "--azure.client-id="+sim.ClientID,
		"--azure.authority-host="+sim.AuthorityHost, "--graph.url="+sim.GraphURL, "--graph.ca-file="+caFile,
		"--graph.rate-limit=0", "--insights.refresh-interval=1s", "--insights.refresh-timeout=1s", "--insights.max-age=1m",
		"--config.file="+config, "--web.enable-lifecycle",
	)
	up := func(f map[string]*dto.MetricFamily) bool {
		return sumWhere(f, "entra_insights_tenant_up", map[string]string{"tenant": "contoso"}) == 1
	}
	in.waitUp(t, 1)

	var served []string // every body the exporter answered
	get := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, in.url(path), nil)
		resp, err := noKeepAlive.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		served = append(served, method+" "+path+" "+resp.Status+"\n"+string(body))
	}
	faults := []struct {
		name   string
		fault  graphsim.Fault
		revoke bool
		reason insights.Reason
	}{
		{"invalid_client", graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "invalid_client"}, true, insights.ReasonToken},
		{"expired secret", graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "AADSTS7000222"}, true, insights.ReasonToken},
		{"token endpoint down", graphsim.Fault{Kind: graphsim.FaultTokenDown, Status: 503}, true, insights.ReasonTokenUnreachable},
		{"401", graphsim.Fault{Kind: graphsim.FaultStatus, Status: 401}, false, insights.ReasonUnauthorized},
		{"403", graphsim.Fault{Kind: graphsim.FaultStatus, Status: 403}, false, insights.ReasonForbidden},
		{"429", graphsim.Fault{Kind: graphsim.FaultStatus, Status: 429, RetryAfter: "0.1"}, false, insights.ReasonThrottled},
		{"malformed JSON", graphsim.Fault{Kind: graphsim.FaultMalformedJSON}, false, insights.ReasonBadResponse},
	}
	for _, f := range faults {
		errorsOf := func(m map[string]*dto.MetricFamily) float64 {
			return sumWhere(m, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": string(f.reason)})
		}
		before := errorsOf(in.scrapeFast(t))
		sim.SetFault(f.fault)
		if f.revoke {
			sim.RevokeTokens()
		}
		in.waitScrape(t, 10*time.Second, f.name+" visible", func(m map[string]*dto.MetricFamily) bool {
			return errorsOf(m) > before
		})
		get(http.MethodGet, "/metrics")
		sim.SetFault(graphsim.Fault{})
		in.waitScrape(t, 10*time.Second, "recovery from "+f.name, up)
	}
	for _, path := range []string{"/", "/metrics", "/-/healthy", "/-/ready", "/nonexistent", "/-/reload"} {
		get(http.MethodGet, path)
	}
	if err := os.WriteFile(config, []byte("tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_secret: "+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get(http.MethodPost, "/-/reload") // refused: client_secret is no key of the file

	// The same secret misplaced on the command line or in the config file
	// at start: refused, and the refusal does not repeat it.
	_, stdout1, stderr1 := runCLI(t, t.Context(), "--azure.client-secret="+canary)
	_, stdout2, stderr2 := runCLI(t, t.Context(), "--config.file="+config, "--web.listen-address=127.0.0.1:0")

	outputs := map[string]string{
		"stderr": in.stderr.String(), "stdout": in.stdout.String(), "served": strings.Join(served, "\n"),
		"flag error": stdout1 + stderr1, "config error": stdout2 + stderr2,
	}
	for name, out := range outputs {
		if strings.Contains(out, canary) {
			t.Errorf("the client secret appears in %s:\n%s", name, excerpt(out, canary))
		}
		if tok := accessToken.FindString(out); tok != "" {
			t.Errorf("an access token appears in %s:\n%s", name, excerpt(out, tok))
		}
	}
	if n := len(logLines(in.stderr.String(), "level=DEBUG")); n == 0 {
		t.Error("no debug line logged; the test would not see a secret logged at debug level")
	}
	if !strings.Contains(outputs["served"], "reload failed") {
		t.Errorf("the failed reload's error body was not captured:\n%s", outputs["served"])
	}
	total := 0
	for _, out := range outputs {
		total += len(out)
	}
	t.Logf("checked %d bytes of output: %d of stderr, %d served", total, len(outputs["stderr"]), len(outputs["served"]))
}

// excerpt returns the line of out that contains s.
func excerpt(out, s string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// TestSecretFileRotation rotates the secret in the app registration and
// then in --azure.client-secret-file: the exporter shows the token
// failure, then recovers from the new file without a restart.
func TestSecretFileRotation(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	args := simArgs(t, sim, "")
	var secretFile string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--azure.client-secret-file="); ok {
			secretFile = v
		}
	}
	in := launch(t, append(args, "--graph.rate-limit=0", "--insights.refresh-interval=1s",
		"--insights.refresh-timeout=1s", "--insights.max-age=1m", "--config.file="+reportsConfig(t, faultReports))...)
	tenant := map[string]string{"tenant": "contoso"}
	in.waitUp(t, 1)

	// The secret is rotated in Entra and the old tokens revoked: the old
	// secret in the file no longer gets a token.
	sim.SetClientSecret("rotated-secret")
	sim.RevokeTokens()
	in.waitScrape(t, 10*time.Second, "token failure", func(f map[string]*dto.MetricFamily) bool {
		return sumWhere(f, "entra_insights_tenant_up", tenant) == 0 &&
			sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": "token"}) > 0
	})
	if lines := logLines(in.stderr.String(), "reason=token", "invalid_client: the client secret or certificate is wrong"); len(lines) == 0 {
		t.Errorf("no log line naming the rejected secret")
	}
	tokensBefore := sim.Stats().TokenRequests

	// The operator (or a secret store) updates the file.
	if err := os.WriteFile(secretFile, []byte("rotated-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	in.waitScrape(t, 5*time.Second, "recovery from the new file", func(f map[string]*dto.MetricFamily) bool {
		return sumWhere(f, "entra_insights_tenant_up", tenant) == 1
	})
	t.Logf("recovered %s after the secret file changed, with %d token requests", time.Since(written).Round(time.Millisecond),
		sim.Stats().TokenRequests-tokensBefore)
}

// TestWebConfigTLSAndBasicAuth serves /metrics behind --web.config.file
// with TLS and basic auth and checks it with a real TLS client.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPEM, keyPEM := serverCertificate(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-scrape"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, dir, "web.yml", "tls_server_config:\n"+
		"  cert_file: "+writeFile(t, dir, "cert.pem", string(certPEM))+"\n"+
		"  key_file: "+writeFile(t, dir, "key.pem", string(keyPEM))+"\n"+
		"basic_auth_users:\n  prometheus: "+string(hash)+"\n")
	in := start(t, "--demo", "--web.config.file="+webConfig)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
	base := "https://" + in.addr
	try := func(path, user, password string) (int, string, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	authed := func(path, user, password string) (int, string) {
		t.Helper()
		code, body, err := try(path, user, password)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return code, body
	}
	waitFor(t, 30*time.Second, "the demo tenant up over TLS", func() bool {
		code, body, err := try("/metrics", "prometheus", "s3cret-scrape")
		return err == nil && code == http.StatusOK && strings.Contains(body, `entra_insights_tenant_up{tenant="demo"} 1`)
	})
	for _, tc := range []struct {
		name, path, user, password string
		want                       int
	}{
		{"no credentials", "/metrics", "", "", http.StatusUnauthorized},
		{"wrong password", "/metrics", "prometheus", "guess", http.StatusUnauthorized},
		{"unknown user", "/metrics", "admin", "s3cret-scrape", http.StatusUnauthorized},
		{"landing page without credentials", "/", "", "", http.StatusUnauthorized},
		{"health without credentials", "/-/healthy", "", "", http.StatusUnauthorized},
		{"right credentials", "/metrics", "prometheus", "s3cret-scrape", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := authed(tc.path, tc.user, tc.password)
			if code != tc.want {
				t.Errorf("GET %s: %d, want %d", tc.path, code, tc.want)
			}
			if code != http.StatusOK && strings.Contains(body, "entra_insights_") {
				t.Errorf("GET %s refused with %d but the body has metrics", tc.path, code)
			}
		})
	}
	t.Run("plain HTTP refused", func(t *testing.T) {
		resp, err := noKeepAlive.Get(in.url("/metrics"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "entra_insights_") {
				t.Errorf("plain HTTP: %s with %d bytes, want a refusal", resp.Status, len(body))
			}
		}
	})
	t.Run("untrusted client sees a certificate error", func(t *testing.T) {
		_, err := noKeepAlive.Get(base + "/metrics")
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("GET with the system roots: %v, want a certificate error", err)
		}
	})
}

// serverCertificate returns a certificate and key for 127.0.0.1, valid
// for a day.
func serverCertificate(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key, &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "entra_insights_exporter test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	})
}

// selfSigned signs template with key and returns the certificate and the
// key (PKCS #8), PEM-encoded.
func selfSigned(t *testing.T, key crypto.Signer, template *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// TestGraphCertificatesAreVerified points the exporter at a Graph and at a
// token service whose certificates it does not trust: each fails with a
// clear reason and hint, and the untrusted Graph never receives a request
// (so never a token).
func TestGraphCertificatesAreVerified(t *testing.T) {
	t.Parallel()
	trusted := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	untrusted := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	for _, tc := range []struct {
		name            string
		graph, identity *graphsim.Sim
		reason          insights.Reason
		hint            string
	}{
		{"untrusted Graph", untrusted, trusted, insights.ReasonNetwork, transport.HintTLS},
		{"untrusted token service", trusted, untrusted, insights.ReasonTokenUnreachable, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := simArgs(t, trusted, tc.graph.GraphURL) // trusts the trusted sim's CA only
			args = append(setFlag(args, "azure.authority-host", tc.identity.AuthorityHost), "--graph.rate-limit=0",
				"--insights.refresh-interval=1s", "--insights.refresh-timeout=1s",
				"--config.file="+reportsConfig(t, faultReports[:1]))
			in := launch(t, args...)
			in.waitScrape(t, 10*time.Second, "failure", func(f map[string]*dto.MetricFamily) bool {
				return sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": string(tc.reason)}) > 0
			})
			lines := logLines(in.stderr.String(), `msg="refresh failed"`, "reason="+string(tc.reason))
			if len(lines) == 0 || !strings.Contains(lines[0], tc.hint) {
				t.Errorf("want a log line with reason=%s and hint %q; got %q", tc.reason, tc.hint, lines)
			} else {
				t.Logf("log: %s", lines[0])
			}
			if n := untrusted.Stats().GraphRequests; n != 0 {
				t.Errorf("the untrusted server got %d Graph requests", n)
			}
		})
	}
}
