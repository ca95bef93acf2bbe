package logs

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// TestSelectRefusedCostsNothing: Graph refuses $select on signIns; the
// refused window is read again at once without it, the figures are exact,
// and $select is never sent again, not even after a restart.
func TestSelectRefusedCostsNothing(t *testing.T) {
	events, signUps := population(5, 3, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, refuseSelect: true}
	path := filepath.Join(t.TempDir(), "state.db")
	st := openStore(t, path)
	s := newTestSource(t, r, st, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatalf("Sync with $select refused: %v", err)
	}
	if len(r.selects) < 2 || !r.selects[0] || slices.Contains(r.selects[1:], true) {
		t.Fatalf("$select sent %v, want once (refused) then never", r.selects)
	}
	want := oracleOf(events, signUps, testEnd.Add(-30*24*time.Hour), testEnd, testDims[insights.Daily])
	got := observed(t, s, testDims[insights.Daily])
	dropMonthlyUsers(want, got) // monthly users are counted by other dimensions
	if d := diff(want, got); d != "" {
		t.Fatalf("figures after the refusal differ from the events:\n%s", d)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	r.selects = nil
	c.add(10 * time.Minute)
	st = openStore(t, path)
	defer st.Close()
	if err := newTestSource(t, r, st, c).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.selects) == 0 || slices.Contains(r.selects, true) {
		t.Errorf("after a restart $select sent %v, want never (the refusal is kept in the store)", r.selects)
	}
}

// TestCatchUpDoesNotStarvePeriodicReads: an event log so far behind that
// its reads take all of every refresh's time; the user count and the
// inactive users (five requests that take a fifth of the refresh between
// them) are still read in the first refresh. The CI run of 2026-12-07 saw
// the demo's inactive users time out refresh after refresh under -race,
// when they were read after the logs.
func TestCatchUpDoesNotStarvePeriodicReads(t *testing.T) {
	c := &clock{t: testEnd}
	const timeout = time.Second
	r := &fakeReader{now: c.now, users: 300, stallSignIns: true, inactiveDelay: timeout / 5 / 5}
	s := newTestSource(t, r, openStore(t, filepath.Join(t.TempDir(), "state.db")), c)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = s.Sync(ctx)
	for _, name := range []string{feedUsers, feedInactive} {
		if err := s.syncErrs[name]; err != nil {
			t.Errorf("%s read failed while the sign-ins were catching up: %v", name, err)
		}
	}
	if s.syncErrs[feedSignIns] == nil {
		t.Error("the stalled sign-ins read reported no error")
	}
}

// TestRefusedStartMovesForward: a tenant whose Graph refuses a window
// starting more than 6 days back (its minimum date); the first read's
// start moves forward until Graph accepts it, within the same refresh, and
// no refused start is asked twice.
func TestRefusedStartMovesForward(t *testing.T) {
	events, signUps := population(6, 8, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, minDate: 6 * 24 * time.Hour}
	s := newTestSource(t, r, nil, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(r.refusedFrom) == 0 {
		t.Fatal("no window was refused: the test does not test anything")
	}
	seen := map[time.Time]bool{}
	for _, from := range r.refusedFrom {
		if seen[from] {
			t.Errorf("refused start %s asked again", from)
		}
		seen[from] = true
	}
	if s.signIns.Since.Before(testEnd.Add(-6*24*time.Hour)) || s.signIns.Watermark.Before(testEnd.Add(-time.Minute)) {
		t.Errorf("sign-ins read from %s to %s, want from within 6 days to now", s.signIns.Since, s.signIns.Watermark)
	}
}

// TestLargeDirectoryReadAcrossRefreshes: a userRegistrationDetails read
// that runs out of time goes on from its next page at the next refresh and
// counts every user once; it does not start over.
func TestLargeDirectoryReadAcrossRefreshes(t *testing.T) {
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, users: 300, regsPage: 10}
	for i := range 95 {
		r.regs = append(r.regs, insights.Registration{UserID: fmt.Sprint(i), MethodsRegistered: []string{"email"}})
	}
	s := newTestSource(t, r, nil, c)
	for refresh := 0; refresh < 10 && s.registrations == nil; refresh++ {
		ctx, cancel := context.WithCancel(context.Background())
		pages := 0
		r.afterRegsPage = func() { // each refresh has time for 4 pages
			if pages++; pages == 4 {
				cancel()
			}
		}
		_ = s.Sync(ctx)
		cancel()
		c.add(5 * time.Minute)
	}
	if s.registrations == nil || s.registrations.ByMethod["email"] != 95 {
		t.Fatalf("registrations %+v, want 95 users with email", s.registrations)
	}
	if r.regsRequests != 10 {
		t.Errorf("%d page requests for 10 pages, want 10 (no page read twice)", r.regsRequests)
	}
}

// TestReadHealthPerRead: each read has its own up gauge and last success;
// a failing sign-ins read fails only its own.
func TestReadHealthPerRead(t *testing.T) {
	events, signUps := population(7, 2, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, pageSize: 1, failAfter: 1}
	s := newTestSource(t, r, nil, c)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	if _, present := readGauge(t, reg, "entra_insights_logs_read_up", "signIns"); present {
		t.Fatal("read_up before any refresh, want absent")
	}
	_ = s.Sync(context.Background())
	for read, want := range map[string]float64{"signIns": 0, "signUps": 1, "users": 1} {
		if up, _ := readGauge(t, reg, "entra_insights_logs_read_up", read); up != want {
			t.Errorf("read_up{read=%q} = %v after a failed sign-ins read, want %v", read, up, want)
		}
	}
	r.failAfter, r.pageSize = 0, 1000
	c.add(5 * time.Minute)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if up, _ := readGauge(t, reg, "entra_insights_logs_read_up", "signIns"); up != 1 {
		t.Errorf("read_up{read=signIns} = %v once the read works, want 1", up)
	}
	if at, _ := readGauge(t, reg, "entra_insights_logs_read_last_success_timestamp_seconds", "signIns"); at != float64(c.now().Unix()) {
		t.Errorf("last success of signIns %v, want %v", at, c.now().Unix())
	}
}

// readGauge returns the value of metric name for read, and whether it is
// there.
func readGauge(t *testing.T, reg *prometheus.Registry, name, read string) (float64, bool) {
	t.Helper()
	return promtest.Find(promtest.Gather(t, reg)[name], map[string]string{"read": read})
}
