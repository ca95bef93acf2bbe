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
	// granularity: those the catalog keeps of active_users (ActiveUserDims).
	ActiveUserDims map[insights.Granularity][]string
	Now            func() time.Time
	Logger         *slog.Logger
}

// Source is the logs source of one tenant. Sync reads Graph and commits;
// Result serves the reports from what Sync aggregated. It is safe for
// concurrent use.
type Source struct {
	opts  Options
	claim uint64

	// syncing serializes Sync and guards the state below it; mu guards
	// what Sync publishes (results, errs, stats), so Result and the metrics
	// never wait for a Sync that reads Graph.
	syncing sync.Mutex
	mu      sync.RWMutex
	errs    map[string]error // feed → error of the last Sync
	results map[insights.Report]source.Result
	stats   stats

	signIns       feed
	signUps       feed
	seen          map[string]map[string]time.Time // feed → id → createdDateTime
	periods       map[periodKey]*period
	users         *sample
	registrations *registrations
	inactive      *inactive
	syncErrs      map[string]error
	// carried marks the reads whose error in syncErrs is the last one,
	// carried over while the read backs off: not a new failure.
	carried map[string]bool
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
	// readErrors counts the failed attempts of each read (in memory).
	readErrors map[readError]int64
	// migratingFrom is the layout of a state of an earlier layout while it
	// awaits its first commit, 0 otherwise (persist.go).
	migratingFrom int
	// catchingUp says the last Sync ran out of time with more to read
	// (events or a userRegistrationDetails read to go on with).
	catchingUp atomic.Bool
	// regRetry and inactiveRetry space out the reads of registrations and
	// inactive users after a failure (in memory only).
	regRetry, inactiveRetry retry
	// regPartial is the read of userRegistrationDetails to go on with, if
	// the last one ran out of time (in memory only).
	regPartial *regProgress
	// regStarved says the last read of userRegistrationDetails ran out of
	// the refresh's time before its first page: the next goes first.
	regStarved bool
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
	// readErrors counts the failed attempts of each read, by reason.
	readErrors map[readError]int64
}

// readError is a read of the logs source and the reason it failed.
type readError struct {
	read   string
	reason insights.Reason
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
	case insights.ActiveUsers, insights.Authentications, insights.MFACompletions,
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
	s.syncErrs, s.carried = map[string]error{}, map[string]bool{}
	s.span = map[string]time.Duration{}
	s.eventsRetry = map[string]retry{}
	if s.lastOK == nil { // kept across a reload of the state: it is not state
		s.lastOK, s.readErrors = map[string]time.Time{}, map[readError]int64{}
	}
	s.migratingFrom = 0
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
		if err := ctx.Err(); err != nil {
			out[r] = source.Result{Err: err}
			continue
		}
		out[r] = s.Result(r)
	}
	return out
}

// Result returns report r as of the last Sync, or the error of the read it
// is built from.
func (s *Source) Result(r insights.Report) source.Result {
	feed, ok := feedOf(r.Name)
	if !ok {
		return source.Result{Err: fmt.Errorf("the logs source has no report %s", r)}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.errs[feed]; err != nil {
		return source.Result{Err: err}
	}
	return s.results[r]
}

// Sync reads what is new in every feed and commits it. A feed's failure is
// returned by Result for the reports built from it; the others go on.
func (s *Source) Sync(ctx context.Context) error {
	s.syncing.Lock()
	defer s.syncing.Unlock()
	// Whole seconds: Graph's filter takes at most 7 fractional digits, and
	// windows on whole seconds read more easily in logs.
	now := s.opts.Now().UTC().Truncate(time.Second)
	s.syncErrs, s.carried = map[string]error{}, map[string]bool{}
	// Each read in its share of ctx's time, all taken now, so that an
	// event log catching up cannot starve the others refresh after
	// refresh: first the counts (a few requests) in at most a third; then
	// the event logs, leaving a fifth (at most 30 s); then the
	// registrations (paged, resumed next refresh if cut off; their first
	// read goes with the counts), leaving a tenth (at most 10 s) for the
	// caller to serve what was committed (the collector fails every report
	// once its deadline passed).
	countsCtx, cancelCounts := share(ctx, 3)
	defer cancelCounts()
	eventsCtx, cancelEvents := reserve(ctx, 5, 30*time.Second)
	defer cancelEvents()
	regsCtx, cancelRegs := reserve(ctx, 10, 10*time.Second)
	defer cancelRegs()
	read := s.syncCounts(countsCtx, now)
	// Registrations that the last refresh's time cut off before a page go
	// with the counts, whose third of the time a few requests leave mostly
	// unused: a long catch-up of the logs leaves them only the last tenth
	// of each refresh, which may hold no page at all (a slow machine, a
	// 30-second demo refresh, the request budget spent), and their metric
	// would be absent for hours. Not in a refresh too short to spare that
	// third (seconds, as in tests), where the logs keep all they can have.
	starved := s.regStarved && roomy(ctx)
	if starved {
		read = append(read, s.syncRegistrations(countsCtx, now)...)
	}
	var eventsBehind bool
	s.syncErrs[feedSignIns], s.syncErrs[feedSignUps], eventsBehind = s.syncEvents(eventsCtx, now)
	if !starved {
		read = append(read, s.syncRegistrations(regsCtx, now)...)
	}
	s.commitPeriodic(read)
	s.catchingUp.Store(eventsBehind || s.regPartial != nil)
	s.synced = true
	for _, name := range reads() {
		if err := s.syncErrs[name]; err != nil && !s.carried[name] {
			s.readErrors[readError{name, insights.ReasonOf(err)}]++
		}
		if s.syncErrs[name] == nil && s.attempted(name, now) {
			s.lastOK[name] = now
		}
	}
	s.publish()
	return errors.Join(s.syncErrs[feedSignIns], s.syncErrs[feedSignUps], s.syncErrs[feedUsers], s.syncErrs[feedRegistrations],
		s.syncErrs[feedInactive])
}

// roomyRefresh is the least time a refresh must have to read starved
// registrations before the logs.
const roomyRefresh = 10 * time.Second

// roomy reports whether ctx leaves a refresh roomyRefresh or more.
func roomy(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return !ok || time.Until(d) >= roomyRefresh
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

// reads names the reads of the logs source, in the order of its metrics.
func reads() []string {
	return []string{feedSignIns, feedSignUps, feedUsers, feedRegistrations, feedInactive}
}

func (s *Source) feed(name string) *feed {
	if name == feedSignIns {
		return &s.signIns
	}
	return &s.signUps
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
