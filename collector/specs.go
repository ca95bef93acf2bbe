package collector

import (
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

const namespace = "entra_insights"

// Help sentences shared by the data metrics.
const (
	cachedHelp = " The value for the current as-of period (see entra_insights_period_start_timestamp_seconds);" +
		" cached, refreshed in the background."
	upperBoundHelp = " Graph counts a user once per row, so a sum over dimensions is an upper bound."
	// exactUsersHelp goes with upperBoundHelp on the user counts the logs
	// source also produces.
	exactUsersHelp = " logs source: exact distinct users per label set (a user of two apps counts once in each; the tenant-wide" +
		" figure is entra_insights_{daily,monthly}_tenant_active_users), this month's from the retained logs until a whole month has been read;" +
		" userinsights source:"
)

// emitFunc receives one value of a row with the values of the metric's
// structural labels, in the order the spec lists them.
type emitFunc func(value int64, structural ...string)

// metricSpec is one row of the metric catalog: which report field becomes
// which metric, and with which labels.
type metricSpec struct {
	name       string               // below entra_insights_<granularity>_
	report     string               // Graph segment
	only       insights.Granularity // "" = daily and monthly
	help       string
	users      bool     // a user count: sums over dimensions are upper bounds
	logsOnly   bool     // only the logs source has the data (the README says so)
	defaults   []string // dimension labels kept unless configured otherwise
	structural []string // labels every series has, set by points
	points     func(g insights.Granularity, r *insights.Row, emit emitFunc)
}

// metricSpecs returns the metric catalog (the README's is generated from it), in exposition order.
func metricSpecs() []metricSpec {
	return []metricSpec{
		{
			name: "active_users", report: insights.ActiveUsers, users: true,
			help:     "Users with at least one authentication request in the period.",
			defaults: []string{"app_id", "os"},
			points:   count,
		},
		{
			name: "authentications", report: insights.Authentications, only: insights.Daily,
			help:       "Authentication requests by result (failure = attempts - successes).",
			defaults:   []string{"app_id", "os"},
			structural: []string{"result"},
			points:     authentications,
		},
		{
			name: "authentications", report: insights.Authentications, only: insights.Monthly,
			help:       "Authentication requests by result (failure = attempts - successes).",
			defaults:   []string{"country"},
			structural: []string{"result"},
			points:     authentications,
		},
		{
			name: "authentication_failures", report: insights.Authentications,
			help:       "Failed authentication requests by failure reason code.",
			defaults:   []string{"app_id"},
			structural: []string{"reason_code"},
			points:     failures,
		},
		{
			name: "mfa_attempts", report: insights.MFACompletions,
			help:       "Multifactor authentication attempts by result (failure = attempts - successes).",
			defaults:   []string{"mfa_method", "app_id"},
			structural: []string{"result"},
			points:     authentications,
		},
		{
			name: "mfa_failures", report: insights.MFACompletions,
			help:       "Failed multifactor authentication attempts by failure reason code.",
			defaults:   []string{"mfa_method"},
			structural: []string{"reason_code"},
			points:     failures,
		},
		{
			name: "tenant_active_users", report: insights.TenantActiveUsers,
			help: "Distinct users with a successful sign-in in the period, tenant-wide. logs source: exact (a user of several" +
				" apps counts once), this month's from the retained logs until a whole month has been read;" +
				" userinsights source: the sum of activeUsers rows, an upper bound.",
			points: count,
		},
		{
			name: "sign_up_failures", report: insights.SignUps, logsOnly: true,
			help: "Failed steps of sign-up flows (auditLogs/signUps events with a non-zero errorCode that is not a" +
				" documented interrupt) by error code and signUpStage; a flow may fail a step and still complete.",
			defaults:   []string{"app_id"},
			structural: []string{"reason_code", "stage"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				for _, f := range r.Failures {
					emit(f.Count, insights.Normalize("reason_code", f.ReasonCode), insights.Normalize("stage", f.Stage))
				}
			},
		},
		{
			name: "sign_ups", report: insights.SignUps,
			help: "Users who signed up in the period (logs source: sign-up flows whose userCreation step succeeded," +
				" in the period of that step).",
			defaults: []string{"app_id", "identity_provider"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				if len(r.Failures) == 0 { // the logs source's failed steps ride on rows of their own
					emit(r.Count)
				}
			},
		},
		{
			name: "sign_up_flows", report: insights.SignUpFunnel, logsOnly: true,
			help: "Sign-up flows (one correlationId of auditLogs/signUps) that reached the signUpStage in the period:" +
				" the sign-up funnel.",
			structural: []string{"stage"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emit(r.Count, insights.Normalize("stage", r.Stage))
			},
		},
		{
			name: "sign_up_abandoned_flows", report: insights.SignUpFunnel, logsOnly: true,
			help: "Sign-up flows whose furthest signUpStage in the period was this one and that created no user:" +
				" where customers drop off (a flow still in progress counts until it goes on).",
			structural: []string{"stage"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emit(r.Abandoned, insights.Normalize("stage", r.Stage))
			},
		},
		{
			name: "sign_in_interrupts", report: insights.SignInInterrupts, logsOnly: true,
			help: "Interactive sign-ins whose errorCode Microsoft documents as an expected interruption, not an error" +
				" (50140: the 'Keep me signed in' prompt); they count neither as authentications nor as failures.",
			defaults:   []string{"app_id"},
			structural: []string{"reason_code"},
			points:     failures,
		},
		// The summary report's metrics are named "overview": promtool
		// 2.42 rejects any name containing a metric type ("_summary_").
		{
			name: "overview_active_users", report: insights.Summary, users: true,
			help:     "Active users of the summary report.",
			defaults: []string{"app_id", "os"},
			points:   func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.ActiveUsers) },
		},
		{
			name: "overview_authentications", report: insights.Summary,
			help:       "Authentication requests of the summary report by result (failure = requests - completions).",
			defaults:   []string{"app_id", "os"},
			structural: []string{"result"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emitResults(emit, r.AuthenticationRequests, r.AuthenticationCompletions)
			},
		},
		{
			name: "overview_mfa_requests", report: insights.Summary,
			help:       "Multifactor authentication requests by channel and result (failure = requests - completions).",
			structural: []string{"channel", "result"},
			points:     mfaRequests,
		},
		{
			name: "inactive_users", report: insights.InactiveUsers, users: true,
			help: "Users inactive for the window (1d or calendar_month, 30d, 60d, 90d). logs source: users whose last" +
				" successful sign-in (signInActivity, needs Entra ID P1/P2) is older than the window, never-signed-in users not counted;" +
				" userinsights source: Graph's report.",
			structural: []string{"window"},
			points:     inactive,
		},
		{
			name: "inactive_users_by_application", report: insights.InactiveUsersByApplication, users: true,
			help:       "Users inactive in an application for the window (1d or calendar_month, 30d, 60d, 90d).",
			defaults:   []string{"app_id"},
			structural: []string{"window"},
			points:     inactive,
		},
		{
			name: "requests", report: insights.Requests, only: insights.Monthly,
			help: "Requests of every kind (authentication, sign-up, MFA, ...). logs source: every interactive sign-in" +
				" (interrupts included) and every sign-up event (one per stage; country unknown), the closest the" +
				" logs come to the portal's requests.",
			defaults: []string{"app_id", "country"},
			points:   count,
		},
		{
			name: "mfa_registered_users", report: insights.MFARegisteredUsers, only: insights.Monthly,
			help: "Users registered for a multifactor authentication type;" +
				" a user registered for several types is counted once per type.",
			structural: []string{"mfa_type"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emit(r.Count, insights.Normalize("mfa_type", r.MFAType))
			},
		},
		{
			name: "users", report: insights.UserCount, only: insights.Daily,
			help: "Users in the tenant (logs source: users/$count, exact; userinsights source: the userCount rows, whose" +
				" sum over languages is an upper bound).",
			points: count,
		},
		{
			name: "captcha_challenges", report: insights.MFATelecomFraud, only: insights.Daily,
			help:       "CAPTCHA challenges by result.",
			structural: []string{"result"},
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emit(r.CaptchaSuccesses, "success")
				emit(r.CaptchaFailures, "failure")
			},
		},
		{
			name: "captcha_shown_users", report: insights.MFATelecomFraud, only: insights.Daily,
			help:   "Users shown a CAPTCHA by telecom fraud protection.",
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.CaptchaShownUsers) },
		},
		{
			name: "captcha_not_triggered_users", report: insights.MFATelecomFraud, only: insights.Daily,
			help:   "Users for whom telecom fraud protection did not trigger a CAPTCHA.",
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.CaptchaNotTriggeredUsers) },
		},
		{
			name: "telecom_blocked_users", report: insights.MFATelecomFraud, only: insights.Daily,
			help:   "Users blocked by telecom fraud protection.",
			points: func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.TelecomBlockedUsers) },
		},
	}
}

