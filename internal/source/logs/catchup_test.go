package logs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// This file simulates the exporter against a busy tenant in simulated
// time: Graph's request budget, the refresh interval and the refresh
// timeout are modelled on a clock that only the requests move, so hours of
// refreshes run in seconds.

// synth is a deterministic tenant whose sign-ins are computed from their
// index: event i lies in slot i of its rate segment, so a week at a million
// sign-ins a day costs no memory, and a window's events are found by
// arithmetic.
type synth struct {
	seed  uint64
	segs  []segment
	users int // distinct users signing in
	// late is the share of sign-ins Graph ingests 60 to 120 minutes
	// after they happened (the others: 1 to 10 minutes).
	late float64
	// flowEvery anchors a sign-up flow at every flowEvery-th sign-in slot
	// (0: no sign-ups).
	flowEvery int64
}

// segment is a stretch of constant rate: one sign-in per slot of every,
// from from; its first slot is event first.
type segment struct {
	from  time.Time
	every time.Duration
	first int64
}

// rate is a number of interactive sign-ins a day from a time on.
type rate struct {
	from   time.Time
	perDay int
}

func newSynth(seed uint64, users int, late float64, flowEvery int64, rates ...rate) *synth {
	g := &synth{seed: seed, users: users, late: late, flowEvery: flowEvery}
	for _, r := range rates {
		s := segment{from: r.from, every: 24 * time.Hour / time.Duration(r.perDay)}
		if n := len(g.segs); n > 0 {
			prev := g.segs[n-1]
			slots := int64(r.from.Sub(prev.from) / prev.every)
			s.from, s.first = prev.from.Add(time.Duration(slots)*prev.every), prev.first+slots
		}
		g.segs = append(g.segs, s)
	}
	return g
}

// seg is the segment of event i.
func (g *synth) seg(i int64) segment {
	k, _ := slices.BinarySearchFunc(g.segs, i, func(s segment, i int64) int {
		if s.first <= i {
			return -1
		}
		return 1
	})
	return g.segs[k-1]
}

// slots returns the events whose slots meet [from, to]: lo ≤ i < hi.
func (g *synth) slots(from, to time.Time) (lo, hi int64) {
	at := func(t time.Time, up bool) int64 { // the first slot starting after t (up) or containing t
		if t.Before(g.segs[0].from) {
			return 0
		}
		k := len(g.segs) - 1
		for k > 0 && t.Before(g.segs[k].from) {
			k--
		}
		s := g.segs[k]
		n := s.first + int64(t.Sub(s.from)/s.every)
		if up {
			n++
		}
		return n
	}
	return at(from, false), at(to, true)
}

