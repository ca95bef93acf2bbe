package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// snapshot is the immutable result of one refresh of one tenant: every
// metric pre-built, so Collect only ranges over a slice.
type snapshot struct {
	metrics []prometheus.Metric
}

// buildSnapshot renders what t holds after a refresh that took duration.
func (e *Exporter) buildSnapshot(t *tenantState, duration time.Duration) *snapshot {
	held := make(map[insights.Report]source.Result, len(t.reports))
	for r, st := range t.reports {
		if st.held {
			held[r] = st.result
		}
	}
	// The as-of period is taken over the union of the held results: a
	// report still serving older data does not hold the others back.
	asOf := AsOf(held)
	var points []point
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		if period, ok := asOf[g]; ok {
			points = e.catalog.seriesPoints(t.Name, g, period, held, points)
		}
	}
	points = e.catalog.infoPoints(t.Tenant, held, points)
	points = e.health.points(t, t.order, asOf, duration, points)
	return newSnapshot(points)
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
