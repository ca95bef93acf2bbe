package main

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// The faults here must not fail anything: a transient error is retried
// within the refresh (or a refused token replaced), and odd but valid data
// is shown as it is. Each case checks that no report ever went down and no
// refresh error was counted while it lasted.

type quietCase struct {
	name   string
	inject func(env *faultEnv)
	// met reports whether the fault has shown; then the case waits for
	// every report to succeed wait after the fault began.
	met  func(env *faultEnv, f map[string]*dto.MetricFamily) bool
	wait time.Duration
	// check inspects the exporter once settled.
	check func(t *testing.T, env *faultEnv, good, f map[string]*dto.MetricFamily, since time.Time)
}

// refreshedSince reports whether every report succeeded after since.
func refreshedSince(f map[string]*dto.MetricFamily, since time.Time) bool {
	for _, r := range faultReports {
		last := sumWhere(f, "entra_insights_report_last_success_timestamp_seconds", reportLabels("contoso", r))
		if time.UnixMilli(int64(last * 1e3)).Before(since) {
			return false
		}
	}
	return true
}

// faulted reports whether the simulator's fault hit a request.
func faulted(env *faultEnv, _ map[string]*dto.MetricFamily) bool { return env.sim.Stats().Faulted > 0 }

// retriedOnce checks that the transient fault cost one retry (and, for a
// 429, one throttle), and that the retry waited minWait.
func retriedOnce(throttled float64, minWait time.Duration) func(*testing.T, *faultEnv, map[string]*dto.MetricFamily, map[string]*dto.MetricFamily, time.Time) {
	return func(t *testing.T, env *faultEnv, good, f map[string]*dto.MetricFamily, since time.Time) {
		tenant := map[string]string{"tenant": "contoso"}
		if d := sumWhere(f, "entra_insights_graph_retries_total", tenant) - sumWhere(good, "entra_insights_graph_retries_total", tenant); d != 1 {
			t.Errorf("graph_retries_total grew by %v, want 1", d)
		}
		if d := sumWhere(f, "entra_insights_graph_throttled_total", tenant) - sumWhere(good, "entra_insights_graph_throttled_total", tenant); d != throttled {
			t.Errorf("graph_throttled_total grew by %v, want %v", d, throttled)
		}
		var at []time.Time
		for _, r := range env.sim.Stats().Requests {
			if strings.HasSuffix(r.Path, faultTarget.Path()) && r.At.After(since) {
				at = append(at, r.At)
			}
		}
		if len(at) < 2 {
			t.Fatalf("%d requests to %s since the fault, want the refused one and its retry", len(at), faultTarget)
		}
		if gap := at[1].Sub(at[0]); gap < minWait-50*time.Millisecond {
			t.Errorf("retry %s after the refused request, want at least %s (Retry-After)", gap, minWait)
		}
	}
}

// periodStart is the as-of period of granularity g.
func periodStart(f map[string]*dto.MetricFamily, g insights.Granularity) time.Time {
	return time.Unix(int64(sumWhere(f, "entra_insights_period_start_timestamp_seconds",
		map[string]string{"tenant": "contoso", "granularity": string(g)})), 0).UTC()
}

