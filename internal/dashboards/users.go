package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// users reproduces the portal's Users dashboard: active and inactive users,
// new users (sign-ups) and total users, daily for 30 days and monthly for
// 12 months; and, from the logs, how sign-up flows progress and fail.
func (g gen) users() *dashboard.DashboardBuilder {
	const (
		dailyActive  = "entra_insights_daily_active_users"
		monthActive  = "entra_insights_monthly_active_users"
		dailySignUps = "entra_insights_daily_sign_ups"
		monthSignUps = "entra_insights_monthly_sign_ups"
		dailyTenant  = "entra_insights_daily_tenant_active_users"
		monthTenant  = "entra_insights_monthly_tenant_active_users"

		dailySignUpFailures = "entra_insights_daily_sign_up_failures"
		monthSignUpFailures = "entra_insights_monthly_sign_up_failures"
	)
	noDevice := " Sign-up events carry no device, so new users are shown by identity provider (how they signed up: email with a password or a one-time passcode, or a federated provider such as Google)."
	upperBound := " A user of several applications or platforms counts once in each, so sums over them exceed the distinct users" +
		" (with the userinsights source even each figure is Graph's upper bound)."
	tenantWide := " Distinct users of the whole tenant (logs source: exact; userinsights source: the sum over applications, an upper bound);" +
		" the application filter does not apply."
	return g.newDashboard("entra-insights-users", "Entra insights / Users",
		"Active, inactive, new and total users of Microsoft Entra External ID applications (the portal's Application user activity → Users).",
		"now-30d", "15m").
		WithVariable(g.appVariable()).
		WithRow(row("Now")).
		WithPanel(statPanel("Daily data as of",
			"The day the daily values belong to (the newest day Graph has data for). Today's values keep growing until the day ends.",
			unitDay, instantQuery(g.asOf("daily"), "{{tenant}}"))).
		WithPanel(statPanel("Monthly data as of",
			"The month the monthly values belong to. The current month's values keep growing until it ends.",
			unitMonth, instantQuery(g.asOf("monthly"), "{{tenant}}"))).
		WithPanel(statPanel("Total users",
			"Users in the tenant (Graph's user count report), as of the daily data's day.",
			unitCount, instantQuery(sum("", g.latest("entra_insights_daily_users")), "Users"))).
		WithPanel(statPanel("Active users today",
			"Users with a successful sign-in on the daily data's day, so far."+tenantWide,
			unitCount, instantQuery(sum("", g.latest(dailyTenant)), "Active users"))).
		WithPanel(statPanel("Active users this month",
			"Users with a successful sign-in in the monthly data's month, so far."+tenantWide,
			unitCount, instantQuery(sum("", g.latest(monthTenant)), "Active users"))).
		WithPanel(statPanel("New users this month",
			"Users who signed up in the monthly data's month, so far.",
			unitCount, instantQuery(sum("", g.latest(monthSignUps, appMatcher)), "Sign-ups"))).
		WithRow(row("Daily, last 30 days")).
		WithPanel(dailyBars("Daily active and inactive users",
			"Per day: users with a successful sign-in, and users inactive for a day (logs source: from the users' last successful sign-in, which needs Entra ID P1 or P2; userinsights source: Graph's report)."+tenantWide,
			unitCount, false,
			rangeQuery(sum("", g.day(g.sel(dailyTenant))), "Active"),
			rangeQuery(sum("", g.day(g.sel("entra_insights_daily_inactive_users", `window="1d"`))), "Inactive for 1 day"))).
		WithPanel(dailyLines("Total users",
			"Users in the tenant at the end of each day.",
			unitCount,
			rangeQuery(sum("", g.day(g.sel("entra_insights_daily_users"))), "Users"))).
		WithPanel(dailyBars("Daily active users by application",
			"Per day and application: users with at least one authentication request."+upperBound,
			unitCount, true,
			rangeQuery(g.withAppName(sum("tenant, app_id", g.day(g.sel(dailyActive, appMatcher))), true), "{{app_name}}"))).
		WithPanel(dailyBars("Daily new users by identity provider",
			"Per day and identity provider: users who signed up."+noDevice,
			unitCount, true,
			rangeQuery(sum("identity_provider", g.day(g.sel(dailySignUps, appMatcher))), "{{identity_provider}}"))).
		WithRow(row("Monthly, last 12 months")).
		WithPanel(monthlyBars("Monthly active users",
			"Per month: users with a successful sign-in. Each bar ends on the month's last day; the last bar is the current month so far."+tenantWide,
			unitCount, false,
			rangeQuery(g.monthEnds(sum("", g.day(g.sel(monthTenant)))), "Active users")).
			TimeFrom(yearRange)).
		WithPanel(monthlyBars("Monthly active users by application",
			"Per month and application: users with at least one authentication request. The last bar is the current month so far."+upperBound,
			unitCount, false,
			rangeQuery(g.monthEnds(g.withAppName(sum("tenant, app_id", g.day(g.sel(monthActive, appMatcher))), true)), "{{app_name}}")).
			TimeFrom(yearRange)).
		WithPanel(barGauge("Active users by application, this month",
			"Applications compared by their active users in the monthly data's month, so far."+upperBound,
			unitCount,
			instantQuery(g.withAppName(sum("tenant, app_id", g.latest(monthActive, appMatcher)), false), "{{app_name}}"))).
		WithPanel(monthlyBars("New users per month by identity provider",
			"Per month: users who signed up, stacked by identity provider; the stack's height is all new users. The last bar is the current month so far."+noDevice,
			unitCount, true,
			rangeQuery(g.monthEnds(sum("identity_provider", g.day(g.sel(monthSignUps, appMatcher)))), "{{identity_provider}}")).
			TimeFrom(yearRange)).
		WithPanel(pieChart("New users by identity provider, this month",
			"Users who signed up in the monthly data's month so far, by identity provider."+noDevice,
			unitCount,
			instantQuery(sum("identity_provider", g.latest(monthSignUps, appMatcher)), "{{identity_provider}}"))).
		WithPanel(monthlyBars("Inactive users per month",
			"Per month: users inactive during the calendar month, and for 30, 60 and 90 days at its end (ignores the application filter)."+upperBound,
			unitCount, false,
			rangeQuery(g.monthEnds(sum("window", g.day(g.sel("entra_insights_monthly_inactive_users")))), "{{window}}")).
			TimeFrom(yearRange)).
		WithRow(row("Sign-up flows, this month and last 30 days")).
		WithPanel(g.signUpFunnel()).
		WithPanel(dailyBars("Abandoned sign-up flows per day by stage",
			"Per day: sign-up flows whose furthest stage that day was this one and that created no user, i.e. where customers dropped off"+
				" (a flow still in progress counts until it goes on; ignores the application filter)."+logsOnly,
			unitCount, true,
			rangeQuery(sum("stage", g.day(g.sel("entra_insights_daily_sign_up_abandoned_flows"))), "{{stage}}"))).
		WithPanel(dailyBars("Sign-up failures per day by stage and reason",
			"Per day: failed steps of sign-up flows by signUpStage and Graph's error code. A flow may fail a step (a wrong one-time passcode) and still complete,"+
				" so failures are steps, not lost customers: for those, see the abandoned flows."+logsOnly,
			unitCount, true,
			rangeQuery(sum("stage, reason_code", g.day(g.sel(dailySignUpFailures, appMatcher))), "{{stage}}: {{reason_code}}"))).
		WithPanel(barGauge("Sign-up failures by stage and reason, this month",
			"Failed steps of sign-up flows in the monthly data's month so far, by signUpStage and Graph's error code."+logsOnly,
			unitCount,
			instantQuery(sum("stage, reason_code", g.latest(monthSignUpFailures, appMatcher)), "{{stage}}: {{reason_code}}")))
}

// signUpFunnel shows this month's sign-up flows per stage, in the order of
// a flow: how many reached the stage, and how many stopped there without
// creating a user.
func (g gen) signUpFunnel() *barchart.PanelBuilder {
	const (
		flows     = "entra_insights_monthly_sign_up_flows"
		abandoned = "entra_insights_monthly_sign_up_abandoned_flows"
	)
	return stageBars("Sign-up funnel, this month",
		"Sign-up flows (one correlationId of the sign-up log) in the monthly data's month so far, per stage in the order of a flow ("+stagesNote()+
			"): how many reached the stage, and how many went no further and created no user, i.e. where customers drop off"+
			" (a flow still in progress counts as abandoned until it goes on). Not every flow has every stage: only federated sign-ups have"+
			" credentialFederation. Ignores the application filter."+logsOnly,
		unitCount, []string{"Reached the stage", "Abandoned there"},
		tableQuery(inStageOrder(sum("stage", g.latest(flows)))),
		tableQuery(inStageOrder(sum("stage", g.latest(abandoned)))))
}
