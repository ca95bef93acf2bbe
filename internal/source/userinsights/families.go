package userinsights

import (
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// family is a family this source produces and how a row of its report
// gives its values: emit takes a value and the values of the family's
// Labels, in their order.
type family struct {
	source.Family
	points func(g insights.Granularity, r *insights.Row, emit emitFunc)
}

type emitFunc func(value int64, labels ...string)

// Families are the families the retired reports give.
func Families() []source.Family {
	var out []source.Family
	for _, f := range families() {
		if spec, _ := insights.SpecOf(f.Report); !f.Whole {
			f.Dimensions = spec.Dimensions // Graph's rows carry every dimension of their report
		}
		out = append(out, f.Family)
	}
	return out
}

// reportHelp closes the help of every family made of Graph's rows.
const reportHelp = " From Graph's userInsights report (retired on 31 August 2026)."

// families maps Graph's reports into the exporter's families. The names,
// labels and defaults are those of the logs source's families of the same
// name, so dashboards read both; the summary, CAPTCHA and telecom
// families only this source has.
func families() []family {
	events := func(name, report string, only insights.Granularity, help string, defaults, labels []string, points func(insights.Granularity, *insights.Row, emitFunc)) family {
		return family{source.Family{Name: name, Report: report, Only: only, Help: help + reportHelp, Kind: source.Events,
			Defaults: defaults, Labels: labels}, points}
	}
	users := func(name, report string, only insights.Granularity, help string, defaults, labels []string, points func(insights.Granularity, *insights.Row, emitFunc)) family {
		f := events(name, report, only, help, defaults, labels, points)
		f.Kind = source.Users
		return f
	}
	whole := func(f family) family {
		f.Whole = true
		return f
	}
	result := []string{"result"}
	reason := []string{"reason_code"}
	window := []string{"window"}
	return []family{
		users("active_users", insights.ActiveUsers, "",
			"Users with at least one authentication request in the period.",
			[]string{"app_id", "os"}, nil, count),
		events("authentications", insights.Authentications, insights.Daily,
			"Authentication requests by result (failure = attempts - successes).",
			[]string{"app_id", "os"}, result, authentications),
		events("authentications", insights.Authentications, insights.Monthly,
			"Authentication requests by result (failure = attempts - successes).",
			[]string{"country"}, result, authentications),
		events("authentication_failures", insights.Authentications, "",
			"Failed authentication requests by failure reason code (Graph's enum name).",
			[]string{"app_id"}, reason, failures),
		events("mfa_attempts", insights.MFACompletions, "",
			"Multifactor authentication attempts by result (failure = attempts - successes).",
			[]string{"mfa_method", "app_id"}, result, authentications),
		events("mfa_failures", insights.MFACompletions, "",
			"Failed multifactor authentication attempts by failure reason code (Graph's enum name).",
			[]string{"mfa_method"}, reason, failures),
		whole(users("tenant_active_users", insights.ActiveUsers, "",
			"Users with at least one authentication request in the period, tenant-wide: the sum of the activeUsers rows, an upper bound.",
			nil, nil, nil)), // tenantActive: the sum of a period's rows, not a row's value
		events("sign_ups", insights.SignUps, "",
			"Users who signed up in the period.",
			[]string{"app_id", "identity_provider"}, nil, count),
		// The summary report's families are named "overview": promtool
		// 2.42 rejects any name containing a metric type ("_summary_").
		users("overview_active_users", insights.Summary, "",
			"Active users of the summary report.",
			[]string{"app_id", "os"}, nil, func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.ActiveUsers) }),
		events("overview_authentications", insights.Summary, "",
			"Authentication requests of the summary report by result (failure = requests - completions).",
			[]string{"app_id", "os"}, result, func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emitResults(emit, r.AuthenticationRequests, r.AuthenticationCompletions)
			}),
		events("overview_mfa_requests", insights.Summary, "",
			"Multifactor authentication requests by channel and result (failure = requests - completions).",
			nil, []string{"channel", "result"}, mfaRequests),
		users("inactive_users", insights.InactiveUsers, "",
			"Users inactive for the window (1d or calendar_month, 30d, 60d, 90d).",
			nil, window, inactive),
		users("inactive_users_by_application", insights.InactiveUsersByApplication, "",
			"Users inactive in an application for the window (1d or calendar_month, 30d, 60d, 90d).",
			[]string{"app_id"}, window, inactive),
		events("requests", insights.Requests, insights.Monthly,
			"Requests of every kind (authentication, sign-up, MFA, ...).",
			[]string{"app_id", "country"}, nil, count),
		{source.Family{Name: "mfa_registered_users", Report: insights.MFARegisteredUsers, Only: insights.Monthly, Kind: source.Levels,
			Help:   "Users registered for a multifactor authentication type; a user registered for several types is counted once per type." + reportHelp,
			Labels: []string{"mfa_type"}}, func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.Count, r.MFAType) }},
		{source.Family{Name: "users", Report: insights.UserCount, Only: insights.Daily, Kind: source.Levels,
			Help: "Users in the tenant: the sum of the userCount rows over languages, an upper bound." + reportHelp}, count},
		events("captcha_challenges", insights.MFATelecomFraud, insights.Daily, "CAPTCHA challenges by result.", nil, result,
			func(_ insights.Granularity, r *insights.Row, emit emitFunc) {
				emit(r.CaptchaSuccesses, "success")
				emit(r.CaptchaFailures, "failure")
			}),
		users("captcha_shown_users", insights.MFATelecomFraud, insights.Daily, "Users shown a CAPTCHA by telecom fraud protection.", nil, nil,
			func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.CaptchaShownUsers) }),
		users("captcha_not_triggered_users", insights.MFATelecomFraud, insights.Daily,
			"Users for whom telecom fraud protection did not trigger a CAPTCHA.", nil, nil,
			func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.CaptchaNotTriggeredUsers) }),
		users("telecom_blocked_users", insights.MFATelecomFraud, insights.Daily, "Users blocked by telecom fraud protection.", nil, nil,
			func(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.TelecomBlockedUsers) }),
	}
}

