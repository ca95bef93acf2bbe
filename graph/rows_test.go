package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestFetchMapsEveryField serves one page per report type, with every
// documented field, nulls, unknown fields and unknown enum values, and
// checks the rows.
func TestFetchMapsEveryField(t *testing.T) {
	tests := []struct {
		report insights.Report
		body   string
		want   []insights.Row
	}{
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers},
			body: `{"@odata.context":"x","value":[
				{"id":"1","factDate":"2024-07-01","count":16,"appId":"app-1","appName":"Web","country":"US","language":"en-us","os":"Windows","brandNew":{"x":[1]}},
				{"id":"2","factDate":"2024-07-02","count":null,"appId":null,"os":"MacOs"},
				{"id":"3","count":5},
				null]}`,
			want: []insights.Row{
				{FactDate: day("2024-07-01"), Count: 16, AppID: "app-1", AppName: "Web", Country: "US", Language: "en-us", OS: "Windows"},
				{FactDate: day("2024-07-02"), OS: "MacOs"},
			},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.Authentications},
			body: `{"value":[{"id":"3","factDate":"2023-09-21","os":"Windows","country":"DE","attemptsCount":30,"successCount":27,
				"appid":"app-2","authFlow":"authorizationCode","browser":"Edge","identityProvider":"local","language":"de-de",
				"failures":[{"count":2,"reason":"User abandoned the flow","reasonCode":"incomplete"},
				            {"count":1,"reason":"Invalid password","reasonCode":"userError"},
				            {"count":4,"reason":"Something new","reasonCode":"brandNewCode"}]}]}`,
			want: []insights.Row{{
				FactDate: day("2023-09-21"), OS: "Windows", Country: "DE", Attempts: 30, Successes: 27, AppID: "app-2",
				AuthFlow: "authorizationCode", Browser: "Edge", IdentityProvider: "local", Language: "de-de",
				Failures: []insights.Failure{
					{ReasonCode: "incomplete", Reason: "User abandoned the flow", Count: 2},
					{ReasonCode: "userError", Reason: "Invalid password", Count: 1},
					{ReasonCode: "", Reason: "Something new", Count: 4},
				},
			}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.MFACompletions},
			body: `{"value":[{"id":"1","factDate":"2024-07-01","mfaMethod":"PhoneAppNotification","successCount":4,"attemptsCount":5,
				"os":"Windows","appId":"app-3","country":"US","identityProvider":"local","language":"en-us",
				"mfaFailures":[{"count":1,"reason":"Timed out","reasonCode":"mfaIncomplete"}]}]}`,
			want: []insights.Row{{
				FactDate: day("2024-07-01"), MFAMethod: "PhoneAppNotification", Successes: 4, Attempts: 5, OS: "Windows",
				AppID: "app-3", Country: "US", IdentityProvider: "local", Language: "en-us",
				Failures: []insights.Failure{{ReasonCode: "mfaIncomplete", Reason: "Timed out", Count: 1}},
			}},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.SignUps},
			body: `{"value":[{"id":"14","factDate":"2024-06-01","count":10,"os":"MacOs","appId":"app-4","browser":"Safari",
				"country":"FR","identityProvider":"google.com","language":"fr-fr"}]}`,
			want: []insights.Row{{FactDate: day("2024-06-01"), Count: 10, OS: "MacOs", AppID: "app-4", Browser: "Safari",
				Country: "FR", IdentityProvider: "google.com", Language: "fr-fr"}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.Summary},
			body: `{"value":[{"id":"3","factDate":"2024-07-01","activeUsers":1,"authenticationRequests":4,"authenticationCompletions":2,
				"securityTextRequests":5,"securityTextCompletions":3,"securityVoiceRequests":7,"securityVoiceCompletions":6,
				"os":"LINUX","appId":"app-5"}]}`,
			want: []insights.Row{{FactDate: day("2024-07-01"), ActiveUsers: 1, AuthenticationRequests: 4, AuthenticationCompletions: 2,
				SecurityTextRequests: 5, SecurityTextCompletions: 3, SecurityVoiceRequests: 7, SecurityVoiceCompletions: 6,
				OS: "LINUX", AppID: "app-5"}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.UserCount},
			body:   `{"value":[{"id":"1","count":549,"factDate":"2024-07-01","language":"en-us"}]}`,
			want:   []insights.Row{{FactDate: day("2024-07-01"), Count: 549, Language: "en-us"}},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.Requests},
			body: `{"value":[{"id":"1","factDate":"2024-06-01","requestCount":11429,"appId":"app-6","browser":"Chrome",
				"country":"US","identityProvider":"local","language":"en-us"}]}`,
			want: []insights.Row{{FactDate: day("2024-06-01"), Count: 11429, AppID: "app-6", Browser: "Chrome", Country: "US",
				IdentityProvider: "local", Language: "en-us"}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsers},
			body: `{"value":[{"@odata.type":"#microsoft.graph.dailyInactiveUsersMetric","id":"1","factDate":"2024-07-01","appId":"app-7",
				"inactive1DayCount":120,"inactive30DayCount":40,"inactive60DayCount":25,"inactive90DayCount":10}]}`,
			want: []insights.Row{{FactDate: day("2024-07-01"), AppID: "app-7", Inactive1Day: 120, Inactive30Day: 40,
				Inactive60Day: 25, Inactive90Day: 10}},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.InactiveUsers},
			body: `{"value":[{"@odata.type":"#microsoft.graph.monthlyInactiveUsersMetric","id":"1","factDate":"2024-06-01","appId":"app-8",
				"inactiveCalendarMonthCount":300,"inactive30DayCount":40,"inactive60DayCount":25,"inactive90DayCount":10}]}`,
			want: []insights.Row{{FactDate: day("2024-06-01"), AppID: "app-8", InactiveCalendarMonth: 300, Inactive30Day: 40,
				Inactive60Day: 25, Inactive90Day: 10}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsersByApplication},
			body: `{"value":[{"id":"1","factDate":"2024-07-01","appId":"app-9",
				"inactive1DayCount":12,"inactive30DayCount":4,"inactive60DayCount":2,"inactive90DayCount":1}]}`,
			want: []insights.Row{{FactDate: day("2024-07-01"), AppID: "app-9", Inactive1Day: 12, Inactive30Day: 4,
				Inactive60Day: 2, Inactive90Day: 1}},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.InactiveUsersByApplication},
			body: `{"value":[{"@odata.type":"#microsoft.graph.monthlyInactiveUsersByApplicationMetric","id":"1","factDate":"2024-06-01",
				"appId":"app-10","inactiveCalendarMonthCount":30,"inactive30DayCount":4,"inactive60DayCount":2,"inactive90DayCount":1}]}`,
			want: []insights.Row{{FactDate: day("2024-06-01"), AppID: "app-10", InactiveCalendarMonth: 30, Inactive30Day: 4,
				Inactive60Day: 2, Inactive90Day: 1}},
		},
		{
			report: insights.Report{Granularity: insights.Daily, Name: insights.MFATelecomFraud},
			body: `{"value":[{"id":"1","factDate":"2024-07-01","captchaShownUserCount":12,"captchaSuccessCount":9,"captchaFailureCount":3,
				"captchaNotTriggeredUserCount":340,"telecomBlockedUserCount":2}]}`,
			want: []insights.Row{{FactDate: day("2024-07-01"), CaptchaShownUsers: 12, CaptchaSuccesses: 9, CaptchaFailures: 3,
				CaptchaNotTriggeredUsers: 340, TelecomBlockedUsers: 2}},
		},
		{
			report: insights.Report{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers},
			body: `{"value":[{"id":"1","factDate":"2024-06-01","mfaType":"eotp","count":1200},
				{"id":"2","factDate":"2024-06-01","mfaType":"passkeyOfTheFuture","count":7}]}`,
			want: []insights.Row{{FactDate: day("2024-06-01"), MFAType: "eotp", Count: 1200},
				{FactDate: day("2024-06-01"), MFAType: "", Count: 7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.report.String(), func(t *testing.T) {
			g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/beta"+tt.report.Path() {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
				fmt.Fprint(w, tt.body)
			})
			c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
			got, err := c.Fetch(t.Context(), tt.report)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFetchCoversAllReports(t *testing.T) {
	g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	for _, r := range insights.AllReports() {
		if _, ok := c.pages[r]; !ok {
			t.Errorf("no request builder for %s", r)
		}
	}
	if len(c.pages) != len(insights.AllReports()) {
		t.Errorf("%d request builders for %d reports", len(c.pages), len(insights.AllReports()))
	}
}
