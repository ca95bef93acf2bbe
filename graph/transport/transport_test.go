package transport

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func get(t *testing.T, ctx context.Context, tr http.RoundTripper, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

const reportURL = "https://graph.example/beta/reports/userInsights/daily/activeUsers"

func TestTransportRetries(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: reportURL, Err: syscall.ECONNREFUSED}
	tests := []struct {
		name         string
		steps        func(now time.Time) []step
		deadline     time.Duration // 0: none
		wantStatus   int           // 0: want an error
		wantReason   insights.Reason
		wantAttempts int
		wantElapsed  time.Duration
	}{
		{
			name:       "429 with integer Retry-After",
			steps:      fixed(step{status: 429, retryAfter: "3"}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 3 * time.Second,
		},
		{
			name:       "429 with fractional Retry-After",
			steps:      fixed(step{status: 429, retryAfter: "2.128"}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 2128 * time.Millisecond,
		},
		{
			name: "429 with HTTP-date Retry-After",
			steps: func(now time.Time) []step {
				return []step{{status: 429, retryAfter: now.Add(4 * time.Second).UTC().Format(http.TimeFormat)}, {status: 200}}
			},
			wantStatus: 200, wantAttempts: 2, wantElapsed: 4 * time.Second,
		},
		{
			name:       "503 without Retry-After backs off with jitter",
			steps:      fixed(step{status: 503}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 500 * time.Millisecond,
		},
		{
			name:       "504 twice: backoff doubles",
			steps:      fixed(step{status: 504}, step{status: 504}, step{status: 200}),
			wantStatus: 200, wantAttempts: 3, wantElapsed: 1500 * time.Millisecond,
		},
		{
			name: "429 every time: the last response after 4 retries",
			steps: fixed(step{status: 429, retryAfter: "1"}, step{status: 429, retryAfter: "1"},
				step{status: 429, retryAfter: "1"}, step{status: 429, retryAfter: "1"}, step{status: 429, retryAfter: "1"}),
			wantStatus: 429, wantAttempts: 5, wantElapsed: 4 * time.Second,
		},
		{
			name:       "500 is retried once",
			steps:      fixed(step{status: 500}, step{status: 500}, step{status: 200}),
			wantStatus: 500, wantAttempts: 2, wantElapsed: 500 * time.Millisecond,
		},
		{
			name:       "502 then success",
			steps:      fixed(step{status: 502}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 500 * time.Millisecond,
		},
		{name: "400 is not retried", steps: fixed(step{status: 400}), wantStatus: 400, wantAttempts: 1},
		{name: "401 is not retried", steps: fixed(step{status: 401}), wantStatus: 401, wantAttempts: 1},
		{name: "403 is not retried", steps: fixed(step{status: 403}), wantStatus: 403, wantAttempts: 1},
		{name: "404 is not retried", steps: fixed(step{status: 404}), wantStatus: 404, wantAttempts: 1},
		{
			name:       "connection refused then success",
			steps:      fixed(step{err: refused}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 500 * time.Millisecond,
		},
		{
			name: "connection reset every time",
			steps: fixed(step{err: syscall.ECONNRESET}, step{err: syscall.ECONNRESET}, step{err: syscall.ECONNRESET},
				step{err: syscall.ECONNRESET}, step{err: syscall.ECONNRESET}),
			wantReason: insights.ReasonNetwork, wantAttempts: 5,
			wantElapsed: (500 + 1000 + 2000 + 4000) * time.Millisecond,
		},
		{
			name:       "EOF before the response is retried",
			steps:      fixed(step{err: io.EOF}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 500 * time.Millisecond,
		},
		{
			name:       "untrusted certificate is not retried",
			steps:      fixed(step{err: x509.UnknownAuthorityError{}}),
			wantReason: insights.ReasonNetwork, wantAttempts: 1,
		},
		{
			name:       "stalled attempt times out and is retried",
			steps:      fixed(step{stall: true}, step{status: 200}),
			wantStatus: 200, wantAttempts: 2, wantElapsed: 2*time.Second + 500*time.Millisecond,
		},
		{
			name:       "stalled every time: timeout",
			steps:      fixed(step{stall: true}, step{stall: true}, step{stall: true}, step{stall: true}, step{stall: true}),
			wantReason: insights.ReasonTimeout, wantAttempts: 5,
			wantElapsed: 5*2*time.Second + (500+1000+2000+4000)*time.Millisecond,
		},
		{
			name:       "Retry-After beyond the deadline returns the 429 at once",
			steps:      fixed(step{status: 429, retryAfter: "30"}),
			deadline:   10 * time.Second,
			wantStatus: 429, wantAttempts: 1,
		},
		{
			name:       "deadline during a stalled attempt ends the request",
			steps:      fixed(step{stall: true}),
			deadline:   time.Second,
			wantReason: insights.ReasonTimeout, wantAttempts: 1, wantElapsed: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base := newFakeBase(tt.steps(time.Now())...)
				tr := mustNew(t, base, Options{AttemptTimeout: 2 * time.Second})
				ctx := t.Context()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				begin := time.Now()
				resp, err := get(t, ctx, tr, reportURL)
				elapsed := time.Since(begin)
				if tt.wantStatus != 0 {
					if err != nil {
						t.Fatalf("RoundTrip error %v, want status %d", err, tt.wantStatus)
					}
					if resp.StatusCode != tt.wantStatus {
						t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
					}
					_ = resp.Body.Close()
				} else {
					if err == nil {
						t.Fatalf("RoundTrip status %d, want a %s error", resp.StatusCode, tt.wantReason)
					}
					if got := insights.ReasonOf(err); got != tt.wantReason {
						t.Errorf("reason %s, want %s (error: %v)", got, tt.wantReason, err)
					}
				}
				if got := base.attempts(); got != tt.wantAttempts {
					t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
				}
				if elapsed != tt.wantElapsed {
					t.Errorf("took %v, want %v", elapsed, tt.wantElapsed)
				}
				if n := base.openBodies(); n != 0 {
					t.Errorf("%d response bodies left open", n)
				}
			})
		})
	}
}

func fixed(steps ...step) func(time.Time) []step {
	return func(time.Time) []step { return steps }
}

func TestTransportWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newFakeBase(step{status: 429, retryAfter: "60"})
		tr := mustNew(t, base, Options{})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		begin := time.Now()
		_, err := get(t, ctx, tr, reportURL)
		if got := time.Since(begin); got != time.Second {
			t.Errorf("returned after %v, want 1s (the cancellation)", got)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled in the chain", err)
		}
		if base.openBodies() != 0 {
			t.Error("the discarded 429 body was not closed")
		}
	})
}

