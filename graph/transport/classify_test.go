package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

var errReset = syscall.ECONNRESET

func TestStatusError(t *testing.T) {
	tests := []struct {
		status int
		reason insights.Reason
		hint   string
	}{
		{401, insights.ReasonUnauthorized, HintUnauthorized},
		{403, insights.ReasonForbidden, HintForbidden},
		{429, insights.ReasonThrottled, HintThrottled},
		{500, insights.ReasonServerError, HintServerError},
		{503, insights.ReasonServerError, HintServerError},
		{504, insights.ReasonServerError, HintServerError},
		{400, insights.ReasonBadRequest, HintBadRequest},
		{404, insights.ReasonBadRequest, HintBadRequest},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			e := StatusError(tt.status, errors.New("Authorization_RequestDenied: Insufficient privileges"))
			if e.Reason != tt.reason || e.Hint != tt.hint || e.Status != tt.status {
				t.Errorf("StatusError(%d) = %+v, want reason %s, hint %q", tt.status, e, tt.reason, tt.hint)
			}
			if insights.ReasonOf(e) != tt.reason || insights.HintOf(e) != tt.hint {
				t.Errorf("ReasonOf/HintOf disagree: %s, %q", insights.ReasonOf(e), insights.HintOf(e))
			}
		})
	}
	if e := StatusError(403, nil); e.Error() != "forbidden (HTTP 403): Forbidden" {
		t.Errorf("without detail: %q", e.Error())
	}
}

// TestTransportOverRealNetwork checks the classification of failures a
// fake cannot produce faithfully: refused connections, untrusted
// certificates and a body that stalls after the headers.
func TestTransportOverRealNetwork(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		tr := mustNew(t, nil, Options{BaseURL: mustParse(t, srv.URL+"/beta"), Random: func() float64 { return 0 }})
		_, err := get(t, t.Context(), tr, srv.URL+"/beta/x")
		if insights.ReasonOf(err) != insights.ReasonNetwork || insights.HintOf(err) != HintNetwork {
			t.Errorf("error %v (reason %s), want network", err, insights.ReasonOf(err))
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		var conns atomic.Int32
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.StartTLS()
		defer srv.Close()
		base := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
		tr := mustNew(t, base, Options{BaseURL: mustParse(t, srv.URL+"/beta"), Random: func() float64 { return 0 }})
		_, err := get(t, t.Context(), tr, srv.URL+"/beta/x")
		if insights.ReasonOf(err) != insights.ReasonNetwork || insights.HintOf(err) != HintTLS {
			t.Errorf("error %v (hint %q), want network with the TLS hint", err, insights.HintOf(err))
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("%d connections, want 1 (no retry)", n)
		}
	})
	t.Run("body stalls after the headers", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			_, _ = w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		tr := mustNew(t, nil, Options{BaseURL: mustParse(t, srv.URL+"/beta"), AttemptTimeout: 50 * time.Millisecond, MaxRetries: -1})
		_, err := get(t, t.Context(), tr, srv.URL+"/beta/x")
		if insights.ReasonOf(err) != insights.ReasonTimeout {
			t.Errorf("error %v (reason %s), want timeout: the attempt reads the whole body", err, insights.ReasonOf(err))
		}
	})
	t.Run("connection reset in the body is retried", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Content-Length", "100")
				_, _ = w.Write([]byte(`{"value":[`))
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // closes the connection mid-body
			}
			_, _ = w.Write([]byte(`{"value":[]}`))
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		defer srv.Close()
		tr := mustNew(t, nil, Options{BaseURL: mustParse(t, srv.URL+"/beta"), Random: func() float64 { return 0 }})
		resp, err := get(t, t.Context(), tr, srv.URL+"/beta/x")
		if err != nil {
			t.Fatalf("error %v, want the retry's answer", err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(body) != `{"value":[]}` || calls.Load() != 2 {
			t.Errorf("body %q after %d calls, want the second answer", body, calls.Load())
		}
	})
}
