package collector

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// authRows are daily authentications rows of two days with spelling
// variants; the values below are summed by hand.
func authRows() []insights.Row {
	today, yesterday := date(2026, 11, 27), date(2026, 11, 26)
	return []insights.Row{
		{FactDate: today, AppID: "APP-1", OS: "WINDOWS", Country: "DE", Attempts: 5, Successes: 3,
			Failures: []insights.Failure{{ReasonCode: "denied", Count: 1}, {ReasonCode: "incomplete", Count: 1}}},
		{FactDate: today, AppID: "app-1", OS: "windows", Country: "FR", Attempts: 2, Successes: 2},
		{FactDate: today, AppID: "app-2", OS: "Ios", Country: "", Attempts: 1, Successes: 3,
			Failures: []insights.Failure{{ReasonCode: "denied", Count: 4}}},
		{FactDate: yesterday, AppID: "app-1", OS: "Windows", Country: "DE", Attempts: 100, Successes: 50,
			Failures: []insights.Failure{{ReasonCode: "denied", Count: 50}}},
	}
}

func TestSeriesDimensions(t *testing.T) {
	dailyAuth := report(insights.Daily, insights.Authentications)
	rows := map[insights.Report][]insights.Row{dailyAuth: authRows()}
	const (
		auth     = "entra_insights_daily_authentications"
		failures = "entra_insights_daily_authentication_failures"
	)
	tests := []struct {
		name string
		dims map[insights.Report][]string
		want map[string]float64 // every data series
	}{
		{name: "defaults", want: map[string]float64{
			auth + `{app_id="app-1",os="Windows",result="failure",tenant="t"}`: 2, // (5-3) + (2-2)
			auth + `{app_id="app-1",os="Windows",result="success",tenant="t"}`: 5, // 3 + 2
			auth + `{app_id="app-2",os="iOS",result="failure",tenant="t"}`:     0, // 1-3 clamped
			auth + `{app_id="app-2",os="iOS",result="success",tenant="t"}`:     3,
			failures + `{app_id="app-1",reason_code="denied",tenant="t"}`:      1,
			failures + `{app_id="app-1",reason_code="incomplete",tenant="t"}`:  1,
			failures + `{app_id="app-2",reason_code="denied",tenant="t"}`:      4,
		}},
		{name: "replaced by country", dims: map[insights.Report][]string{dailyAuth: {"country"}}, want: map[string]float64{
			auth + `{country="DE",result="failure",tenant="t"}`:              2,
			auth + `{country="DE",result="success",tenant="t"}`:              3,
			auth + `{country="FR",result="failure",tenant="t"}`:              0,
			auth + `{country="FR",result="success",tenant="t"}`:              2,
			auth + `{country="unknown",result="failure",tenant="t"}`:         0,
			auth + `{country="unknown",result="success",tenant="t"}`:         3,
			failures + `{country="DE",reason_code="denied",tenant="t"}`:      1,
			failures + `{country="DE",reason_code="incomplete",tenant="t"}`:  1,
			failures + `{country="unknown",reason_code="denied",tenant="t"}`: 4,
		}},
		{name: "added country", dims: map[insights.Report][]string{dailyAuth: {"app_id", "os", "country"}}, want: map[string]float64{
			auth + `{app_id="app-1",country="DE",os="Windows",result="failure",tenant="t"}`:             2,
			auth + `{app_id="app-1",country="DE",os="Windows",result="success",tenant="t"}`:             3,
			auth + `{app_id="app-1",country="FR",os="Windows",result="failure",tenant="t"}`:             0,
			auth + `{app_id="app-1",country="FR",os="Windows",result="success",tenant="t"}`:             2,
			auth + `{app_id="app-2",country="unknown",os="iOS",result="failure",tenant="t"}`:            0,
			auth + `{app_id="app-2",country="unknown",os="iOS",result="success",tenant="t"}`:            3,
			failures + `{app_id="app-1",country="DE",os="Windows",reason_code="denied",tenant="t"}`:     1,
			failures + `{app_id="app-1",country="DE",os="Windows",reason_code="incomplete",tenant="t"}`: 1,
			failures + `{app_id="app-2",country="unknown",os="iOS",reason_code="denied",tenant="t"}`:    4,
		}},
		{name: "all dropped", dims: map[insights.Report][]string{dailyAuth: {}}, want: map[string]float64{
			auth + `{result="failure",tenant="t"}`:             2,
			auth + `{result="success",tenant="t"}`:             8,
			failures + `{reason_code="denied",tenant="t"}`:     5,
			failures + `{reason_code="incomplete",tenant="t"}`: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCatalog(withFamilies(Config{Reports: []insights.Report{dailyAuth}, Dimensions: tt.dims}))
			if err != nil {
				t.Fatal(err)
			}
			got := sampleValues(c.Series("t", insights.Daily, date(2026, 11, 27), adapt(rows)))
			tt.want[`entra_insights_period_start_timestamp_seconds{granularity="daily",tenant="t"}`] =
				float64(date(2026, 11, 27).Unix())
			if len(got) != len(tt.want) {
				t.Errorf("got %d series, want %d:\n%s", len(got), len(tt.want), strings.Join(slices.Sorted(mapsKeys(got)), "\n"))
			}
			checkValues(t, got, tt.want)
		})
	}
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestSeriesReports(t *testing.T) {
	today := date(2026, 11, 27)
	nov15, nov1, oct1 := date(2026, 11, 15), date(2026, 11, 1), date(2026, 10, 1)
	rows := map[insights.Report][]insights.Row{
		report(insights.Daily, insights.Summary): {
			{FactDate: today, AppID: "a", OS: "LINUX", ActiveUsers: 7, AuthenticationRequests: 10, AuthenticationCompletions: 8,
				SecurityTextRequests: 4, SecurityTextCompletions: 3, SecurityVoiceRequests: 2, SecurityVoiceCompletions: 2},
			{FactDate: today, AppID: "a", OS: "linux", ActiveUsers: 1, AuthenticationRequests: 1, AuthenticationCompletions: 1,
				SecurityTextRequests: 1},
		},
		report(insights.Daily, insights.InactiveUsers): {
			{FactDate: today, Inactive1Day: 1, Inactive30Day: 30, Inactive60Day: 60, Inactive90Day: 90},
		},
		report(insights.Daily, insights.MFATelecomFraud): {
			{FactDate: today, CaptchaShownUsers: 5, CaptchaSuccesses: 3, CaptchaFailures: 2, CaptchaNotTriggeredUsers: 9, TelecomBlockedUsers: 1},
		},
		report(insights.Daily, insights.MFACompletions): {
			{FactDate: today, AppID: "a", MFAMethod: "PhoneAppOTP", Attempts: 4, Successes: 1,
				Failures: []insights.Failure{{ReasonCode: "", Count: 3}}},
		},
		report(insights.Monthly, insights.InactiveUsers): {
			{FactDate: nov15, InactiveCalendarMonth: 11, Inactive30Day: 30, Inactive60Day: 60, Inactive90Day: 90},
			{FactDate: oct1, InactiveCalendarMonth: 999},
		},
		report(insights.Monthly, insights.Authentications): {
			{FactDate: nov15, Country: "de", Attempts: 3, Successes: 2},
			{FactDate: nov1, Country: "DE", Attempts: 1, Successes: 1},
			{FactDate: oct1, Country: "DE", Attempts: 100, Successes: 100},
		},
		report(insights.Monthly, insights.MFARegisteredUsers): {
			{FactDate: nov1, MFAType: "eotp", Count: 12}, {FactDate: nov1, MFAType: "", Count: 1},
		},
		report(insights.Monthly, insights.Requests): {
			{FactDate: nov1, AppID: "A", Country: "uk", Count: 40},
		},
	}
	c, err := NewCatalog(withFamilies(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	asOf := AsOf(adapt(rows))
	if !asOf[insights.Daily].Equal(today) || !asOf[insights.Monthly].Equal(nov1) {
		t.Fatalf("AsOf = %v", asOf)
	}
	got := sampleValues(append(c.Series("t", insights.Daily, asOf[insights.Daily], adapt(rows)),
		c.Series("t", insights.Monthly, asOf[insights.Monthly], adapt(rows))...))
	checkValues(t, got, map[string]float64{
		`entra_insights_daily_overview_active_users{app_id="a",os="Linux",tenant="t"}`:                       8,
		`entra_insights_daily_overview_authentications{app_id="a",os="Linux",result="success",tenant="t"}`:   9,
		`entra_insights_daily_overview_authentications{app_id="a",os="Linux",result="failure",tenant="t"}`:   2,
		`entra_insights_daily_overview_mfa_requests{channel="sms",result="success",tenant="t"}`:              3,
		`entra_insights_daily_overview_mfa_requests{channel="sms",result="failure",tenant="t"}`:              2,
		`entra_insights_daily_overview_mfa_requests{channel="voice",result="success",tenant="t"}`:            2,
		`entra_insights_daily_overview_mfa_requests{channel="voice",result="failure",tenant="t"}`:            0,
		`entra_insights_daily_inactive_users{tenant="t",window="1d"}`:                                        1,
		`entra_insights_daily_inactive_users{tenant="t",window="30d"}`:                                       30,
		`entra_insights_daily_inactive_users{tenant="t",window="60d"}`:                                       60,
		`entra_insights_daily_inactive_users{tenant="t",window="90d"}`:                                       90,
		`entra_insights_daily_captcha_challenges{result="success",tenant="t"}`:                               3,
		`entra_insights_daily_captcha_challenges{result="failure",tenant="t"}`:                               2,
		`entra_insights_daily_captcha_shown_users{tenant="t"}`:                                               5,
		`entra_insights_daily_captcha_not_triggered_users{tenant="t"}`:                                       9,
		`entra_insights_daily_telecom_blocked_users{tenant="t"}`:                                             1,
		`entra_insights_daily_mfa_attempts{app_id="a",mfa_method="PhoneAppOTP",result="success",tenant="t"}`: 1,
		`entra_insights_daily_mfa_attempts{app_id="a",mfa_method="PhoneAppOTP",result="failure",tenant="t"}`: 3,
		`entra_insights_daily_mfa_failures{mfa_method="PhoneAppOTP",reason_code="unknown",tenant="t"}`:       3,
		`entra_insights_monthly_inactive_users{tenant="t",window="calendar_month"}`:                          11,
		`entra_insights_monthly_inactive_users{tenant="t",window="30d"}`:                                     30,
		`entra_insights_monthly_authentications{country="DE",result="success",tenant="t"}`:                   3,
		`entra_insights_monthly_authentications{country="DE",result="failure",tenant="t"}`:                   1,
		`entra_insights_monthly_mfa_registered_users{mfa_type="eotp",tenant="t"}`:                            12,
		`entra_insights_monthly_mfa_registered_users{mfa_type="unknown",tenant="t"}`:                         1,
		`entra_insights_monthly_requests{app_id="a",country="UK",tenant="t"}`:                                40,
		`entra_insights_period_start_timestamp_seconds{granularity="monthly",tenant="t"}`:                    float64(nov1.Unix()),
	}, `entra_insights_daily_active_users{`, `entra_insights_monthly_sign_ups{`)
}

func TestSeriesSortedAndHelp(t *testing.T) {
	rows := map[insights.Report][]insights.Row{report(insights.Daily, insights.Authentications): authRows()}
	c, err := NewCatalog(withFamilies(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	samples := c.Series("t", insights.Daily, date(2026, 11, 27), adapt(rows))
	keys := make([]string, len(samples))
	for i, s := range samples {
		if !slices.IsSortedFunc(s.Labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("%s: labels not sorted", s.Name)
		}
		if s.Type != "gauge" || !strings.Contains(s.Help, "as-of period") {
			t.Errorf("%s: type %q help %q", s.Name, s.Type, s.Help)
		}
		keys[i] = fmt.Sprint(s.Name, s.Labels)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("samples not sorted:\n%s", strings.Join(keys, "\n"))
	}
	again := c.Series("t", insights.Daily, date(2026, 11, 27), adapt(rows))
	if !slices.EqualFunc(samples, again, func(a, b Sample) bool {
		return a.Name == b.Name && a.Value == b.Value && slices.Equal(a.Labels, b.Labels)
	}) {
		t.Errorf("Series is not deterministic")
	}
}

func TestUserCountHelp(t *testing.T) {
	c, err := NewCatalog(withFamilies(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range slices.Concat(c.metrics[insights.Daily], c.metrics[insights.Monthly]) {
		users := strings.HasSuffix(m.name, "active_users") || strings.HasSuffix(m.name, "_users_by_application") ||
			m.name == "entra_insights_daily_users"
		if got := strings.Contains(m.help, "upper bound"); got != users {
			t.Errorf("%s: help mentions upper bound = %v, want %v: %q", m.name, got, users, m.help)
		}
	}
}

func TestAsOf(t *testing.T) {
	dailyA, dailyB := report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.SignUps)
	monthly := report(insights.Monthly, insights.ActiveUsers)
	at := func(d time.Time) insights.Row { return insights.Row{FactDate: d} }
	tests := []struct {
		name string
		rows map[insights.Report][]insights.Row
		want map[insights.Granularity]time.Time
	}{
		{name: "no rows", rows: map[insights.Report][]insights.Row{dailyA: nil}, want: map[insights.Granularity]time.Time{}},
		{name: "newest over every report", rows: map[insights.Report][]insights.Row{
			dailyA: {at(date(2026, 11, 25)), at(date(2026, 11, 26))},
			dailyB: {at(date(2026, 11, 27)), at(date(2026, 11, 20))},
		}, want: map[insights.Granularity]time.Time{insights.Daily: date(2026, 11, 27)}},
		{name: "monthly truncated to the 1st", rows: map[insights.Report][]insights.Row{
			monthly: {at(date(2026, 10, 1)), at(date(2026, 11, 17))},
		}, want: map[insights.Granularity]time.Time{insights.Monthly: date(2026, 11, 1)}},
		{name: "time of day and zone dropped", rows: map[insights.Report][]insights.Row{
			dailyA: {at(time.Date(2026, 11, 27, 23, 0, 0, 0, time.FixedZone("x", -3600)))},
		}, want: map[insights.Granularity]time.Time{insights.Daily: date(2026, 11, 28)}},
		{name: "rows without a date ignored", rows: map[insights.Report][]insights.Row{
			dailyA: {{}}, monthly: {{}, at(date(2026, 1, 9))},
		}, want: map[insights.Granularity]time.Time{insights.Monthly: date(2026, 1, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AsOf(adapt(tt.rows))
			if len(got) != len(tt.want) {
				t.Fatalf("AsOf = %v, want %v", got, tt.want)
			}
			for g, w := range tt.want {
				if !got[g].Equal(w) {
					t.Errorf("AsOf[%s] = %v, want %v", g, got[g], w)
				}
			}
		})
	}
}

func TestInfoSeries(t *testing.T) {
	rows := map[insights.Report][]insights.Row{
		report(insights.Daily, insights.ActiveUsers): {
			{FactDate: date(2026, 11, 25), AppID: "APP-1", AppName: "Old name"},
			{FactDate: date(2026, 11, 26), AppID: "app-1", AppName: " New name "},
			{FactDate: date(2026, 11, 27), AppID: "app-1", AppName: ""},
			{FactDate: date(2026, 11, 27), AppID: "", AppName: ""},
		},
		report(insights.Monthly, insights.Authentications): {
			{FactDate: date(2026, 10, 1), AppID: "app-1", AppName: "Older monthly name"},
			{FactDate: date(2026, 11, 1), AppID: "app-2"},
		},
		// userCount has no app dimension: its empty app id is no app.
		report(insights.Daily, insights.UserCount): {{FactDate: date(2026, 11, 27), Count: 3}},
	}
	c, err := NewCatalog(withFamilies(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	got := sampleValues(c.InfoSeries(Tenant{Name: "t", TenantID: "tid", Cloud: "public"}, adapt(rows)))
	want := map[string]float64{
		`entra_insights_app_info{app_id="app-1",app_name="New name",tenant="t"}`:                 1,
		`entra_insights_app_info{app_id="app-2",app_name="app-2",tenant="t"}`:                    1,
		`entra_insights_app_info{app_id="unknown",app_name="unknown",tenant="t"}`:                1,
		`entra_insights_tenant_info{cloud="public",source="unknown",tenant="t",tenant_id="tid"}`: 1,
	}
	if len(got) != len(want) {
		t.Errorf("got %d series, want %d: %v", len(got), len(want), got)
	}
	checkValues(t, got, want)
}

// TestInfoSeriesCountsAppsOfEveryReport: inactiveUsers carries appId without
// an app_id label; its apps still get an app_info series, and reports
// without any app id add no "unknown" app.
func TestInfoSeriesCountsAppsOfEveryReport(t *testing.T) {
	c, err := NewCatalog(withFamilies(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[insights.Report][]insights.Row{
		report(insights.Daily, insights.InactiveUsers): {{FactDate: date(2026, 11, 27), AppID: "AAAA", Inactive30Day: 3}},
		report(insights.Daily, insights.UserCount):     {{FactDate: date(2026, 11, 27), Count: 9}},
	}
	var apps []string
	for _, s := range c.InfoSeries(Tenant{Name: "t", TenantID: "t"}, adapt(rows)) {
		if s.Name == "entra_insights_app_info" {
			apps = append(apps, seriesKey(s.Name, s.Labels))
		}
	}
	want := `entra_insights_app_info{app_id="aaaa",app_name="aaaa",tenant="t"}`
	if len(apps) != 1 || apps[0] != want {
		t.Errorf("app_info = %v, want [%s]", apps, want)
	}
}

// TestWholeFamilyKeepsNoDimension: tenant_active_users keeps no label
// whatever its report's configured dimensions.
func TestWholeFamilyKeepsNoDimension(t *testing.T) {
	active := report(insights.Daily, insights.ActiveUsers)
	c, err := NewCatalog(withFamilies(Config{Reports: []insights.Report{active},
		Dimensions: map[insights.Report][]string{active: {"app_id", "country"}}}))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[insights.Report][]insights.Row{active: {
		{FactDate: date(2026, 11, 27), AppID: "a", Country: "DE", Count: 3},
		{FactDate: date(2026, 11, 27), AppID: "b", Country: "FR", Count: 2},
	}}
	got := sampleValues(c.Series("t", insights.Daily, date(2026, 11, 27), adapt(rows)))
	checkValues(t, got, map[string]float64{
		`entra_insights_daily_tenant_active_users{tenant="t"}`:                  5,
		`entra_insights_daily_active_users{app_id="a",country="DE",tenant="t"}`: 3,
	})
	for series := range got {
		if strings.HasPrefix(series, "entra_insights_daily_tenant_active_users{") && series != `entra_insights_daily_tenant_active_users{tenant="t"}` {
			t.Errorf("tenant_active_users has a dimension: %s", series)
		}
	}
}

// TestSourcesInUse: the catalog exposes the families of the sources in
// use, with their help; a family both declare gives each one's, named.
func TestSourcesInUse(t *testing.T) {
	active := report(insights.Daily, insights.ActiveUsers)
	summary := report(insights.Daily, insights.Summary)
	helpOf := func(sources []string) map[string]string {
		c, err := NewCatalog(withFamilies(Config{Reports: []insights.Report{active, summary}, Sources: sources}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range c.metrics[insights.Daily] {
			out[m.declared] = m.help
		}
		return out
	}
	logs := helpOf([]string{insights.SourceLogs})
	if _, ok := logs["overview_active_users"]; ok || strings.Contains(logs["active_users"], "source:") ||
		!strings.Contains(logs["active_users"], "exact distinct users") {
		t.Errorf("logs tenants only: %q", logs)
	}
	both := helpOf(nil)
	if _, ok := both["overview_active_users"]; !ok || !strings.Contains(both["active_users"], "logs source: ") ||
		!strings.Contains(both["active_users"], "userinsights source: ") {
		t.Errorf("both sources: %q", both)
	}
}