var (
	synthApps      = []string{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"}
	synthOS        = []string{"Windows 10", "windows", "Ios 17", "Android", ""}
	synthCountries = []string{"US", "de", "", "UK"}
)

func synthUser(u int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", u, u%7) }

// signIn is event i: a success, a failure (17 %), or a "Keep me signed
// in" interrupt (8 %); a third of the others with MFA.
func (g *synth) signIn(i int64) fakeSignIn {
	rng := rand.New(rand.NewPCG(g.seed, uint64(i)))
	s := g.seg(i)
	at := s.from.Add(time.Duration(i-s.first)*s.every + time.Duration(rng.Int64N(int64(s.every))))
	e := insights.SignIn{ID: "si-" + strconv.FormatInt(i, 10), Created: at, UserID: synthUser(rng.IntN(g.users)),
		AppID: synthApps[rng.IntN(len(synthApps))], AppName: "App", OS: synthOS[rng.IntN(len(synthOS))],
		Browser: "Edge", Country: synthCountries[rng.IntN(len(synthCountries))]}
	switch r := rng.IntN(100); {
	case r < 8:
		e.ErrorCode = 50140
	case r < 25:
		e.ErrorCode = []int64{50126, 50053, 500121}[rng.IntN(3)]
	}
	if e.ErrorCode != 50140 && rng.IntN(3) == 0 {
		e.MFA, e.MFAMethod, e.MFASucceeded = true, []string{"Email OTP", "Text message"}[rng.IntN(2)], e.ErrorCode == 0
	}
	latency := time.Duration(60+rng.IntN(540)) * time.Second
	if rng.Float64() < g.late {
		latency = time.Duration(60+rng.IntN(60)) * time.Minute
	}
	return fakeSignIn{SignIn: e, visible: at.Add(latency)}
}

// flowMargin bounds the length of a sign-up flow (signUpFlow: at most six
// stages 7 s apart).
const flowMargin = time.Minute

// signUpsIn returns the sign-up events created in [from, to], newest first.
func (g *synth) signUpsIn(from, to time.Time) []insights.SignUp {
	if g.flowEvery == 0 {
		return nil
	}
	lo, hi := g.slots(from.Add(-flowMargin), to)
	var out []insights.SignUp
	for j := (lo + g.flowEvery - 1) / g.flowEvery; j*g.flowEvery < hi; j++ {
		for _, e := range g.flow(j) {
			if !e.Created.Before(from) && !e.Created.After(to) {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b insights.SignUp) int { return b.Created.Compare(a.Created) })
	return out
}

// flow is sign-up flow j, anchored at sign-in slot j·flowEvery.
func (g *synth) flow(j int64) []insights.SignUp {
	anchor := g.signIn(j * g.flowEvery)
	rng := rand.New(rand.NewPCG(g.seed^0x5157, uint64(j)))
	return signUpFlow(rng, int(j), anchor.Created, anchor.UserID, anchor.AppID)
}

// events materialises the sign-ins and sign-ups created before until, for
// the oracle.
func (g *synth) events(until time.Time) ([]fakeSignIn, []insights.SignUp) {
	_, hi := g.slots(g.segs[0].from, until)
	var signIns []fakeSignIn
	for i := range hi {
		if e := g.signIn(i); e.Created.Before(until) {
			signIns = append(signIns, e)
		}
	}
	return signIns, g.signUpsIn(g.segs[0].from, until.Add(-time.Nanosecond))
}

// Graph's budget as the exporter spends it (graph/transport): 5 requests
// in any 11 s (Graph's 10 s and a second of margin) per tenant, for the
// reads of the reports (the logs and the registrations; the user counts
// are outside it, see transport.BudgetOf).
var (
	budgetRequests = transport.TenantRequests
	budgetWindow   = transport.LimitWindow
)

// budgetReader serves a synth tenant as Graph does (newest first, pages
// of 1,000, what is ingested and retained, $select refused) and keeps
// Graph's request budget in simulated time: each request starts when the
// budget allows and takes latency on the clock. A refresh runs under a
// simCtx: a request that cannot end before its context's deadline, mapped
// to simulated time, ends the context at that deadline, as the refresh
// timeout would.
type budgetReader struct {
	g         *synth
	clock     *clock
	latency   time.Duration
	pageSize  int
	retention time.Duration

	starts []time.Time // the starts of the last budgetRequests requests

	// The refresh running: Graph's log as of its start (asOf), the
	// simulated and wall times it began, its context.
	asOf      time.Time
	wallStart time.Time
	ctx       *simCtx
	refresh   int

	requests map[string]int // feed → requests in the refresh running
	windows  []askedWindow  // every sign-in window asked for
	timeouts int            // requests cut by a deadline in the refresh running
}

// askedWindow is a sign-in window asked for: in which refresh, as of
// when, and whether every page of it was sent.
type askedWindow struct {
	refresh  int
	from, to time.Time
	asOf     time.Time
	read     bool
}

func newBudgetReader(g *synth, c *clock) *budgetReader {
	return &budgetReader{g: g, clock: c, latency: time.Second, pageSize: 1000, retention: 7 * 24 * time.Hour}
}

// begin starts refresh n at the clock's time with a refresh timeout of
// timeout; the returned context is the one the collector gives Sync.
func (r *budgetReader) begin(n int, timeout time.Duration) context.Context {
	r.refresh, r.asOf, r.wallStart = n, r.clock.now(), time.Now()
	r.requests, r.timeouts = map[string]int{}, 0
	r.ctx = newSimCtx(r.wallStart.Add(timeout))
	return r.ctx
}

// end releases the refresh's context.
func (r *budgetReader) end() { r.ctx.expire() }

// deadline maps ctx's deadline (Sync keeps shares of the refresh timeout
// for later steps) to simulated time.
func (r *budgetReader) deadline(ctx context.Context) (time.Time, bool) {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Time{}, false
	}
	return r.asOf.Add(d.Sub(r.wallStart)), true
}

// request spends one request of the budget for feed: it starts when the
// budget allows, and moves the clock by latency. If it cannot end before
// ctx's deadline, the clock goes to the deadline, the refresh's context
// ends and the request fails as the transport's would. strict is false for
// the periodic reads: Sync gives them a later deadline than the event
// reads, but ending the refresh's context at the events' deadline ends
// theirs too, so for them only their own deadline counts.
func (r *budgetReader) request(ctx context.Context, feed string, strict bool) error {
	if strict && ctx.Err() != nil {
		return &insights.Error{Reason: insights.ReasonTimeout, Err: fmt.Errorf("wait for the request budget: %w", ctx.Err())}
	}
	start := r.clock.now()
	budgeted := feed != feedUsers && feed != feedInactive
	if budgeted && len(r.starts) == budgetRequests {
		start = latest(start, r.starts[0].Add(budgetWindow))
	}
	if d, ok := r.deadline(ctx); ok && start.Add(r.latency).After(d) {
		r.clock.set(latest(r.clock.now(), d))
		r.timeouts++
		if strict {
			r.ctx.expire()
			<-ctx.Done() // the derived contexts end asynchronously
		}
		return &insights.Error{Reason: insights.ReasonTimeout, Err: fmt.Errorf("%s: %w", feed, context.DeadlineExceeded)}
	}
	if budgeted && len(r.starts) == budgetRequests {
		r.starts = r.starts[1:]
	}
	if budgeted {
		r.starts = append(r.starts, start)
	}
	r.clock.set(start.Add(r.latency))
	r.requests[feed]++
	return nil
}

func (r *budgetReader) SignIns(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignIn) error) error {
	if sel { // refused, as users report: it costs one request
		if err := r.request(ctx, feedSignIns, true); err != nil {
			return err
		}
		return fmt.Errorf("page 1: %w", insights.ErrSelectRefused)
	}
	r.windows = append(r.windows, askedWindow{refresh: r.refresh, from: from, to: to, asOf: r.asOf})
	asked := &r.windows[len(r.windows)-1]
	if err := r.signIns(ctx, from, to, page); err != nil {
		return err
	}
	asked.read = true
	return nil
}

// signIns sends the sign-ins of [from, to] in pages.
func (r *budgetReader) signIns(ctx context.Context, from, to time.Time, page func([]insights.SignIn) error) error {
	lo, hi := r.g.slots(from, to)
	buf := make([]insights.SignIn, 0, r.pageSize)
	pages := 0
	flush := func() error {
		if err := r.request(ctx, feedSignIns, true); err != nil {
			return err
		}
		pages++
		err := page(buf)
		buf = buf[:0]
		return err
	}
	for i := hi - 1; i >= lo; i-- {
		e := r.g.signIn(i)
		if e.Created.Before(from) || e.Created.After(to) || e.visible.After(r.asOf) || e.Created.Before(r.asOf.Add(-r.retention)) {
			continue
		}
		if buf = append(buf, e.SignIn); len(buf) == r.pageSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(buf) > 0 || pages == 0 { // an empty window is one empty page
		return flush()
	}
	return nil
}

func (r *budgetReader) SignUps(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignUp) error) error {
	if sel {
		if err := r.request(ctx, feedSignUps, true); err != nil {
			return err
		}
		return fmt.Errorf("page 1: %w", insights.ErrSelectRefused)
	}
	var events []insights.SignUp
	for _, e := range r.g.signUpsIn(from, to) {
		if !e.Created.After(r.asOf) && !e.Created.Before(r.asOf.Add(-r.retention)) {
			events = append(events, e)
		}
	}
	for i := 0; ; i += r.pageSize {
		if err := r.request(ctx, feedSignUps, true); err != nil {
			return err
		}
		if err := page(events[i:min(i+r.pageSize, len(events))]); err != nil {
			return err
		}
		if i+r.pageSize >= len(events) {
			return nil
		}
	}
}

func (r *budgetReader) UserCount(ctx context.Context) (int64, error) {
	if err := r.request(ctx, feedUsers, false); err != nil {
		return 0, err
	}
	return int64(r.g.users), nil
}

// Registrations reads one page per 1,000 users and reports none
// registered (the figures are not under test here, the requests are).
// Registrations costs one request per 1,000 users, from page from on
// ("page:N"), and serves no registration.
func (r *budgetReader) Registrations(ctx context.Context, from string, page func([]insights.Registration, string) error) error {
	pages, start := max(r.g.users, 1)/1000+1, 0
	if from != "" {
		if _, err := fmt.Sscanf(from, "page:%d", &start); err != nil {
			return err
		}
	}
	for i := start; i < pages; i++ {
		if err := r.request(ctx, feedRegistrations, false); err != nil {
			return err
		}
		next := ""
		if i+1 < pages {
			next = fmt.Sprintf("page:%d", i+1)
		}
		if err := page(nil, next); err != nil {
			return err
		}
	}
	return nil
}

func (r *budgetReader) InactiveUsers(ctx context.Context, _ time.Time) (int64, error) {
	if err := r.request(ctx, feedInactive, false); err != nil {
		return 0, err
	}
	return 0, nil
}

// simCtx is the refresh's context: its deadline is on the wall clock (Sync
// derives its shares from it), but it ends only when the budgetReader says
// the simulated time is up.
type simCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	once     sync.Once
}

