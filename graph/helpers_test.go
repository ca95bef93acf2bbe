package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// fakeCredentials hands out credentials whose tokens name the credential
// they came from: "token-<credential>-<fetch>".
type fakeCredentials struct {
	built   atomic.Int32
	fetches atomic.Int32
	err     error            // returned by GetToken when set
	ttl     time.Duration    // token lifetime [1h]
	now     func() time.Time // [time.Now]
}

func (f *fakeCredentials) source() credentialSource {
	return credentialSource{mode: "fake", build: func([][]byte) (azcore.TokenCredential, error) {
		return &fakeCredential{parent: f, id: f.built.Add(1)}, nil
	}}
}

type fakeCredential struct {
	parent *fakeCredentials
	id     int32
}

func (c *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.parent.fetches.Add(1)
	if c.parent.err != nil {
		return azcore.AccessToken{}, c.parent.err
	}
	if len(opts.Scopes) != 1 || opts.Scopes[0] != "https://graph.microsoft.com/.default" {
		return azcore.AccessToken{}, fmt.Errorf("unexpected scopes %v", opts.Scopes)
	}
	ttl := c.parent.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	now := time.Now
	if c.parent.now != nil {
		now = c.parent.now
	}
	return azcore.AccessToken{Token: fmt.Sprintf("token-%d-%d", c.id, n), ExpiresOn: now().Add(ttl)}, nil
}

// fakeGraph is an httptest Graph whose handler the test sets; it records
// the Authorization header of each request.
type fakeGraph struct {
	*httptest.Server
	mu      sync.Mutex
	auths   []string
	paths   []string
	handler http.HandlerFunc
}

func newFakeGraph(t *testing.T, h http.HandlerFunc) *fakeGraph {
	t.Helper()
	g := &fakeGraph{handler: h}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.auths = append(g.auths, r.Header.Get("Authorization"))
		g.paths = append(g.paths, r.URL.RequestURI())
		g.mu.Unlock()
		g.handler(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGraph) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auths...)
}

// newTestClient builds a Client for graphURL with fake credentials, the
// real transport (no budget, no jitter) and the real SDK wiring.
func newTestClient(t *testing.T, graphURL string, creds *fakeCredentials, opts transport.Options) *Client {
	t.Helper()
	u, err := url.Parse(graphURL)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := newTokenSource("https://graph.microsoft.com/.default", creds.source(), u.Hostname())
	if err != nil {
		t.Fatal(err)
	}
	opts.BaseURL = u
	if opts.CheckBody == nil {
		opts.CheckBody = transport.CheckPage
	}
	if opts.Random == nil {
		opts.Random = func() float64 { return 0 }
	}
	rt, err := transport.New(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClient(graphURL, tokens, rt, DefaultMaxPages, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