func quietCases() []quietCase {
	once := func(f graphsim.Fault) func(*faultEnv) {
		return func(env *faultEnv) {
			f.Report, f.Times = faultTarget.String(), 1
			env.sim.SetFault(f)
		}
	}
	status := func(code int, retryAfter string) graphsim.Fault {
		return graphsim.Fault{Kind: graphsim.FaultStatus, Status: code, RetryAfter: retryAfter}
	}
	rowsOf := func(f map[string]*dto.MetricFamily, r insights.Report) float64 {
		return sumWhere(f, "entra_insights_report_rows", reportLabels("contoso", r))
	}
	targetRowsZero := func(env *faultEnv, f map[string]*dto.MetricFamily) bool {
		return env.sim.Stats().Faulted > 0 && rowsOf(f, faultTarget) == 0
	}
	// noActivity: the target is up with 0 rows and no series; the others
	// and the as-of periods are as before.
	noActivity := func(t *testing.T, _ *faultEnv, good, f map[string]*dto.MetricFamily, _ time.Time) {
		if n := len(seriesOf(t, f, []insights.Report{faultTarget})); n != 0 {
			t.Errorf("%s has %d series; no rows in the as-of period means no series", faultTarget, n)
		}
		if d := diffSeries(seriesOf(t, f, faultReports[1:]), seriesOf(t, good, faultReports[1:])); d != "" {
			t.Errorf("other reports changed: %s", d)
		}
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			if got, want := periodStart(f, g), periodStart(good, g); !got.Equal(want) {
				t.Errorf("%s as-of period %s, want %s as before", g, got, want)
			}
		}
	}
	return []quietCase{
		{name: "429 once, Retry-After 1", inject: once(status(429, "1")),
			met: faulted, wait: time.Second, check: retriedOnce(1, time.Second)},
		{name: "429 once, Retry-After 0.6", inject: once(status(429, "0.6")),
			met: faulted, wait: 600 * time.Millisecond, check: retriedOnce(1, 600*time.Millisecond)},
		{name: "503 once", inject: once(status(503, "")), met: faulted, check: retriedOnce(0, 0)},
		{name: "connection reset once", inject: once(graphsim.Fault{Kind: graphsim.FaultReset}),
			met: faulted, check: retriedOnce(0, 0)},
		{name: "token revoked once",
			inject: func(env *faultEnv) { env.sim.RevokeTokens() },
			met:    func(env *faultEnv, _ map[string]*dto.MetricFamily) bool { return env.sim.Stats().TokenRequests > 1 },
			check: func(t *testing.T, env *faultEnv, _, _ map[string]*dto.MetricFamily, _ time.Time) {
				if n := env.sim.Stats().TokenRequests; n != 2 {
					t.Errorf("%d token requests in all, want 2: the first and one after the revocation", n)
				}
			}},
		{name: "empty report", inject: func(env *faultEnv) {
			env.sim.SetFault(graphsim.Fault{Kind: graphsim.FaultEmpty, Report: faultTarget.String()})
		}, met: targetRowsZero, check: noActivity},
		{name: "date gap: the newest day missing in one report", inject: func(env *faultEnv) {
			env.sim.SetFault(graphsim.Fault{Kind: graphsim.FaultDateBackwards, Report: faultTarget.String()})
		}, met: targetRowsZero, check: noActivity},
		{name: "newest date goes backwards", inject: func(env *faultEnv) {
			env.sim.SetFault(graphsim.Fault{Kind: graphsim.FaultDateBackwards})
		}, met: func(_ *faultEnv, f map[string]*dto.MetricFamily) bool {
			return periodStart(f, insights.Daily).Equal(asOf(graphsim.DefaultTenantID, insights.Daily, simNow).AddDate(0, 0, -1))
		}, check: func(t *testing.T, env *faultEnv, good, f map[string]*dto.MetricFamily, _ time.Time) {
			day, month := periodStart(good, insights.Daily), periodStart(good, insights.Monthly)
			if got, want := periodStart(f, insights.Monthly), month.AddDate(0, -1, 0); !got.Equal(want) {
				t.Errorf("monthly as-of period %s, want %s: one month back", got, want)
			}
			// The values are those of the day before, not stale ones.
			users := insights.Report{Granularity: insights.Daily, Name: insights.UserCount}
			var want int64
			for _, row := range graphsim.Rows(env.sim.TenantID, users, simNow, false) {
				if row.FactDate.Equal(day.AddDate(0, 0, -1)) {
					want += row.Count
				}
			}
			if got := sumWhere(f, "entra_insights_daily_users", map[string]string{"tenant": "contoso"}); got != float64(want) || want == 0 {
				t.Errorf("daily_users = %v, want %d (the day before)", got, want)
			}
		}},
	}
}

// TestTransientFaultsAndDataOddities runs every quiet case side by side.
// Not parallel, as TestFaults: the cases' timing is that of 2 s refreshes.
func TestTransientFaultsAndDataOddities(t *testing.T) {
	cases := quietCases()
	runSideBySide(t, len(cases), func(i int) string { return cases[i].name },
		func(t *testing.T, i int) { runQuietCase(t, cases[i]) })
}

func runQuietCase(t *testing.T, tc quietCase) {
	env, good := startFaultEnv(t, false)
	tenant := map[string]string{"tenant": "contoso"}
	since := time.Now()
	tc.inject(env)
	f := env.in.waitScrape(t, 3*faultInterval+2*time.Second, "fault taken in", func(f map[string]*dto.MetricFamily) bool {
		for _, r := range faultReports {
			if got := sumWhere(f, "entra_insights_report_up", reportLabels("contoso", r)); got != 1 {
				t.Fatalf("report_up of %s = %v: a fault that should be absorbed failed the report", r, got)
			}
		}
		return tc.met(env, f) && refreshedSince(f, since.Add(tc.wait))
	})
	if got, want := sumWhere(f, "entra_insights_refresh_errors_total", tenant), sumWhere(good, "entra_insights_refresh_errors_total", tenant); got != want {
		t.Errorf("refresh_errors_total = %v, want %v as before", got, want)
	}
	if lines := logLines(env.in.stderr.String(), `msg="refresh failed"`); len(lines) > 0 {
		t.Errorf("failure logged: %s", lines[0])
	}
	tc.check(t, env, good, f, since)

	env.sim.SetFault(graphsim.Fault{})
	env.in.waitScrape(t, 2*faultInterval+time.Second, "back to the first values", func(f map[string]*dto.MetricFamily) bool {
		return diffSeries(seriesOf(t, f, nil), seriesOf(t, good, nil)) == ""
	})
}
