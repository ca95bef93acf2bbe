package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// requests reproduces the portal's Requests dashboard: monthly requests by
// application and country, and multifactor authentication by method,
// result, failure reason and registration type, over 12 months.
func (g gen) requests() *dashboard.DashboardBuilder {
	const (
		requests   = "entra_insights_monthly_requests"
		mfa        = "entra_insights_monthly_mfa_attempts"
		mfaFails   = "entra_insights_monthly_mfa_failures"
		registered = "entra_insights_monthly_mfa_registered_users"
	)
	lastBar := " Each bar ends on the month's last day; the last bar is the current month so far."
	// How the logs' requests differ from the portal's.
	fromLogs := " logs source: every interactive sign-in (sign-in interrupts included) and every event of the sign-up log (one per stage of a sign-up flow):" +
		" the closest the logs come to the portal's requests, so expect a different count from the one the portal showed."
	logsHistory := " The logs source has only the months it has read: Graph keeps the logs for 7 days, so months before the exporter (or its backfill) started have no bar."
	return g.newDashboard("entra-insights-requests", "Entra insights / Requests",
		"Requests and multifactor authentication (MFA) of Microsoft Entra External ID applications, per month (the portal's Application user activity → Requests).",
		"now-1y", "15m").
		WithVariable(g.appVariable()).
		WithRow(row("This month")).
		WithPanel(statPanel("Monthly data as of",
			"The month the values belong to. The current month's values keep growing until it ends.",
			unitMonth, instantQuery(g.asOf("monthly"), "{{tenant}}"))).
		WithPanel(statPanel("Requests",
			"Requests in the monthly data's month, so far. userinsights source: Graph's count of requests of every kind (authentication, sign-up, MFA, …), the portal's figure."+fromLogs,
			unitCount, instantQuery(sum("", g.latest(requests, appMatcher)), "Requests"))).
		WithPanel(statPanel("MFA attempts",
			"Multifactor authentication attempts in the monthly data's month, so far.",
			unitCount, instantQuery(sum("", g.latest(mfa, appMatcher)), "MFA attempts"))).
		WithPanel(statPanel("MFA success rate",
			"Share of this month's MFA attempts that succeeded.",
			unitRatio, instantQuery(g.ratio(mfa, `result="success"`, appMatcher), "Success rate")).
			Decimals(1)).
		WithPanel(statPanel("MFA-registered users",
			"Users registered for multifactor authentication, added up over MFA types (a user with several types counts once per type).",
			unitCount, instantQuery(sum("", g.latest(registered)), "Registered users"))).
		WithRow(row("Requests, last 12 months")).
		WithPanel(monthlyBars("Monthly requests by application",
			"Per month and application: requests (userinsights source: of every kind, the portal's figure)."+fromLogs+lastBar+logsHistory,
			unitCount, true,
			rangeQuery(g.monthEnds(g.withAppName(sum("tenant, app_id", g.day(g.sel(requests, appMatcher))), true)), "{{app_name}}"))).
		WithPanel(monthlyBars("Monthly requests by country",
			"Per month and country: requests (as Graph reports the country; UK is the United Kingdom, unknown means no country)."+fromLogs+
				" Sign-up events carry no location, so with the logs source they are all under unknown."+lastBar+logsHistory,
			unitCount, true,
			rangeQuery(g.monthEnds(sum("country", g.day(g.sel(requests, appMatcher)))), "{{country}}"))).
		WithPanel(column(tablePanel("Requests by country, this month",
			"This month's requests per country, including codes a map cannot place."+fromLogs+
				" Sign-up events carry no location, so with the logs source they are all under unknown.",
			unitCount,
			tableQuery(sum("country", g.latest(requests, appMatcher)))),
			"Value", "Requests", unitCount)).
		WithRow(row("Multifactor authentication, last 12 months")).
		WithPanel(monthlyBars("MFA attempts per month by method",
			"Per month and MFA method: multifactor authentication attempts."+lastBar,
			unitCount, true,
			rangeQuery(g.monthEnds(sum("mfa_method", g.day(g.sel(mfa, appMatcher)))), "{{mfa_method}}"))).
		WithPanel(monthlyBars("MFA success vs failure per month",
			"Per month: MFA attempts that succeeded and failed (failure = attempts − successes)."+lastBar,
			unitCount, true,
			rangeQuery(g.monthEnds(sum("result", g.day(g.sel(mfa, appMatcher)))), "{{result}}"))).
		WithPanel(monthlyBars("MFA failures per month by reason",
			"Per month: failed MFA attempts by Graph's failure reason code (ignores the application filter)."+lastBar,
			unitCount, true,
			rangeQuery(g.monthEnds(sum("reason_code", g.day(g.sel(mfaFails)))), "{{reason_code}}"))).
		WithPanel(barGauge("MFA failure reasons, this month",
			"This month's failed MFA attempts by method and failure reason code (ignores the application filter).",
			unitCount,
			instantQuery(sum("mfa_method, reason_code", g.latest(mfaFails)), "{{mfa_method}}: {{reason_code}}"))).
		WithPanel(monthlyBars("MFA registrations per month by type",
			"Per month: users registered for each MFA type (a user with several types counts once per type)."+lastBar,
			unitCount, false,
			rangeQuery(g.monthEnds(sum("mfa_type", g.day(g.sel(registered)))), "{{mfa_type}}"))).
		WithPanel(barGauge("MFA registrations by type, this month",
			"Users registered for each MFA type in the monthly data's month.",
			unitCount,
			instantQuery(sum("mfa_type", g.latest(registered)), "{{mfa_type}}"))).
		WithRow(g.userInsightsPanels(
			monthlyBars("SMS and voice MFA requests per month",
				"Per month: MFA requests over SMS and voice calls, completed or not (the summary report; ignores the application filter)."+lastBar+userInsightsOnly,
				unitCount, true,
				rangeQuery(g.monthEnds(sum("channel, result", g.day(g.sel("entra_insights_monthly_overview_mfa_requests")))), "{{channel}} {{result}}")).
				Span(20)))
}
