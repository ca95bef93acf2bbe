// Package logs is the logs source: it rebuilds the metric catalog's
// reports from the live activity logs (auditLogs/signIns, auditLogs/signUps,
// users/$count, userRegistrationDetails), which keep working after Microsoft
// retired User Insights on 31 August 2026. It reads the logs incrementally
// (a watermark on createdDateTime, re-reading an overlap window for Graph's
// ingestion latency, events deduplicated by id), counts exact distinct
// users per period, and keeps its state in the store so a restart loses and
// counts nothing twice. It does not import the Graph SDK: a Reader (the
// graph package) hands it plain events.
package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// Reader reads the activity logs of one tenant (implemented by
// *graph.Client). The event readers call page for every page of events
// created in [from, to], in Graph's order (newest first); sel asks for
// $select, which Graph may refuse with insights.ErrSelectRefused.
type Reader interface {
	SignIns(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignIn) error) error
	SignUps(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignUp) error) error
	UserCount(ctx context.Context) (int64, error)
	// Registrations reads from the page at from ("" the first) and gives
	// page each page with the link of the next ("" after the last).
	Registrations(ctx context.Context, from string, page func(regs []insights.Registration, next string) error) error
	// InactiveUsers counts the users whose last successful sign-in is at
	// or before before; an error wrapping insights.ErrUnlicensed means the
	// tenant's licence has no signInActivity.
	InactiveUsers(ctx context.Context, before time.Time) (int64, error)
}

// Defaults of Options.
const (
	// DefaultLookback is an external tenant's retention of the activity
	// logs (entra-docs concept-supported-features-customers.md).
	DefaultLookback           = 7 * 24 * time.Hour
	DefaultOverlap            = 3 * time.Hour
	DefaultChunk              = 24 * time.Hour
	DefaultRegistrationsEvery = 6 * time.Hour
	// inactiveEvery spaces the reads of inactive users (five requests, of
	// signInActivity's 10 per minute); unlicensedRetry is how long a tenant
	// without the licence waits before the next try.
	inactiveEvery   = time.Hour
	unlicensedRetry = 24 * time.Hour
	// keepDays and keepMonths bound the past periods kept: beyond them
	// Prometheus holds the history.
	keepDays   = 35
	keepMonths = 13
)

// Options configures a Source. Zero values mean the defaults.
type Options struct {
	Tenant string // the state's key in the store
	Label  string // the tenant label of the source's own metrics
	Reader Reader
	Store  *store.Store // nil: state in memory only (backfill, tests)
	// Lookback is how far back the first read goes; Graph returns no
	// more than its retention (7 days in external tenants).
	Lookback time.Duration
	// Overlap is how late an event may appear in the log and still be
	// counted, in the period it happened in: the late sweep re-reads it
	// every SweepEvery (see windows.go).
	Overlap time.Duration
	// Reread is the recent stretch every refresh reads again, for events
	// Graph ingests a few minutes after they happened.
	Reread time.Duration
	// SweepEvery spaces the late sweeps.
	SweepEvery time.Duration
	// Chunk bounds the time window of one read; each window is committed
	// on its own, so a long first read makes progress across refreshes.
	Chunk time.Duration
	// RegistrationsEvery is the interval between reads of
	// userRegistrationDetails (one request per 1,000 users).
	RegistrationsEvery time.Duration
	// ActiveUserDims are the dimensions active users are counted by, per
	// granularity: the activeUsers dimensions of the metric catalog.
	ActiveUserDims map[insights.Granularity][]string
	Now            func() time.Time
	Logger         *slog.Logger
}

