package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// exporterHealth shows whether the exporter keeps its data fresh: per
// tenant and report the last successful refresh and its age, failures by
// reason, Graph traffic and throttling, the data's date and series counts.
func (g gen) exporterHealth() *dashboard.DashboardBuilder {
	const (
		lastSuccess = "entra_insights_report_last_success_timestamp_seconds"
		errors      = "entra_insights_refresh_errors_total"
		requests    = "entra_insights_graph_requests_total"
		throttled   = "entra_insights_graph_throttled_total"
		retries     = "entra_insights_graph_retries_total"
	)
	reasons := " Reasons: unauthorized = 401, forbidden = 403 (a permission of the source missing: see the runbook), throttled = 429, server_error = 5xx, bad_request = 400 and other 4xx (Graph refused the query: its message names what), and timeout, network, bad_response, token (the credential was refused), token_unreachable (the token service could not be reached or failed)."
	return g.newDashboard("entra-insights-exporter-health", "Entra insights / Exporter health",
		"Is entra_insights_exporter keeping its data fresh? Refreshes per tenant and report, their failures, Graph requests and throttling, and the date the data refers to.",
		"now-6h", "1m").
		WithRow(row("Now")).
		WithPanel(statPanel("Tenants up",
			"Whether every report of the tenant's last refresh succeeded.",
			unitNone, instantQuery(g.latest("entra_insights_tenant_up"), "{{tenant}}")).
			Mappings(upDown()).
			ColorMode(common.BigValueColorModeBackground).
			Thresholds(redBelowOne())).
		WithPanel(statPanel("Daily data as of",
			"The day the daily values belong to: the newest day Graph returned.",
			unitDay, instantQuery(g.asOf("daily"), "{{tenant}}"))).
		WithPanel(statPanel("Monthly data as of",
			"The month the monthly values belong to: the newest month Graph returned.",
			unitMonth, instantQuery(g.asOf("monthly"), "{{tenant}}"))).
		WithPanel(statPanel("Oldest successful refresh",
			"Age of the least recently refreshed report: how stale the oldest data is.",
			unitSeconds, instantQuery("max(time() - "+g.latest(lastSuccess)+")", "Age"))).
		WithPanel(statPanel("Failed refreshes, last hour",
			"Report refreshes that failed in the past hour, all reasons."+reasons,
			unitCount, instantQuery(sum("", g.increase(errors, "1h")), "Failures"))).
		WithPanel(statPanel("Throttled Graph responses, last hour",
			"Graph responses with status 429 in the past hour; the exporter waits as Retry-After says and retries.",
			unitCount, instantQuery(sum("", g.increase(throttled, "1h")), "Throttled"))).
		WithPanel(g.reportsTable().Span(24).Height(10)).
		WithPanel(g.logsReadsTable().Span(24).Height(7)).
		WithRow(row("Over time")).
		WithPanel(healthLines("Age of last successful refresh",
			"Per tenant and report: time since the report last refreshed successfully. It drops to about zero at each successful refresh.",
			unitSeconds,
			rangeQuery("time() - "+g.latest(lastSuccess), "{{tenant}} {{granularity}}/{{report}}"))).
		WithPanel(healthLines("Failed refreshes by reason, past hour",
			"Per tenant and reason: report refreshes that failed during the hour before each point."+reasons,
			unitCount,
			rangeQuery(sum("tenant, reason", g.increase(errors, "1h")), "{{tenant}} {{reason}}"))).
		WithPanel(healthLines("Graph requests by status, past hour",
			"Per tenant: HTTP requests to Graph (host_kind=graph) and the token service (host_kind=token) during the hour before each point, by status code (error: no response).",
			unitCount,
			rangeQuery(sum("tenant, host_kind, code", g.increase(requests, "1h")), "{{tenant}} {{host_kind}} {{code}}"))).
		WithPanel(healthLines("Graph throttling and retries, past hour",
			"Per tenant: Graph responses with status 429, and requests repeated after a 429, 5xx or network failure, during the hour before each point.",
			unitCount,
			rangeQuery(sum("tenant", g.increase(throttled, "1h")), "{{tenant}} throttled"),
			rangeQuery(sum("tenant", g.increase(retries, "1h")), "{{tenant}} retried"))).
		WithPanel(healthLines("Refresh duration",
			"Per tenant: how long the last full refresh of all reports took.",
			unitSeconds,
			rangeQuery(g.latest("entra_insights_refresh_duration_seconds"), "{{tenant}}"))).
		WithPanel(healthLines("Activity log lag",
			"Per tenant and activity log (logs source): how far behind now the log has been read and committed. A few minutes when keeping up; large but shrinking while a first start or an outage is caught up; growing means the feed falls behind (EntraInsightsLogsFallingBehind)."+logsOnly,
			unitSeconds,
			rangeQuery(g.latest("entra_insights_logs_lag_seconds"), "{{tenant}} {{feed}}"))).
		WithPanel(healthLines("Activity log events counted, past hour",
			"Per tenant and activity log (logs source): new events counted during the hour before each point (deduplicated by id; interrupts included)."+logsOnly,
			unitCount,
			rangeQuery(sum("tenant, feed", g.increase("entra_insights_logs_events_total", "1h")), "{{tenant}} {{feed}}"))).
		WithPanel(healthLines("Age of the data's period",
			"Per tenant and granularity: time since the start of the as-of day or month. Above a day (daily) or a month and a few days (monthly), Graph's data is falling behind.",
			unitSeconds,
			rangeQuery("time() - "+g.latest(periodStart), "{{tenant}} {{granularity}}"))).
		WithPanel(healthLines("Rows per report",
			"Per tenant and report: its records in the as-of period (Graph's rows; for the logs, its values). 0 means no activity, not a failure.",
			unitCount,
			rangeQuery(g.latest("entra_insights_report_rows"), "{{tenant}} {{granularity}}/{{report}}"))).
		WithPanel(column(tablePanel("Series per metric",
			"Series the exporter exposes now, per metric name: the exporter's cardinality.",
			unitCount,
			tableQuery(g.seriesPerMetric())),
			"Value", "Series", unitCount)).
		WithPanel(tablePanel("Exporter build",
			"The versions of the exporters scraped, one row per version (select a job to see one job's).",
			unitNone,
			tableQuery(g.once("entra_insights_exporter_build_info"+g.braces()))).
			Span(24).Height(5))
}

