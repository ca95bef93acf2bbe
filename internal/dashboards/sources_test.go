package dashboards

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// The metrics that one source only exports (the README's metric catalog).
// TestEndToEnd checks both lists against the two sources' demos: each
// source exports every metric the dashboards and rules read but the other
// source's own, and none of those.
var (
	userInsightsOnlyMetric = regexp.MustCompile(`^entra_insights_(` +
		`(daily|monthly)_overview_[a-z_]+` + // the summary report
		`|(daily|monthly)_inactive_users_by_application` +
		`|daily_captcha_[a-z_]+|daily_telecom_blocked_users` + // mfaTelecomFraud
		`)$`)
	logsOnlyMetric = regexp.MustCompile(`^entra_insights_((daily|monthly)_(` +
		`sign_up_failures|sign_up_flows|sign_up_abandoned_flows|sign_in_interrupts` +
		`)|logs_[a-z_]+)$`) // and the logs source's own: read positions, lag, events
)

// exports reports whether the source exports metric, by the lists above.
func exports(source, metric string) bool {
	switch source {
	case "logs":
		return !userInsightsOnlyMetric.MatchString(metric)
	case "userinsights":
		return !logsOnlyMetric.MatchString(metric)
	}
	panic("unknown source " + source)
}

// feeds reports whether the source has data for every metric that expr
// reads; for a recorded series, the metric it is recorded from
// (level:metric:operations).
func feeds(t *testing.T, source, expr string) bool {
	t.Helper()
	for _, name := range readMetrics(t, expr) {
		if !exports(source, name) {
			return false
		}
	}
	return true
}

// readMetrics returns the metric names expr selects, a recorded series
// standing for the metric it is recorded from.
func readMetrics(t *testing.T, expr string) []string {
	t.Helper()
	names := metricNames(t, expr)
	p, err := promtest.ParsePromQL(expr)
	if err != nil {
		t.Fatalf("%v: %s", err, expr)
	}
	for _, s := range p.Selectors {
		if parts := strings.Split(s.Metric, ":"); len(parts) == 3 && !slices.Contains(names, parts[1]) {
			names = append(names, parts[1])
		}
	}
	return names
}

// fedBy reports whether the demo of source must fill tg: under logs (the
// default), every panel but those of the userinsights-only row; under
// userinsights, every panel that reads no logs-only metric.
func fedBy(t *testing.T, source string, tg Target) bool {
	t.Helper()
	if source == "logs" {
		return tg.Row != userInsightsRow
	}
	return feeds(t, source, tg.Expr)
}

// TestLintSources keeps the panels of one source apart and labelled: a
// panel that reads a userinsights-only metric is in the collapsed
// userinsights-only row at the end of its dashboard, that row holds
// nothing else (but the stat that counts the tenants on that source), and
// the description of a panel of one source says so.
func TestLintSources(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			for i, p := range d.Panels {
				if r := p.RowPanel; r != nil && deref(r.Title) == userInsightsRow {
					if !r.Collapsed {
						t.Errorf("row %q is not collapsed", userInsightsRow)
					}
					if i != len(d.Panels)-1 {
						t.Errorf("row %q is not the last of the dashboard", userInsightsRow)
					}
				}
			}
			for _, rp := range rowPanels(d) {
				title, description := deref(rp.panel.Title), deref(rp.panel.Description)
				inRow := rp.row == userInsightsRow
				var userInsights, logs bool
				for _, q := range rp.panel.Targets {
					pq, err := promQuery(q)
					if err != nil {
						t.Fatal(err)
					}
					ui := !feeds(t, "logs", pq.Expr)
					userInsights = userInsights || ui
					logs = logs || !feeds(t, "userinsights", pq.Expr)
					switch {
					case ui && !inRow:
						t.Errorf("panel %q reads userinsights-only metrics outside the row %q: %s", title, userInsightsRow, pq.Expr)
					case inRow && !ui && !strings.Contains(pq.Expr, `source="userinsights"`):
						t.Errorf("panel %q in the row %q reads metrics the logs source exports too: %s", title, userInsightsRow, pq.Expr)
					}
				}
				if noted := strings.Contains(description, userInsightsOnly); userInsights != noted {
					t.Errorf("panel %q reads userinsights-only metrics: %v; its description says so: %v", title, userInsights, noted)
				}
				if noted := strings.Contains(description, logsOnly); logs != noted {
					t.Errorf("panel %q reads logs-only metrics: %v; its description says so: %v", title, logs, noted)
				}
			}
		})
	}
}

func TestSourceLists(t *testing.T) {
	for metric, want := range map[string][2]bool{ // exported by logs, by userinsights
		"entra_insights_daily_overview_mfa_requests":           {false, true},
		"entra_insights_monthly_inactive_users_by_application": {false, true},
		"entra_insights_daily_captcha_shown_users":             {false, true},
		"entra_insights_daily_telecom_blocked_users":           {false, true},
		"entra_insights_monthly_sign_up_flows":                 {true, false},
		"entra_insights_daily_sign_in_interrupts":              {true, false},
		"entra_insights_logs_lag_seconds":                      {true, false},
		"entra_insights_monthly_requests":                      {true, true},
		"entra_insights_daily_sign_ups":                        {true, true},
		"entra_insights_monthly_inactive_users":                {true, true},
	} {
		if got := [2]bool{exports("logs", metric), exports("userinsights", metric)}; got != want {
			t.Errorf("%s exported by logs, userinsights: %v, want %v", metric, got, want)
		}
	}
	recorded := "tenant:entra_insights_daily_telecom_blocked_users:max_7d > 3"
	if feeds(t, "logs", recorded) || !feeds(t, "userinsights", recorded) {
		t.Errorf("a series recorded from a userinsights-only metric is not userinsights-only")
	}
}
