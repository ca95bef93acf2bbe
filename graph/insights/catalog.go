package insights

import "slices"

// Report segment names, exactly as Graph spells them in the URL path.
const (
	ActiveUsers                = "activeUsers"
	Authentications            = "authentications"
	InactiveUsers              = "inactiveUsers"
	InactiveUsersByApplication = "inactiveUsersByApplication"
	MFACompletions             = "mfaCompletions"
	MFATelecomFraud            = "mfaTelecomFraud"
	MFARegisteredUsers         = "mfaRegisteredUsers"
	Requests                   = "requests"
	SignUps                    = "signUps"
	Summary                    = "summary"
	UserCount                  = "userCount"
)

// Reports that no Graph segment of that name serves: only the logs source
// produces them, from the activity logs.
const (
	// SignInInterrupts are the sign-ins whose errorCode is a documented
	// interrupt (Interrupts), by app and code.
	SignInInterrupts = "signInInterrupts"
	// SignUpFunnel is the sign-up flows by the stage they reached.
	SignUpFunnel = "signUpFunnel"
)

// ReportSpec describes one report: which source serves it at which
// granularity, the dimensions its rows carry and their wire form. It is
// the one place a report is declared: AllReports, LogsReports,
// ParseReport, the collector's dimension choices, the simulator's JSON and
// the README's catalog come from it. What cannot be a table stays with the
// code it belongs to: the SDK decoding of a row (graph/rows.go), its
// simulation (internal/graphsim/reports.go) and the families its rows or
// the logs give (each source's package); tests check that each of those
// covers this table.
type ReportSpec struct {
	Name string
	// Graph lists the granularities /reports/userInsights serves; none for
	// a report only the logs source has.
	Graph []Granularity
	// Logs lists the granularities the logs source produces.
	Logs []Granularity
	// Dimensions are the label names of the dimensions its rows carry
	// (Row.Dimension), the choices of a config file's dimensions.
	Dimensions []string
	// Deprecated reports are read only when a config file lists them.
	Deprecated bool
	// Entity is the OData type of its rows; with EntityPerGranularity it
	// is prefixed by the granularity ("dailyInactiveUsersMetric").
	Entity               string
	EntityPerGranularity bool
	// Fields are the JSON properties of its rows after id and factDate, in
	// Graph's order: the simulator's wire schema, independent of the SDK
	// so that it checks our decoders.
	Fields []Field
}

// Field is one JSON property of a report's rows: a string, an Int64 or a
// list of failures, read from a Row.
type Field struct {
	Name     string
	Only     Granularity // "" = both granularities
	Str      func(*Row) string
	Num      func(*Row) int64
	Failures func(*Row) []Failure
}

// EntityType returns the OData type name of the report's rows at g.
func (s ReportSpec) EntityType(g Granularity) string {
	if s.EntityPerGranularity {
		return string(g) + s.Entity
	}
	return s.Entity
}

// FieldsAt returns the fields the report's rows have at granularity g.
func (s ReportSpec) FieldsAt(g Granularity) []Field {
	return slices.DeleteFunc(slices.Clone(s.Fields), func(f Field) bool { return f.Only != "" && f.Only != g })
}

