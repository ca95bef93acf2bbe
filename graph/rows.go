package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// reportPages maps each report Graph serves (insights.AllReports) to its
// typed SDK request builder and the function that copies one SDK item of
// its rows into an insights.Row (below). Absent or null fields stay zero;
// unknown enum values, which the SDK drops, become "".
func reportPages(ui *reports.UserInsightsRequestBuilder) map[insights.Report]pageFunc {
	d, m := ui.Daily(), ui.Monthly()
	return map[insights.Report]pageFunc{
		{Granularity: insights.Daily, Name: insights.ActiveUsers}:                  pages(d.ActiveUsers(), activeUsersRow),
		{Granularity: insights.Daily, Name: insights.Authentications}:              pages(d.Authentications(), authenticationsRow),
		{Granularity: insights.Daily, Name: insights.InactiveUsers}:                pages(d.InactiveUsers(), dailyInactiveUsersRow),
		{Granularity: insights.Daily, Name: insights.InactiveUsersByApplication}:   pages(d.InactiveUsersByApplication(), dailyInactiveByAppRow),
		{Granularity: insights.Daily, Name: insights.MFACompletions}:               pages(d.MfaCompletions(), mfaCompletionsRow),
		{Granularity: insights.Daily, Name: insights.MFATelecomFraud}:              pages(d.MfaTelecomFraud(), mfaTelecomFraudRow),
		{Granularity: insights.Daily, Name: insights.SignUps}:                      pages(d.SignUps(), signUpsRow),
		{Granularity: insights.Daily, Name: insights.Summary}:                      pages(d.Summary(), summaryRow),
		{Granularity: insights.Daily, Name: insights.UserCount}:                    pages(d.UserCount(), userCountRow),
		{Granularity: insights.Monthly, Name: insights.ActiveUsers}:                pages(m.ActiveUsers(), activeUsersRow),
		{Granularity: insights.Monthly, Name: insights.Authentications}:            pages(m.Authentications(), authenticationsRow),
		{Granularity: insights.Monthly, Name: insights.InactiveUsers}:              pages(m.InactiveUsers(), monthlyInactiveUsersRow),
		{Granularity: insights.Monthly, Name: insights.InactiveUsersByApplication}: pages(m.InactiveUsersByApplication(), monthlyInactiveByAppRow),
		{Granularity: insights.Monthly, Name: insights.MFACompletions}:             pages(m.MfaCompletions(), mfaCompletionsRow),
		{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}:         pages(m.MfaRegisteredUsers(), mfaRegisteredUsersRow),
		{Granularity: insights.Monthly, Name: insights.Requests}:                   pages(m.Requests(), requestsRow),
		{Granularity: insights.Monthly, Name: insights.SignUps}:                    pages(m.SignUps(), signUpsRow),
		{Granularity: insights.Monthly, Name: insights.Summary}:                    pages(m.Summary(), summaryRow),
	}
}

func activeUsersRow(m models.ActiveUsersMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), AppName: str(m.GetAppName()), OS: str(m.GetOs()),
		Country: str(m.GetCountry()), Language: str(m.GetLanguage()),
		Count: num(m.GetCount()),
	}
}

func authenticationsRow(m models.AuthenticationsMetricable) insights.Row {
	r := insights.Row{
		AppID: str(m.GetAppid()), OS: str(m.GetOs()), Country: str(m.GetCountry()),
		Language: str(m.GetLanguage()), Browser: str(m.GetBrowser()), AuthFlow: str(m.GetAuthFlow()),
		IdentityProvider: str(m.GetIdentityProvider()),
		Attempts:         num(m.GetAttemptsCount()), Successes: num(m.GetSuccessCount()),
	}
	for _, f := range m.GetFailures() {
		if f != nil {
			r.Failures = append(r.Failures, insights.Failure{
				ReasonCode: enum(f.GetReasonCode()), Reason: str(f.GetReason()), Count: num(f.GetCount())})
		}
	}
	return r
}

