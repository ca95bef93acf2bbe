package collector

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

// TestUserInsightsRetirementDetected: a userinsights refresh in which every
// report answers empty (or retired) is the retirement, within that one
// refresh: retired counted, source_up 0, one log line naming the date and
// the logs source. The same for a logs tenant is a quiet tenant.
func TestUserInsightsRetirementDetected(t *testing.T) {
	cfg := Config{Reports: []insights.Report{report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.SignUps)}}
	now := func() time.Time { return date(2026, 12, 2) }
	for _, tt := range []struct {
		name, source string
		err          error
		retired      bool
	}{
		{"all empty", insights.SourceUserInsights, nil, true},
		{"all not found", insights.SourceUserInsights, &insights.Error{Reason: insights.ReasonRetired, Status: 400}, true},
		{"logs tenant empty", insights.SourceLogs, nil, false},
		{"all forbidden", insights.SourceUserInsights, &insights.Error{Reason: insights.ReasonForbidden, Status: 403}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource(map[insights.Report][]insights.Row{})
			for _, r := range cfg.Reports {
				src.setErr(r, tt.err)
			}
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			var s source.Source = userinsights.New(src, logger)
			if tt.source == insights.SourceLogs {
				s = &listingSource{results: source.Results{cfg.Reports[0]: {}, cfg.Reports[1]: {}}}
			}
			reg := prometheus.NewPedanticRegistry()
			e, err := New([]Tenant{{Name: "t", TenantID: "tid", Source: s}}, withFamilies(cfg), logger, reg, now)
			if err != nil {
				t.Fatal(err)
			}
			reg.MustRegister(e)
			e.RefreshAll(context.Background())
			got := gatherValues(t, reg)
			retired := got[`entra_insights_refresh_errors_total{reason="retired",tenant="t"}`]
			up := got[`entra_insights_source_up{source="`+tt.source+`",tenant="t"}`]
			lines := strings.Count(logs.String(), "31 August 2026")
			if tt.retired {
				// One cause (the retired API), counted once for the refresh.
				if retired != 1 || up != 0 || lines != 1 {
					t.Errorf("retired errors %g (want 1), source_up %g (want 0), retirement log lines %d (want 1)\n%s", retired, up, lines, logs.String())
				}
				return
			}
			if retired != 0 || lines != 0 {
				t.Errorf("retired errors %g, retirement log lines %d: want none\n%s", retired, lines, logs.String())
			}
			if wantUp := float64(boolValue(tt.err == nil)); up != wantUp {
				t.Errorf("source_up %g, want %g", up, wantUp)
			}
		})
	}
}

// listingSource produces only some reports, whose results it is given
// (as the logs source produces them), and syncs before each refresh.
type listingSource struct {
	results source.Results
	syncs   int
}

func (s *listingSource) Name() string { return insights.SourceLogs }
func (s *listingSource) Reports() []insights.Report {
	return slices.Collect(maps.Keys(s.results))
}

// Refresh syncs, then serves the reports of want, as the logs source does.
func (s *listingSource) Refresh(_ context.Context, want []insights.Report) source.Results {
	s.syncs++
	out := source.Results{}
	for _, r := range want {
		out[r] = s.results[r]
	}
	return out
}

// TestListerReportsOnly: a source that lists its reports is asked only for
// those, the others are absent (no data, no report_up), its families'
// points are exposed as given (tenant_active_users is its own, not a sum),
// and Sync runs once per refresh.
func TestListerReportsOnly(t *testing.T) {
	day := date(2026, 12, 2)
	active, summary := report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.Summary)
	point := func(family string, value int64, labels ...source.Label) source.Point {
		return source.Point{Family: family, Start: day, Labels: labels, Value: value}
	}
	src := &listingSource{results: source.Results{active: {
		Points: []source.Point{
			point("active_users", 3, source.Label{Name: "app_id", Value: "a"}, source.Label{Name: "os", Value: "Windows"}),
			point("active_users", 2, source.Label{Name: "app_id", Value: "b"}, source.Label{Name: "os", Value: "Windows"}),
			point("tenant_active_users", 4),
		},
		Records: map[time.Time]int{day: 3},
	}}}
	e, reg := newTestExporter(t, Config{Reports: []insights.Report{active, summary}}, func() time.Time { return day },
		Tenant{Name: "t", TenantID: "tid", Source: src})
	e.RefreshAll(context.Background())
	checkValues(t, gatherValues(t, reg), map[string]float64{
		`entra_insights_daily_tenant_active_users{tenant="t"}`:                          4, // exact, not 3+2
		`entra_insights_daily_active_users{app_id="a",os="Windows",tenant="t"}`:         3,
		`entra_insights_report_up{granularity="daily",report="activeUsers",tenant="t"}`: 1,
		`entra_insights_source_up{source="logs",tenant="t"}`:                            1,
	}, `entra_insights_daily_overview_active_users{`, `entra_insights_report_up{granularity="daily",report="summary",tenant="t"}`)
	if src.syncs != 1 {
		t.Errorf("Sync ran %d times in one refresh, want 1", src.syncs)
	}
	e.RefreshAll(context.Background())
	if src.syncs != 2 {
		t.Errorf("Sync ran %d times in two refreshes, want 2", src.syncs)
	}
}

// TestUserInsightsTenantActiveUsersIsTheSum: for the userinsights source,
// tenant_active_users is the upper-bound sum of activeUsers rows.
func TestUserInsightsTenantActiveUsersIsTheSum(t *testing.T) {
	day := date(2026, 12, 2)
	active := report(insights.Daily, insights.ActiveUsers)
	src := newFakeSource(map[insights.Report][]insights.Row{
		active: {{FactDate: day, AppID: "a", Count: 3}, {FactDate: day, AppID: "b", Count: 2}},
	})
	e, reg := newTestExporter(t, Config{Reports: []insights.Report{active}}, func() time.Time { return day },
		Tenant{Name: "t", TenantID: "tid", Source: src})
	e.RefreshAll(context.Background())
	checkValues(t, gatherValues(t, reg), map[string]float64{`entra_insights_daily_tenant_active_users{tenant="t"}`: 5})
}