// ResultOf turns the rows of report r into the points of its families,
// the rows per period and the applications they name.
func ResultOf(r insights.Report, rows []insights.Row) source.Result {
	res := source.Result{Records: map[time.Time]int{}, Apps: map[string]source.App{}}
	spec, _ := insights.SpecOf(r.Name)
	for _, f := range families() {
		if f.Report != r.Name || !f.In(r.Granularity) {
			continue
		}
		if f.points == nil { // tenant_active_users
			res.Points = append(res.Points, tenantActive(f.Name, r.Granularity, rows)...)
			continue
		}
		for i := range rows {
			row := &rows[i]
			if row.FactDate.IsZero() {
				continue
			}
			dims := make([]source.Label, 0, len(spec.Dimensions)+len(f.Labels))
			for _, d := range spec.Dimensions {
				v, _ := row.Dimension(d)
				dims = append(dims, source.Label{Name: d, Value: v})
			}
			start := insights.PeriodStart(r.Granularity, row.FactDate)
			f.points(r.Granularity, row, func(value int64, values ...string) {
				labels := dims
				for j, v := range values {
					labels = append(labels[:len(labels):len(labels)], source.Label{Name: f.Labels[j], Value: v})
				}
				res.Points = append(res.Points, source.Point{Family: f.Name, Start: start, Labels: labels, Value: value})
			})
		}
	}
	for i := range rows {
		row := &rows[i]
		if !row.FactDate.IsZero() {
			res.Records[insights.PeriodStart(r.Granularity, row.FactDate)]++
		}
		seeApp(res.Apps, spec, row)
	}
	return res
}

// seeApp notes the application of a row. A report with an app_id label
// names a missing id unknown (its points carry it); the others
// (inactiveUsers carries appId without a label) note only the ids they
// carry. The newest row's name wins.
func seeApp(apps map[string]source.App, spec insights.ReportSpec, row *insights.Row) {
	if !slices.Contains(spec.Dimensions, "app_id") && strings.TrimSpace(row.AppID) == "" {
		return
	}
	source.SeeApp(apps, insights.Normalize("app_id", row.AppID), source.App{Name: insights.NormalizeText(row.AppName, ""), Seen: row.FactDate})
}

// tenantActive is one point per period: the sum of its activeUsers rows,
// an upper bound of the tenant's distinct users.
func tenantActive(name string, g insights.Granularity, rows []insights.Row) []source.Point {
	sums := map[time.Time]int64{}
	var order []time.Time
	for i := range rows {
		if rows[i].FactDate.IsZero() {
			continue
		}
		p := insights.PeriodStart(g, rows[i].FactDate)
		if _, ok := sums[p]; !ok {
			order = append(order, p)
		}
		sums[p] += rows[i].Count
	}
	out := make([]source.Point, 0, len(order))
	for _, p := range order {
		out = append(out, source.Point{Family: name, Start: p, Value: sums[p]})
	}
	return out
}

func count(_ insights.Granularity, r *insights.Row, emit emitFunc) { emit(r.Count) }

func authentications(_ insights.Granularity, r *insights.Row, emit emitFunc) {
	emitResults(emit, r.Attempts, r.Successes)
}

func failures(_ insights.Granularity, r *insights.Row, emit emitFunc) {
	for _, f := range r.Failures {
		emit(f.Count, f.ReasonCode)
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
