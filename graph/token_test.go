package graph

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
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
	source := credentialSource{mode: azconf.AuthClientSecret, files: []string{file},
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

// TestTokenSourceRefused walks through Graph refusing tokens: the first
// refusal of a token gets one new token; a refused replacement stands for
// refusedCooldown; a refusal of a token already replaced retries with the
// newer one without fetching.
func TestTokenSourceRefused(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	creds := &fakeCredentials{now: clock}
	s, err := newTokenSource("https://graph.microsoft.com/.default", creds.source(), "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock
	u := mustURL(t, "https://graph.example/beta")
	get := func() uint64 {
		t.Helper()
		var use tokenUse
		if _, err := s.GetAuthorizationToken(withTokenUse(t.Context(), &use), u, nil); err != nil {
			t.Fatal(err)
		}
		return use.serial
	}
	first := get()
	if !s.refused(first) {
		t.Fatal("first refusal: no retry")
	}
	second := get()
	if second == first || creds.fetches.Load() != 2 {
		t.Fatalf("after the first refusal: serial %d (was %d), %d fetches; want a new token", second, first, creds.fetches.Load())
	}
	if !s.refused(first) || get() != second {
		t.Error("a late refusal of the replaced token should retry with the current one, not drop it")
	}
	if s.refused(second) {
		t.Error("the replacement was refused too: want no further retry")
	}
	if get() != second || creds.fetches.Load() != 2 {
		t.Errorf("%d fetches; a refused replacement must not be replaced within the cooldown", creds.fetches.Load())
	}
	now = now.Add(refusedCooldown + time.Second)
	if !s.refused(second) || get() == second || creds.fetches.Load() != 3 {
		t.Errorf("after the cooldown a refusal should get one new token (%d fetches)", creds.fetches.Load())
	}
	third := get()
	now = now.Add(2 * time.Hour) // expired and refreshed: an ordinary token again
	fourth := get()
	if fourth == third || !s.refused(fourth) {
		t.Error("a refreshed token that Graph refuses should be replaced once")
	}
}

// TestTokenSourceReusesAFailureBriefly checks that the reports of one
// refresh share a failed fetch, the next refresh asks again, and a rotated
// secret file is tried at once.
func TestTokenSourceReusesAFailureBriefly(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := &fakeCredentials{now: clock, err: errors.New("invalid_client")}
	source := creds.source()
	source.files = []string{file}
	s, err := newTokenSource("https://graph.microsoft.com/.default", source, "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	s.now = clock
	u := mustURL(t, "https://graph.example/beta")
	for i := range 4 { // four reports at once
		if _, err := s.GetAuthorizationToken(t.Context(), u, nil); insights.ReasonOf(err) != insights.ReasonToken {
			t.Fatalf("request %d: %v, want a token error", i, err)
		}
	}
	if n := creds.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for four requests at once, want 1", n)
	}
	now = now.Add(time.Second) // the next refresh
	_, _ = s.GetAuthorizationToken(t.Context(), u, nil)
	if n := creds.fetches.Load(); n != 2 {
		t.Errorf("%d fetches after a second, want 2", n)
	}
	if err := os.WriteFile(file, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _ = s.GetAuthorizationToken(t.Context(), u, nil)
	if n := creds.fetches.Load(); n != 3 {
		t.Errorf("%d fetches right after the secret file changed, want 3", n)
	}
}

// TestTokenSourceAcceptedReplacement checks that a replacement Graph has
// accepted is replaced once again after another revocation.
func TestTokenSourceAcceptedReplacement(t *testing.T) {
	creds := &fakeCredentials{}
	s, err := newTokenSource("https://graph.microsoft.com/.default", creds.source(), "graph.example")
	if err != nil {
		t.Fatal(err)
	}
	u := mustURL(t, "https://graph.example/beta")
	get := func() uint64 {
		t.Helper()
		var use tokenUse
		if _, err := s.GetAuthorizationToken(withTokenUse(t.Context(), &use), u, nil); err != nil {
			t.Fatal(err)
		}
		return use.serial
	}
	s.refused(get()) // revoked
	replacement := get()
	s.accepted(replacement) // Graph took it
	if !s.refused(replacement) || get() == replacement {
		t.Error("a replacement Graph accepted, then refused after another revocation, should be replaced")
	}
}

func TestRetryTokenRequest(t *testing.T) {
	tests := []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"503", 503, nil, true},
		{"429", 429, nil, true},
		{"401 invalid_client", 401, nil, false},
		{"400", 400, nil, false},
		{"connection refused", 0, syscall.ECONNREFUSED, true},
		{"untrusted certificate", 0, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.err == nil {
				resp = &http.Response{StatusCode: tt.status}
			}
			if got := retryTokenRequest(resp, tt.err); got != tt.want {
				t.Errorf("retryTokenRequest = %v, want %v", got, tt.want)
			}
		})
	}
}
