package transport

import (
	"context"
	"sync"
	"time"
)

// Limit allows Requests request starts in any sliding window of Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

// Graph's identity-reports limits, the conservative budget for
// userInsights: 5 requests per 10 s per application per tenant and 122 per
// 10 s per application across tenants. LimitWindow is Graph's 10 s plus
// LimitMargin: Graph counts a request when it arrives, the budget when it
// starts, and a request that must open a connection first arrives later
// than one started after it on a warm connection.
const (
	TenantRequests = 5
	ClientRequests = 122
	LimitMargin    = time.Second
	LimitWindow    = 10*time.Second + LimitMargin
)

// Limiters holds the request budgets of every (tenant, client id) pair and
// every client id. One Limiters is shared by all tenants' transports so the
// cross-tenant limit holds. The zero value is not usable; use NewLimiters.
type Limiters struct {
	perTenant, perClient Limit
	now                  func() time.Time

	mu      sync.Mutex
	tenants map[[2]string]*window
	clients map[string]*window
}

// NewLimiters returns limiters with Graph's identity-reports limits.
func NewLimiters() *Limiters {
	return NewLimitersWith(Limit{TenantRequests, LimitWindow}, Limit{ClientRequests, LimitWindow}, time.Now)
}

// NewLimitersWith returns limiters with the given limits and clock.
func NewLimitersWith(perTenant, perClient Limit, now func() time.Time) *Limiters {
	return &Limiters{
		perTenant: perTenant,
		perClient: perClient,
		now:       now,
		tenants:   make(map[[2]string]*window),
		clients:   make(map[string]*window),
	}
}

// Wait blocks until a request of clientID to tenantID fits into both
// budgets and then records its start. It returns the context's error if the
// context ends first; nothing is recorded then. A nil *Limiters imposes no
// budget (demo mode).
func (l *Limiters) Wait(ctx context.Context, tenantID, clientID string) error {
	if l == nil {
		return nil
	}
	for {
		delay := l.reserve(tenantID, clientID)
		if delay <= 0 {
			return nil
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// reserve records a start now and returns 0 if both budgets allow it, else
// how long to wait before asking again.
func (l *Limiters) reserve(tenantID, clientID string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	tw := l.tenants[[2]string{tenantID, clientID}]
	if tw == nil {
		tw = newWindow(l.perTenant)
		l.tenants[[2]string{tenantID, clientID}] = tw
	}
	cw := l.clients[clientID]
	if cw == nil {
		cw = newWindow(l.perClient)
		l.clients[clientID] = cw
	}
	now := l.now()
	if delay := max(tw.delay(now), cw.delay(now)); delay > 0 {
		return delay
	}
	tw.record(now)
	cw.record(now)
	return 0
}

// window remembers the last Limit.Requests start times in a ring.
type window struct {
	span   time.Duration
	starts []time.Time // ring; the zero time means unused
	next   int         // index of the oldest start, overwritten next
}

func newWindow(l Limit) *window {
	return &window{span: l.Window, starts: make([]time.Time, max(l.Requests, 1))}
}

// delay returns how long until one more start fits: the oldest of the
// remembered starts must have left the window.
func (w *window) delay(now time.Time) time.Duration {
	oldest := w.starts[w.next]
	if oldest.IsZero() {
		return 0
	}
	return max(oldest.Add(w.span).Sub(now), 0)
}

func (w *window) record(now time.Time) {
	w.starts[w.next] = now
	w.next = (w.next + 1) % len(w.starts)
}
