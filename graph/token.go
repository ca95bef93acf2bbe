package graph

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// refreshMargin: a cached token is replaced this long before it expires.
// It is shorter than MSAL's own 5 minutes, so when we ask, azidentity
// really fetches a new token instead of handing back the old one.
const refreshMargin = 2 * time.Minute

// tokenSource is the kiota AccessTokenProvider of one tenant: a token cache
// in front of the azidentity credential. azidentity cannot evict a token
// Graph rejected, so forget drops the credential with its cache and the
// next request builds a fresh one, which fetches a new token.
type tokenSource struct {
	scope  string
	source credentialSource
	hosts  *absauth.AllowedHostsValidator
	now    func() time.Time

	mu          sync.Mutex // held across a token fetch: one fetch at a time
	cred        azcore.TokenCredential
	fingerprint [sha256.Size]byte // of the files cred was built from
	token       azcore.AccessToken
}

func newTokenSource(scope string, source credentialSource, graphHost string) (*tokenSource, error) {
	hosts, err := absauth.NewAllowedHostsValidatorErrorCheck([]string{graphHost})
	if err != nil {
		return nil, fmt.Errorf("allowed token host: %w", err)
	}
	return &tokenSource{scope: scope, source: source, hosts: hosts, now: time.Now}, nil
}

// GetAuthorizationToken implements absauth.AccessTokenProvider. Requests
// to any host but Graph's get no token (the transport refuses them too).
func (s *tokenSource) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !s.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token.Token != "" && s.now().Before(refreshAt(s.token)) {
		return s.token.Token, nil
	}
	if err := s.loadCredential(); err != nil {
		return "", tokenError(s.source.mode, err)
	}
	token, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		return "", tokenError(s.source.mode, err)
	}
	s.token = token
	return token.Token, nil
}

// GetAllowedHostsValidator implements absauth.AccessTokenProvider.
func (s *tokenSource) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return s.hosts }

// forget drops the cached token and the credential after Graph refused
// the token.
func (s *tokenSource) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = azcore.AccessToken{}
	s.cred = nil
}

// loadCredential (re)builds the credential if there is none yet or its
// files changed since it was built.
func (s *tokenSource) loadCredential() error {
	contents := make([][]byte, len(s.source.files))
	hash := sha256.New()
	for i, name := range s.source.files {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read credential file: %w", err)
		}
		contents[i] = b
		hash.Write(b)
	}
	var fingerprint [sha256.Size]byte
	hash.Sum(fingerprint[:0])
	if s.cred != nil && fingerprint == s.fingerprint {
		return nil
	}
	cred, err := s.source.build(contents)
	if err != nil {
		return fmt.Errorf("build %s credential: %w", s.source.mode, err)
	}
	s.cred, s.fingerprint, s.token = cred, fingerprint, azcore.AccessToken{}
	return nil
}

func refreshAt(t azcore.AccessToken) time.Time {
	at := t.ExpiresOn.Add(-refreshMargin)
	if !t.RefreshOn.IsZero() && t.RefreshOn.Before(at) {
		at = t.RefreshOn
	}
	return at
}

// tokenError classifies a failure to get a token. The message is one line:
// the OAuth error code and the first line of its description (AADSTS
// code), never the raw response, which azidentity prints in full.
func tokenError(mode string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &insights.Error{Reason: insights.ReasonTimeout, Err: fmt.Errorf("get token: %w", err),
			Hint: "the token service did not answer in time: check the network path to the authority host"}
	}
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil {
		return &insights.Error{Reason: insights.ReasonToken, Err: fmt.Errorf("get token: %w", err),
			Hint: fmt.Sprintf("no token from the %s credential: check its configuration", mode)}
	}
	var body struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	payload, _ := runtime.Payload(authErr.RawResponse)
	_ = json.Unmarshal(payload, &body)
	summary := fmt.Sprintf("token service answered HTTP %d", authErr.RawResponse.StatusCode)
	if body.Code != "" {
		summary += ": " + body.Code
	}
	if line, _, _ := strings.Cut(body.Description, "\n"); line != "" {
		summary += ": " + strings.TrimSpace(line)
	}
	return &insights.Error{Reason: insights.ReasonToken, Hint: tokenHint(body.Code, body.Description),
		Err: &conciseError{msg: summary, cause: err}}
}

// tokenHint says what to fix for the OAuth error code of the token service.
func tokenHint(code, description string) string {
	aadsts, _, _ := strings.Cut(description, ":")
	switch {
	case aadsts == "AADSTS7000222":
		return "invalid_client: the client secret has expired; create a new one and update the secret"
	case code == "invalid_client":
		return "invalid_client: the client secret or certificate is wrong or expired; check it and the client id"
	case code == "unauthorized_client" || aadsts == "AADSTS700016":
		return "unauthorized_client: the application (client id) is not found in the tenant; check the client id and tenant id"
	case aadsts == "AADSTS90002" || aadsts == "AADSTS900023":
		return "the tenant is not found: check the tenant id and the cloud (--azure.cloud)"
	case code == "invalid_scope":
		return "invalid_scope: check --graph.scope; it must be the cloud's Graph audience + /.default"
	case code != "":
		return code + ": the token service refused the request; check the tenant id, client id and credential"
	}
	return "the token service refused the request; check the tenant id, client id and credential"
}

// conciseError prints a one-line summary but keeps the full error in the
// chain for errors.As.
type conciseError struct {
	msg   string
	cause error
}

func (e *conciseError) Error() string { return e.msg }
func (e *conciseError) Unwrap() error { return e.cause }