// seriesPerMetric counts the series of each metric name, a series exposed
// by several exporters once. Aggregations drop __name__, so it is copied
// to a metric label first.
func (g gen) seriesPerMetric() string {
	all := g.braces(`__name__=~"entra_insights_.+"`, tenantMatcher)
	return `count by (metric) (` + g.once(`label_replace(`+all+`, "metric", "$1", "__name__", "(.+)")`) + `)`
}

// reportsTable lists every tenant's reports with their state now.
func (g gen) reportsTable() *table.PanelBuilder {
	p := tablePanel("Reports",
		"Per tenant and report: whether the last refresh succeeded, when the last success was and how long ago, and its records in the as-of period.",
		unitNone,
		tableQuery(g.latest("entra_insights_report_up")),
		tableQuery(g.latest("entra_insights_report_last_success_timestamp_seconds")+" * 1000"),
		tableQuery("time() - "+g.latest("entra_insights_report_last_success_timestamp_seconds")),
		tableQuery(g.latest("entra_insights_report_rows")))
	p = column(p, "Value #A", "Up", unitNone, dashboard.DynamicConfigValue{Id: "mappings", Value: upDown()})
	p = column(p, "Value #B", "Last success", "dateTimeAsIso")
	p = column(p, "Value #C", "Age", unitSeconds)
	return column(p, "Value #D", "Rows", unitCount)
}

// logsReadsTable lists the reads of every logs tenant with their state now:
// one failed read fails every report built from it, and this table names
// the read (EntraInsightsLogsReadFailing).
func (g gen) logsReadsTable() *table.PanelBuilder {
	p := tablePanel("Activity log reads",
		"Per tenant and read of the logs source (signIns, signUps, users, registrations, inactive): whether its last attempt succeeded, when the last success was and how long ago. A periodic read keeps its last outcome between attempts; the reason of a failure is in entra_insights_logs_read_errors_total and the exporter's log."+logsOnly,
		unitNone,
		tableQuery(g.latest("entra_insights_logs_read_up")),
		tableQuery(g.latest("entra_insights_logs_read_last_success_timestamp_seconds")+" * 1000"),
		tableQuery("time() - "+g.latest("entra_insights_logs_read_last_success_timestamp_seconds")))
	p = column(p, "Value #A", "Up", unitNone, dashboard.DynamicConfigValue{Id: "mappings", Value: upDown()})
	p = column(p, "Value #B", "Last success", "dateTimeAsIso")
	return column(p, "Value #C", "Age", unitSeconds)
}

// upDown maps 1 to "up" and 0 to "down".
func upDown() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: cog.ToPtr("down"), Color: cog.ToPtr("red")},
			"1": {Text: cog.ToPtr("up"), Color: cog.ToPtr("green")},
		},
	}}}
}

// redBelowOne colours 0 red and 1 green.
func redBelowOne() *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps([]dashboard.Threshold{
			{Value: nil, Color: "red"},
			{Value: cog.ToPtr(1.0), Color: "green"},
		})
}
