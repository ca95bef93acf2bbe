package transport

import (
	"context"
	"net/url"
	"strings"
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

// Budget names the Graph limit a request counts against.
type Budget int

const (
	// BudgetNone: a read outside the identity-reports limits (the user
	// count, a directory read with far higher limits); Graph's 429 and
	// Retry-After still pause it.
	BudgetNone Budget = iota
	// BudgetReports: the identity and access reports (auditLogs,
	// reports/…), 5 requests per 10 s per application and tenant.
	BudgetReports
	// BudgetSignInActivity: reads of users' signInActivity, 10 requests
	// per minute per application, per tenant and across tenants.
	BudgetSignInActivity
)

// signInActivityLimit is Graph's limit of BudgetSignInActivity, with the
// margin.
var signInActivityLimit = Limit{Requests: 10, Window: time.Minute + LimitMargin}

// BudgetOf returns the budget of a request to u. Graph's throttling page
// lists the limits and the resources they apply to
// (https://learn.microsoft.com/graph/throttling-limits#identity-and-access-reports-service-limits).
func BudgetOf(u *url.URL) Budget {
	switch {
	case strings.Contains(u.Path, "/auditLogs/"), strings.Contains(u.Path, "/reports/"):
		return BudgetReports
	case strings.Contains(u.Query().Get("$filter"), "signInActivity"), strings.Contains(u.Query().Get("$select"), "signInActivity"):
		return BudgetSignInActivity
	}
	return BudgetNone
}

// Limiters holds the request budgets of every (tenant, client id) pair and
// every client id. One Limiters is shared by all tenants' transports so the
// cross-tenant limit holds. The zero value is not usable; use NewLimiters.
type Limiters struct {
	perTenant, perClient Limit // of BudgetReports
	now                  func() time.Time

	mu      sync.Mutex
	tenants map[budgetKey]*startLog
	clients map[budgetKey]*startLog
}

// budgetKey is one budget of one client id, for one tenant or (tenant
// empty) across tenants.
type budgetKey struct {
	budget           Budget
	tenant, clientID string
}

// NewLimiters returns limiters with Graph's identity-reports limits.
func NewLimiters() *Limiters {
	return NewLimitersWith(Limit{TenantRequests, LimitWindow}, Limit{ClientRequests, LimitWindow}, time.Now)
}

// NewLimitersWith returns limiters with the given limits of the reports
// budget and clock.
func NewLimitersWith(perTenant, perClient Limit, now func() time.Time) *Limiters {
	return &Limiters{
		perTenant: perTenant,
		perClient: perClient,
		now:       now,
		tenants:   make(map[budgetKey]*startLog),
		clients:   make(map[budgetKey]*startLog),
	}
}

// Wait blocks until a request of clientID to tenantID fits into both
// budgets b and then records its start. It returns the context's error if
// the context ends first; nothing is recorded then. A nil *Limiters, or
// BudgetNone, imposes no wait (demo mode).
func (l *Limiters) Wait(ctx context.Context, b Budget, tenantID, clientID string) error {
	if l == nil || b == BudgetNone {
		return nil
	}
	for {
		delay := l.reserve(b, tenantID, clientID)
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
func (l *Limiters) reserve(b Budget, tenantID, clientID string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	perTenant, perClient := l.perTenant, l.perClient
	if b == BudgetSignInActivity {
		perTenant, perClient = signInActivityLimit, signInActivityLimit
	}
	tw := startLogOf(l.tenants, budgetKey{b, tenantID, clientID}, perTenant)
	cw := startLogOf(l.clients, budgetKey{b, "", clientID}, perClient)
	now := l.now()
	if delay := max(tw.delay(now), cw.delay(now)); delay > 0 {
		return delay
	}
	tw.record(now)
	cw.record(now)
	return 0
}

// startLogOf returns the start log of k in m, made with limit l the first time.
func startLogOf(m map[budgetKey]*startLog, k budgetKey, l Limit) *startLog {
	w := m[k]
	if w == nil {
		w = newStartLog(l)
		m[k] = w
	}
	return w
}

// startLog remembers the last Limit.Requests start times in a ring.
type startLog struct {
	span   time.Duration
	starts []time.Time // ring; the zero time means unused
	next   int         // index of the oldest start, overwritten next
}

func newStartLog(l Limit) *startLog {
	return &startLog{span: l.Window, starts: make([]time.Time, max(l.Requests, 1))}
}

// delay returns how long until one more start fits: the oldest of the
// remembered starts must have left the window.
func (w *startLog) delay(now time.Time) time.Duration {
	oldest := w.starts[w.next]
	if oldest.IsZero() {
		return 0
	}
	return max(oldest.Add(w.span).Sub(now), 0)
}

func (w *startLog) record(now time.Time) {
	w.starts[w.next] = now
	w.next = (w.next + 1) % len(w.starts)
}
