package main

import (
	"bytes"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// simNow pins the simulator's clock; the exporter's own clock is real, which
// does not matter: the as-of period comes from the data.
var simNow = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

// expectation is one independently computed total: the sum over the rows
// of the as-of period of report r of value, which must equal the sum of the
// metric's series with the given labels.
type expectation struct {
	metric string
	labels map[string]string
	report insights.Report
	value  func(insights.Row) int64
}

// withTenant is e's labels and tenant's.
func (e expectation) withTenant(tenant string) map[string]string {
	labels := map[string]string{"tenant": tenant}
	maps.Copy(labels, e.labels)
	return labels
}

func sumFailures(fs []insights.Failure) int64 {
	var n int64
	for _, f := range fs {
		n += f.Count
	}
	return n
}

func expectations() []expectation {
	var out []expectation
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		p := "entra_insights_" + string(g) + "_"
		r := func(name string) insights.Report { return insights.Report{Granularity: g, Name: name} }
		res := func(v string) map[string]string { return map[string]string{"result": v} }
		out = append(out,
			expectation{p + "active_users", nil, r(insights.ActiveUsers), func(x insights.Row) int64 { return x.Count }},
			expectation{p + "authentications", res("success"), r(insights.Authentications), func(x insights.Row) int64 { return x.Successes }},
			expectation{p + "authentications", res("failure"), r(insights.Authentications), func(x insights.Row) int64 { return max(0, x.Attempts-x.Successes) }},
			expectation{p + "authentication_failures", nil, r(insights.Authentications), func(x insights.Row) int64 { return sumFailures(x.Failures) }},
			expectation{p + "mfa_attempts", res("success"), r(insights.MFACompletions), func(x insights.Row) int64 { return x.Successes }},
			expectation{p + "mfa_attempts", res("failure"), r(insights.MFACompletions), func(x insights.Row) int64 { return max(0, x.Attempts-x.Successes) }},
			expectation{p + "mfa_failures", nil, r(insights.MFACompletions), func(x insights.Row) int64 { return sumFailures(x.Failures) }},
			expectation{p + "sign_ups", nil, r(insights.SignUps), func(x insights.Row) int64 { return x.Count }},
			expectation{p + "overview_active_users", nil, r(insights.Summary), func(x insights.Row) int64 { return x.ActiveUsers }},
			expectation{p + "overview_authentications", res("success"), r(insights.Summary), func(x insights.Row) int64 { return x.AuthenticationCompletions }},
			expectation{p + "overview_authentications", res("failure"), r(insights.Summary), func(x insights.Row) int64 {
				return max(0, x.AuthenticationRequests-x.AuthenticationCompletions)
			}},
			expectation{p + "overview_mfa_requests", map[string]string{"channel": "sms", "result": "success"}, r(insights.Summary), func(x insights.Row) int64 { return x.SecurityTextCompletions }},
			expectation{p + "overview_mfa_requests", map[string]string{"channel": "sms", "result": "failure"}, r(insights.Summary), func(x insights.Row) int64 {
				return max(0, x.SecurityTextRequests-x.SecurityTextCompletions)
			}},
			expectation{p + "overview_mfa_requests", map[string]string{"channel": "voice", "result": "success"}, r(insights.Summary), func(x insights.Row) int64 { return x.SecurityVoiceCompletions }},
			expectation{p + "overview_mfa_requests", map[string]string{"channel": "voice", "result": "failure"}, r(insights.Summary), func(x insights.Row) int64 {
				return max(0, x.SecurityVoiceRequests-x.SecurityVoiceCompletions)
			}},
		)
		for _, report := range []string{insights.InactiveUsers, insights.InactiveUsersByApplication} {
			metric := p + "inactive_users"
			if report == insights.InactiveUsersByApplication {
				metric += "_by_application"
			}
			window := func(w string) map[string]string { return map[string]string{"window": w} }
			first, firstValue := "1d", func(x insights.Row) int64 { return x.Inactive1Day }
			if g == insights.Monthly {
				first, firstValue = "calendar_month", func(x insights.Row) int64 { return x.InactiveCalendarMonth }
			}
			out = append(out,
				expectation{metric, window(first), r(report), firstValue},
				expectation{metric, window("30d"), r(report), func(x insights.Row) int64 { return x.Inactive30Day }},
				expectation{metric, window("60d"), r(report), func(x insights.Row) int64 { return x.Inactive60Day }},
				expectation{metric, window("90d"), r(report), func(x insights.Row) int64 { return x.Inactive90Day }},
			)
		}
	}
	daily := func(name string) insights.Report { return insights.Report{Granularity: insights.Daily, Name: name} }
	monthly := func(name string) insights.Report { return insights.Report{Granularity: insights.Monthly, Name: name} }
	return append(out,
		expectation{"entra_insights_monthly_requests", nil, monthly(insights.Requests), func(x insights.Row) int64 { return x.Count }},
		expectation{"entra_insights_monthly_mfa_registered_users", nil, monthly(insights.MFARegisteredUsers), func(x insights.Row) int64 { return x.Count }},
		expectation{"entra_insights_daily_users", nil, daily(insights.UserCount), func(x insights.Row) int64 { return x.Count }},
		expectation{"entra_insights_daily_captcha_challenges", map[string]string{"result": "success"}, daily(insights.MFATelecomFraud), func(x insights.Row) int64 { return x.CaptchaSuccesses }},
		expectation{"entra_insights_daily_captcha_challenges", map[string]string{"result": "failure"}, daily(insights.MFATelecomFraud), func(x insights.Row) int64 { return x.CaptchaFailures }},
		expectation{"entra_insights_daily_captcha_shown_users", nil, daily(insights.MFATelecomFraud), func(x insights.Row) int64 { return x.CaptchaShownUsers }},
		expectation{"entra_insights_daily_captcha_not_triggered_users", nil, daily(insights.MFATelecomFraud), func(x insights.Row) int64 { return x.CaptchaNotTriggeredUsers }},
		expectation{"entra_insights_daily_telecom_blocked_users", nil, daily(insights.MFATelecomFraud), func(x insights.Row) int64 { return x.TelecomBlockedUsers }},
	)
}

