package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// TestScrapeLoad scrapes /metrics with loadClients concurrent clients
// while the tenants refresh, spread over a 5 s interval, so snapshots
// swap under the scrapers, and reports requests/s, p50, p99 and errors. It runs for 3 s;
// ENTRA_INSIGHTS_LOAD=30s runs it for 30 s (docs/reliability.md has the
// figures). Run it with -race to check the snapshot swap.
//
// Not parallel: its 50 clients take the whole CPU, which would starve any
// test beside it, and its latency figures would include that test.
func TestScrapeLoad(t *testing.T) {
	duration := 3 * time.Second
	if v := os.Getenv("ENTRA_INSIGHTS_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ENTRA_INSIGHTS_LOAD=%q: %v", v, err)
		}
		duration = d
	}
	const (
		loadClients  = 50
		loadTenants  = 16 // ~670 series each with every dimension kept: over 10k
		loadInterval = raceSlowdown * 5 * time.Second
	)
	var extra []string
	for i := 1; i < loadTenants; i++ {
		extra = append(extra, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i))
	}
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000, Tenants: extra})
	config := loadConfig(t, append([]string{sim.TenantID}, extra...))
	in := launch(t, append(simArgs(t, sim, ""),
		"--graph.rate-limit=0",
		"--insights.refresh-interval="+loadInterval.String(), // tenants spread over it: a snapshot swaps every ~0.3 s
		"--insights.refresh-timeout="+loadInterval.String(),
		"--web.max-requests=0", // the default; explicit because a limit would answer excess scrapes with 503
		"--config.file="+config,
	)...)
	first := in.waitUp(t, loadTenants)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
	defer client.CloseIdleConnections()
	series := 0
	for _, f := range first {
		series += len(f.Metric)
	}
	if series < 10000 {
		t.Fatalf("%d series; the load test wants at least 10000", series)
	}
	graphBefore := sim.Stats().GraphRequests

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  []string
		bytesRead int64
	)
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range loadClients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				start := time.Now()
				n, err := scrapeOnce(client, in.url("/metrics"))
				took := time.Since(start)
				mu.Lock()
				latencies = append(latencies, took)
				bytesRead += n
				if err != nil {
					failures = append(failures, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	refreshes := (sim.Stats().GraphRequests - graphBefore) / len(insights.AllReports()) // of any tenant

	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d clients, %s, %d series (%.0f KiB per scrape), %d tenant refreshes meanwhile: %d requests, %.0f requests/s, p50 %s, p99 %s, max %s, %d errors",
		loadClients, duration, series, float64(bytesRead)/float64(len(latencies))/1024, refreshes,
		len(latencies), float64(len(latencies))/duration.Seconds(),
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond), len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d scrapes failed, e.g. %s", len(failures), len(latencies), failures[0])
	}
	if refreshes < 1 {
		t.Errorf("no refresh during the load; snapshots did not swap under the scrapers")
	}
	// Under the race detector the exposition is many times slower and the
	// run is about data races; the latency bound holds without it.
	if worst := latencies[len(latencies)-1]; raceSlowdown == 1 && worst > 10*time.Second {
		t.Errorf("slowest scrape took %s; want bounded latency (< 10s)", worst)
	}
	// Refreshes compete with the scrapers for the CPU, and may time out
	// meanwhile; once the load is gone, every tenant is up again.
	in.waitUp(t, loadTenants)
}

// scrapeOnce fetches url and reads the whole body; a scrape that is not a
// complete 200 exposition is an error.
func scrapeOnce(client *http.Client, url string) (int64, error) {
	body, err := getOK(client, url)
	if err == nil && !bytes.Contains(body, []byte("entra_insights_tenant_up{")) {
		err = fmt.Errorf("incomplete exposition of %d bytes", len(body))
	}
	return int64(len(body)), err
}

// loadConfig writes a config file with one tenant per id, keeping every
// dimension of every report.
func loadConfig(t *testing.T, tenantIDs []string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(reportsLine(insights.AllReports())) // every report, the deprecated ones too: the most series
	b.WriteString("tenants:\n")
	for i, id := range tenantIDs {
		fmt.Fprintf(&b, "  - {name: tenant%d, tenant_id: %s}\n", i, id)
	}
	b.WriteString(`dimensions:
  activeUsers: [app_id, os, country, language]
  authentications: [app_id, os, country, browser, auth_flow, identity_provider, language]
  mfaCompletions: [app_id, mfa_method, os, country, identity_provider, language]
  signUps: [app_id, os, country, browser, identity_provider, language]
  requests: [app_id, country, browser, identity_provider, language]
  userCount: [language]
`)
	return writeFile(t, t.TempDir(), "load.yml", b.String())
}