// Source is the logs source of one tenant. Sync reads Graph and commits;
// Rows serves the reports from what Sync aggregated. It is safe for
// concurrent use.
type Source struct {
	opts  Options
	claim uint64

	// syncing serializes Sync and guards the state below it; mu guards
	// what Sync publishes (rows, errs, stats), so Rows and the metrics
	// never wait for a Sync that reads Graph.
	syncing sync.Mutex
	mu      sync.RWMutex
	errs    map[string]error // feed → error of the last Sync
	rows    map[insights.Report][]insights.Row
	stats   stats

	signIns       feed
	signUps       feed
	seen          map[string]map[string]time.Time // feed → id → createdDateTime
	periods       map[periodKey]*period
	users         *sample
	registrations *registrations
	inactive      *inactive
	syncErrs      map[string]error
	// span is the length of the next window of each feed and kind of read
	// (spanKey; 0: Chunk), adapted as windows.go says. Kept in memory only:
	// after a restart windows start at Chunk.
	span map[string]time.Duration
	// eventsRetry spaces the reads of an event log whose query Graph
	// refused; floorStep is how far its start moves after the next refusal
	// of its lower bound (in memory only).
	eventsRetry map[string]retry
	floorStep   map[string]time.Duration
	// lastOK is when each read last succeeded (in memory); synced says a
	// Sync has run.
	lastOK map[string]time.Time
	synced bool
	// migrating is set while a state of an earlier layout awaits its
	// first commit (persist.go).
	migrating bool
	// catchingUp says the last Sync ran out of time with more to read
	// (events or a userRegistrationDetails read to go on with).
	catchingUp atomic.Bool
	// regRetry and inactiveRetry space out the reads of registrations and
	// inactive users after a failure (in memory only).
	regRetry, inactiveRetry retry
	// regPartial is the read of userRegistrationDetails to go on with, if
	// the last one ran out of time (in memory only).
	regPartial *regProgress
}

// retry is the back-off of a periodic read after a failure.
type retry struct {
	err  error     // the last failure; nil after a success
	at   time.Time // when it failed
	wait time.Duration
}

// waiting reports whether the read failed and its back-off has not passed.
func (r *retry) waiting(now time.Time) bool { return r.err != nil && now.Sub(r.at) < r.wait }

// failed records a failure: the first waits first, each further one twice
// as long as the one before, up to most.
func (r *retry) failed(now time.Time, err error, first, most time.Duration) {
	if r.err == nil {
		r.wait = first
	} else {
		r.wait = max(first, min(2*r.wait, most))
	}
	r.err, r.at = err, now
}

// Back-off of the periodic reads after a failure; a 403 (a permission or
// licence missing) waits longer from the start.
const (
	retryFirst          = 15 * time.Minute
	retryForbiddenFirst = time.Hour
)

// stats are the figures of the source's own metrics.
type stats struct {
	signIns, signUps feed
	openUsers        int64
	// lastOK is when each read last succeeded; synced says a Sync has run
	// (before it, no read has an outcome).
	lastOK map[string]time.Time
	synced bool
}

type periodKey struct {
	g     insights.Granularity
	start time.Time
}

// Feed names, as in the store and the metrics.
const (
	feedSignIns       = "signIns"
	feedSignUps       = "signUps"
	feedUsers         = "users"
	feedRegistrations = "registrations"
	feedInactive      = "inactive"
)

// feedOf says which feed a report is built from.
func feedOf(report string) (string, bool) {
	switch report {
	case insights.ActiveUsers, insights.TenantActiveUsers, insights.Authentications, insights.MFACompletions,
		insights.SignInInterrupts, insights.Requests:
		return feedSignIns, true
	case insights.SignUps, insights.SignUpFunnel:
		return feedSignUps, true
	case insights.UserCount:
		return feedUsers, true
	case insights.MFARegisteredUsers:
		return feedRegistrations, true
	case insights.InactiveUsers:
		return feedInactive, true
	}
	return "", false
}

// New loads the tenant's state from the store (claiming it, see
// store.Claim) and returns its Source. A damaged state is an error.
func New(opts Options) (*Source, error) {
	if opts.Reader == nil {
		return nil, errors.New("logs source: no reader")
	}
	opts = opts.withDefaults()
	s := &Source{opts: opts}
	s.reset()
	if opts.Store != nil {
		claim, err := opts.Store.Claim(opts.Tenant, s.load)
		if err != nil {
			return nil, fmt.Errorf("%s: tenant %q: %w", opts.Store.Path(), opts.Tenant, err)
		}
		s.claim = claim
	}
	s.publish()
	return s, nil
}

// publish makes the state's rows, errors and figures what Rows and
// Collect see. The caller holds syncing (or is New).
func (s *Source) publish() {
	rows := s.buildRows()
	st := stats{signIns: s.signIns, signUps: s.signUps, lastOK: maps.Clone(s.lastOK), synced: s.synced}
	for _, p := range s.periods {
		if p.open() {
			st.openUsers += p.users.len()
		}
	}
	s.mu.Lock()
	s.rows, s.errs, s.stats = rows, s.syncErrs, st
	s.mu.Unlock()
}

