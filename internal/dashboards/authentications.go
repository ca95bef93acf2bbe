package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// authentications reproduces the portal's Authentications dashboard:
// daily authentications by result and operating system, the success rate,
// failure reasons, sign-in interrupts, the month by country (map and
// table), and telecom fraud and CAPTCHA activity (userinsights only).
func (g gen) authentications() *dashboard.DashboardBuilder {
	const (
		auth             = "entra_insights_daily_authentications"
		failures         = "entra_insights_daily_authentication_failures"
		monthly          = "entra_insights_monthly_authentications"
		interrupts       = "entra_insights_daily_sign_in_interrupts"
		monthInterrupts  = "entra_insights_monthly_sign_in_interrupts"
		telecomBlocked   = "entra_insights_daily_telecom_blocked_users"
		captchaChallenge = "entra_insights_daily_captcha_challenges"
	)
	byCountry := sum("country", g.latest(monthly))
	// What an interrupt is, for the panels that show them or leave them out.
	interrupt := " A sign-in interrupt is a sign-in stopped by a prompt Microsoft documents as expected, not an error (e.g. 50140, the" +
		" \"Keep me signed in\" prompt): it is neither a success nor a failure, so it is in no authentication, failure or MFA figure."
	notInterrupts := " Sign-in interrupts (logs source) are neither successes nor failures and are left out."
	return g.newDashboard("entra-insights-authentications", "Entra insights / Authentications",
		"Authentications of Microsoft Entra External ID applications: daily results, failure reasons, locations, and telecom fraud protection (the portal's Application user activity → Authentications).",
		"now-30d", "15m").
		WithVariable(g.appVariable()).
		WithRow(row("Now")).
		WithPanel(statPanel("Daily data as of",
			"The day the daily values belong to (the newest day Graph has data for). Today's values keep growing until the day ends.",
			unitDay, instantQuery(g.asOf("daily"), "{{tenant}}"))).
		WithPanel(statPanel("Authentications today",
			"Authentication requests on the daily data's day, so far.",
			unitCount, instantQuery(sum("", g.latest(auth, appMatcher)), "Authentications"))).
		WithPanel(statPanel("Success rate today",
			"Share of today's authentication requests that succeeded."+notInterrupts,
			unitRatio, instantQuery(g.ratio(auth, `result="success"`, appMatcher), "Success rate")).
			Decimals(1)).
		WithPanel(statPanel("Authentications this month",
			"Authentication requests in the monthly data's month, so far (ignores the application filter).",
			unitCount, instantQuery(sum("", g.latest(monthly)), "Authentications"))).
		WithPanel(statPanel("Sign-in interrupts today",
			"Sign-in interrupts on the daily data's day, so far."+interrupt+logsOnly,
			unitCount, instantQuery(sum("", g.latest(interrupts, appMatcher)), "Interrupts"))).
		WithPanel(statPanel("Sign-in interrupts this month",
			"Sign-in interrupts in the monthly data's month, so far."+interrupt+logsOnly,
			unitCount, instantQuery(sum("", g.latest(monthInterrupts, appMatcher)), "Interrupts"))).
		WithRow(row("Daily, last 30 days")).
		WithPanel(dailyBars("Daily authentications by result",
			"Per day: authentication requests that succeeded and failed (failure = attempts − successes)."+notInterrupts,
			unitCount, true,
			rangeQuery(sum("result", g.day(g.sel(auth, appMatcher))), "{{result}}"))).
		WithPanel(dailyBars("Daily authentications by operating system",
			"Per day and operating system: authentication requests.",
			unitCount, true,
			rangeQuery(sum("os", g.day(g.sel(auth, appMatcher))), "{{os}}"))).
		WithPanel(dailyLines("Daily success rate",
			"Per day: the share of authentication requests that succeeded."+notInterrupts,
			unitRatio,
			rangeQuery(g.dayRatio(auth, `result="success"`, appMatcher), "Success rate")).
			Max(1)).
		WithPanel(dailyBars("Daily authentications by application",
			"Per day and application: authentication requests.",
			unitCount, true,
			rangeQuery(g.withAppName(sum("tenant, app_id", g.day(g.sel(auth, appMatcher))), true), "{{app_name}}"))).
		WithPanel(dailyBars("Daily authentication failures by reason",
			"Per day: failed authentication requests by Graph's failure reason code.",
			unitCount, true,
			rangeQuery(sum("reason_code", g.day(g.sel(failures, appMatcher))), "{{reason_code}}"))).
		WithPanel(pieChart("Failure reasons today",
			"Today's failed authentication requests by failure reason code, so far.",
			unitCount,
			instantQuery(sum("reason_code", g.latest(failures, appMatcher)), "{{reason_code}}"))).
		WithPanel(dailyBars("Daily sign-in interrupts by reason",
			"Per day: sign-in interrupts by error code."+interrupt+logsOnly,
			unitCount, true,
			rangeQuery(sum("reason_code", g.day(g.sel(interrupts, appMatcher))), "{{reason_code}}"))).
		WithPanel(barGauge("Sign-in interrupts by application and reason, this month",
			"Sign-in interrupts in the monthly data's month so far, by application and error code."+interrupt+logsOnly,
			unitCount,
			instantQuery(g.withAppName(sum("tenant, app_id, reason_code", g.latest(monthInterrupts, appMatcher)), false), "{{app_name}}: {{reason_code}}"))).
		WithRow(row("This month by location")).
		WithPanel(worldMap("Authentications by country, this month",
			"Authentication requests in the monthly data's month, so far, by country (ignores the application filter). Graph's UK is placed as GB; codes the map does not know (e.g. unknown) are only in the table.",
			unitCount,
			tableQuery(`label_replace(`+byCountry+`, "country", "GB", "country", "UK")`))).
		WithPanel(column(column(tablePanel("Authentications by country, this month",
			"This month's authentication requests and failures per country, as Graph reports the country code (unknown: none given).",
			unitCount,
			tableQuery(byCountry),
			tableQuery(sum("country", g.latest(monthly, `result="failure"`)))),
			"Value #A", "Authentications", unitCount),
			"Value #B", "Failures", unitCount)).
		WithPanel(monthlyBars("Monthly authentications by country",
			"Per month and country: authentication requests (ignores the application filter). Each bar ends on the month's last day; the last bar is the current month so far.",
			unitCount, true,
			rangeQuery(g.monthEnds(sum("country", g.day(g.sel(monthly)))), "{{country}}")).
			TimeFrom(yearRange).
			Span(24)).
		WithRow(g.userInsightsPanels(
			statPanel("Telecom-blocked users today",
				"Users blocked by telecom fraud protection on the daily data's day, so far."+userInsightsOnly,
				unitCount, instantQuery(sum("", g.latest(telecomBlocked)), "Blocked users")),
			statPanel("CAPTCHA challenges today",
				"CAPTCHA challenges shown by telecom fraud protection on the daily data's day, so far."+userInsightsOnly,
				unitCount, instantQuery(sum("", g.latest(captchaChallenge)), "Challenges")),
			dailyBars("CAPTCHA challenges per day",
				"Per day over the last 30 days: CAPTCHA challenges shown by telecom fraud protection, by result."+userInsightsOnly,
				unitCount, true,
				rangeQuery(sum("result", g.day(g.sel(captchaChallenge))), "{{result}}")),
			dailyLines("Telecom fraud protection per day",
				"Per day over the last 30 days: users shown a CAPTCHA, users not challenged, and users blocked by telecom fraud protection."+userInsightsOnly,
				unitCount,
				rangeQuery(sum("", g.day(g.sel("entra_insights_daily_captcha_shown_users"))), "Shown a CAPTCHA"),
				rangeQuery(sum("", g.day(g.sel("entra_insights_daily_captcha_not_triggered_users"))), "Not challenged"),
				rangeQuery(sum("", g.day(g.sel(telecomBlocked))), "Blocked")),
			dailyBars("SMS and voice MFA requests per day",
				"Per day over the last 30 days: MFA requests over SMS and voice calls, completed or not (the summary report; ignores the application filter)."+
					" A jump in failures can be SMS pumping."+userInsightsOnly,
				unitCount, true,
				rangeQuery(sum("channel, result", g.day(g.sel("entra_insights_daily_overview_mfa_requests"))), "{{channel}} {{result}}"))))
}