// reportDimensions returns the dimension labels a report's rows carry, the
// choices for Config.Dimensions.
func reportDimensions(report string) []string {
	spec, _ := insights.SpecOf(report)
	return spec.Dimensions
}

func count(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.Count) }

func authentications(_ insights.Granularity, r *insights.Row, emit emitFunc) {
	emitResults(emit, r.Attempts, r.Successes)
}

func failures(_ insights.Granularity, r *insights.Row, emit emitFunc) {
	for _, f := range r.Failures {
		emit(f.Count, insights.Normalize("reason_code", f.ReasonCode))
	}
}

func mfaRequests(_ insights.Granularity, r *insights.Row, emit emitFunc) {
	emitResults(func(v int64, result ...string) { emit(v, "sms", result[0]) },
		r.SecurityTextRequests, r.SecurityTextCompletions)
	emitResults(func(v int64, result ...string) { emit(v, "voice", result[0]) },
		r.SecurityVoiceRequests, r.SecurityVoiceCompletions)
}

func inactive(g insights.Granularity, r *insights.Row, emit emitFunc) {
	if g == insights.Daily {
		emit(r.Inactive1Day, "1d")
	} else {
		emit(r.InactiveCalendarMonth, "calendar_month")
	}
	emit(r.Inactive30Day, "30d")
	emit(r.Inactive60Day, "60d")
	emit(r.Inactive90Day, "90d")
}

// emitResults splits attempts into success and failure. Graph's counters
// are not always consistent, so failure is clamped at zero.
func emitResults(emit emitFunc, attempts, successes int64) {
	emit(successes, "success")
	emit(max(attempts-successes, 0), "failure")
}
