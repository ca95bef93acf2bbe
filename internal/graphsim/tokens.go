package graphsim

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenStore remembers the access tokens the token service issued.
type tokenStore struct {
	mu     sync.Mutex
	grants map[string]grant
}

type grant struct {
	tenant  string
	expires time.Time // Wall clock
	revoked bool
}

func newTokenStore() *tokenStore { return &tokenStore{grants: map[string]grant{}} }

// issue returns a new opaque token for tenant.
func (ts *tokenStore) issue(tenant string, expires time.Time) string {
	token := "graphsim." + rand.Text()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.grants[token] = grant{tenant: tenant, expires: expires}
	return token
}

// check returns the tenant of a valid token, or the reason Graph gives for
// refusing it.
func (ts *tokenStore) check(token string, now time.Time) (tenant, problem string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.grants[token]
	switch {
	case !ok:
		return "", "CompactToken parsing failed with error code: 80049217"
	case g.revoked, !now.Before(g.expires):
		return "", "Lifetime validation failed, the token is expired."
	}
	return g.tenant, ""
}

func (ts *tokenStore) revokeAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for token, g := range ts.grants {
		g.revoked = true
		ts.grants[token] = g
	}
}

// authorize checks the bearer token of a Graph request. It returns the
// token's tenant, or the message of Graph's 401.
func (s *Server) authorize(r *http.Request) (tenant, problem string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "Access token is empty."
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", "Access token validation failure. Invalid scheme."
	}
	return s.tokens.check(token, s.opts.Wall())
}