func (o Options) withDefaults() Options {
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.Overlap <= 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Reread <= 0 {
		o.Reread = DefaultReread
	}
	o.Reread = min(o.Reread, o.Overlap)
	if o.SweepEvery <= 0 {
		o.SweepEvery = DefaultSweepEvery
	}
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	if o.RegistrationsEvery <= 0 {
		o.RegistrationsEvery = DefaultRegistrationsEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// reset empties the in-memory state.
func (s *Source) reset() {
	s.signIns, s.signUps = feed{}, feed{}
	s.seen = map[string]map[string]time.Time{feedSignIns: {}, feedSignUps: {}}
	s.periods = map[periodKey]*period{}
	s.users, s.registrations, s.inactive = nil, nil, nil
	s.syncErrs = map[string]error{}
	s.span = map[string]time.Duration{}
	s.eventsRetry = map[string]retry{}
	if s.lastOK == nil { // kept across a reload of the state: it is not state
		s.lastOK = map[string]time.Time{}
	}
	s.migrating = false
	s.floorStep = map[string]time.Duration{}
}

// CatchingUp reports whether the last Sync ran out of time with more to
// read, so the collector refreshes again soon (source.CatchingUp).
func (s *Source) CatchingUp() bool { return s.catchingUp.Load() }

// Reports lists the reports the logs source produces; the others of the
// catalog (summary, requests, inactive users by application, telecom
// fraud) are absent for its tenants.
func (s *Source) Reports() []insights.Report { return insights.LogsReports() }

var _ source.Source = (*Source)(nil)

// Name is insights.SourceLogs.
func (s *Source) Name() string { return insights.SourceLogs }

// Refresh reads what is new (Sync), then returns the reports of want as
// of it. A refresh that ran out of time fails them all: the collector's
// deadline has passed.
func (s *Source) Refresh(ctx context.Context, want []insights.Report) source.Results {
	if err := s.Sync(ctx); err != nil {
		s.opts.Logger.Debug("logs source refresh incomplete; the reports built from a failed read fail", "err", err)
	}
	out := make(source.Results, len(want))
	for _, r := range want {
		var res source.Result
		if res.Err = ctx.Err(); res.Err == nil {
			res.Rows, res.Err = s.Rows(r)
		}
		out[r] = res
	}
	return out
}

// Rows returns the rows of report r as of the last Sync, or the error of
// the read it is built from.
func (s *Source) Rows(r insights.Report) ([]insights.Row, error) {
	feed, ok := feedOf(r.Name)
	if !ok {
		return nil, fmt.Errorf("the logs source has no report %s", r)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.errs[feed]; err != nil {
		return nil, err
	}
	return s.rows[r], nil
}

// Sync reads what is new in every feed and commits it. A feed's failure is
// returned by Rows for the reports built from it; the others go on.
func (s *Source) Sync(ctx context.Context) error {
	s.syncing.Lock()
	defer s.syncing.Unlock()
	// Whole seconds: Graph's filter takes at most 7 fractional digits, and
	// windows on whole seconds read more easily in logs.
	now := s.opts.Now().UTC().Truncate(time.Second)
	s.syncErrs = map[string]error{}
	// Each read in its share of ctx's time, all taken now, so that an
	// event log catching up cannot starve the others refresh after
	// refresh: first the counts (a few requests) in at most a third; then
	// the event logs, leaving a fifth (at most 30 s); then the
	// registrations (paged, resumed next refresh if cut off), leaving a
	// tenth (at most 10 s) for the caller to serve what was committed (the
	// collector fails every report once its deadline passed).
	countsCtx, cancelCounts := share(ctx, 3)
	defer cancelCounts()
	eventsCtx, cancelEvents := reserve(ctx, 5, 30*time.Second)
	defer cancelEvents()
	regsCtx, cancelRegs := reserve(ctx, 10, 10*time.Second)
	defer cancelRegs()
	read := s.syncCounts(countsCtx, now)
	var eventsBehind bool
	s.syncErrs[feedSignIns], s.syncErrs[feedSignUps], eventsBehind = s.syncEvents(eventsCtx, now)
	read = append(read, s.syncRegistrations(regsCtx, now)...)
	s.commitPeriodic(read)
	s.catchingUp.Store(eventsBehind || s.regPartial != nil)
	s.synced = true
	for _, name := range reads() {
		if s.syncErrs[name] == nil && s.attempted(name, now) {
			s.lastOK[name] = now
		}
	}
	s.publish()
	return errors.Join(s.syncErrs[feedSignIns], s.syncErrs[feedSignUps], s.syncErrs[feedUsers], s.syncErrs[feedRegistrations],
		s.syncErrs[feedInactive])
}

// reserve returns ctx with a deadline that leaves a 1/part of ctx's time
// left (at most most) unused; without a deadline, ctx as it is.
func reserve(ctx context.Context, part int, most time.Duration) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(d)
	return context.WithDeadline(ctx, d.Add(-min(left/time.Duration(part), most)))
}

// share returns ctx with a deadline 1/part of ctx's time from now; without
// a deadline, ctx as it is.
func share(ctx context.Context, part int) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(d)/time.Duration(part))
}