func newSimCtx(deadline time.Time) *simCtx {
	return &simCtx{Context: context.Background(), deadline: deadline, done: make(chan struct{})}
}

func (c *simCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *simCtx) Done() <-chan struct{}       { return c.done }
func (c *simCtx) expire()                     { c.once.Do(func() { close(c.done) }) }
func (c *simCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// Defaults of the collector the simulation follows: a refresh every 5
// minutes, bounded by min(2m, interval).
const (
	simInterval = 5 * time.Minute
	simTimeout  = 2 * time.Minute
)

// simRefresh is what one simulated refresh did.
type simRefresh struct {
	n                 int
	start             time.Time
	took              time.Duration
	requests          map[string]int
	err               error
	lag               time.Duration // start − the sign-ins' watermark after it
	signUpLag         time.Duration
	sweeping, swept   bool // a late sweep is under way after it; one ended in it
	authErr, signUpEr error
}

func (r simRefresh) eventRequests() int { return r.requests[feedSignIns] + r.requests[feedSignUps] }

func (r simRefresh) total() int {
	n := 0
	for _, v := range r.requests {
		n += v
	}
	return n
}

// simulation drives a Source with a budgetReader, one refresh every
// simInterval from start.
type simulation struct {
	s     *Source
	r     *budgetReader
	c     *clock
	start time.Time
	n     int
}

func (sim *simulation) refresh() simRefresh {
	start := sim.start.Add(time.Duration(sim.n) * simInterval)
	sim.c.set(start)
	ctx := sim.r.begin(sim.n, simTimeout)
	swept := sim.s.signIns.SweptAt
	err := sim.s.Sync(ctx)
	sim.r.end()
	out := simRefresh{n: sim.n, start: start, took: sim.c.now().Sub(start), requests: sim.r.requests, err: err,
		lag: start.Sub(sim.s.signIns.Watermark), signUpLag: start.Sub(sim.s.signUps.Watermark),
		sweeping: !sim.s.signIns.Sweep.IsZero(), swept: !sim.s.signIns.SweptAt.Equal(swept)}
	out.authErr = sim.s.Result(insights.Report{Granularity: insights.Daily, Name: insights.Authentications}).Err
	out.signUpEr = sim.s.Result(insights.Report{Granularity: insights.Daily, Name: insights.SignUps}).Err
	sim.n++
	return out
}

func (r simRefresh) String() string {
	return fmt.Sprintf("refresh %d at %s: %v, requests %v, sign-ins %v behind, sign-ups %v behind, sweep running %v, ended %v, err %v",
		r.n, r.start.Format("15:04"), r.took, r.requests, r.lag, r.signUpLag, r.sweeping, r.swept, r.err)
}

// TestBusyTenantCatchesUpAndKeepsUp is issue 14's busy tenant: 30,000
// interactive sign-ins in the last 3 hours (and going on at that rate),
// after a normal week of 20,000 a day, read from a first start with the
// default flags under Graph's budget of 5 requests per 10 s and the
// default refresh (every 5 minutes, 2 minutes' timeout), in simulated time.
// The feed must catch up within 10 refreshes, then stay within a refresh
// interval of now for the next hour, with every late sweep ending; no
// window may be asked for again and again; and the figures must be exact.
func TestBusyTenantCatchesUpAndKeepsUp(t *testing.T) {
	now := testEnd
	burst := now.Add(-3 * time.Hour)
	g := newSynth(14, 5000, 0.02, 50,
		rate{from: now.Add(-8 * 24 * time.Hour), perDay: 20_000}, rate{from: burst, perDay: 240_000})
	if lo, hi := g.slots(burst, now); hi-lo < 29_900 || hi-lo > 30_100 {
		t.Fatalf("%d sign-ins in the last 3 hours, want 30,000", hi-lo)
	}
	c := &clock{t: now}
	r := newBudgetReader(g, c)
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	s, err := New(Options{Tenant: "t1", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims})
	if err != nil {
		t.Fatal(err)
	}
	sim := &simulation{s: s, r: r, c: c, start: now}

	var log []simRefresh
	caughtUp := -1
	for caughtUp < 0 && sim.n < 10 {
		ref := sim.refresh()
		log = append(log, ref)
		if ref.lag == 0 && ref.signUpLag == 0 {
			caughtUp = ref.n
		}
	}
	if caughtUp < 0 {
		for _, ref := range log {
			t.Log(ref)
		}
		t.Fatalf("not caught up after %d refreshes (%v): sign-ins %v behind", sim.n, time.Duration(sim.n)*simInterval, log[len(log)-1].lag)
	}
	// An hour at the same rate, then on until a late sweep ends, so every
	// event Graph ingested late has been read again.
	keep := sim.n + int(time.Hour/simInterval)
	swept := false
	for sim.n < keep || !swept {
		if sim.n > keep+int(time.Hour/simInterval) {
			t.Fatalf("no late sweep ended in the hour after the keep-up hour")
		}
		ref := sim.refresh()
		log = append(log, ref)
		swept = ref.swept && !ref.sweeping
		if ref.lag > simInterval || ref.signUpLag > simInterval || ref.authErr != nil || ref.signUpEr != nil {
			for _, l := range log {
				t.Log(l)
			}
			t.Fatalf("after catching up at refresh %d: %v", caughtUp, ref)
		}
	}
	sweeps := 0
	for _, ref := range log[caughtUp+1:] {
		if ref.swept && !ref.sweeping {
			sweeps++
		}
	}
	if hours := float64(len(log)-caughtUp-1) * simInterval.Hours(); float64(sweeps) < hours-1 {
		t.Errorf("%d late sweeps ended in %.1f hours after catching up, want about one an hour", sweeps, hours)
	}

	// No window is asked for on and on.
	asked := map[[2]time.Time]map[int]bool{}
	for _, w := range r.windows {
		k := [2]time.Time{w.from, w.to}
		if asked[k] == nil {
			asked[k] = map[int]bool{}
		}
		asked[k][w.refresh] = true
	}
	for k, refreshes := range asked {
		if len(refreshes) > 2 {
			t.Errorf("sign-in window %s..%s asked for in %d refreshes", k[0].Format(time.RFC3339), k[1].Format(time.RFC3339), len(refreshes))
		}
	}

	last := log[len(log)-1]
	events, signUps := g.events(last.start)
	// Each log's figures from where its first read started.
	want := oracleOf(events, nil, s.signIns.Since, last.start, testDims[insights.Daily])
	for k, v := range oracleOf(nil, signUps, s.signUps.Since, last.start, testDims[insights.Daily]) {
		want[k] += v
	}
	got := observed(t, s, testDims[insights.Daily])
	dropMonthlyUsers(want, got) // monthly users are counted by other dimensions
	if d := diff(want, got); d != "" {
		t.Fatalf("figures after catching up differ from the events:\n%s", d)
	}
	for _, ref := range log {
		t.Log(ref)
	}
	steady := log[caughtUp+1:]
	var sum, most int
	for _, ref := range steady {
		sum += ref.eventRequests()
		most = max(most, ref.eventRequests())
	}
	t.Logf("caught up at refresh %d (%v after the first start, %d sign-ins read); then %d refreshes: %.1f event requests per refresh on average, at most %d",
		caughtUp, time.Duration(caughtUp)*simInterval+log[caughtUp].took, s.signIns.Events, len(steady),
		float64(sum)/float64(len(steady)), most)
}

// TestLateSweepEndsOnBusyTenant: at a million sign-ins a day the 3-hour
// overlap holds 125,000 events, far more than one refresh can read after
// the frontier; the hourly late sweep must still end, window by window
// across refreshes, so the events Graph ingests late are counted. (The
// first start reads 4 hours back only, to keep the test short.)
func TestLateSweepEndsOnBusyTenant(t *testing.T) {
	now := testEnd
	g := newSynth(15, 200_000, 0.02, 100, rate{from: now.Add(-5 * time.Hour), perDay: 1_000_000})
	c := &clock{t: now}
	r := newBudgetReader(g, c)
	s, err := New(Options{Tenant: "t1", Reader: r, Now: c.now, ActiveUserDims: testDims, Lookback: 4 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sim := &simulation{s: s, r: r, c: c, start: now}
	var log []simRefresh
	caughtUp, sweeps := -1, 0
	for sim.n < 48 { // 4 hours
		ref := sim.refresh()
		log = append(log, ref)
		if caughtUp < 0 && ref.lag == 0 && ref.signUpLag == 0 {
			caughtUp = ref.n
		}
		if caughtUp >= 0 && ref.n > caughtUp && ref.swept && !ref.sweeping {
			sweeps++
		}
	}
	if caughtUp < 0 || caughtUp > 12 || sweeps < 2 {
		for _, ref := range log {
			t.Log(ref)
		}
		t.Errorf("caught up at refresh %d, then %d late sweeps ended in %v; want caught up within an hour, then a sweep an hour",
			caughtUp, sweeps, time.Duration(sim.n-caughtUp-1)*simInterval)
	}
	// Exact: every sign-in a read was sent is counted once, nothing else.
	last := log[len(log)-1]
	events, signUps := g.events(last.start.Add(time.Second))
	var read []fakeSignIn
	late, lateRead := 0, 0
	for _, e := range events {
		seen := slices.ContainsFunc(r.windows, func(w askedWindow) bool {
			return w.read && !e.Created.Before(w.from) && !e.Created.After(w.to) && !e.visible.After(w.asOf)
		})
		if seen {
			read = append(read, fakeSignIn{SignIn: e.SignIn})
		}
		// Late events an hour or more after the first start and old
		// enough for the sweeps to have come by.
		if lat := e.visible.Sub(e.Created); lat >= time.Hour && lat <= 90*time.Minute &&
			e.Created.After(s.signIns.Since.Add(time.Hour)) && e.Created.Before(last.start.Add(-3*time.Hour)) {
			late++
			if seen {
				lateRead++
			}
		}
	}
	if late == 0 || lateRead < late {
		t.Errorf("%d of %d sign-ins that Graph ingested 60 to 90 minutes late were read, want all", lateRead, late)
	}
	want := oracleOf(read, nil, s.signIns.Since, last.start.Add(time.Second), testDims[insights.Daily])
	for k, v := range oracleOf(nil, signUps, s.signUps.Since, last.start.Add(time.Second), testDims[insights.Daily]) {
		want[k] += v
	}
	got := observedEvents(t, s, testDims[insights.Daily])
	dropMonthlyUsers(want, got) // monthly users are counted by other dimensions
	if d := diff(want, got); d != "" {
		t.Errorf("figures differ from the events read:\n%s", d)
	}
	t.Logf("caught up at refresh %d; %d late sweeps in %v; %d of %d late events read",
		caughtUp, sweeps, time.Duration(sim.n-caughtUp-1)*simInterval, lateRead, late)
}

// observedEvents is observed for the reports of the event logs only: the
// periodic reads (registrations of 200,000 users, inactive users) do not
// fit in what a busy tenant's refresh leaves them, and their errors are
// not under test here.
func observedEvents(t *testing.T, s *Source, dims []string) oracle {
	t.Helper()
	s.mu.Lock()
	for _, f := range []string{feedUsers, feedRegistrations, feedInactive} {
		delete(s.errs, f)
	}
	s.mu.Unlock()
	return observed(t, s, dims)
}