// Specs returns the report catalog in the order of AllReports.
func Specs() []ReportSpec {
	both := []Granularity{Daily, Monthly}
	daily, monthly := []Granularity{Daily}, []Granularity{Monthly}
	inactive := []Field{strField("appId", appID),
		numField("inactive1DayCount", func(r *Row) int64 { return r.Inactive1Day }, Daily),
		numField("inactiveCalendarMonthCount", func(r *Row) int64 { return r.InactiveCalendarMonth }, Monthly),
		numField("inactive30DayCount", func(r *Row) int64 { return r.Inactive30Day }),
		numField("inactive60DayCount", func(r *Row) int64 { return r.Inactive60Day }),
		numField("inactive90DayCount", func(r *Row) int64 { return r.Inactive90Day })}
	return []ReportSpec{
		{
			Name: ActiveUsers, Graph: both, Logs: both, Entity: "activeUsersMetric",
			Dimensions: []string{"app_id", "os", "country", "language"},
			Fields: []Field{numField("count", count), strField("appId", appID),
				strField("appName", func(r *Row) string { return r.AppName }),
				strField("country", country), strField("language", language), strField("os", osName)},
		},
		{
			Name: Authentications, Graph: both, Logs: both, Entity: "authenticationsMetric",
			Dimensions: []string{"app_id", "os", "country", "browser", "auth_flow", "identity_provider", "language"},
			Fields: []Field{strField("os", osName), strField("country", country),
				numField("attemptsCount", attempts), numField("successCount", successes),
				strField("appid", appID), // lower-case i, as Graph spells it here only
				strField("authFlow", func(r *Row) string { return r.AuthFlow }),
				strField("browser", browser), strField("identityProvider", identityProvider), strField("language", language),
				{Name: "failures", Failures: failures}},
		},
		{
			Name: InactiveUsers, Graph: both, Logs: both, Entity: "InactiveUsersMetric", EntityPerGranularity: true,
			Fields: inactive,
		},
		{
			// The SDK marks it deprecated ("will stop returning data on
			// February 16, 2024. Please use the existing Inactive Users
			// API"), and inactiveUsers carries appId itself: reading it by
			// default would cost two requests per refresh for nothing.
			Name: InactiveUsersByApplication, Graph: both, Deprecated: true,
			Entity: "InactiveUsersByApplicationMetric", EntityPerGranularity: true,
			Dimensions: []string{"app_id"}, Fields: inactive,
		},
		{
			Name: MFACompletions, Graph: both, Logs: both, Entity: "mfaCompletionMetric",
			Dimensions: []string{"app_id", "mfa_method", "os", "country", "identity_provider", "language"},
			Fields: []Field{strField("mfaMethod", func(r *Row) string { return r.MFAMethod }),
				numField("successCount", successes), numField("attemptsCount", attempts),
				strField("os", osName), strField("appId", appID), strField("country", country),
				strField("identityProvider", identityProvider), strField("language", language),
				{Name: "mfaFailures", Failures: failures}},
		},
		{
			Name: MFARegisteredUsers, Graph: monthly, Logs: monthly, Entity: "mfaUserCountMetric",
			Fields: []Field{strField("mfaType", func(r *Row) string { return r.MFAType }), numField("count", count)},
		},
		{
			Name: MFATelecomFraud, Graph: daily, Entity: "mfaTelecomFraudMetric",
			Fields: []Field{
				numField("captchaShownUserCount", func(r *Row) int64 { return r.CaptchaShownUsers }),
				numField("captchaSuccessCount", func(r *Row) int64 { return r.CaptchaSuccesses }),
				numField("captchaFailureCount", func(r *Row) int64 { return r.CaptchaFailures }),
				numField("captchaNotTriggeredUserCount", func(r *Row) int64 { return r.CaptchaNotTriggeredUsers }),
				numField("telecomBlockedUserCount", func(r *Row) int64 { return r.TelecomBlockedUsers })},
		},
		{
			// The logs source counts every interactive sign-in and every
			// sign-up event (each a request to the tenant).
			Name: Requests, Graph: monthly, Logs: monthly, Entity: "userRequestsMetric",
			Dimensions: []string{"app_id", "country", "browser", "identity_provider", "language"},
			Fields: []Field{numField("requestCount", count), strField("appId", appID), strField("browser", browser),
				strField("country", country), strField("identityProvider", identityProvider), strField("language", language)},
		},
		{
			Name: SignUps, Graph: both, Logs: both, Entity: "userSignUpMetric",
			Dimensions: []string{"app_id", "os", "country", "browser", "identity_provider", "language"},
			Fields: []Field{numField("count", count), strField("os", osName), strField("appId", appID),
				strField("browser", browser), strField("country", country), strField("identityProvider", identityProvider),
				strField("language", language)},
		},
		{
			Name: Summary, Graph: both, Entity: "insightSummary",
			Dimensions: []string{"app_id", "os"},
			Fields: []Field{
				numField("activeUsers", func(r *Row) int64 { return r.ActiveUsers }),
				numField("authenticationRequests", func(r *Row) int64 { return r.AuthenticationRequests }),
				numField("authenticationCompletions", func(r *Row) int64 { return r.AuthenticationCompletions }),
				numField("securityTextRequests", func(r *Row) int64 { return r.SecurityTextRequests }),
				numField("securityTextCompletions", func(r *Row) int64 { return r.SecurityTextCompletions }),
				numField("securityVoiceRequests", func(r *Row) int64 { return r.SecurityVoiceRequests }),
				numField("securityVoiceCompletions", func(r *Row) int64 { return r.SecurityVoiceCompletions }),
				strField("os", osName), strField("appId", appID)},
		},
		{
			Name: UserCount, Graph: daily, Logs: daily, Entity: "userCountMetric",
			Dimensions: []string{"language"},
			Fields:     []Field{numField("count", count), strField("language", language)},
		},
		{Name: SignInInterrupts, Logs: both, Dimensions: []string{"app_id"}},
		{Name: SignUpFunnel, Logs: both},
	}
}