// syncCounts reads the user count, and the inactive users when due
// (spaced out after a failure); it returns the reads that changed the
// state.
func (s *Source) syncCounts(ctx context.Context, now time.Time) []string {
	var read []string
	if s.readUsers(ctx, now) {
		read = append(read, feedUsers)
	}
	switch {
	case s.inactiveRetry.waiting(now):
		s.syncErrs[feedInactive] = s.inactiveRetry.err
	case s.inactiveRetry.err != nil || s.inactive.due(now):
		if s.readInactive(ctx, now) {
			read = append(read, feedInactive)
		}
	}
	return read
}

// syncRegistrations reads the registrations when due, or goes on with an
// unfinished read (spaced out after a failure); it returns the reads that
// changed the state.
func (s *Source) syncRegistrations(ctx context.Context, now time.Time) []string {
	switch {
	case s.regRetry.waiting(now):
		s.syncErrs[feedRegistrations] = s.regRetry.err
	case s.regPartial != nil || s.regRetry.err != nil || s.registrations == nil ||
		now.Sub(s.registrations.At) >= s.opts.RegistrationsEvery:
		if s.readRegistrations(ctx, now) {
			return []string{feedRegistrations}
		}
	}
	return nil
}

// commitPeriodic commits what the periodic reads changed; a failed commit
// fails each of them.
func (s *Source) commitPeriodic(read []string) {
	if len(read) == 0 {
		return
	}
	if err := s.commit(newChange()); err != nil {
		for _, name := range read {
			s.syncErrs[name] = err
		}
	}
}

// reads names the reads of the logs source, in the order of its metrics.
func reads() []string {
	return []string{feedSignIns, feedSignUps, feedUsers, feedRegistrations, feedInactive}
}

// attempted reports whether read name was made in the Sync at now: the
// event logs and the user count every time; the periodic ones when their
// last result is from now.
func (s *Source) attempted(name string, now time.Time) bool {
	switch name {
	case feedRegistrations:
		return s.registrations != nil && s.registrations.At.Equal(now)
	case feedInactive:
		return s.inactive != nil && s.inactive.At.Equal(now)
	}
	return true
}

// failedPeriodic records a periodic read's failure and its back-off.
func (s *Source) failedPeriodic(r *retry, now time.Time, err error) {
	first := retryFirst
	if insights.ReasonOf(err) == insights.ReasonForbidden || errors.Is(err, insights.ErrUnlicensed) {
		first = retryForbiddenFirst
	}
	r.failed(now, err, first, max(first, s.opts.RegistrationsEvery))
}

func (s *Source) feed(name string) *feed {
	if name == feedSignIns {
		return &s.signIns
	}
	return &s.signUps
}

// inWindow reports whether an event created at t belongs to window w; one
// that does not (a misbehaving response) is skipped: counting it would
// count it again on every refresh, as its id leaves the seen set at once.
func (s *Source) inWindow(name string, w window, id string, t time.Time, odd *int) bool {
	if w.contains(t) {
		return true
	}
	if *odd == 0 {
		s.opts.Logger.Warn("Graph returned events outside the window asked for; they are skipped",
			"feed", name, "window", w.String(), "id", id, "created", t)
	}
	*odd++
	s.feed(name).OutOfWindow++
	return false
}

