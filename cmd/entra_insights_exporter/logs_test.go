package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// logsSimNow pins the simulator's data clock a little in the past, so its
// events are settled while the exporter reads with the real clock.
func logsSimNow() time.Time { return time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Minute) }

// logsTestArgs are logsArgs for a test: no request budget (the simulator
// does not throttle) and a lookback just over the simulator's retention.
func logsTestArgs(t *testing.T, sim *graphsim.Sim, storage string) []string {
	t.Helper()
	args := setFlag(logsArgs(t, sim), "graph.rate-limit", "0")
	args = setFlag(args, "logs.lookback", "8d")
	return setFlag(args, "storage.path", storage)
}

// logsWant is what the exporter must export for the simulator's events,
// counted here by brute force from the simulator's ground truth.
type logsWant map[string]float64

func logsExpected(sim *graphsim.Sim, opts graphsim.Options, now time.Time) logsWant {
	want := logsWant{}
	users := map[string]map[string]bool{}
	period := map[string]time.Time{
		"daily":   insights.PeriodStart(insights.Daily, now),
		"monthly": insights.PeriodStart(insights.Monthly, now),
	}
	for _, e := range graphsim.SignIns(sim.TenantID, now, opts) {
		if e.VisibleAt.After(now) || !e.IsInteractive {
			continue
		}
		for g, start := range period {
			if insights.PeriodStart(insightsGranularity(g), e.CreatedDateTime) != start {
				continue
			}
			if e.Interrupt() { // neither a success nor a failure
				want[g+"_sign_in_interrupts"]++
				continue
			}
			result := "success"
			if e.Status.ErrorCode != 0 {
				result = "failure"
			}
			want[g+"_authentications "+result]++
			if e.AuthenticationRequirement == "multiFactorAuthentication" && len(e.AuthenticationDetails) > 0 {
				mfa := "failure"
				if e.AuthenticationDetails[len(e.AuthenticationDetails)-1].Succeeded {
					mfa = "success"
				}
				want[g+"_mfa_attempts "+mfa]++
			}
			if result == "success" {
				if users[g] == nil {
					users[g] = map[string]bool{}
				}
				users[g][e.UserID] = true
			}
		}
	}
	for g, u := range users {
		want[g+"_tenant_active_users"] = float64(len(u))
	}
	for _, e := range graphsim.SignUps(sim.TenantID, now, opts) {
		if e.VisibleAt.After(now) {
			continue
		}
		for g, start := range period {
			if insights.PeriodStart(insightsGranularity(g), e.CreatedDateTime) != start {
				continue
			}
			switch {
			case e.SignedUp():
				want[g+"_sign_ups"]++
			case e.Failed():
				want[g+"_sign_up_failures"]++
			}
		}
	}
	return want
}

func insightsGranularity(g string) insights.Granularity { return insights.Granularity(g) }

// logsGot reads the same figures from a scrape.
func logsGot(families map[string]*dto.MetricFamily, tenant string) logsWant {
	got := logsWant{}
	for _, g := range []string{"daily", "monthly"} {
		for _, result := range []string{"success", "failure"} {
			got[g+"_authentications "+result] = sumWhere(families, "entra_insights_"+g+"_authentications", map[string]string{"tenant": tenant, "result": result})
			got[g+"_mfa_attempts "+result] = sumWhere(families, "entra_insights_"+g+"_mfa_attempts", map[string]string{"tenant": tenant, "result": result})
		}
		got[g+"_tenant_active_users"] = sumWhere(families, "entra_insights_"+g+"_tenant_active_users", map[string]string{"tenant": tenant})
		got[g+"_sign_ups"] = sumWhere(families, "entra_insights_"+g+"_sign_ups", map[string]string{"tenant": tenant})
		got[g+"_sign_up_failures"] = sumWhere(families, "entra_insights_"+g+"_sign_up_failures", map[string]string{"tenant": tenant})
		got[g+"_sign_in_interrupts"] = sumWhere(families, "entra_insights_"+g+"_sign_in_interrupts", map[string]string{"tenant": tenant})
	}
	return got
}

func (w logsWant) diff(got logsWant) string {
	var out []string
	for k, v := range w {
		if got[k] != v {
			out = append(out, fmt.Sprintf("%s: got %g, want %g", k, got[k], v))
		}
	}
	return strings.Join(out, "\n")
}

// caughtUp reports whether the exporter has read the logs up to its first
// refresh and published them.
func caughtUp(families map[string]*dto.MetricFamily) bool {
	return sumWhere(families, "entra_insights_source_up", map[string]string{"tenant": "contoso", "source": "logs"}) == 1 &&
		sumWhere(families, "entra_insights_report_up", map[string]string{"tenant": "contoso", "report": "signUps", "granularity": "daily"}) == 1
}