// SpecOf returns the spec of the report named name.
func SpecOf(name string) (ReportSpec, bool) {
	specs := Specs()
	i := slices.IndexFunc(specs, func(s ReportSpec) bool { return s.Name == name })
	if i < 0 {
		return ReportSpec{}, false
	}
	return specs[i], true
}

// AllReports returns the 18 reports Graph serves under
// /reports/userInsights, daily first.
func AllReports() []Report { return reportsWhere(func(s ReportSpec) []Granularity { return s.Graph }) }

// LogsReports returns the reports the logs source rebuilds from the
// activity logs and the directory, daily first; the others (summary, daily
// requests, inactive users by application, telecom fraud, captcha) have no
// live replacement and are absent for its tenants.
func LogsReports() []Report { return reportsWhere(func(s ReportSpec) []Granularity { return s.Logs }) }

// KnownReports returns every report a source can produce: Graph's and
// those only the logs source has (signInInterrupts, signUpFunnel, ...),
// daily first.
func KnownReports() []Report {
	return reportsWhere(func(s ReportSpec) []Granularity { return served(s) })
}

// DefaultReports returns the reports read when the configuration names
// none: KnownReports without the deprecated ones. A config file can still
// list those. Each tenant reads those of them its source produces.
func DefaultReports() []Report {
	return reportsWhere(func(s ReportSpec) []Granularity {
		if s.Deprecated {
			return nil
		}
		return served(s)
	})
}

// served lists the granularities some source serves report s at.
func served(s ReportSpec) []Granularity {
	out := slices.Clone(s.Graph)
	for _, g := range s.Logs {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// reportsWhere lists, daily first and in catalog order, the reports whose
// spec gives their granularity.
func reportsWhere(granularities func(ReportSpec) []Granularity) []Report {
	var out []Report
	for _, g := range []Granularity{Daily, Monthly} {
		for _, s := range Specs() {
			if slices.Contains(granularities(s), g) {
				out = append(out, Report{Granularity: g, Name: s.Name})
			}
		}
	}
	return out
}

func strField(name string, get func(*Row) string) Field { return Field{Name: name, Str: get} }

func numField(name string, get func(*Row) int64, only ...Granularity) Field {
	f := Field{Name: name, Num: get}
	if len(only) == 1 {
		f.Only = only[0]
	}
	return f
}

// Row accessors shared by several reports' fields.
func appID(r *Row) string            { return r.AppID }
func osName(r *Row) string           { return r.OS }
func country(r *Row) string          { return r.Country }
func language(r *Row) string         { return r.Language }
func browser(r *Row) string          { return r.Browser }
func identityProvider(r *Row) string { return r.IdentityProvider }
func count(r *Row) int64             { return r.Count }
func attempts(r *Row) int64          { return r.Attempts }
func successes(r *Row) int64         { return r.Successes }
func failures(r *Row) []Failure      { return r.Failures }
