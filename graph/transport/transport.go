// Package transport is the HTTP layer between the Graph SDK and the
// network: it keeps every request inside the configured Graph URL, spends a
// per-tenant request budget, retries throttled and failed requests the way
// Graph asks, caps response bodies, sets the User-Agent and counts it all.
// It does not import the Graph SDK, so it is tested and fuzzed on its own.
package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Defaults of Options.
const (
	DefaultMaxRetries     = 4
	DefaultAttemptTimeout = time.Minute
)

// Options configures a Graph transport.
type Options struct {
	// BaseURL is the Graph URL, e.g. https://graph.microsoft.com/beta.
	// Requests to another scheme, host, port or path prefix are refused.
	BaseURL *url.URL
	// TenantID and ClientID select the request budget in Limiters.
	TenantID, ClientID string
	// Limiters is the budget shared by all tenants; nil disables it (demo).
	Limiters *Limiters
	// Metrics counts this tenant's requests; nil counts nothing.
	Metrics *TenantMetrics
	// UserAgent replaces the User-Agent header when not empty.
	UserAgent string
	// MaxRetries bounds the retries of one request [DefaultMaxRetries];
	// negative disables retries.
	MaxRetries int
	// MaxBodyBytes caps a response body [DefaultMaxBodyBytes].
	MaxBodyBytes int64
	// AttemptTimeout bounds one attempt, reading the body included
	// [DefaultAttemptTimeout]. An attempt that times out is retried.
	AttemptTimeout time.Duration
	// CheckBody, when set, checks the body of every successful JSON
	// response (e.g. CheckPage) before the caller sees it; a body it
	// refuses fails the request with a bad_response error.
	CheckBody func(body []byte) error
	// Logger receives one debug line per retry; nil discards.
	Logger *slog.Logger
	// Random returns numbers in [0, 1) for the backoff jitter [math/rand/v2].
	Random func() float64
}

// Transport is the http.RoundTripper for Graph requests.
//
// Retries: 429, 503, 504, network failures and attempt timeouts up to
// MaxRetries times; 500 and 502 once, as they are rarely transient; other
// statuses never. The wait is what Retry-After says, else an exponential
// backoff with full jitter. A wait that would outlast the request's
// deadline is not started: the last response (or error) is returned at once,
// so the caller learns why (e.g. throttled) instead of timing out. A
// Retry-After holds every later request of the transport too (see pause).
type Transport struct {
	base    http.RoundTripper
	scope   scope
	retries int
	opts    Options
	pause   pause
}

// New wraps base (http.DefaultTransport if nil).
func New(base http.RoundTripper, opts Options) (*Transport, error) {
	s, err := newScope(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	retries := opts.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Random == nil {
		opts.Random = rand.Float64
	}
	return &Transport{base: base, scope: s, retries: retries, opts: opts}, nil
}

// RoundTrip implements http.RoundTripper. Its errors are *insights.Error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.scope.check(req.URL); err != nil {
		closeBody(req)
		return nil, BadResponse(err)
	}
	ctx := req.Context()
	for n := 0; ; n++ {
		resp, failure, retryable := t.attempt(ctx, req, n)
		wait, again := t.nextWait(ctx, req, n, resp, failure, retryable)
		if !again {
			if failure != nil {
				closeBody(req)
				return nil, failure
			}
			return resp, nil
		}
		t.opts.Logger.Debug("retrying Graph request", "path", req.URL.Path, "retry", n+1,
			"wait", wait, "status", statusOf(resp), "err", errorOf(failure))
		t.opts.Metrics.retry()
		if err := sleep(ctx, wait); err != nil {
			closeBody(req)
			return nil, &insights.Error{Reason: insights.ReasonTimeout, Hint: HintTimeout,
				Err: fmt.Errorf("wait before retry: %w", err)}
		}
	}
}

// attempt sends the request once: it waits for any Retry-After pause,
// spends the budget, then sends a copy with its own timeout and reads the
// whole body, capped, within it. A failure says whether another attempt
// may help.
func (t *Transport) attempt(ctx context.Context, req *http.Request, n int) (*http.Response, *insights.Error, bool) {
	if failure := t.pause.wait(ctx); failure != nil {
		return nil, failure, false
	}
	if err := t.opts.Limiters.Wait(ctx, BudgetOf(req.URL), t.opts.TenantID, t.opts.ClientID); err != nil {
		return nil, &insights.Error{Reason: insights.ReasonTimeout, Hint: HintTimeout,
			Err: fmt.Errorf("wait for the request budget: %w", err)}, false
	}
	attemptCtx, cancel := context.WithTimeout(ctx, t.opts.AttemptTimeout)
	out := req.Clone(attemptCtx)
	if n > 0 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, &insights.Error{Reason: insights.ReasonNetwork, Hint: HintNetwork,
				Err: fmt.Errorf("replay request body: %w", err)}, false
		}
		out.Body = body
	}
	if t.opts.UserAgent != "" {
		out.Header.Set("User-Agent", t.opts.UserAgent)
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		failure, retryable := transportError(ctx, attemptCtx, err)
		cancel()
		t.opts.Metrics.request(HostGraph, 0)
		return nil, failure, retryable
	}
	t.opts.Metrics.request(HostGraph, resp.StatusCode)
	body, failure, retryable := readBody(ctx, attemptCtx, resp, t.opts.MaxBodyBytes)
	cancel()
	if failure != nil {
		return nil, failure, retryable
	}
	// A /$count answers a bare number (text/plain, or JSON from some
	// servers), not a collection page.
	if t.opts.CheckBody != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 && isJSON(resp) &&
		!strings.HasSuffix(req.URL.Path, "/$count") {
		if err := t.opts.CheckBody(body); err != nil {
			return nil, BadResponse(err), false
		}
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return resp, nil, false
}

// nextWait decides whether attempt n is repeated and after which wait.
func (t *Transport) nextWait(ctx context.Context, req *http.Request, n int,
	resp *http.Response, failure *insights.Error, retryable bool) (time.Duration, bool) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return 0, false // the body is spent and cannot be sent again
	}
	limit := t.retries
	var wait time.Duration
	switch {
	case failure != nil:
		if !retryable {
			return 0, false
		}
		wait = backoff(n, t.opts.Random)
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusServiceUnavailable,
		resp.StatusCode == http.StatusGatewayTimeout:
		wait = t.serverWait(n, resp)
	case resp.StatusCode == http.StatusInternalServerError, resp.StatusCode == http.StatusBadGateway:
		limit = min(limit, 1)
		wait = t.serverWait(n, resp)
	default:
		return 0, false
	}
	if n >= limit || !fitsDeadline(ctx, wait) {
		return 0, false
	}
	return wait, true
}

// serverWait is the wait Retry-After asks for, which holds every request
// of the transport, else the backoff.
func (t *Transport) serverWait(n int, resp *http.Response) time.Duration {
	now := time.Now()
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		t.pause.extend(now.Add(d), resp.StatusCode)
		return d
	}
	return backoff(n, t.opts.Random)
}

// attemptReserve is the time an attempt needs at the least. A retry that
// would start with less left before the deadline could only time out, and
// would turn a clear answer (throttled, server error) into a timeout.
const attemptReserve = 500 * time.Millisecond

// fitsDeadline reports whether ctx leaves time for a wait and one more
// attempt.
func fitsDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > wait+attemptReserve
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// closeBody closes the request body, as a RoundTripper must even when it
// fails before sending.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func errorOf(e *insights.Error) error {
	if e == nil {
		return nil
	}
	return e
}