// logsReadTimeout bounds reading the simulator's logs at the start, which
// the race detector slows several times over.
const logsReadTimeout = raceSlowdown * time.Minute

// waitCaughtUp waits until the exporter at e has caught up (caughtUp)
// and returns that scrape.
func (e *endpoint) waitCaughtUp(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return e.waitScrape(t, logsReadTimeout, "the logs read", caughtUp)
}

// TestLogsSourceExportsTheLogsExactly: an exporter on the logs source
// exports exactly the simulator's distinct daily and monthly users,
// authentications and MFA attempts by result, and sign-ups, through the
// real path (client secret over TLS, SDK decode, paging, the state file).
func TestLogsSourceExportsTheLogsExactly(t *testing.T) {
	t.Parallel()
	now := logsSimNow()
	opts := graphsim.Options{Now: func() time.Time { return now }, LogPageSize: 200}
	sim := graphsimtest.Start(t, opts)
	in := launch(t, logsTestArgs(t, sim, filepath.Join(t.TempDir(), "state.db"))...)
	families := in.waitCaughtUp(t)
	want := logsExpected(sim, opts, now)
	if d := want.diff(logsGot(families, "contoso")); d != "" {
		t.Fatalf("exported figures differ from the simulator's logs:\n%s", d)
	}
	t.Logf("exact: %v", want)
}

// TestLogsSourceAgreesWithUserInsights: the same population read through
// both sources gives the same event counts for today, and distinct users no
// higher than userInsights' per-row upper bound.
func TestLogsSourceAgreesWithUserInsights(t *testing.T) {
	t.Parallel()
	now := logsSimNow()
	opts := graphsim.Options{Now: func() time.Time { return now }, LogLatencyMax: -1}
	sim := graphsimtest.Start(t, opts)
	logs := launch(t, logsTestArgs(t, sim, filepath.Join(t.TempDir(), "state.db"))...)
	ui := launch(t, setFlag(simArgs(t, sim, ""), "graph.rate-limit", "0")...)
	lf := logs.waitCaughtUp(t)
	uf := ui.waitUp(t, 1)
	for _, m := range []string{"daily_authentications", "daily_mfa_attempts"} {
		for _, result := range []string{"success", "failure"} {
			l := sumWhere(lf, "entra_insights_"+m, map[string]string{"result": result})
			u := sumWhere(uf, "entra_insights_"+m, map[string]string{"result": result})
			if l != u || l == 0 {
				t.Errorf("%s{result=%s}: logs %g, userinsights %g: want equal and non-zero", m, result, l, u)
			}
		}
	}
	if l, u := sumWhere(lf, "entra_insights_daily_sign_ups", nil), sumWhere(uf, "entra_insights_daily_sign_ups", nil); l != u || l == 0 {
		t.Errorf("daily sign-ups: logs %g, userinsights %g: want equal and non-zero", l, u)
	}
	// Distinct users: userinsights' row of a label set is an upper bound of
	// the logs' exact figure, except where the simulator sends a null count
	// (0; its counts are never below 1 otherwise): there the logs' own figure
	// stands in, so the bound of the tenant-wide figure stays true.
	logsUsers := seriesByLabels(lf, "entra_insights_daily_active_users")
	bound := 0.0
	for key, u := range seriesByLabels(uf, "entra_insights_daily_active_users") {
		l := logsUsers[key]
		if u == 0 {
			u = l // a null count
		}
		if l > u {
			t.Errorf("daily_active_users{%s}: logs %g (exact), userinsights %g (upper bound)", key, l, u)
		}
		bound += u
	}
	if l := sumWhere(lf, "entra_insights_daily_tenant_active_users", nil); l > bound || l == 0 {
		t.Errorf("daily_tenant_active_users: logs %g (exact), bound from userinsights' rows %g: want 0 < logs <= bound", l, bound)
	}
	if len(logsUsers) == 0 {
		t.Error("the logs source exported no daily_active_users")
	}
}

// seriesByLabels returns the values of the family's series by their labels
// other than tenant, joined as name=value pairs.
func seriesByLabels(families map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range families[name].GetMetric() {
		var pairs []string
		for _, l := range m.GetLabel() {
			if l.GetName() != "tenant" {
				pairs = append(pairs, l.GetName()+"="+l.GetValue())
			}
		}
		out[strings.Join(pairs, ",")] += m.GetGauge().GetValue()
	}
	return out
}

