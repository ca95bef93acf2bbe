package graphsim

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// This file holds the ground truth of the activity logs: the events of
// every retained day, for the server (cached per past day) and for tests.

// logKind is one of the event logs.
type logKind int

const (
	signInLog logKind = iota
	signUpLog
)

// dayEvents is the events of one tenant and day, newest first (ties by id).
type dayEvents struct {
	signIns []SignInEvent
	signUps []SignUpEvent
}

// eventsOfDay generates the events of kind on day d for g's tenant.
func (g *gen) eventsOfDay(kind logKind, d time.Time, lat latency) dayEvents {
	dp := g.day(d)
	var out dayEvents
	switch kind {
	case signInLog:
		var parts [][]SignInEvent
		for si := range g.segs {
			parts = append(parts, g.signInsOfDay(dp, si, lat))
		}
		out.signIns = newestFirst(parts, func(e *SignInEvent) (time.Time, string) { return e.CreatedDateTime, e.ID })
	case signUpLog:
		var parts [][]SignUpEvent
		for si := range g.segs {
			parts = append(parts, g.signUpsOfDay(dp, si, lat))
		}
		out.signUps = newestFirst(parts, func(e *SignUpEvent) (time.Time, string) { return e.CreatedDateTime, e.ID })
	}
	return out
}

// newestFirst concatenates parts newest first, ties by id, sorting
// pointers rather than the large events.
func newestFirst[E any](parts [][]E, key func(*E) (time.Time, string)) []E {
	var ptrs []*E
	for _, p := range parts {
		for i := range p {
			ptrs = append(ptrs, &p[i])
		}
	}
	slices.SortFunc(ptrs, func(a, b *E) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return strings.Compare(ia, ib)
	})
	out := make([]E, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out
}

// SignIns returns every sign-in of tenantID created in the retention
// window up to now (opts.LogRetention with its default and cap), newest
// first, ties by id, including those not served yet (VisibleAt after now).
// Of opts only the log settings matter. The server sends exactly these
// events, with the wire quirks of the package documentation.
func SignIns(tenantID string, now time.Time, opts Options) []SignInEvent {
	return retainedEvents(tenantID, now, opts, func(d dayEvents) []SignInEvent { return d.signIns },
		func(e *SignInEvent) time.Time { return e.CreatedDateTime }, signInLog)
}

// SignUps is SignIns for auditLogs/signUps: one event per stage of each
// sign-up flow (see signups.go).
func SignUps(tenantID string, now time.Time, opts Options) []SignUpEvent {
	evs := retainedEvents(tenantID, now, opts, func(d dayEvents) []SignUpEvent { return d.signUps },
		func(e *SignUpEvent) time.Time { return e.CreatedDateTime }, signUpLog)
	slices.SortStableFunc(evs, func(a, b SignUpEvent) int { return newerFirst(&a, &b) })
	return evs
}

// newerFirst orders sign-ups newest first, ties by id. A day's flows can
// begin the day before, so the days' lists need merging.
func newerFirst(a, b *SignUpEvent) int {
	if c := b.CreatedDateTime.Compare(a.CreatedDateTime); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// daysOf returns the days whose events of kind can be in the log at now,
// newest first: for sign-ups also tomorrow near midnight, whose first
// flows begin today.
func daysOf(kind logKind, now time.Time, retention time.Duration) []time.Time {
	days := logDays(now, retention)
	if next := startOfDay(now.Add(maxFlowDuration)); kind == signUpLog && next.After(days[0]) {
		days = append([]time.Time{next}, days...)
	}
	return days
}

// retainedEvents is the events of kind of every retained day, newest day
// first, without those already out of the retention window.
func retainedEvents[E any](tenantID string, now time.Time, opts Options, of func(dayEvents) []E,
	created func(*E) time.Time, kind logKind) []E {
	opts = opts.withDefaults()
	g := newGen(tenantID, now, true)
	var out []E
	for _, d := range daysOf(kind, now, opts.LogRetention) {
		evs := of(g.eventsOfDay(kind, d, opts.latency()))
		for i := range evs {
			if retained(created(&evs[i]), now, opts.LogRetention) {
				out = append(out, evs[i])
			}
		}
	}
	return out
}

// retained reports whether an event created at t is in the log at now.
func retained(t, now time.Time, retention time.Duration) bool {
	return !t.Before(now.Add(-retention)) && !t.After(now)
}

// SignInEvents returns the sign-ins of tenantID that the server serves at
// its data clock: retained and visible, newest first.
func (s *Server) SignInEvents(tenantID string) []SignInEvent {
	var out []SignInEvent
	for _, e := range s.signInsAt(tenantID, s.opts.Now()) {
		out = append(out, *e)
	}
	return out
}

// SignUpEvents is SignInEvents for auditLogs/signUps.
func (s *Server) SignUpEvents(tenantID string) []SignUpEvent {
	var out []SignUpEvent
	for _, e := range s.signUpsAt(tenantID, s.opts.Now()) {
		out = append(out, *e)
	}
	return out
}

// signInsAt returns the served sign-ins at now, newest first.
func (s *Server) signInsAt(tenantID string, now time.Time) []*SignInEvent {
	var out []*SignInEvent
	for _, d := range logDays(now, s.opts.LogRetention) {
		evs := s.logs.day(tenantID, signInLog, d, now, s.opts.latency()).signIns
		for i := range evs {
			e := &evs[i]
			if retained(e.CreatedDateTime, now, s.opts.LogRetention) && !e.VisibleAt.After(now) {
				out = append(out, e)
			}
		}
	}
	return out
}

func (s *Server) signUpsAt(tenantID string, now time.Time) []*SignUpEvent {
	var out []*SignUpEvent
	for _, d := range daysOf(signUpLog, now, s.opts.LogRetention) {
		evs := s.logs.day(tenantID, signUpLog, d, now, s.opts.latency()).signUps
		for i := range evs {
			e := &evs[i]
			if retained(e.CreatedDateTime, now, s.opts.LogRetention) && !e.VisibleAt.After(now) {
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, newerFirst)
	return out
}

// logCache keeps the events of past days. A past day's events depend on
// the tenant, the day and today (the app rename and the MFA spike are
// relative to today); today's grow with the clock and are not kept.
type logCache struct {
	mu   sync.Mutex
	days map[dayKey]dayEvents
}

type dayKey struct {
	tenant     string
	kind       logKind
	day, today int64
}

// maxCachedDays bounds the cache: 31 days of both logs for 16 tenants.
const maxCachedDays = 31 * 2 * 16

func (c *logCache) day(tenantID string, kind logKind, d, now time.Time, lat latency) dayEvents {
	today := startOfDay(now)
	g := newGen(tenantID, now, true)
	if !d.Before(today) {
		return g.eventsOfDay(kind, d, lat)
	}
	k := dayKey{tenantID, kind, d.Unix(), today.Unix()}
	c.mu.Lock()
	ev, ok := c.days[k]
	c.mu.Unlock()
	if ok {
		return ev
	}
	ev = g.eventsOfDay(kind, d, lat)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil || len(c.days) >= maxCachedDays {
		c.days = map[dayKey]dayEvents{}
	}
	c.days[k] = ev
	return ev
}