// periodOf returns the period start of a factDate.
func periodOf(g insights.Granularity, t time.Time) time.Time {
	if g == insights.Monthly {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// asOf computes the as-of period the way the README's "What a value means" defines it: the newest
// factDate in any report of the granularity.
func asOf(tenantID string, g insights.Granularity, now time.Time) time.Time {
	var newest time.Time
	for _, r := range insights.AllReports() {
		if r.Granularity != g {
			continue
		}
		for _, row := range graphsim.Rows(tenantID, r, now, false) {
			if p := periodOf(g, row.FactDate); p.After(newest) {
				newest = p
			}
		}
	}
	return newest
}

// checkTotals compares every catalog metric's totals with the simulator's rows.
func checkTotals(t *testing.T, families map[string]*dto.MetricFamily, tenant, tenantID string, now time.Time) {
	t.Helper()
	periods := map[insights.Granularity]time.Time{
		insights.Daily:   asOf(tenantID, insights.Daily, now),
		insights.Monthly: asOf(tenantID, insights.Monthly, now),
	}
	for g, p := range periods {
		got := sumWhere(families, "entra_insights_period_start_timestamp_seconds", map[string]string{"tenant": tenant, "granularity": string(g)})
		if got != float64(p.Unix()) {
			t.Errorf("period_start{granularity=%s} = %v, want %v (%s)", g, got, p.Unix(), p)
		}
	}
	for _, e := range expectations() {
		if !slices.Contains(insights.DefaultReports(), e.report) {
			// Read only when a config file lists it.
			if present(families, e.metric, map[string]string{"tenant": tenant}) {
				t.Errorf("%s present, but %s is not read by default", e.metric, e.report)
			}
			continue
		}
		var want int64
		for _, row := range graphsim.Rows(tenantID, e.report, now, false) {
			if periodOf(e.report.Granularity, row.FactDate).Equal(periods[e.report.Granularity]) {
				want += e.value(row)
			}
		}
		got := sumWhere(families, e.metric, e.withTenant(tenant))
		if got != float64(want) {
			t.Errorf("sum(%s%v) = %v, want %d from the simulator's rows of %s", e.metric, e.labels, got, want, e.report)
		}
		if want == 0 {
			t.Errorf("%s%v: the simulator served 0 for the as-of period; the test would not notice a missing value", e.metric, e.labels)
		}
	}
}

// TestServeAgainstSimulatorOverTLS runs the real server against the
// simulator over TLS with a client-secret credential from the environment
// (of a child process, so the test can run beside others), a custom
// authority host and --graph.url, and checks every exported total against
// the rows the simulator served.
func TestServeAgainstSimulatorOverTLS(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000}) // one page per report: the 5-per-10s budget applies
	caFile, err := sim.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := startChild(t, map[string]string{
		azconf.EnvTenantID: sim.TenantID, azconf.EnvClientID: sim.ClientID, azconf.EnvClientSecret: sim.ClientSecret,
	},
		"--azure.tenant-name=contoso",
		"--azure.authority-host="+sim.AuthorityHost,
		"--graph.url="+sim.GraphURL,
		"--graph.ca-file="+caFile,
		"--insights.refresh-interval=10m", // no second refresh during the test
	)
	families := in.waitUp(t, 1)
	checkTotals(t, families, "contoso", sim.TenantID, simNow)

	for _, r := range insights.AllReports() {
		labels := reportLabels("contoso", r)
		want := 1.0
		if !slices.Contains(insights.DefaultReports(), r) {
			want = 0 // absent: a deprecated report is read only when a config file lists it
		}
		if got := sumWhere(families, "entra_insights_report_up", labels); got != want {
			t.Errorf("report_up%v = %v, want %v", labels, got, want)
		}
	}
	if got := sumWhere(families, "entra_insights_graph_requests_total", map[string]string{"tenant": "contoso", "host_kind": "token", "code": "200"}); got < 1 {
		t.Errorf("token requests = %v, want ≥ 1 (a bearer token was fetched)", got)
	}
	graphDefaults := slices.DeleteFunc(insights.DefaultReports(), func(r insights.Report) bool {
		return !slices.Contains(insights.AllReports(), r) // logs only
	})
	if stats := sim.Stats(); stats.Authorized != stats.GraphRequests || stats.GraphRequests != len(graphDefaults) {
		t.Errorf("simulator saw %d Graph requests, %d with a valid bearer token; want all of the %d default Graph reports' (one page each)",
			stats.GraphRequests, stats.Authorized, len(graphDefaults))
	}
	checkBudget(t, sim.Stats().Requests)
	if strings.Contains(in.stderr.String(), sim.ClientSecret) {
		t.Errorf("the client secret appears in the log")
	}

	// Scrapes never call Graph.
	before := sim.Stats().GraphRequests
	for range 100 {
		in.scrape(t)
	}
	if after := sim.Stats().GraphRequests; after != before {
		t.Errorf("100 scrapes caused %d Graph requests, want 0", after-before)
	}
}