// TestLogsSourceRestartsLoseNothing kills the exporter process (SIGKILL,
// no shutdown) again and again at random moments while it reads the logs
// — between pages, between a page and its commit, inside a commit — then
// lets one run finish: every figure must equal the logs, and one more
// restart must not change a number.
func TestLogsSourceRestartsLoseNothing(t *testing.T) {
	t.Parallel()
	now := logsSimNow()
	opts := graphsim.Options{Now: func() time.Time { return now }, LogPageSize: 50}
	sim := graphsimtest.Start(t, opts)
	storage := filepath.Join(t.TempDir(), "state.db")
	args := logsTestArgs(t, sim, storage)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for range 6 {
		c := spawnChild(t, nil, args...)
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		if c.cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		_ = c.wait(t, stopTimeout)
		if strings.Contains(c.stderr.String(), "--storage.path") {
			t.Fatalf("a killed run left a state the next one refuses:\n%s", c.stderr)
		}
	}
	in := launch(t, args...)
	families := in.waitCaughtUp(t)
	want := logsExpected(sim, opts, now)
	got := logsGot(families, "contoso")
	if d := want.diff(got); d != "" {
		t.Fatalf("after %d kills, figures differ from the logs:\n%s", kills, d)
	}
	if code := in.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	again := launch(t, args...)
	if d := want.diff(logsGot(again.waitCaughtUp(t), "contoso")); d != "" {
		t.Fatalf("a restart changed the figures:\n%s", d)
	}
	t.Logf("%d kills during the read, then exact: %v", kills, want)
}

// TestUserInsightsRetirementSignalled: a tenant whose userInsights reports
// answer empty (or not found) raises the retirement signal within one
// refresh; one that retires after data was once there, at the next.
func TestUserInsightsRetirementSignalled(t *testing.T) {
	t.Parallel()
	for name, mode := range map[string]graphsim.Retirement{"empty": graphsim.RetiredEmpty, "bad request": graphsim.RetiredBadRequest, "not found": graphsim.RetiredNotFound} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sim := graphsimtest.Start(t, graphsim.Options{Retirement: mode})
			in := launch(t, setFlag(simArgs(t, sim, ""), "graph.rate-limit", "0")...)
			f := in.waitScrape(t, time.Minute, "a refresh", func(f map[string]*dto.MetricFamily) bool {
				return sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"reason": "retired"}) > 0 &&
					f["entra_insights_source_up"] != nil
			})
			if up := sumWhere(f, "entra_insights_source_up", map[string]string{"source": "userinsights"}); up != 0 {
				t.Errorf("source_up %g, want 0", up)
			}
			if lines := logLines(in.stderr.String(), "retired User Insights on 31 August 2026"); len(lines) != 1 {
				t.Errorf("%d retirement log lines after one refresh, want 1:\n%s", len(lines), in.stderr.String())
			}
		})
	}
	t.Run("after data", func(t *testing.T) {
		t.Parallel()
		sim := graphsimtest.Start(t, graphsim.Options{})
		in := launch(t, setFlag(setFlag(simArgs(t, sim, ""), "graph.rate-limit", "0"), "insights.refresh-interval", "2s")...)
		in.waitScrape(t, time.Minute, "data", func(f map[string]*dto.MetricFamily) bool {
			return sumWhere(f, "entra_insights_source_up", map[string]string{"source": "userinsights"}) == 1
		})
		sim.SetRetirement(graphsim.RetiredEmpty)
		in.waitScrape(t, 30*time.Second, "the retirement signal", func(f map[string]*dto.MetricFamily) bool {
			return sumWhere(f, "entra_insights_source_up", map[string]string{"source": "userinsights"}) == 0 &&
				sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"reason": "retired"}) > 0
		})
	})
}

// TestDamagedStoreFailsAtStart: a state file that is not what the exporter
// wrote stops serve at start with one line naming --storage.path and the
// file, and the file is left exactly as it was.
func TestDamagedStoreFailsAtStart(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{})
	path := filepath.Join(t.TempDir(), "state.db")
	damaged := []byte(strings.Repeat("not a state file\n", 1000))
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, t.Context(), append([]string{"serve", "--web.listen-address=127.0.0.1:0"},
		logsTestArgs(t, sim, path)...)...)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code == 0 || !strings.Contains(last, "--storage.path") || !strings.Contains(last, path) {
		t.Fatalf("exit %d, last line %q: want a failure naming --storage.path and %s\n%s", code, last, path, stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(damaged) {
		t.Error("the damaged state file was changed")
	}
}
