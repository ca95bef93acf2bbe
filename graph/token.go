package graph

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// refreshMargin: a cached token is replaced this long before it expires.
// It is shorter than MSAL's own 5 minutes, so when we ask, azidentity
// really fetches a new token instead of handing back the old one.
const refreshMargin = 2 * time.Minute

// failureReuse is how long a failed token fetch answers further requests:
// the reports of one refresh ask at the same moment, and one failing
// request to the token service is enough for all of them. It is shorter
// than the shortest refresh interval, so the next refresh asks again.
const failureReuse = 500 * time.Millisecond

// refusedCooldown is how long a token fetched to replace one Graph refused
// is not replaced again when Graph refuses it too: a third token would be
// refused as well, and the failure is what the operator must see. After
// it, a refusal gets one new token again (e.g. at the next refresh).
const refusedCooldown = time.Minute

// tokenSource is the kiota AccessTokenProvider of one tenant: a token cache
// in front of the azidentity credential. azidentity cannot evict a token
// Graph rejected, so refused drops the credential with its cache and the
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
	serial      uint64    // counts the tokens fetched; names the cached one
	obtained    time.Time // when the cached token was fetched
	replacement bool      // the cached token replaced one Graph refused
	replacing   bool      // the next token replaces one Graph refused
	failure     error     // of the last fetch, until failedAt+failureReuse
	failedAt    time.Time
}

func newTokenSource(scope string, source credentialSource, graphHost string) (*tokenSource, error) {
	hosts, err := absauth.NewAllowedHostsValidatorErrorCheck([]string{graphHost})
	if err != nil {
		return nil, fmt.Errorf("allowed token host: %w", err)
	}
	return &tokenSource{scope: scope, source: source, hosts: hosts, now: time.Now}, nil
}

// tokenUseKey carries a *tokenUse in a request's context.
type tokenUseKey struct{}

// tokenUse records which token a request carried, so that Graph's 401
// drops that token and not a newer one another report already fetched.
type tokenUse struct{ serial uint64 }

// withTokenUse returns ctx carrying u for GetAuthorizationToken to fill.
func withTokenUse(ctx context.Context, u *tokenUse) context.Context {
	return context.WithValue(ctx, tokenUseKey{}, u)
}

// GetAuthorizationToken implements absauth.AccessTokenProvider. Requests
// to any host but Graph's get no token (the transport refuses them too).
func (s *tokenSource) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !s.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	token, err := s.current(ctx)
	if use, ok := ctx.Value(tokenUseKey{}).(*tokenUse); ok && err == nil {
		use.serial = s.serial
	}
	return token, err
}

// current returns the cached token, or fetches a new one. s.mu is held.
func (s *tokenSource) current(ctx context.Context) (string, error) {
	if s.token.Token != "" && s.now().Before(refreshAt(s.token)) {
		return s.token.Token, nil
	}
	if err := s.loadCredential(); err != nil {
		return "", tokenError(ctx, s.source.mode, err)
	}
	if s.failure != nil && s.now().Before(s.failedAt.Add(failureReuse)) {
		return "", s.failure
	}
	token, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		s.failure, s.failedAt = tokenError(ctx, s.source.mode, err), s.now()
		return "", s.failure
	}
	s.token, s.serial, s.obtained, s.failure = token, s.serial+1, s.now(), nil
	s.replacement, s.replacing = s.replacing, false
	return token.Token, nil
}

// GetAllowedHostsValidator implements absauth.AccessTokenProvider.
func (s *tokenSource) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return s.hosts }

// refused handles Graph's 401 for a request that carried token number
// serial, and reports whether sending it again may help. A token another
// request already replaced is not dropped twice; a replacement that Graph
// refuses as well is kept for refusedCooldown, and the failure stands.
func (s *tokenSource) refused(serial uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case serial != s.serial || s.token.Token == "":
		return true // replaced or dropped since: retry with what comes next
	case s.replacement && s.now().Before(s.obtained.Add(refusedCooldown)):
		return false
	}
	s.drop()
	s.replacing = true
	return true
}

// accepted notes that Graph accepted token number serial: if it was a
// replacement, it has proved good, and a later refusal (another
// revocation) gets one new token again.
func (s *tokenSource) accepted(serial uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if serial == s.serial {
		s.replacement = false
	}
}

// forget drops the cached token and the credential.
func (s *tokenSource) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
}

// drop forgets the token and the credential, whose cache would hand the
// same token back. s.mu is held.
func (s *tokenSource) drop() {
	s.token = azcore.AccessToken{}
	s.cred = nil
}

// loadCredential (re)builds the credential if there is none yet or its
// files changed since it was built. A changed file (a rotated secret) is
// tried at once, even right after a failed fetch.
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
	if fingerprint != s.fingerprint {
		s.failure = nil
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

// tokenError classifies a failure to get a token: reason token when the
// token service refused the credential, token_unreachable when it could not
// be reached or failed, so token trouble is told apart from Graph's and a
// network outage from a bad secret. The message is one line: the
// OAuth error code and the first line of its description (AADSTS code),
// never the raw response, which azidentity prints in full.
func tokenError(ctx context.Context, mode string, err error) error {
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil {
		reason := insights.ReasonToken
		hint := fmt.Sprintf("no token from the %s credential: check that the authority host "+
			"(--azure.authority-host or the cloud's) answers, and the credential's configuration", mode)
		var pathErr *fs.PathError
		switch {
		case errors.As(err, &pathErr): // a credential file: configuration, not the network
		case transport.IsCertificateError(err) || strings.Contains(err.Error(), "x509: "):
			// azidentity often keeps only the text of the cause.
			reason = insights.ReasonTokenUnreachable
			hint = "the token service certificate is not trusted: add its CA with --graph.ca-file or SSL_CERT_FILE"
		case ctx.Err() != nil || isNetworkError(err):
			// azcore retries a token service that fails or cannot be
			// reached until the refresh deadline.
			reason = insights.ReasonTokenUnreachable
			hint = "the token service did not answer in time or could not be reached: check the network path " +
				"(DNS, proxy, firewall) to the authority host (--azure.authority-host or the cloud's); the next refresh tries again"
		}
		return &insights.Error{Reason: reason, Hint: hint,
			Err: &conciseError{msg: "get token: " + azconf.OneLine(err.Error()), cause: err}}
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
	reason, hint := insights.ReasonToken, tokenHint(body.Code, body.Description)
	if authErr.RawResponse.StatusCode >= 500 {
		reason = insights.ReasonTokenUnreachable
		hint = "the token service is failing (HTTP " + strconv.Itoa(authErr.RawResponse.StatusCode) + "); the next refresh tries again"
	}
	return &insights.Error{Reason: reason, Hint: hint, Err: &conciseError{msg: summary, cause: err}}
}

// isNetworkError reports whether err is a failure to reach a server.
func isNetworkError(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
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
