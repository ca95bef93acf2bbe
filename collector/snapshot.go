package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// snapshot is the immutable result of one refresh of one tenant: every
// metric pre-built, so Collect only ranges over a slice.
type snapshot struct {
	metrics []prometheus.Metric
}

// buildSnapshot renders what t holds after a refresh that took duration.
func (e *Exporter) buildSnapshot(t *tenant, duration time.Duration) *snapshot {
	rows := make(map[insights.Report][]insights.Row, len(t.reports))
	for r, st := range t.reports {
		if st.held {
			rows[r] = st.rows
		}
	}
	mirrorDerived(rows, t.reports)
	// The as-of period is taken over the union of the held rows: a report
	// still serving older data does not hold the others back.
	asOf := AsOf(rows)
	var points []point
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		if period, ok := asOf[g]; ok {
			points = e.catalog.seriesPoints(t.Name, g, period, rows, points)
		}
	}
	points = e.catalog.infoPoints(t.Tenant, rows, points)
	points = e.health.points(t, t.order, asOf, duration, points)
	return newSnapshot(points)
}

// mirrorDerived gives a tenant whose source does not produce
// tenantActiveUsers the rows of its activeUsers, so
// entra_insights_G_tenant_active_users is their sum (for the userinsights
// source an upper bound, as its HELP says).
func mirrorDerived(rows map[insights.Report][]insights.Row, produced map[insights.Report]*reportState) {
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		derived := insights.Report{Granularity: g, Name: insights.TenantActiveUsers}
		if _, ok := produced[derived]; ok {
			continue
		}
		if active, ok := rows[insights.Report{Granularity: g, Name: insights.ActiveUsers}]; ok {
			rows[derived] = active
		}
	}
}

// newSnapshot turns points into const metrics. Every label value is valid
// UTF-8 (normalised, or checked by New), so MustNewConstMetric cannot panic.
func newSnapshot(points []point) *snapshot {
	s := &snapshot{metrics: make([]prometheus.Metric, len(points))}
	for i, p := range points {
		s.metrics[i] = prometheus.MustNewConstMetric(p.family.desc, prometheus.GaugeValue, p.value, p.values...)
	}
	return s
}
