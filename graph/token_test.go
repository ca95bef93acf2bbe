package graph

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTokenSourceCachesAndRefreshesBeforeExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	creds := &fakeCredentials{ttl: time.Hour, now: clock}
	s, err := newTokenSource("https://graph.microsoft.com/.default", creds.source(), "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock
	u := mustURL(t, "https://graph.example/beta/reports")
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "token-1-1"},
		{30 * time.Minute, "token-1-1"}, // cached
		{27 * time.Minute, "token-1-1"}, // 3 minutes left: still cached
		{90 * time.Second, "token-1-2"}, // 90 s left: refreshed from the same credential
		{time.Minute, "token-1-2"},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		got, err := s.GetAuthorizationToken(t.Context(), u, nil)
		if err != nil || got != st.want {
			t.Errorf("step %d: token %q, %v; want %q", i, got, err, st.want)
		}
	}
	s.forget()
	if got, _ := s.GetAuthorizationToken(t.Context(), u, nil); got != "token-2-3" {
		t.Errorf("after forget: %q, want a token of a new credential", got)
	}
}

func TestTokenSourceOnlyServesTheGraphHost(t *testing.T) {
	creds := &fakeCredentials{}
	s, err := newTokenSource("https://graph.microsoft.com/.default", creds.source(), "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"https://evil.example/beta", "https://graph.example.evil/beta"} {
		if got, err := s.GetAuthorizationToken(t.Context(), mustURL(t, raw), nil); got != "" || err != nil {
			t.Errorf("%s got token %q, %v", raw, got, err)
		}
	}
	if creds.fetches.Load() != 0 {
		t.Error("a token was fetched for a foreign host")
	}
	if got, _ := s.GetAuthorizationToken(t.Context(), mustURL(t, "https://GRAPH.example:443/beta"), nil); got == "" {
		t.Error("no token for the Graph host")
	}
}

// TestTokenSourceRereadsChangedFiles rotates a secret file and checks the
// credential is rebuilt from the new content at the next token fetch.
func TestTokenSourceRereadsChangedFiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first\n")
	var mu sync.Mutex
	var builtWith []string
	creds := &fakeCredentials{}
	source := credentialSource{mode: AuthClientSecret, files: []string{file},
		build: func(contents [][]byte) (azcore.TokenCredential, error) {
			mu.Lock()
			builtWith = append(builtWith, string(contents[0]))
			mu.Unlock()
			return creds.source().build(nil)
		}}
	s, err := newTokenSource("https://graph.microsoft.com/.default", source, "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	u := mustURL(t, "https://graph.example/beta")
	fetch := func() string {
		t.Helper()
		tok, err := s.GetAuthorizationToken(t.Context(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	fetch()
	s.forget() // e.g. a 401; the file is unchanged: the credential is rebuilt anyway
	fetch()
	write("second\n")
	if got := fetch(); got != "token-2-2" {
		t.Errorf("cached token %q should still be used until it expires or is refused", got)
	}
	s.forget()
	fetch()
	if want := []string{"first\n", "first\n", "second\n"}; strings.Join(builtWith, "|") != strings.Join(want, "|") {
		t.Errorf("credential built with %q, want %q", builtWith, want)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	s.forget()
	_, err = s.GetAuthorizationToken(t.Context(), u, nil)
	if insights.ReasonOf(err) != insights.ReasonToken {
		t.Errorf("missing secret file: error %v, want a token error", err)
	}
}

func TestTokenHint(t *testing.T) {
	tests := []struct {
		code, description, want string
	}{
		{"invalid_client", "AADSTS7000215: Invalid client secret provided.", "invalid_client: the client secret or certificate is wrong or expired; check it and the client id"},
		{"invalid_client", "AADSTS7000222: The provided client secret keys are expired.", "invalid_client: the client secret has expired; create a new one and update the secret"},
		{"unauthorized_client", "AADSTS700016: Application not found", "unauthorized_client: the application (client id) is not found in the tenant; check the client id and tenant id"},
		{"invalid_request", "AADSTS90002: Tenant 'x' not found.", "the tenant is not found: check the tenant id and the cloud (--azure.cloud)"},
		{"invalid_scope", "AADSTS1002012: scope is not valid", "invalid_scope: check --graph.scope; it must be the cloud's Graph audience + /.default"},
		{"temporarily_unavailable", "", "temporarily_unavailable: the token service refused the request; check the tenant id, client id and credential"},
		{"", "", "the token service refused the request; check the tenant id, client id and credential"},
	}
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.description, func(t *testing.T) {
			if got := tokenHint(tt.code, tt.description); got != tt.want {
				t.Errorf("tokenHint = %q, want %q", got, tt.want)
			}
		})
	}
}
