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
func exporterHealth() *dashboard.DashboardBuilder {
	const (
		lastSuccess = "entra_insights_report_last_success_timestamp_seconds"
		errors      = "entra_insights_refresh_errors_total"
		requests    = "entra_insights_graph_requests_total"
		throttled   = "entra_insights_graph_throttled_total"
		retries     = "entra_insights_graph_retries_total"
	)
	reasons := " Reasons: unauthorized = 401, forbidden = 403 (Insights-UserMetric.Read.All missing), throttled = 429, server_error = 5xx, and timeout, network, bad_response, token (the credential was refused)."
	return newDashboard("entra-insights-exporter-health", "Entra insights / Exporter health",
		"Is entra_insights_exporter keeping its data fresh? Refreshes per tenant and report, their failures, Graph requests and throttling, and the date the data refers to.",
		"now-6h", "1m").
		WithRow(row("Now")).
		WithPanel(statPanel("Tenants up",
			"Whether every report of the tenant's last refresh succeeded.",
			unitNone, instantQuery(sel("entra_insights_tenant_up"), "{{tenant}}")).
			Mappings(upDown()).
			ColorMode(common.BigValueColorModeBackground).
			Thresholds(redBelowOne())).
		WithPanel(statPanel("Daily data as of",
			"The day the daily values belong to: the newest day Graph returned.",
			unitDay, instantQuery(asOf("daily"), "{{tenant}}"))).
		WithPanel(statPanel("Monthly data as of",
			"The month the monthly values belong to: the newest month Graph returned.",
			unitMonth, instantQuery(asOf("monthly"), "{{tenant}}"))).
		WithPanel(statPanel("Oldest successful refresh",
			"Age of the least recently refreshed report: how stale the oldest data is.",
			unitSeconds, instantQuery("max(time() - "+sel(lastSuccess)+")", "Age"))).
		WithPanel(statPanel("Failed refreshes, last hour",
			"Report refreshes that failed in the past hour, all reasons."+reasons,
			unitCount, instantQuery(sum("", "increase("+sel(errors)+"[1h])"), "Failures"))).
		WithPanel(statPanel("Throttled Graph responses, last hour",
			"Graph responses with status 429 in the past hour; the exporter waits as Retry-After says and retries.",
			unitCount, instantQuery(sum("", "increase("+sel(throttled)+"[1h])"), "Throttled"))).
		WithPanel(reportsTable().Span(24).Height(10)).
		WithRow(row("Over time")).
		WithPanel(healthLines("Age of last successful refresh",
			"Per tenant and report: time since the report last refreshed successfully. It drops to about zero at each successful refresh.",
			unitSeconds,
			rangeQuery("time() - "+sel(lastSuccess), "{{tenant}} {{granularity}}/{{report}}"))).
		WithPanel(healthLines("Failed refreshes by reason, past hour",
			"Per tenant and reason: report refreshes that failed during the hour before each point."+reasons,
			unitCount,
			rangeQuery(sum("tenant, reason", "increase("+sel(errors)+"[1h])"), "{{tenant}} {{reason}}"))).
		WithPanel(healthLines("Graph requests by status, past hour",
			"Per tenant: HTTP requests to Graph (host_kind=graph) and the token service (host_kind=token) during the hour before each point, by status code (error: no response).",
			unitCount,
			rangeQuery(sum("tenant, host_kind, code", "increase("+sel(requests)+"[1h])"), "{{tenant}} {{host_kind}} {{code}}"))).
		WithPanel(healthLines("Graph throttling and retries, past hour",
			"Per tenant: Graph responses with status 429, and requests repeated after a 429, 5xx or network failure, during the hour before each point.",
			unitCount,
			rangeQuery(sum("tenant", "increase("+sel(throttled)+"[1h])"), "{{tenant}} throttled"),
			rangeQuery(sum("tenant", "increase("+sel(retries)+"[1h])"), "{{tenant}} retried"))).
		WithPanel(healthLines("Refresh duration",
			"Per tenant: how long the last full refresh of all reports took.",
			unitSeconds,
			rangeQuery(sel("entra_insights_refresh_duration_seconds"), "{{tenant}}"))).
		WithPanel(healthLines("Age of the data's period",
			"Per tenant and granularity: time since the start of the as-of day or month. Above a day (daily) or a month and a few days (monthly), Graph's data is falling behind.",
			unitSeconds,
			rangeQuery("time() - "+sel(periodStart), "{{tenant}} {{granularity}}"))).
		WithPanel(healthLines("Rows per report",
			"Per tenant and report: Graph's rows in the as-of period. 0 means no activity, not a failure.",
			unitCount,
			rangeQuery(sel("entra_insights_report_rows"), "{{tenant}} {{granularity}}/{{report}}"))).
		WithPanel(column(tablePanel("Series per metric",
			"Series the exporter exposes now, per metric name: the exporter's cardinality.",
			unitCount,
			tableQuery(`count by (__name__) ({__name__=~"entra_insights_.+", `+tenantMatcher+`})`)),
			"Value", "Series", unitCount)).
		WithPanel(tablePanel("Exporter build",
			"Version of each exporter instance scraped.",
			unitNone,
			tableQuery("entra_insights_exporter_build_info")).
			Span(24).Height(5))
}

// reportsTable lists every tenant's reports with their state now.
func reportsTable() *table.PanelBuilder {
	p := tablePanel("Reports",
		"Per tenant and report: whether the last refresh succeeded, when the last success was and how long ago, and Graph's rows in the as-of period.",
		unitNone,
		tableQuery(sel("entra_insights_report_up")),
		tableQuery(sel("entra_insights_report_last_success_timestamp_seconds")+" * 1000"),
		tableQuery("time() - "+sel("entra_insights_report_last_success_timestamp_seconds")),
		tableQuery(sel("entra_insights_report_rows")))
	p = column(p, "Value #A", "Up", unitNone, dashboard.DynamicConfigValue{Id: "mappings", Value: upDown()})
	p = column(p, "Value #B", "Last success", "dateTimeAsIso")
	p = column(p, "Value #C", "Age", unitSeconds)
	return column(p, "Value #D", "Rows", unitCount)
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
