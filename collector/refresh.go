package collector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// tenantState is the refresh state of one configured tenant.
type tenantState struct {
	Tenant
	// refreshing holds a token for the whole of a refresh, so refreshes of
	// a tenant never overlap (the loop and RefreshAll may both ask for
	// one); it guards reports. A channel rather than a mutex, so that
	// waiting for it gives up when the context ends.
	refreshing chan struct{}
	order      []insights.Report // the catalog's reports this tenant's source produces
	reports    map[insights.Report]*reportState
	sourceUp   bool                     // the last refresh got some report; guarded by refreshing
	snap       atomic.Pointer[snapshot] // what Collect serves
	refreshed  atomic.Bool              // a refresh has completed
	// failing are the causes of failure still failing, by failureKey, so a
	// cause repeated on every refresh is logged in full once, then
	// summarised; hadData says whether data has arrived (guarded by
	// refreshing).
	failing map[string]*failingCause
	hadData bool
}

// failingCause is one cause of failure of a tenant since it began.
type failingCause struct {
	since time.Time
	count int
}

// reportState is what the exporter holds of one report of one tenant.
type reportState struct {
	held        bool          // result is the last good data (false: never fetched, or expired)
	result      source.Result // its points, records and apps
	up          bool          // the last fetch succeeded
	lastSuccess time.Time
}

// Run refreshes every tenant in its own loop: first at once, then every
// RefreshInterval with a little jitter, tenants spread over the interval so
// they do not hit Graph together. It returns when ctx ends and every loop
// has stopped.
func (e *Exporter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, t := range e.tenants {
		// Tenant i refreshes (i+1)/n of an interval after its first
		// refresh, then every interval.
		phase := e.cfg.RefreshInterval * time.Duration(i+1) / time.Duration(len(e.tenants))
		wg.Go(func() { e.loop(ctx, t, phase) })
	}
	wg.Wait()
}

func (e *Exporter) loop(ctx context.Context, t *tenantState, phase time.Duration) {
	start := time.Now()
	e.refresh(ctx, t)
	next := start.Add(phase)
	if c, ok := t.Source.(source.CatchingUp); ok && c.CatchingUp() {
		next = earliest(next, time.Now().Add(min(catchUpPause, e.cfg.RefreshInterval)))
	}
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		e.refresh(ctx, t)
		// Schedule from the planned start, so a slow refresh does not push
		// every later one back; after one longer than the interval the next
		// starts at once, without trying to catch up on those missed. A
		// source catching up is refreshed again soon.
		next = next.Add(e.cfg.RefreshInterval + e.jitter())
		now := time.Now()
		if c, ok := t.Source.(source.CatchingUp); ok && c.CatchingUp() {
			next = earliest(next, now.Add(min(catchUpPause, e.cfg.RefreshInterval)))
		}
		if next.Before(now) {
			next = now
		}
		timer.Reset(time.Until(next))
	}
}

// jitter returns a random delay of up to a tenth of the interval.
func (e *Exporter) jitter() time.Duration {
	return rand.N(e.cfg.RefreshInterval/10 + 1)
}

// RefreshAll refreshes every tenant once now, concurrently, and returns when
// all are done. A tenant whose refresh is running is refreshed again after it.
func (e *Exporter) RefreshAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range e.tenants {
		wg.Go(func() { e.refresh(ctx, t) })
	}
	wg.Wait()
}

// refresh fetches every configured report of t, bounded by RefreshTimeout,
// and publishes a new snapshot. A failed report keeps its last good data
// until MaxAge after its last success.
func (e *Exporter) refresh(ctx context.Context, t *tenantState) {
	select {
	case t.refreshing <- struct{}{}:
		defer func() { <-t.refreshing }()
	case <-ctx.Done():
		return
	}

	start := e.now()
	refreshCtx, cancel := context.WithTimeout(ctx, e.cfg.RefreshTimeout)
	defer cancel()
	results := t.Source.Refresh(refreshCtx, t.order)
	if ctx.Err() != nil {
		// Shutting down: the failures are ours, not Graph's, and nobody
		// will read a new snapshot.
		return
	}
	t.sourceUp = false
	failures := failureGroups{}
	for _, r := range t.order {
		st := t.reports[r]
		res, ok := results[r]
		if !ok {
			res.Err = fmt.Errorf("the %s source returned nothing for it", t.Source.Name())
		}
		if err := res.Err; err != nil {
			st.up = false
			failures.add(r, err)
			continue
		}
		st.held, st.result, st.up, st.lastSuccess = true, res, true, e.now()
		t.sourceUp = true
	}
	now := e.now()
	for _, st := range t.reports {
		if st.held && !st.up && now.Sub(st.lastSuccess) > e.cfg.MaxAge {
			st.held, st.result = false, source.Result{}
		}
	}
	e.logOutcome(t, failures, start)
	t.snap.Store(e.buildSnapshot(t, now.Sub(start)))
	t.refreshed.Store(true)
}