func mfaCompletionsRow(m models.MfaCompletionMetricable) insights.Row {
	r := insights.Row{
		AppID: str(m.GetAppId()), OS: str(m.GetOs()), Country: str(m.GetCountry()),
		Language: str(m.GetLanguage()), IdentityProvider: str(m.GetIdentityProvider()),
		MFAMethod: str(m.GetMfaMethod()),
		Attempts:  num(m.GetAttemptsCount()), Successes: num(m.GetSuccessCount()),
	}
	for _, f := range m.GetMfaFailures() {
		if f != nil {
			r.Failures = append(r.Failures, insights.Failure{
				ReasonCode: enum(f.GetReasonCode()), Reason: str(f.GetReason()), Count: num(f.GetCount())})
		}
	}
	return r
}

func signUpsRow(m models.UserSignUpMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), OS: str(m.GetOs()), Country: str(m.GetCountry()),
		Language: str(m.GetLanguage()), Browser: str(m.GetBrowser()),
		IdentityProvider: str(m.GetIdentityProvider()),
		Count:            num(m.GetCount()),
	}
}

func summaryRow(m models.InsightSummaryable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), OS: str(m.GetOs()),
		ActiveUsers:               num(m.GetActiveUsers()),
		AuthenticationRequests:    num(m.GetAuthenticationRequests()),
		AuthenticationCompletions: num(m.GetAuthenticationCompletions()),
		SecurityTextRequests:      num(m.GetSecurityTextRequests()),
		SecurityTextCompletions:   num(m.GetSecurityTextCompletions()),
		SecurityVoiceRequests:     num(m.GetSecurityVoiceRequests()),
		SecurityVoiceCompletions:  num(m.GetSecurityVoiceCompletions()),
	}
}

func userCountRow(m models.UserCountMetricable) insights.Row {
	return insights.Row{Language: str(m.GetLanguage()), Count: num(m.GetCount())}
}

func requestsRow(m models.UserRequestsMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), Country: str(m.GetCountry()), Language: str(m.GetLanguage()),
		Browser: str(m.GetBrowser()), IdentityProvider: str(m.GetIdentityProvider()),
		Count: num(m.GetRequestCount()),
	}
}

func mfaRegisteredUsersRow(m models.MfaUserCountMetricable) insights.Row {
	return insights.Row{MFAType: enum(m.GetMfaType()), Count: num(m.GetCount())}
}

func mfaTelecomFraudRow(m models.MfaTelecomFraudMetricable) insights.Row {
	return insights.Row{
		CaptchaShownUsers:        num(m.GetCaptchaShownUserCount()),
		CaptchaSuccesses:         num(m.GetCaptchaSuccessCount()),
		CaptchaFailures:          num(m.GetCaptchaFailureCount()),
		CaptchaNotTriggeredUsers: num(m.GetCaptchaNotTriggeredUserCount()),
		TelecomBlockedUsers:      num(m.GetTelecomBlockedUserCount()),
	}
}

func dailyInactiveUsersRow(m models.DailyInactiveUsersMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), Inactive1Day: num(m.GetInactive1DayCount()),
		Inactive30Day: num(m.GetInactive30DayCount()), Inactive60Day: num(m.GetInactive60DayCount()),
		Inactive90Day: num(m.GetInactive90DayCount()),
	}
}

func monthlyInactiveUsersRow(m models.MonthlyInactiveUsersMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), InactiveCalendarMonth: num(m.GetInactiveCalendarMonthCount()),
		Inactive30Day: num(m.GetInactive30DayCount()), Inactive60Day: num(m.GetInactive60DayCount()),
		Inactive90Day: num(m.GetInactive90DayCount()),
	}
}

func dailyInactiveByAppRow(m models.DailyInactiveUsersByApplicationMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), Inactive1Day: num(m.GetInactive1DayCount()),
		Inactive30Day: num(m.GetInactive30DayCount()), Inactive60Day: num(m.GetInactive60DayCount()),
		Inactive90Day: num(m.GetInactive90DayCount()),
	}
}

func monthlyInactiveByAppRow(m models.MonthlyInactiveUsersByApplicationMetricable) insights.Row {
	return insights.Row{
		AppID: str(m.GetAppId()), InactiveCalendarMonth: num(m.GetInactiveCalendarMonthCount()),
		Inactive30Day: num(m.GetInactive30DayCount()), Inactive60Day: num(m.GetInactive60DayCount()),
		Inactive90Day: num(m.GetInactive90DayCount()),
	}
}