func TestTransportRefusesRequestsOutsideGraphURL(t *testing.T) {
	tests := []struct {
		url     string
		allowed bool
	}{
		{"https://graph.example/beta", true},
		{"https://graph.example/beta/reports/userInsights/daily/summary?$skiptoken=abc", true},
		{"https://GRAPH.example:443/beta/reports", true},
		{"https://graph.example:8443/beta/reports", false},
		{"http://graph.example/beta/reports", false},
		{"https://evil.example/beta/reports", false},
		{"https://graph.example.evil/beta/reports", false},
		{"https://graph.example/v1.0/reports", false},
		{"https://graph.example/betax/reports", false},
		{"https://graph.example/beta/../v1.0/me", false},
		{"https://graph.example/beta/%2e%2e/v1.0/me", false},
		{"https://graph.example/beta/a%2F..%2F..%2Fv1.0", false},
		{"https://user:pw@graph.example/beta/reports", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			base := newFakeBase(step{status: 200})
			tr := mustNew(t, base, Options{})
			resp, err := get(t, t.Context(), tr, tt.url)
			if tt.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				_ = resp.Body.Close()
				return
			}
			if err == nil {
				t.Fatal("request was sent")
			}
			if got := insights.ReasonOf(err); got != insights.ReasonBadResponse {
				t.Errorf("reason %s, want bad_response", got)
			}
			if base.attempts() != 0 {
				t.Errorf("the base transport saw the request")
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error leaks user information: %v", err)
			}
		})
	}
}