// failureGroup is one cause of failure in a refresh and the reports it
// failed: a source's failed read fails every report built from it with the
// same error, which is one failure, not one per report.
type failureGroup struct {
	err     error
	reports []insights.Report
}

type failureGroups []failureGroup

// add files report r's failure under the group of the same error text.
func (gs *failureGroups) add(r insights.Report, err error) {
	for i := range *gs {
		if (*gs)[i].err.Error() == err.Error() {
			(*gs)[i].reports = append((*gs)[i].reports, r)
			return
		}
	}
	*gs = append(*gs, failureGroup{err: err, reports: []insights.Report{r}})
}

// logOutcome counts and logs a refresh's causes of failure, and says when
// a cause has gone and when a tenant's data first arrives. A cause is
// logged in full the first time; while it goes on, a short line says how
// long and how often at its 2nd, 4th, 8th, ... failure, so a failing tenant
// costs a few lines a day, not one per refresh. Every refresh is one debug
// line.
func (e *Exporter) logOutcome(t *tenantState, failures failureGroups, start time.Time) {
	if t.failing == nil {
		t.failing = map[string]*failingCause{}
	}
	still := map[string]bool{}
	for _, g := range failures {
		reason := insights.ReasonOf(g.err)
		e.refreshErrors.WithLabelValues(t.Name, string(reason)).Inc()
		if reason == insights.ReasonRetired {
			continue // logged once per refresh by refresh
		}
		key := failureKey(g)
		still[key] = true
		c := t.failing[key]
		if c == nil {
			t.failing[key] = &failingCause{since: start, count: 1}
			e.logFailure(t, g)
			continue
		}
		c.count++
		if c.count&(c.count-1) == 0 { // a power of two
			e.logger.Warn("refresh still failing", "tenant", t.Name, "reports", reportNames(g.reports),
				"reason", reason, "since", c.since.UTC().Format(time.RFC3339), "failures", c.count, "hint", insights.HintOf(g.err))
		}
	}
	for key, c := range t.failing {
		if !still[key] {
			e.logger.Info("refresh recovered", "tenant", t.Name, "cause", key, "since", c.since.UTC().Format(time.RFC3339), "failures", c.count)
			delete(t.failing, key)
		}
	}
	if !t.hadData && t.sourceUp {
		t.hadData = true
		e.logger.Info("first data of the tenant arrived", "tenant", t.Name, "after", e.now().Sub(start).Round(time.Millisecond))
	}
	e.logger.Debug("refresh done", "tenant", t.Name, "duration", e.now().Sub(start).Round(time.Millisecond),
		"failed_causes", len(failures))
}

// failureKey names a cause of failure across refreshes: its reason, status
// and reports (the error text changes, e.g. with the time window read).
func failureKey(g failureGroup) string {
	status := 0
	var ie *insights.Error
	if errors.As(g.err, &ie) {
		status = ie.Status
	}
	return fmt.Sprintf("%s/%d %s", insights.ReasonOf(g.err), status, reportNames(g.reports))
}

func reportNames(reports []insights.Report) string {
	names := make([]string, len(reports))
	for i, r := range reports {
		names[i] = r.String()
	}
	return strings.Join(names, ",")
}

// logFailure logs a new cause of failure in full, with the hint that
// tells the operator what to do.
func (e *Exporter) logFailure(t *tenantState, g failureGroup) {
	status := 0 // none: the request never got an HTTP answer
	var ie *insights.Error
	if errors.As(g.err, &ie) {
		status = ie.Status
	}
	e.logger.Error("refresh failed", "tenant", t.Name, "reports", reportNames(g.reports),
		"reason", insights.ReasonOf(g.err), "status", status, "hint", insights.HintOf(g.err), "err", g.err)
}

const (
	refreshErrorsName = namespace + "_refresh_errors_total"
	refreshErrorsHelp = "Failed refreshes by reason: one per cause of failure in a tenant's refresh (a failed read counts" +
		" once, not once per report built from it)."
)

// NewRefreshErrors returns an unregistered entra_insights_refresh_errors_total
// for WithRefreshErrors.
func NewRefreshErrors() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: refreshErrorsName, Help: refreshErrorsHelp},
		[]string{"tenant", "reason"})
}

func newRefreshErrors(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := NewRefreshErrors()
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