// dated is what every report item has besides its own fields.
type dated interface {
	GetFactDate() *absser.DateOnly
}

// toRows converts the items of one page. Items without a usable factDate
// cannot be placed in a period; they are skipped and counted.
func toRows[T dated](items []T, row func(T) insights.Row) (rows []insights.Row, skipped int) {
	rows = make([]insights.Row, 0, len(items))
	for _, item := range items {
		if any(item) == nil || item.GetFactDate() == nil {
			skipped++
			continue
		}
		day, err := time.Parse(time.DateOnly, item.GetFactDate().String())
		if err != nil {
			skipped++
			continue
		}
		r := row(item)
		r.FactDate = day // 00:00 UTC
		rows = append(rows, r)
	}
	return rows, skipped
}

// dateOnlyFactDates returns body with every date-time factDate string
// ("2026-12-01T00:00:00Z", with fractional seconds, with an offset or
// none) replaced by its UTC date ("2026-12-01"), which is what the SDK's
// DateOnly decoder accepts. Bodies whose factDates are all plain dates
// (or null) come back as they are, without a copy; so does a body that is
// not JSON, for the SDK to reject.
func dateOnlyFactDates(body []byte) []byte {
	if plainFactDates(body) {
		return body
	}
	type span struct {
		start, end int64 // the JSON string, quotes included
		date       string
	}
	var spans []span
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var objects []bool // per open container: is it an object
	inObject := func() bool { return len(objects) > 0 && objects[len(objects)-1] }
	expectKey, key := false, ""
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && len(objects) == 0 {
			break
		}
		if err != nil {
			return body // truncated or not JSON
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				objects = append(objects, d == '{')
				expectKey = d == '{'
			default:
				objects = objects[:len(objects)-1]
				expectKey = inObject() // a value of the parent object ended
			}
			continue
		}
		if !inObject() {
			continue
		}
		if expectKey {
			key, _ = tok.(string)
			expectKey = false
			continue
		}
		expectKey = true
		if s, ok := tok.(string); ok && key == "factDate" {
			if date, ok := utcDate(s); ok && date != s {
				// Between the previous token and the string: spaces, ':'.
				start := before + int64(bytes.IndexByte(body[before:], '"'))
				spans = append(spans, span{start, dec.InputOffset(), date})
			}
		}
	}
	if len(spans) == 0 {
		return body
	}
	out := make([]byte, 0, len(body))
	last := int64(0)
	for _, s := range spans {
		out = append(out, body[last:s.start]...)
		out = append(out, '"')
		out = append(out, s.date...)
		out = append(out, '"')
		last = s.end
	}
	return append(out, body[last:]...)
}

// plainFactDates is the fast path of dateOnlyFactDates: it reports whether
// every "factDate" key in body is followed by null or a "YYYY-MM-DD"
// string. It may say false for bodies that need no rewrite (the slow path
// then finds nothing to do), never true for one that does.
func plainFactDates(body []byte) bool {
	key := []byte(`"factDate"`)
	for i := 0; ; {
		j := bytes.Index(body[i:], key)
		if j < 0 {
			return true
		}
		k := skipSpace(body, i+j+len(key))
		if k == len(body) || body[k] != ':' {
			i = k // a value "factDate", not a key
			continue
		}
		k = skipSpace(body, k+1)
		switch {
		case bytes.HasPrefix(body[k:], []byte("null")):
			i = k + len("null")
		case len(body)-k >= len(`"2006-01-02"`) && body[k] == '"' && body[k+11] == '"' && dateShaped(body[k+1:k+11]):
			i = k + len(`"2006-01-02"`)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// dateShaped reports whether b looks like 2006-01-02 (digits and dashes).
func dateShaped(b []byte) bool {
	for i, c := range b {
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// utcDate returns the UTC date of a factDate value: a date as it is, a
// date-time (RFC 3339, fractional seconds allowed; without an offset it
// is taken as UTC) as the date of its UTC instant. ok is false for
// anything else.
func utcDate(s string) (date string, ok bool) {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.DateOnly), true
		}
	}
	return "", false
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// enum returns an SDK enum's wire value, or "" when the SDK dropped an
// unknown value.
func enum[E fmt.Stringer](p *E) string {
	if p == nil {
		return ""
	}
	return (*p).String()
}
