package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// defaultStateFile is where serve writes its state when no test says
// where: the package directory, which a test run must leave as it found it.
const defaultStateFile = "entra_insights_exporter.db"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits
	}
	os.Exit(runTests(m))
}

// runTests runs the tests with the state file's default pointed at a
// temporary directory (tests of bad settings reach serve without
// --storage.path) and fails the run if a state file appears here anyway.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "entra-insights-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporary state directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if os.Getenv("ENTRA_INSIGHTS_STORAGE_PATH") == "" {
		os.Setenv("ENTRA_INSIGHTS_STORAGE_PATH", filepath.Join(dir, defaultStateFile))
	}
	code := m.Run()
	if _, err := os.Stat(defaultStateFile); err == nil {
		fmt.Fprintf(os.Stderr, "FAIL: a test wrote %s in the package directory\n", defaultStateFile)
		return 1
	}
	return code
}

// shutdownInterval is the refresh interval and timeout of the shutdown
// tests: the second refresh comes soon, and a stalled request would hold
// it for the whole timeout unless the shutdown cancels it.
const shutdownInterval = 3 * time.Second

// stalledExporterArgs starts a simulator and returns the flags of an
// exporter reading faultReports from it.
func stalledExporterArgs(t *testing.T) (*graphsim.Sim, []string) {
	t.Helper()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	return sim, append(simArgs(t, sim, ""), "--graph.rate-limit=0",
		"--insights.refresh-interval="+shutdownInterval.String(), "--insights.refresh-timeout="+shutdownInterval.String(),
		"--insights.max-age=1h", "--config.file="+reportsConfig(t, faultReports))
}

// stallNextRefresh makes Graph stall every report request until the
// client gives up, waits until the next refresh hangs on all of them and
// returns the time left until its deadline.
func stallNextRefresh(t *testing.T, sim *graphsim.Sim) time.Duration {
	t.Helper()
	faulted := sim.Stats().Faulted
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStall})
	waitFor(t, 2*shutdownInterval, "a stalled request", func() bool { return sim.Stats().Faulted > faulted })
	stalledAt := time.Now()
	waitFor(t, time.Second, "every report stalled", func() bool { return sim.Stats().Faulted >= faulted+len(faultReports) })
	return shutdownInterval - time.Since(stalledAt)
}

// TestShutdownDuringStalledRefresh cancels the serve command (what SIGTERM
// does in main) while a refresh hangs on a stalled Graph: it exits 0 long
// before the refresh's deadline, every scrape until then serves the last
// complete snapshot, the aborted refresh publishes and logs nothing, and no
// goroutine is left.
func TestShutdownDuringStalledRefresh(t *testing.T) {
	t.Parallel()
	sim, args := stalledExporterArgs(t)
	in := launch(t, args...)
	tenant := map[string]string{"tenant": "contoso"}
	good := in.waitUp(t, 1)
	goodSeries := seriesOf(t, good, nil)
	left := stallNextRefresh(t, sim)

	// Scrape without pause while the exporter shuts down.
	var (
		wg      sync.WaitGroup
		scrapes int
		partial []string
	)
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			f, _, err := in.tryScrape()
			if err != nil {
				continue // refused once the listener is closed
			}
			scrapes++
			if d := diffSeries(seriesOf(t, f, nil), goodSeries); d != "" || sumWhere(f, "entra_insights_tenant_up", tenant) != 1 {
				partial = append(partial, d)
			}
		}
	})
	time.Sleep(100 * time.Millisecond) // a few scrapes of the stalled state
	began := time.Now()
	code := in.stop(t)
	took := time.Since(began)
	close(stop)
	wg.Wait()

	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took >= left-100*time.Millisecond {
		t.Errorf("shutdown took %s; the stalled refresh had %s left: the stall was not cancelled", took, left)
	}
	if scrapes == 0 {
		t.Error("no scrape succeeded during the stall")
	}
	if len(partial) > 0 {
		t.Errorf("%d of %d scrapes served something other than the last complete snapshot: %s", len(partial), scrapes, partial[0])
	}
	if lines := logLines(in.stderr.String(), `msg="refresh failed"`); len(lines) > 0 {
		t.Errorf("the aborted refresh logged a failure: %s", lines[0])
	}
	sim.Close()
	if n := settleGoroutines(in.label, 0, 5*time.Second); n != 0 {
		t.Errorf("%d goroutines left after shutdown\n%s", n, goroutineDump(in.label))
	}
	t.Logf("shutdown with %d requests stalled took %s (%s before the refresh deadline); %d scrapes meanwhile, all of the last complete snapshot",
		len(faultReports), took, left.Round(time.Millisecond), scrapes)
}

// TestShutdownDuringFirstRefresh cancels the serve command while its first
// refresh hangs on one stalled report: the three reports already read are
// never published, so scrapes show no data until a refresh is complete.
func TestShutdownDuringFirstRefresh(t *testing.T) {
	t.Parallel()
	sim, args := stalledExporterArgs(t)
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStall, Report: faultTarget.String()})
	in := launch(t, args...)
	waitFor(t, 10*time.Second, "every report requested", func() bool { return sim.Stats().GraphRequests >= len(faultReports) })
	time.Sleep(200 * time.Millisecond) // the three other reports are in
	f := in.scrapeFast(t)
	if n := len(seriesOf(t, f, nil)); n != 0 {
		t.Errorf("%d data series before the first refresh completed; want none (no partial snapshot)", n)
	}
	if present(f, "entra_insights_report_up", map[string]string{"tenant": "contoso"}) {
		t.Error("report_up before the first refresh completed")
	}
	if !present(f, "entra_insights_tenant_info", map[string]string{"tenant": "contoso"}) {
		t.Error("tenant_info missing: it is known before any refresh")
	}
	began := time.Now()
	if code := in.stop(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("shutdown took %s during a stalled first refresh", took)
	}
}

// TestSIGTERMDuringStalledRefresh runs the real binary (this test binary
// running main) and sends it SIGTERM while a refresh hangs on a stalled
// Graph: it exits 0 long before the refresh's deadline and logs no failure
// of the aborted refresh.
func TestSIGTERMDuringStalledRefresh(t *testing.T) {
	t.Parallel()
	sim, args := stalledExporterArgs(t)
	c := startChild(t, nil, args...)
	c.waitUp(t, 1)
	left := stallNextRefresh(t, sim)
	began := time.Now()
	c.signal(t, syscall.SIGTERM)
	err := c.wait(t, stopTimeout)
	took := time.Since(began)
	if err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
	if took >= left-100*time.Millisecond {
		t.Errorf("exit took %s; the stalled refresh had %s left: the stall was not cancelled", took, left)
	}
	if !strings.Contains(c.stderr.String(), "shutting down") {
		t.Errorf("no shutdown logged")
	}
	if lines := logLines(c.stderr.String(), `msg="refresh failed"`); len(lines) > 0 {
		t.Errorf("the aborted refresh logged a failure: %s", lines[0])
	}
	t.Logf("SIGTERM with a refresh stalled: exit 0 after %s (%s before the refresh deadline)", took, left.Round(time.Millisecond))
}
