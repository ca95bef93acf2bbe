package graphsim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// tlsServer serves a handler on a loopback TLS listener and, on close,
// waits for every handler it started.
type tlsServer struct {
	url    string
	srv    *http.Server
	served chan struct{}

	mu       sync.Mutex
	idle     *sync.Cond
	inFlight int
	closed   bool
}

func serveTLS(addr string, h http.Handler, a *authority, log *slog.Logger) (*tlsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	ts := &tlsServer{url: "https://" + ln.Addr().String(), served: make(chan struct{})}
	ts.idle = sync.NewCond(&ts.mu)
	ts.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ts.serve(h, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // TLS handshake noise
	}
	go func() {
		defer close(ts.served)
		err := ts.srv.Serve(tls.NewListener(ln, a.tlsConfig()))
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("graphsim stopped serving", "err", err)
		}
	}()
	return ts, nil
}

func (ts *tlsServer) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	ts.inFlight++
	ts.mu.Unlock()
	defer func() {
		ts.mu.Lock()
		ts.inFlight--
		ts.idle.Broadcast()
		ts.mu.Unlock()
	}()
	h.ServeHTTP(w, r)
}

// close closes the listener and every connection, then waits for the
// handlers; stalled handlers must have been released before.
func (ts *tlsServer) close() {
	_ = ts.srv.Close() // only reports the listener's close error
	<-ts.served
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.closed = true
	for ts.inFlight > 0 {
		ts.idle.Wait()
	}
}