// change collects what one round changed, for the store.
type change struct {
	seen    map[string]map[string]time.Time // feed → new ids → createdDateTime
	pruned  map[string][]string             // feed → ids out of the window
	users   map[*period]map[userKey]bool    // users whose tuples grew
	flows   map[*period]map[string]bool     // sign-up flows whose stages grew
	periods map[*period]bool                // periods whose counters changed
	closed  []*period
	dropped []*period
}

func newChange() *change {
	return &change{
		seen:  map[string]map[string]time.Time{feedSignIns: {}, feedSignUps: {}},
		users: map[*period]map[userKey]bool{}, periods: map[*period]bool{}, pruned: map[string][]string{},
		flows: map[*period]map[string]bool{},
	}
}

func (s *Source) period(g insights.Granularity, at time.Time) *period {
	start := insights.PeriodStart(g, at)
	k := periodKey{g, start}
	p, ok := s.periods[k]
	if !ok {
		p = newPeriod(g, start, s.opts.ActiveUserDims[g])
		s.periods[k] = p
	}
	return p
}

// fresh reports whether an event id is new, and records it.
func (s *Source) fresh(name, id string, created time.Time, c *change) bool {
	f := s.feed(name)
	_, seen := s.seen[name][id]
	if _, again := c.seen[name][id]; seen || again {
		f.Duplicates++
		return false
	}
	c.seen[name][id] = created
	f.Events++
	return true
}

// applySignIns counts the new sign-ins of window w and returns how many
// events of the window were read.
func (s *Source) applySignIns(events []insights.SignIn, w window, c *change) int {
	odd := 0
	defer func() { s.logOdd(feedSignIns, w, odd) }()
	for i := range events {
		e := &events[i]
		if !s.inWindow(feedSignIns, w, e.ID, e.Created, &odd) || !s.fresh(feedSignIns, e.ID, e.Created, c) {
			continue
		}
		t := signInTuple(e)
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := s.period(g, e.Created)
			c.periods[p] = true
			if p.addSignIn(e, t) {
				if c.users[p] == nil {
					c.users[p] = map[userKey]bool{}
				}
				c.users[p][userKeyOf(e.UserID)] = true
			}
		}
	}
	return len(events) - odd
}

// applySignUps counts the new sign-ups of window w and returns how many
// events of the window were read.
func (s *Source) applySignUps(events []insights.SignUp, w window, c *change) int {
	odd := 0
	defer func() { s.logOdd(feedSignUps, w, odd) }()
	for i := range events {
		e := &events[i]
		if !s.inWindow(feedSignUps, w, e.ID, e.Created, &odd) || !s.fresh(feedSignUps, e.ID, e.Created, c) {
			continue
		}
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := s.period(g, e.Created)
			c.periods[p] = true
			if p.addSignUp(e) {
				if c.flows[p] == nil {
					c.flows[p] = map[string]bool{}
				}
				c.flows[p][e.CorrelationID] = true
			}
		}
	}
	return len(events) - odd
}

// logOdd says how many events of one read were outside its window.
func (s *Source) logOdd(name string, w window, odd int) {
	if odd > 1 {
		s.opts.Logger.Warn("events outside the window skipped", "feed", name, "window", w.String(), "events", odd)
	}
}

// advance moves feed name past window w. The frontier moves the
// watermark and the seen ids kept for the overlap; the sweep moves its
// cursor, and ends at the frontier's re-read.
func (s *Source) advance(name string, w window, now time.Time, c *change) {
	f := s.feed(name)
	for id, created := range c.seen[name] {
		s.seen[name][id] = created
	}
	if w.kind == sweep {
		f.Sweep = w.to
		if !w.to.Before(f.Watermark.Add(-s.opts.Reread)) {
			f.Sweep, f.SweptAt = time.Time{}, now
		}
		return
	}
	if f.Watermark.IsZero() { // the first window committed: where the feed's reads start
		f.Since, f.SeenSince, f.SweptAt = w.from, w.from, now
	}
	f.Watermark = w.to
	if keep := w.to.Add(-s.opts.Overlap); keep.After(f.SeenSince) {
		f.SeenSince = keep
	}
	for id, created := range s.seen[name] {
		if created.Before(f.SeenSince) {
			delete(s.seen[name], id)
			c.pruned[name] = append(c.pruned[name], id)
		}
	}
}

