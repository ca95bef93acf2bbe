package graph

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"

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

// TestFetchAcceptsDateTimeFactDates serves, for every report, rows whose
// factDate is a date or a date-time in the forms Graph may use, through
// the real client; each row's day is the UTC date.
func TestFetchAcceptsDateTimeFactDates(t *testing.T) {
	factDates := []struct{ json, day string }{
		{`"2026-12-01"`, "2026-12-01"},
		{`"2026-12-01T00:00:00Z"`, "2026-12-01"},
		{`"2026-12-01T23:59:59.9999999Z"`, "2026-12-01"},
		{`"2026-12-01T00:00:00.000+00:00"`, "2026-12-01"},
		{`"2026-12-02T01:30:00+02:00"`, "2026-12-01"}, // 23:30 UTC the day before
		{`"2026-11-30T22:00:00-05:00"`, "2026-12-01"}, // 03:00 UTC the day after
		{`"2026-12-01T12:00:00"`, "2026-12-01"},       // no offset: UTC
		{`null`, ""},                                  // skipped
	}
	var items []string
	var want []time.Time
	for i, f := range factDates {
		items = append(items, fmt.Sprintf(`{"id":"%d", "factDate" : %s}`, i, f.json))
		if f.day != "" {
			want = append(want, day(f.day))
		}
	}
	body := `{"value":[` + strings.Join(items, ",\n") + `]}`
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			g := newFakeGraph(t, func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path != "/beta"+r.Path() {
					http.NotFound(w, req)
					return
				}
				writeJSON(w, 200, body)
			})
			c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
			rows, err := c.Fetch(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for _, row := range rows {
				got = append(got, row.FactDate)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("factDates %v, want %v", got, want)
			}
		})
	}
}

// TestSDKRejectsDateTimeFactDates pins down why dateOnlyFactDates exists:
// the SDK's own JSON decoding reads factDate as a DateOnly and fails the
// whole item on a date-time. If a new SDK version accepts it, this test
// says so and the rewrite can go.
func TestSDKRejectsDateTimeFactDates(t *testing.T) {
	decode := func(f absser.ParseNodeFactory, item string) (models.ActiveUsersMetricable, error) {
		node, err := f.GetRootParseNode("application/json", []byte(item))
		if err != nil {
			return nil, err
		}
		v, err := node.GetObjectValue(models.CreateActiveUsersMetricFromDiscriminatorValue)
		if err != nil {
			return nil, err
		}
		return v.(models.ActiveUsersMetricable), nil
	}
	const item = `{"factDate":"2026-12-01T00:00:00Z","count":3}`
	if _, err := decode(jsonser.NewJsonParseNodeFactory(), item); err == nil {
		t.Error("the SDK's JSON decoder accepts a date-time factDate now; dateOnlyFactDates may be unneeded")
	}
	m, err := decode(parseNodeFactory(), item)
	if err != nil {
		t.Fatalf("our parse node factory: %v", err)
	}
	if got := m.GetFactDate().String(); got != "2026-12-01" || num(m.GetCount()) != 3 {
		t.Errorf("factDate %s count %d, want 2026-12-01 3", got, num(m.GetCount()))
	}
}

func TestDateOnlyFactDates(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain dates", `{"value":[{"factDate":"2026-12-01","count":1},{"factDate": null}]}`, ""},
		{"no factDate", `{"value":[]}`, ""},
		{"date-time", `{"value":[{"factDate":"2026-12-01T00:00:00Z","count":1}]}`,
			`{"value":[{"factDate":"2026-12-01","count":1}]}`},
		{"spaces around the colon", "{\"value\":[{\"factDate\" :\n \"2026-12-01T08:00:00.5+01:00\" }]}",
			"{\"value\":[{\"factDate\" :\n \"2026-12-01\" }]}"},
		{"several, mixed", `{"value":[{"factDate":"2026-12-01"},{"factDate":"2026-12-02T00:00:00Z"},{"factDate":"2026-12-03T23:00:00-02:00"}]}`,
			`{"value":[{"factDate":"2026-12-01"},{"factDate":"2026-12-02"},{"factDate":"2026-12-04"}]}`},
		{"factDate as a value is no key", `{"value":[{"reason":"factDate","x":"2026-12-01T00:00:00Z","factDate":"2026-12-01T01:00:00Z"}]}`,
			`{"value":[{"reason":"factDate","x":"2026-12-01T00:00:00Z","factDate":"2026-12-01"}]}`},
		{"factDate inside a string", `{"value":[{"reason":"{\"factDate\":\"2026-12-01T00:00:00Z\"}","factDate":"2026-12-01"}]}`, ""},
		{"nested objects and arrays before the key", `{"value":[{"failures":[{"count":1},{"a":[1,{"b":2}]}],"factDate":"2026-12-01T00:00:00Z"}]}`,
			`{"value":[{"failures":[{"count":1},{"a":[1,{"b":2}]}],"factDate":"2026-12-01"}]}`},
		{"escaped date-time", `{"value":[{"factDate":"2026-12-01T00:00:00\u005a"}]}`, `{"value":[{"factDate":"2026-12-01"}]}`},
		{"not a date: left for the SDK to reject", `{"value":[{"factDate":"yesterday"},{"factDate":20261201}]}`, ""},
		{"not JSON: left for the SDK to reject", `{"value":[{"factDate":"2026-12-01T00:00:00Z"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := dateOnlyFactDates(in)
			want := tt.want
			if want == "" {
				want = tt.in
				if len(got) > 0 && &got[0] != &in[0] {
					t.Errorf("body copied, want it returned as it is")
				}
			}
			if string(got) != want {
				t.Errorf("dateOnlyFactDates(%s)\n = %s\nwant %s", tt.in, got, want)
			}
		})
	}
}

func TestUTCDate(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"2026-12-01", "2026-12-01", true},
		{"2026-12-01T00:00:00Z", "2026-12-01", true},
		{"2026-12-01T23:59:59.123456789Z", "2026-12-01", true},
		{"2026-12-01T23:30:00-01:00", "2026-12-02", true},
		{"2026-12-01T00:30:00+01:00", "2026-11-30", true},
		{"2026-12-01T10:00:00", "2026-12-01", true},
		{"2026-12-01T10:00:00.25", "2026-12-01", true},
		{"", "", false},
		{"2026-13-01", "", false},
		{"01/12/2026", "", false},
		{"2026-12-01 10:00:00", "", false},
	}
	for _, tt := range tests {
		if got, ok := utcDate(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("utcDate(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// BenchmarkDateOnlyFactDates measures the cost of the factDate check on a
// 500-row page: plain dates (the fast path, no copy) and date-times (the
// rewrite).
func BenchmarkDateOnlyFactDates(b *testing.B) {
	for _, tt := range []struct{ name, factDate string }{
		{"plain", "2026-12-01"},
		{"date-time", "2026-12-01T00:00:00Z"},
	} {
		var items []string
		for i := range 500 {
			items = append(items, fmt.Sprintf(`{"id":"%d","factDate":%q,"count":%d,"appId":"00000000-0000-0000-0000-%012d","os":"Windows","country":"US"}`,
				i, tt.factDate, i, i))
		}
		body := []byte(`{"value":[` + strings.Join(items, ",") + `]}`)
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				dateOnlyFactDates(body)
			}
		})
		if tt.name == "plain" {
			// The SDK's JSON tree of the same page (before any typed decoding), for scale.
			b.Run("sdk-json-tree", func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					node, err := parseNodeFactory().GetRootParseNode("application/json", body)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := node.GetChildNode("value"); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
