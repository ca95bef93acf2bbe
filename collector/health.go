package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// healthFamilies are the exporter's own gauges about its refreshes.
type healthFamilies struct {
	reportRows        *family
	reportUp          *family
	reportLastSuccess *family
	tenantUp          *family
	tenantHasData     *family
	sourceUp          *family
	refreshDuration   *family
}

func newHealthFamilies() healthFamilies {
	return healthFamilies{
		reportRows: newFamily(namespace+"_report_rows",
			"Records of the report in the current as-of period (userinsights: Graph's rows; logs: the values of its"+
				" families); 0 means no activity, not a failure."+
				" Absent while the exporter holds no data of the report.",
			"tenant", "granularity", "report"),
		reportUp: newFamily(namespace+"_report_up",
			"Whether the last refresh of the report succeeded (1) or failed (0).",
			"tenant", "granularity", "report"),
		reportLastSuccess: newFamily(namespace+"_report_last_success_timestamp_seconds",
			"Time of the last successful refresh of the report. Absent until the first success.",
			"tenant", "granularity", "report"),
		tenantUp: newFamily(namespace+"_tenant_up",
			"Whether every report of the tenant's last refresh succeeded (1) or not (0).",
			"tenant"),
		tenantHasData: newFamily(namespace+"_tenant_has_data",
			"Whether the exporter serves data of the tenant (1: some report holds data, fresh or within --insights.max-age),"+
				" or none yet or any more (0). Absent before the tenant's first refresh.",
			"tenant"),
		sourceUp: newFamily(namespace+"_source_up",
			"Whether the tenant's source answered with data in its last refresh (1), or failed everywhere or is retired (0).",
			"tenant", "source"),
		refreshDuration: newFamily(namespace+"_refresh_duration_seconds",
			"Duration of the tenant's last full refresh.",
			"tenant"),
	}
}

func (h healthFamilies) describe(ch chan<- *prometheus.Desc) {
	for _, f := range h.all() {
		ch <- f.desc
	}
}

func (h healthFamilies) all() []*family {
	return []*family{h.reportRows, h.reportUp, h.reportLastSuccess, h.tenantUp, h.tenantHasData, h.sourceUp, h.refreshDuration}
}

// points appends the health gauges of tenant t after a refresh that took
// duration; asOf holds the as-of periods of t's data.
func (h healthFamilies) points(t *tenantState, reports []insights.Report, asOf map[insights.Granularity]time.Time, duration time.Duration, out []point) []point {
	allUp, hasData := true, false
	for _, r := range reports {
		st := t.reports[r]
		hasData = hasData || st.held
		kv := []string{"tenant", t.Name, "granularity", string(r.Granularity), "report", r.Name}
		if st.held {
			n := 0
			if period, ok := asOf[r.Granularity]; ok {
				n = st.result.RecordsIn(period)
			}
			out = append(out, h.reportRows.point(float64(n), kv...))
		}
		out = append(out, h.reportUp.point(boolValue(st.up), kv...))
		if !st.lastSuccess.IsZero() {
			out = append(out, h.reportLastSuccess.point(float64(st.lastSuccess.UnixMilli())/1e3, kv...))
		}
		allUp = allUp && st.up
	}
	return append(out,
		h.tenantUp.point(boolValue(allUp), "tenant", t.Name),
		h.tenantHasData.point(boolValue(hasData), "tenant", t.Name),
		h.sourceUp.point(boolValue(t.sourceUp), "tenant", t.Name, "source", insights.NormalizeText(t.sourceName(), insights.UnknownValue)),
		h.refreshDuration.point(duration.Seconds(), "tenant", t.Name))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
