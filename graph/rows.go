package graph

import (
	"fmt"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// The functions below copy one SDK item of each report type into an
// insights.Row. Absent or null fields stay zero; unknown enum values,
// which the SDK drops, become "".

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
