package graphsim

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the simulated Graph and token service on one handler. Its
// faults, tokens and counters may be changed from any goroutine.
type Server struct {
	opts     Options
	log      *slog.Logger
	tenants  map[string]string // lower-case tenant id → as configured
	tokens   *tokenStore
	faults   *faultSwitch
	stats    *recorder
	throttle *throttle
	secret   atomic.Pointer[string] // the client secret the token service accepts
	retired  atomic.Int32           // the Retirement mode
	logs     *logCache
	// reportFacts caches generated report rows; read only.
	reportFacts *factCache

	done      chan struct{} // closed by Close: releases stalled requests
	closeOnce sync.Once
}

var _ http.Handler = (*Server)(nil)

// New returns a simulator configured by opts.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:        opts,
		log:         opts.Logger,
		tenants:     map[string]string{},
		tokens:      newTokenStore(),
		faults:      &faultSwitch{},
		stats:       newRecorder(),
		throttle:    newThrottle(throttleLimit, throttleWindow),
		done:        make(chan struct{}),
		logs:        &logCache{},
		reportFacts: &factCache{},
	}
	s.retired.Store(int32(opts.Retirement))
	for _, id := range append([]string{opts.TenantID}, opts.Tenants...) {
		s.tenants[strings.ToLower(id)] = id
	}
	s.secret.Store(&opts.ClientSecret)
	return s
}

// ServeHTTP answers Graph requests below /beta (and /v1.0) and token service
// requests below /{tenant}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Wall()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", sw.status, "duration", s.opts.Wall().Sub(start))
	}()
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case strings.EqualFold(first, "beta"), strings.EqualFold(first, "v1.0"):
		s.serveGraph(sw, r)
	default:
		s.serveIdentity(sw, r)
	}
}

// Close releases requests held by FaultStall or a fault's Delay, at once and
// from then on. The handler still answers; Sim.Close calls it.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// SetFault replaces the current fault; Fault{} clears it.
func (s *Server) SetFault(f Fault) { s.faults.set(f) }

// SetRetirement switches how the userInsights reports answer (see
// Retirement); the activity logs are not affected.
func (s *Server) SetRetirement(r Retirement) { s.retired.Store(int32(r)) }

// Retirement returns the current retirement mode.
func (s *Server) Retirement() Retirement { return Retirement(s.retired.Load()) }

// SetClientSecret makes the token service accept secret, and no longer
// the one before, as after a rotation in the app registration. Tokens
// issued before stay valid.
func (s *Server) SetClientSecret(secret string) { s.secret.Store(&secret) }

// RevokeTokens makes Graph reject every token issued so far with 401
// InvalidAuthenticationToken, as after a secret rotation or a revocation.
func (s *Server) RevokeTokens() { s.tokens.revokeAll() }

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats sets every counter to zero.
func (s *Server) ResetStats() { s.stats.reset() }

// wait blocks for d, and reports false if the request ended or the server
// closed first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets stalled and streamed bodies reach the client.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newID returns a random GUID for request and correlation ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, per crypto/rand
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// baseURL is the scheme and host the client used, for absolute links.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
