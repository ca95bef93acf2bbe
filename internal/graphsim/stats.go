package graphsim

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Stats counts the requests the simulator has seen since it started or
// since ResetStats.
type Stats struct {
	GraphRequests    int // requests below /beta and /v1.0, failed ones included
	Authorized       int // Graph requests that carried a valid bearer token
	Throttled        int // Graph requests refused by the throttle
	Faulted          int // Graph requests hit by a fault
	TokenRequests    int // requests to the token endpoint
	MetadataRequests int // OpenID configuration and instance discovery requests
	// ByPath counts requests per path: Graph report paths in Graph's
	// spelling below the version (insights.Report.Path(), + "/$count", +
	// "/{id}"), other paths as sent.
	ByPath map[string]int
	// Scopes counts the scope values of token requests.
	Scopes map[string]int
	// Requests are the newest Graph requests, oldest first (at most
	// maxLoggedRequests).
	Requests []Request
}

// Request is one Graph request as received.
type Request struct {
	At              time.Time // Options.Wall when it arrived
	Method          string
	Path            string // as sent
	Query           string // raw, as sent
	Tenant          string // of the bearer token, "" when unauthorised
	Authorized      bool
	ClientRequestID string
}

// maxLoggedRequests bounds Stats.Requests, so that a long demo run does not
// grow without end.
const maxLoggedRequests = 1000

// recorder is the mutable state behind Stats. Everything is recorded when
// a request arrives, before its answer, so a client that has its answer
// sees its request counted.
type recorder struct {
	mu sync.Mutex
	s  Stats
}

func newRecorder() *recorder {
	r := &recorder{}
	r.reset()
	return r
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = Stats{ByPath: map[string]int{}, Scopes: map[string]int{}}
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.ByPath = maps.Clone(r.s.ByPath)
	s.Scopes = maps.Clone(r.s.Scopes)
	s.Requests = slices.Clone(r.s.Requests)
	return s
}

func (r *recorder) graph(req *http.Request, key, tenant string, authorized bool, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.GraphRequests++
	r.s.ByPath[key]++
	if authorized {
		r.s.Authorized++
	}
	if len(r.s.Requests) == maxLoggedRequests {
		r.s.Requests = slices.Delete(r.s.Requests, 0, 1)
	}
	r.s.Requests = append(r.s.Requests, Request{
		At: at, Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Tenant: tenant,
		Authorized: authorized, ClientRequestID: req.Header.Get("client-request-id"),
	})
}

func (r *recorder) token(path, scope string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.TokenRequests++
	r.s.ByPath[path]++
	if scope != "" {
		r.s.Scopes[scope]++
	}
}

func (r *recorder) metadata(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.MetadataRequests++
	r.s.ByPath[path]++
}

func (r *recorder) throttled() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Throttled++
}

func (r *recorder) faulted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Faulted++
}
