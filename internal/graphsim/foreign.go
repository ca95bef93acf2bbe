package graphsim

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// ForeignServer is another TLS host:port, trusted through the same CA as
// its Sim, that records what it receives: the target of
// FaultNextLinkForeign. A client that follows a foreign nextLink with its
// Graph token would leak the token here.
type ForeignServer struct {
	URL string // https://127.0.0.1:PORT, a port other than the Sim's

	tls   *tlsServer
	mu    sync.Mutex
	auths []string
}

// ListenForeign starts a ForeignServer on 127.0.0.1 that lives until its
// Close. It answers every request with an empty page.
func (s *Sim) ListenForeign() (*ForeignServer, error) {
	f := &ForeignServer{}
	ts, err := serveTLS("127.0.0.1:0", http.HandlerFunc(f.serve), s.authority, s.log)
	if err != nil {
		return nil, fmt.Errorf("start foreign server: %w", err)
	}
	f.tls = ts
	f.URL = ts.url
	return f, nil
}

// Close closes the listener and every connection and waits for the handlers.
func (f *ForeignServer) Close() { f.tls.close() }

func (f *ForeignServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", jsonContentType)
	_, _ = w.Write([]byte(`{"value":[]}`))
}

// Requests returns how many requests arrived.
func (f *ForeignServer) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.auths)
}

// Authorizations returns the Authorization header of every request, ""
// where there was none.
func (f *ForeignServer) Authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.auths)
}

// Fault returns the fault that points nextLinks at f.
func (f *ForeignServer) Fault() Fault {
	return Fault{Kind: FaultNextLinkForeign, ForeignURL: f.URL}
}