// commit writes one round in one transaction: the document, the periods
// and sets it changed. If the write fails, the state is reloaded from the
// store, so memory never holds what the store does not.
func (s *Source) commit(c *change) error {
	if s.opts.Store == nil {
		return nil
	}
	err := s.opts.Store.Update(s.opts.Tenant, s.claim, func(tx *store.Tx) error { return s.write(tx, c) })
	if err != nil {
		s.opts.Logger.Error("could not write the logs source's state; reloading the last committed state",
			"path", s.opts.Store.Path(), "err", err)
		if rerr := s.reload(); rerr != nil {
			return fmt.Errorf("write state: %w; reload: %w", err, rerr)
		}
		return fmt.Errorf("write state %s: %w", s.opts.Store.Path(), err)
	}
	return nil
}

// age closes the open periods that no read can reach any more (they ended
// before both event logs' watermark − overlap; a log never read does not
// hold the others back) and drops the periods past the ones kept.
func (s *Source) age(c *change) {
	now := s.signIns.Watermark
	if up := s.signUps.Watermark; now.IsZero() || !up.IsZero() && up.Before(now) {
		now = up
	}
	reach := now.Add(-s.opts.Overlap)
	oldestDay := insights.PeriodStart(insights.Daily, now).AddDate(0, 0, -keepDays)
	oldestMonth := insights.PeriodStart(insights.Monthly, now).AddDate(0, -keepMonths, 0)
	for k, p := range s.periods {
		if (k.g == insights.Daily && k.start.Before(oldestDay)) || (k.g == insights.Monthly && k.start.Before(oldestMonth)) {
			delete(s.periods, k)
			c.dropped = append(c.dropped, p)
			continue
		}
		if p.open() && !p.end().After(reach) {
			p.close()
			c.closed = append(c.closed, p)
		}
	}
}

// readUsers reads users/$count; it reports whether the state changed.
func (s *Source) readUsers(ctx context.Context, now time.Time) bool {
	n, err := s.opts.Reader.UserCount(ctx)
	if err != nil {
		s.syncErrs[feedUsers] = fmt.Errorf("users/$count: %w", err)
		return false
	}
	s.users = &sample{At: now, Count: n}
	return true
}

// readRegistrations reads userRegistrationDetails; it reports whether the
// state changed. A read that runs out of time after some pages keeps them
// (in memory) and goes on from the next page at the next refresh, so a
// directory too large for one refresh is still read whole; a resumed read
// whose page link Graph no longer takes starts over.
func (s *Source) readRegistrations(ctx context.Context, now time.Time) bool {
	p := s.regPartial
	if p == nil {
		p = &regProgress{byMethod: map[string]int64{}}
	}
	resumed := p.next != ""
	err := s.opts.Reader.Registrations(ctx, p.next, func(page []insights.Registration, next string) error {
		for _, r := range page {
			for _, m := range slices.Compact(slices.Sorted(slices.Values(r.MethodsRegistered))) {
				p.byMethod[insights.Normalize("mfa_type", m)]++
			}
		}
		p.next, p.pages = next, p.pages+1
		return nil
	})
	switch {
	case err == nil:
		s.regPartial, s.regRetry = nil, retry{}
		s.registrations = &registrations{At: now, ByMethod: p.byMethod}
		return true
	case ctx.Err() != nil && p.next != "":
		s.regPartial = p
		s.opts.Logger.Debug("userRegistrationDetails is larger than one refresh can read; the next refresh goes on",
			"pages_read", p.pages)
		return false
	}
	s.regPartial = nil
	err = fmt.Errorf("userRegistrationDetails: %w", err)
	if resumed && insights.ReasonOf(err) == insights.ReasonBadRequest {
		s.opts.Logger.Info("Graph no longer takes the page link of the unfinished read of userRegistrationDetails; it starts over", "err", err)
	}
	s.syncErrs[feedRegistrations] = err
	s.failedPeriodic(&s.regRetry, now, err)
	return false
}