func TestNewRejectsBadGraphURL(t *testing.T) {
	for _, raw := range []string{
		"http://graph.microsoft.com/beta", "ftp://graph.example/beta", "https:///beta",
		"https://u:p@graph.example/beta", "https://graph.example/beta/../v1.0",
	} {
		t.Run(raw, func(t *testing.T) {
			if _, err := New(nil, Options{BaseURL: mustParse(t, raw)}); err == nil {
				t.Errorf("New accepted %s", raw)
			}
		})
	}
	for _, raw := range []string{"http://127.0.0.1:8080/beta", "http://localhost/beta", "http://[::1]:1/beta"} {
		t.Run(raw, func(t *testing.T) {
			if _, err := New(nil, Options{BaseURL: mustParse(t, raw)}); err != nil {
				t.Errorf("New refused loopback %s: %v", raw, err)
			}
		})
	}
}

func TestTransportBodyCap(t *testing.T) {
	const limit = 16
	tests := []struct {
		name     string
		step     step
		wantBody string
		wantErr  bool
	}{
		{"exactly the cap", step{status: 200, body: strings.Repeat("a", limit)}, strings.Repeat("a", limit), false},
		{"one byte over, no Content-Length", step{status: 200, body: strings.Repeat("a", limit+1), unsized: true}, "", true},
		{"far over, no Content-Length", step{status: 200, body: strings.Repeat("a", 10*limit), unsized: true}, "", true},
		{"over by Content-Length", step{status: 200, body: strings.Repeat("a", limit+1)}, "", true},
		{"empty", step{status: 200}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newFakeBase(tt.step)
			tr := mustNew(t, base, Options{MaxBodyBytes: limit})
			resp, err := get(t, t.Context(), tr, reportURL)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
			}
			if tt.wantErr {
				if got := insights.ReasonOf(err); err == nil || got != insights.ReasonBadResponse {
					t.Fatalf("error %v (reason %s), want bad_response", err, got)
				}
			} else if err != nil || string(body) != tt.wantBody {
				t.Fatalf("body %q, error %v; want %q", body, err, tt.wantBody)
			}
			if base.openBodies() != 0 {
				t.Error("response body left open")
			}
		})
	}
}

func TestTransportReplaysRequestBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newFakeBase(step{status: 503}, step{status: 200})
		tr := mustNew(t, base, Options{})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, reportURL, strings.NewReader(`{"a":1}`))
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("RoundTrip = %v, %v", resp, err)
		}
		_ = resp.Body.Close()
		if want := []string{`{"a":1}`, `{"a":1}`}; fmt.Sprint(base.sent) != fmt.Sprint(want) {
			t.Errorf("bodies sent %q, want %q", base.sent, want)
		}
	})
	t.Run("a body that cannot be replayed is sent once", func(t *testing.T) {
		base := newFakeBase(step{status: 503}, step{status: 200})
		tr := mustNew(t, base, Options{})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, reportURL, io.NopCloser(strings.NewReader("x")))
		req.GetBody = nil
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("RoundTrip = %v, %v; want the 503", resp, err)
		}
		_ = resp.Body.Close()
		if base.attempts() != 1 {
			t.Errorf("%d attempts, want 1", base.attempts())
		}
	})
}

func TestTransportSpendsBudgetOnEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limiters := NewLimitersWith(Limit{Requests: 2, Window: 10 * time.Second}, Limit{Requests: 100, Window: 10 * time.Second}, time.Now)
		base := newFakeBase(step{status: 429, retryAfter: "0"}, step{status: 429, retryAfter: "0"}, step{status: 200})
		tr := mustNew(t, base, Options{Limiters: limiters, TenantID: "t", ClientID: "c"})
		begin := time.Now()
		resp, err := get(t, t.Context(), tr, reportURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := time.Since(begin); got != 10*time.Second {
			t.Errorf("three attempts took %v, want 10s (budget of 2 per 10s)", got)
		}
	})
}

func TestTransportSetsUserAgent(t *testing.T) {
	base := newFakeBase(step{status: 200})
	tr := mustNew(t, base, Options{UserAgent: "entra_insights_exporter/1.2.3"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, reportURL, nil)
	req.Header.Set("User-Agent", "kiota-go/1")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := base.requests[0].Header.Get("User-Agent"); got != "entra_insights_exporter/1.2.3" {
		t.Errorf("User-Agent %q", got)
	}
	if got := req.Header.Get("User-Agent"); got != "kiota-go/1" {
		t.Errorf("the caller's request was modified: User-Agent %q", got)
	}
}

// TestRetryAfterHoldsEveryRequest checks that a Retry-After holds the
// transport's later requests too: Graph throttles the whole tenant, and
// the next report or refresh must not start before Graph allows it.
func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newFakeBase(step{status: 429, retryAfter: "3"}, step{status: 200})
		tr := mustNew(t, base, Options{})
		short := func() context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			t.Cleanup(cancel)
			return ctx
		}
		resp, err := get(t, short(), tr, reportURL)
		if err != nil || resp.StatusCode != 429 {
			t.Fatalf("first request: %v, %v; want the 429 at once (Retry-After is past the deadline)", resp, err)
		}
		_ = resp.Body.Close()

		// Within the pause and with too short a deadline: throttled, unsent.
		_, err = get(t, short(), tr, reportURL)
		if insights.ReasonOf(err) != insights.ReasonThrottled || base.attempts() != 1 {
			t.Errorf("second request: %v after %d attempts; want throttled without an attempt", err, base.attempts())
		}

		// With time to wait: sent when the pause ends.
		begin := time.Now()
		resp, err = get(t, t.Context(), tr, reportURL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("third request: %v, %v", resp, err)
		}
		_ = resp.Body.Close()
		if waited := time.Since(begin); waited != 3*time.Second {
			t.Errorf("third request sent after %v, want 3s (the rest of the Retry-After)", waited)
		}
	})
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestReadCapped(t *testing.T) {
	const limit = 100
	tests := []struct {
		name     string
		body     string
		hint     int64
		wantOver bool
	}{
		{"empty", "", 0, false},
		{"exactly the cap, length known", strings.Repeat("a", limit), limit, false},
		{"exactly the cap, length unknown", strings.Repeat("a", limit), -1, false},
		{"one over, length unknown", strings.Repeat("a", limit+1), -1, true},
		{"short hint", strings.Repeat("a", 60), 10, false},
		{"short hint, over", strings.Repeat("a", limit+1), 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, over, err := readCapped(iotest.OneByteReader(strings.NewReader(tt.body)), limit, tt.hint)
			if err != nil || over != tt.wantOver || (!over && string(got) != tt.body) {
				t.Errorf("readCapped = %d bytes, over %v, %v; want over %v", len(got), over, err, tt.wantOver)
			}
		})
	}
	t.Run("an endless body costs about twice the cap", func(t *testing.T) {
		const big = 8 << 20
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, over, err := readCapped(endless{}, big, -1)
		runtime.ReadMemStats(&after)
		if !over || err != nil {
			t.Fatalf("over %v, %v; want over", over, err)
		}
		if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 5*big/2 {
			t.Errorf("allocated %d MiB for a cap of %d MiB", allocated>>20, big>>20)
		}
	})
}
