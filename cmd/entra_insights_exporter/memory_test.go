package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// TestOversizedBodyMemoryBounded serves a 1 GiB page for one report of a
// running exporter and measures what it costs: the bytes allocated per
// failed refresh stay near the 16 MiB body cap, far from the body's size,
// and the heap does not grow by the body either.
//
// Not parallel: it reads the process's allocations and heap, which any
// test beside it would add to.
func TestOversizedBodyMemoryBounded(t *testing.T) {
	const bodySize = 1 << 30
	env, _ := startFaultEnv(t, false)
	errorsOf := func(f map[string]*dto.MetricFamily) float64 {
		return sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": "bad_response"})
	}
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	})
	defer func() { close(stopSampling); wg.Wait() }()

	// allocated measures the bytes allocated while n more refreshes (of
	// all four reports) run, and the failures counted meanwhile.
	allocated := func(n int) (bytes uint64, failures float64, heapPeak uint64) {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		before, heapBefore := m.TotalAlloc, m.HeapInuse
		peak.Store(heapBefore)
		errorsBefore := errorsOf(env.in.scrapeFast(t))
		requests := env.sim.Stats().GraphRequests
		waitFor(t, time.Duration(n+2)*faultInterval, fmt.Sprintf("%d refreshes", n), func() bool {
			return env.sim.Stats().GraphRequests >= requests+n*len(faultReports)
		})
		time.Sleep(500 * time.Millisecond) // the last refresh ends
		runtime.ReadMemStats(&m)
		return m.TotalAlloc - before, errorsOf(env.in.scrapeFast(t)) - errorsBefore, peak.Load() - min(peak.Load(), heapBefore)
	}

	normal, _, normalPeak := allocated(3)
	env.sim.SetFault(graphsim.Fault{Kind: graphsim.FaultOversized, Size: bodySize, Report: faultTarget.String()})
	faulty, failures, faultyPeak := allocated(3)
	if failures < 2 {
		t.Fatalf("%v oversized failures counted, want 3", failures)
	}
	perFailure := (int64(faulty) - int64(normal)) / int64(failures)
	t.Logf("3 normal refreshes allocated %d MiB (heap peak +%d MiB); 3 with a %d MiB body %d MiB (heap peak +%d MiB): %d MiB per oversized body, cap %d MiB",
		normal>>20, normalPeak>>20, bodySize>>20, faulty>>20, faultyPeak>>20, perFailure>>20, transport.DefaultMaxBodyBytes>>20)
	if limit := int64(3 * transport.DefaultMaxBodyBytes); perFailure > limit {
		t.Errorf("%d MiB allocated per oversized body; want under %d MiB (3 × the cap), never the body's %d MiB",
			perFailure>>20, limit>>20, bodySize>>20)
	}
	if limit := uint64(4 * transport.DefaultMaxBodyBytes); faultyPeak > limit {
		t.Errorf("heap grew by %d MiB with oversized bodies; want under %d MiB", faultyPeak>>20, limit>>20)
	}
}
