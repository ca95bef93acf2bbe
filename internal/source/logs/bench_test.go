package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// monthOfUsers makes a month's sign-ins of n distinct users (each signs in
// once, a tenth of them to a second app), all before testEnd.
func monthOfUsers(n int) []fakeSignIn {
	start := time.Date(testEnd.Year(), testEnd.Month(), 1, 0, 0, 0, 0, time.UTC)
	span := testEnd.Sub(start)
	events := make([]fakeSignIn, 0, n+n/10)
	for i := range n {
		at := start.Add(time.Duration(int64(span) * int64(i) / int64(n)))
		e := insights.SignIn{ID: fmt.Sprintf("si-%d", i), Created: at, UserID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i),
			AppID: "11111111-1111-1111-1111-111111111111", OS: "Windows", Country: "US"}
		events = append(events, fakeSignIn{SignIn: e, visible: at})
		if i%10 == 0 {
			e.ID, e.AppID = e.ID+"b", "22222222-2222-2222-2222-222222222222"
			events = append(events, fakeSignIn{SignIn: e, visible: at})
		}
	}
	return events
}

// BenchmarkMonthlyUsers ingests a month of n distinct users into a state
// file, as a first start does, and reports the heap held per distinct user
// (the open month's and days' sets), the state file's size, and the time
// to load it again at a restart.
func BenchmarkMonthlyUsers(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			events := monthOfUsers(n)
			c := &clock{t: testEnd}
			r := &fakeReader{now: c.now, signIns: events, users: int64(n)}
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "state.db")
				st, err := store.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				s, err := New(Options{Tenant: "t", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims, Lookback: 31 * 24 * time.Hour})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Sync(context.Background()); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/user")
				runtime.KeepAlive(s)
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				fi, _ := os.Stat(path)
				b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/user")
				b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
				began := time.Now()
				st, err = store.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := New(Options{Tenant: "t", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(began).Seconds(), "restart-s")
				st.Close()
			}
		})
	}
}

// TestSteadyStateRequests: once caught up, a refresh costs one request per
// feed (the overlap and the new events fit a page), against the pages of a
// full re-read of the retained logs.
func TestSteadyStateRequests(t *testing.T) {
	events, signUps := population(7, 8, 0)
	c := &clock{t: testEnd.Add(-time.Hour)}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 5, retention: 7 * 24 * time.Hour}
	s := newTestSource(t, r, nil, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := r.requests
	c.add(5 * time.Minute)
	r.requests = 0
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.requests != 2 {
		t.Errorf("a steady-state refresh made %d event requests, want 2 (one per feed)", r.requests)
	}
	full := 0
	for range 2 {
		full += (len(events)/1000 + 1)
	}
	t.Logf("event requests: first start %d (30-day lookback, windows doubling over the empty days), steady state %d, a full re-read of 7 days %d+ pages",
		first, r.requests, full)
}
