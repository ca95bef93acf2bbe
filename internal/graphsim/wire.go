package graphsim

import (
	"strconv"
	"unicode/utf8"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// wireField is one JSON property of a report's rows, in Graph's order.
type wireField struct {
	name string
	str  func(*insights.Row) string             // a string property, or
	num  func(*insights.Row) int64              // an Int64 property, or
	list func(*insights.Row) []insights.Failure // failures / mfaFailures
}

func strField(name string, get func(*insights.Row) string) wireField {
	return wireField{name: name, str: get}
}

func numField(name string, get func(*insights.Row) int64) wireField {
	return wireField{name: name, num: get}
}

// Row accessors shared by several reports.
func appID(r *insights.Row) string                   { return r.AppID }
func osName(r *insights.Row) string                  { return r.OS }
func countryCode(r *insights.Row) string             { return r.Country }
func language(r *insights.Row) string                { return r.Language }
func browser(r *insights.Row) string                 { return r.Browser }
func idp(r *insights.Row) string                     { return r.IdentityProvider }
func count(r *insights.Row) int64                    { return r.Count }
func attemptsCount(r *insights.Row) int64            { return r.Attempts }
func successCount(r *insights.Row) int64             { return r.Successes }
func failureList(r *insights.Row) []insights.Failure { return r.Failures }

// schema returns the properties of report r's rows after id and factDate:
// the names, kinds and order of the SDK models and the reference examples.
func schema(r insights.Report) []wireField {
	switch r.Name {
	case insights.ActiveUsers:
		return []wireField{numField("count", count), strField("appId", appID),
			strField("appName", func(r *insights.Row) string { return r.AppName }),
			strField("country", countryCode), strField("language", language), strField("os", osName)}
	case insights.Authentications:
		return []wireField{strField("os", osName), strField("country", countryCode),
			numField("attemptsCount", attemptsCount), numField("successCount", successCount),
			strField("appid", appID), // lower-case i, as Graph spells it here only
			strField("authFlow", func(r *insights.Row) string { return r.AuthFlow }),
			strField("browser", browser), strField("identityProvider", idp), strField("language", language),
			{name: "failures", list: failureList}}
	case insights.MFACompletions:
		return []wireField{strField("mfaMethod", func(r *insights.Row) string { return r.MFAMethod }),
			numField("successCount", successCount), numField("attemptsCount", attemptsCount),
			strField("os", osName), strField("appId", appID), strField("country", countryCode),
			strField("identityProvider", idp), strField("language", language),
			{name: "mfaFailures", list: failureList}}
	case insights.SignUps:
		return []wireField{numField("count", count), strField("os", osName), strField("appId", appID),
			strField("browser", browser), strField("country", countryCode), strField("identityProvider", idp),
			strField("language", language)}
	case insights.Summary:
		return []wireField{
			numField("activeUsers", func(r *insights.Row) int64 { return r.ActiveUsers }),
			numField("authenticationRequests", func(r *insights.Row) int64 { return r.AuthenticationRequests }),
			numField("authenticationCompletions", func(r *insights.Row) int64 { return r.AuthenticationCompletions }),
			numField("securityTextRequests", func(r *insights.Row) int64 { return r.SecurityTextRequests }),
			numField("securityTextCompletions", func(r *insights.Row) int64 { return r.SecurityTextCompletions }),
			numField("securityVoiceRequests", func(r *insights.Row) int64 { return r.SecurityVoiceRequests }),
			numField("securityVoiceCompletions", func(r *insights.Row) int64 { return r.SecurityVoiceCompletions }),
			strField("os", osName), strField("appId", appID)}
	case insights.UserCount:
		return []wireField{numField("count", count), strField("language", language)}
	case insights.Requests:
		return []wireField{numField("requestCount", count), strField("appId", appID), strField("browser", browser),
			strField("country", countryCode), strField("identityProvider", idp), strField("language", language)}
	case insights.InactiveUsers, insights.InactiveUsersByApplication:
		first := numField("inactive1DayCount", func(r *insights.Row) int64 { return r.Inactive1Day })
		if r.Granularity == insights.Monthly {
			first = numField("inactiveCalendarMonthCount", func(r *insights.Row) int64 { return r.InactiveCalendarMonth })
		}
		return []wireField{strField("appId", appID), first,
			numField("inactive30DayCount", func(r *insights.Row) int64 { return r.Inactive30Day }),
			numField("inactive60DayCount", func(r *insights.Row) int64 { return r.Inactive60Day }),
			numField("inactive90DayCount", func(r *insights.Row) int64 { return r.Inactive90Day })}
	case insights.MFATelecomFraud:
		return []wireField{
			numField("captchaShownUserCount", func(r *insights.Row) int64 { return r.CaptchaShownUsers }),
			numField("captchaSuccessCount", func(r *insights.Row) int64 { return r.CaptchaSuccesses }),
			numField("captchaFailureCount", func(r *insights.Row) int64 { return r.CaptchaFailures }),
			numField("captchaNotTriggeredUserCount", func(r *insights.Row) int64 { return r.CaptchaNotTriggeredUsers }),
			numField("telecomBlockedUserCount", func(r *insights.Row) int64 { return r.TelecomBlockedUsers })}
	case insights.MFARegisteredUsers:
		return []wireField{strField("mfaType", func(r *insights.Row) string { return r.MFAType }), numField("count", count)}
	}
	return nil
}

// entityType returns the OData type name of report r's rows.
func entityType(r insights.Report) string {
	prefix := string(r.Granularity) // "daily" or "monthly"
	switch r.Name {
	case insights.ActiveUsers:
		return "activeUsersMetric"
	case insights.Authentications:
		return "authenticationsMetric"
	case insights.InactiveUsers:
		return prefix + "InactiveUsersMetric"
	case insights.InactiveUsersByApplication:
		return prefix + "InactiveUsersByApplicationMetric"
	case insights.MFACompletions:
		return "mfaCompletionMetric"
	case insights.MFATelecomFraud:
		return "mfaTelecomFraudMetric"
	case insights.MFARegisteredUsers:
		return "mfaUserCountMetric"
	case insights.Requests:
		return "userRequestsMetric"
	case insights.SignUps:
		return "userSignUpMetric"
	case insights.Summary:
		return "insightSummary"
	case insights.UserCount:
		return "userCountMetric"
	}
	return "entity"
}

// encoder writes facts as Graph's JSON. wrongTypes sends every number as a
// string, for the FaultWrongTypes fault.
type encoder struct {
	report     insights.Report
	fields     []wireField
	wrongTypes bool
	// hideNewEnums sends unknownFutureValue for evolvable enum members.
	hideNewEnums bool
	// dateTime sends factDate as a date-time at 00:00 UTC.
	dateTime bool
}

// evolvableReasonCodes are the members of authenticationFailureReasonCode
// after unknownFutureValue, which Graph sends as unknownFutureValue unless
// asked with Prefer: include-unknown-enum-members. (mfaFailureReasonCode
// and mfaType have none.)
func evolvableReasonCode(code string) bool { return code == "userError" || code == "configError" }

func newEncoder(r insights.Report, wrongTypes bool) *encoder {
	return &encoder{report: r, fields: schema(r), wrongTypes: wrongTypes}
}

// appendFact appends f as one JSON object, with an @odata.context first
// unless context is empty.
func (e *encoder) appendFact(b []byte, f *fact, context string) []byte {
	b = append(b, '{')
	if context != "" {
		b = append(b, `"@odata.context":`...)
		b = appendString(b, context)
		b = append(b, ',')
	}
	if f.odataType {
		b = append(b, `"@odata.type":"#microsoft.graph.`...)
		b = append(b, entityType(e.report)...)
		b = append(b, `",`...)
	}
	b = append(b, `"id":`...)
	b = appendString(b, f.id)
	b = append(b, `,"factDate":"`...)
	if e.dateTime {
		b = f.row.FactDate.AppendFormat(b, "2006-01-02T15:04:05Z")
	} else {
		b = f.row.FactDate.AppendFormat(b, "2006-01-02")
	}
	b = append(b, '"')
	for _, fl := range e.fields {
		b = append(b, ',')
		b = appendString(b, fl.name)
		b = append(b, ':')
		switch {
		case f.isNull(fl.name):
			b = append(b, "null"...)
		case fl.str != nil:
			b = appendString(b, fl.str(&f.row))
		case fl.num != nil:
			b = e.appendNumber(b, fl.num(&f.row))
		default:
			b = e.appendFailures(b, fl.list(&f.row))
		}
	}
	if f.extra {
		b = append(b, `,"newDimension":"x"`...)
	}
	return append(b, '}')
}

func (e *encoder) appendNumber(b []byte, n int64) []byte {
	if e.wrongTypes {
		return append(b, `"abc"`...)
	}
	return strconv.AppendInt(b, n, 10)
}

func (e *encoder) appendFailures(b []byte, fs []insights.Failure) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"count":`...)
		b = e.appendNumber(b, f.Count)
		b = append(b, `,"reason":`...)
		b = appendString(b, f.Reason)
		b = append(b, `,"reasonCode":`...)
		code := f.ReasonCode
		if e.hideNewEnums && e.report.Name == insights.Authentications && evolvableReasonCode(code) {
			code = "unknownFutureValue"
		}
		b = appendString(b, code)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}
