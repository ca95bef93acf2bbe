package logs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// BenchmarkCatchUp starts the exporter with the default flags on a tenant
// with 7 days of n interactive sign-ins a day (and a sign-up flow per 100
// sign-ins), under Graph's budget and the default refresh, in simulated
// time (budgetReader), and reports:
//
//   - catch-up-refreshes, catch-up-h: until both logs' watermarks reach
//     the refresh's start;
//   - steady-*: requests per refresh over the 3 hours after that (sign-in
//     pages; both event logs; every Graph read, the periodic ones too),
//     mean and most, and max-lag-s, the most the sign-ins fell behind;
//   - peak-heap-MiB: the most heap in use while catching up (sampled
//     every 10 ms: live objects and the garbage not yet collected);
//     live-heap-MiB, the heap after a collection once caught up (the
//     source's state); state-file-MiB, the store's file then; and
//     VmHWM-MiB, the process's peak RSS, which also counts the pages of
//     the store's file mapped in (Linux; run one size per process for it
//     to mean that size).
//
// The events come from synth, which computes them from their index, so
// the fake costs no memory; the heap is the source's (state, seen ids, a
// window of plain events) and the store's.
//
//	go test ./internal/source/logs -run '^$' -bench 'BenchmarkCatchUp/perDay=1000000$' -benchtime 1x
func BenchmarkCatchUp(b *testing.B) {
	for _, perDay := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("perDay=%d", perDay), func(b *testing.B) {
			for b.Loop() {
				catchUp(b, perDay)
			}
		})
	}
}

func catchUp(b *testing.B, perDay int) {
	now := testEnd
	g := newSynth(uint64(perDay), max(1000, perDay/4), 0.02, 100, rate{from: now.Add(-8 * 24 * time.Hour), perDay: perDay})
	c := &clock{t: now}
	r := newBudgetReader(g, c)
	st, err := store.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := New(Options{Tenant: "t1", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims})
	if err != nil {
		b.Fatal(err)
	}
	sim := &simulation{s: s, r: r, c: c, start: now}

	runtime.GC()
	stop := sampleHeap()
	began := time.Now()
	caughtUp := -1
	var last simRefresh
	for caughtUp < 0 {
		if sim.n > 2000 {
			b.Fatalf("not caught up after %d refreshes: %v", sim.n, last)
		}
		last = sim.refresh()
		if last.lag == 0 && last.signUpLag == 0 {
			caughtUp = last.n
		}
	}
	catchUpWall := time.Since(began)
	peak := stop()
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	fi, err := os.Stat(st.Path())
	if err != nil {
		b.Fatal(err)
	}

	var signIns, events, total, mostSignIns, mostEvents, mostTotal, sweeps int
	var maxLag time.Duration
	steady := int(3 * time.Hour / simInterval)
	for range steady {
		ref := sim.refresh()
		signIns += ref.requests[feedSignIns]
		events += ref.eventRequests()
		total += ref.total()
		mostSignIns = max(mostSignIns, ref.requests[feedSignIns])
		mostEvents = max(mostEvents, ref.eventRequests())
		mostTotal = max(mostTotal, ref.total())
		maxLag = max(maxLag, ref.lag)
		if ref.swept && !ref.sweeping {
			sweeps++
		}
		if ref.authErr != nil {
			b.Errorf("steady state: %v", ref)
		}
	}
	if sweeps < 2 {
		b.Errorf("%d late sweeps ended in the 3 hours after catching up, want 3", sweeps)
	}
	b.ReportMetric(float64(caughtUp), "catch-up-refreshes")
	b.ReportMetric((time.Duration(caughtUp)*simInterval + last.took).Hours(), "catch-up-h")
	b.ReportMetric(float64(signIns)/float64(steady), "steady-signin-req/refresh")
	b.ReportMetric(float64(mostSignIns), "steady-signin-req-most")
	b.ReportMetric(float64(events)/float64(steady), "steady-event-req/refresh")
	b.ReportMetric(float64(mostEvents), "steady-event-req-most")
	b.ReportMetric(float64(total)/float64(steady), "steady-all-req/refresh")
	b.ReportMetric(float64(mostTotal), "steady-all-req-most")
	b.ReportMetric(maxLag.Seconds(), "max-lag-s")
	b.ReportMetric(float64(sweeps), "sweeps/3h")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live.HeapAlloc)/(1<<20), "live-heap-MiB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "state-file-MiB")
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MiB")
	}
	b.ReportMetric(catchUpWall.Seconds(), "catch-up-wall-s")
	b.Logf("%d/day: caught up at refresh %d (%d sign-ins read, %d read twice); steady state %v",
		perDay, caughtUp, s.signIns.Events, s.signIns.Duplicates, last)
}

// sampleHeap samples the heap in use every 10 ms until the returned
// function is called, which returns the most seen.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	read := func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		metrics.Read(sample)
		if v := sample[0].Value.Uint64() + sample[1].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak.Load()
	}
}

// vmHWM is the process's peak resident set size in bytes, from
// /proc/self/status (0 where there is none).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
