package transport

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// step is one scripted outcome of fakeBase.
type step struct {
	status     int
	retryAfter string
	body       string
	unsized    bool  // send no Content-Length
	err        error // returned instead of a response
	stall      bool  // block until the attempt's context ends
	json       bool  // send Content-Type: application/json
}

// fakeBase is a scripted http.RoundTripper that records what it was sent
// and whether every body it handed out was closed.
type fakeBase struct {
	mu       sync.Mutex
	steps    []step
	requests []*http.Request
	sent     []string // request bodies
	bodies   []*trackedBody
}

func newFakeBase(steps ...step) *fakeBase { return &fakeBase{steps: steps} }

func (f *fakeBase) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		_ = req.Body.Close()
		f.sent = append(f.sent, string(b))
	}
	if len(f.steps) == 0 {
		f.mu.Unlock()
		panic("fakeBase: no step left for " + req.URL.String())
	}
	s := f.steps[0]
	f.steps = f.steps[1:]
	f.mu.Unlock()

	switch {
	case s.stall:
		<-req.Context().Done()
		return nil, req.Context().Err()
	case s.err != nil:
		return nil, s.err
	}
	body := &trackedBody{Reader: strings.NewReader(s.body)}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	resp := &http.Response{StatusCode: s.status, Header: http.Header{}, Body: body, Request: req,
		ContentLength: int64(len(s.body))}
	if s.unsized {
		resp.ContentLength = -1
	}
	if s.retryAfter != "" {
		resp.Header.Set("Retry-After", s.retryAfter)
	}
	resp.Header.Set("Content-Length", strconv.Itoa(len(s.body)))
	if s.json {
		resp.Header.Set("Content-Type", "application/json;odata.metadata=minimal;charset=utf-8")
	}
	return resp, nil
}

func (f *fakeBase) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// openBodies counts response bodies not closed yet.
func (f *fakeBase) openBodies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.bodies {
		if !b.closed.Load() {
			n++
		}
	}
	return n
}

type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

func mustNew(t *testing.T, base http.RoundTripper, opts Options) *Transport {
	t.Helper()
	if opts.BaseURL == nil {
		opts.BaseURL = mustParse(t, "https://graph.example/beta")
	}
	if opts.Random == nil {
		opts.Random = func() float64 { return 0.5 }
	}
	tr, err := New(base, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}