// regProgress is an unfinished read of userRegistrationDetails: the counts
// of the pages read and the link of the next page.
type regProgress struct {
	byMethod map[string]int64
	next     string
	pages    int
}

// inactiveWindows are the inactivity windows read: a day, and 30, 60 and
// 90 days; the calendar month's is read from the month's start.
func inactiveWindows() map[string]time.Duration {
	return map[string]time.Duration{"1d": 24 * time.Hour, "30d": 30 * 24 * time.Hour, "60d": 60 * 24 * time.Hour, "90d": 90 * 24 * time.Hour}
}

// readInactive counts the inactive users of every window; it reports
// whether the state changed. Without the licence the metrics are absent,
// and one log line says why.
func (s *Source) readInactive(ctx context.Context, now time.Time) bool {
	byWindow := map[string]int64{}
	befores := map[string]time.Time{"calendar_month": insights.PeriodStart(insights.Monthly, now)}
	for w, d := range inactiveWindows() {
		befores[w] = now.Add(-d)
	}
	for _, w := range slices.Sorted(maps.Keys(befores)) {
		n, err := s.opts.Reader.InactiveUsers(ctx, befores[w])
		if errors.Is(err, insights.ErrUnlicensed) {
			if s.inactive == nil || !s.inactive.Unlicensed {
				s.opts.Logger.Warn("inactive users are not exported: they need users' signInActivity, which needs an"+
					" Entra ID P1 or P2 licence in this tenant; trying again in a day", "err", err)
			}
			s.inactiveRetry = retry{}
			s.inactive = &inactive{At: now, Unlicensed: true}
			return true
		}
		if err != nil {
			err = fmt.Errorf("inactive users: %w", err)
			s.syncErrs[feedInactive] = err
			s.failedPeriodic(&s.inactiveRetry, now, err)
			return false
		}
		byWindow[w] = n
	}
	s.inactiveRetry = retry{}
	s.inactive = &inactive{At: now, ByWindow: byWindow}
	return true
}

// buildRows renders every report from the state.
func (s *Source) buildRows() map[insights.Report][]insights.Row {
	rows := map[insights.Report][]insights.Row{}
	keys := slices.SortedFunc(maps.Keys(s.periods), func(a, b periodKey) int { return a.start.Compare(b.start) })
	for _, k := range keys {
		p := s.periods[k]
		for _, name := range []string{insights.ActiveUsers, insights.TenantActiveUsers, insights.Authentications,
			insights.MFACompletions, insights.SignUps, insights.SignInInterrupts, insights.SignUpFunnel, insights.Requests} {
			r := insights.Report{Granularity: k.g, Name: name}
			rows[r] = p.rows(name, rows[r])
		}
	}
	if s.users != nil {
		r := insights.Report{Granularity: insights.Daily, Name: insights.UserCount}
		rows[r] = []insights.Row{{FactDate: insights.PeriodStart(insights.Daily, s.users.At), Count: s.users.Count}}
	}
	if s.inactive != nil && !s.inactive.Unlicensed {
		w := s.inactive.ByWindow
		daily := insights.Row{FactDate: insights.PeriodStart(insights.Daily, s.inactive.At),
			Inactive1Day: w["1d"], Inactive30Day: w["30d"], Inactive60Day: w["60d"], Inactive90Day: w["90d"]}
		monthly := daily
		monthly.FactDate, monthly.Inactive1Day, monthly.InactiveCalendarMonth = insights.PeriodStart(insights.Monthly, s.inactive.At), 0, w["calendar_month"]
		rows[insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsers}] = []insights.Row{daily}
		rows[insights.Report{Granularity: insights.Monthly, Name: insights.InactiveUsers}] = []insights.Row{monthly}
	}
	if s.registrations != nil {
		r := insights.Report{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}
		for _, m := range slices.Sorted(maps.Keys(s.registrations.ByMethod)) {
			rows[r] = append(rows[r], insights.Row{FactDate: insights.PeriodStart(insights.Monthly, s.registrations.At),
				MFAType: m, Count: s.registrations.ByMethod[m]})
		}
	}
	return rows
}

func latest(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.After(out) {
			out = t
		}
	}
	return out
}