// checkBudget fails if more than 5 Graph requests arrived in any 10 s
// window: the client-side budget of --graph.rate-limit's default. Arrival
// times lag start times by a little network time, hence the tolerance.
func checkBudget(t *testing.T, requests []graphsim.Request) {
	t.Helper()
	var starts []time.Time
	for _, r := range requests {
		if strings.Contains(strings.ToLower(r.Path), "/reports/userinsights/") {
			starts = append(starts, r.At)
		}
	}
	for i := range starts {
		n := 0
		for _, s := range starts[i:] {
			if s.Sub(starts[i]) < 10*time.Second-100*time.Millisecond {
				n++
			}
		}
		if n > 5 {
			t.Fatalf("%d Graph requests arrived within 9.9 s from %s; the budget allows 5", n, starts[i].Format(time.RFC3339Nano))
		}
	}
}

// TestDemoServesEveryMetricWithinSeconds is the README's first command.
func TestDemoServesEveryMetricWithinSeconds(t *testing.T) {
	t.Parallel()
	start := time.Now()
	in := launch(t, "--demo")
	in.waitUp(t, 1)
	t.Logf("demo: all reports up %s after start", time.Since(start).Round(time.Millisecond))
	// A read the first refresh had no time to finish (the registrations,
	// read last, when the race detector slows the logs' catch-up) goes on
	// in the next one, 10 s later.
	families := in.waitScrape(t, logsReadTimeout, "every logs metric", func(f map[string]*dto.MetricFamily) bool {
		for _, exp := range expectations() {
			if slices.Contains(insights.LogsReports(), exp.report) && !(sumWhere(f, exp.metric, exp.withTenant("demo")) > 0) {
				return false
			}
		}
		return true
	})
	t.Logf("demo: every metric served %s after start", time.Since(start).Round(time.Millisecond))
	for _, exp := range expectations() {
		if !slices.Contains(insights.LogsReports(), exp.report) {
			// The demo reads the logs source; its other metrics are absent
			// by design (see the README's catalog).
			if families[exp.metric] != nil {
				t.Errorf("demo: %s present; the logs source does not produce it", exp.metric)
			}
			continue
		}
		if got := sumWhere(families, exp.metric, exp.withTenant("demo")); !(got > 0) {
			t.Errorf("demo: sum(%s%v) = %v, want > 0", exp.metric, exp.labels, got)
		}
	}
	for _, name := range []string{"entra_insights_app_info", "entra_insights_tenant_info", "entra_insights_report_rows",
		"entra_insights_report_last_success_timestamp_seconds", "entra_insights_refresh_duration_seconds",
		"entra_insights_refresh_errors_total", "entra_insights_graph_requests_total", "entra_insights_graph_retries_total",
		"entra_insights_graph_throttled_total", "entra_insights_exporter_build_info"} {
		if families[name] == nil {
			t.Errorf("demo: %s missing", name)
		}
	}
	for name, f := range families {
		if !strings.HasPrefix(name, "entra_insights_") || name == "entra_insights_exporter_build_info" {
			continue
		}
		for _, m := range f.Metric {
			if !promtest.HasLabels(m, map[string]string{"tenant": "demo"}) {
				t.Errorf("demo: %s has a series without tenant=\"demo\": %v", name, m.Label)
			}
		}
	}
}

// TestDemoPassesPromtoolCheckMetrics: promtool (Debian's 2.42) prints
// nothing for the exporter's whole /metrics.
func TestDemoPassesPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtest.Require(t)
	in := launch(t, "--demo")
	in.waitUp(t, 1)
	body, err := getOK(noKeepAlive, in.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
