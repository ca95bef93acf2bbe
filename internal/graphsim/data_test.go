package graphsim

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func TestRowsDeterministic(t *testing.T) {
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			a := Rows(DefaultTenantID, r, testNow(), false)
			b := Rows(DefaultTenantID, r, testNow(), false)
			if len(a) == 0 {
				t.Fatal("no rows")
			}
			if !reflect.DeepEqual(a, b) {
				t.Error("same inputs gave different rows")
			}
			if other := Rows("11111111-2222-3333-4444-555555555555", r, testNow(), false); reflect.DeepEqual(a, other) {
				t.Error("another tenant got the same rows")
			}
		})
	}
}

func TestRowsWindow(t *testing.T) {
	now := testNow()
	today := startOfDay(now)
	for _, r := range insights.AllReports() {
		for _, lag := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lag=%v", r, lag), func(t *testing.T) {
				rows := Rows(DefaultTenantID, r, now, lag)
				oldest, newest := rows[0].FactDate, rows[0].FactDate
				for _, row := range rows {
					oldest, newest = minTime(oldest, row.FactDate), maxTime(newest, row.FactDate)
					if row.FactDate.After(now) {
						t.Fatalf("row dated in the future: %v", row.FactDate)
					}
				}
				wantNewest, wantOldest := today, today.AddDate(0, 0, -29)
				if lag {
					wantNewest = today.AddDate(0, 0, -1)
				}
				if r.Granularity == insights.Monthly {
					wantNewest, wantOldest = startOfMonth(now), startOfMonth(now).AddDate(0, -11, 0)
					newest = startOfMonth(newest)
				}
				if !newest.Equal(wantNewest) || !oldest.Equal(wantOldest) {
					t.Errorf("dates %v … %v, want %v … %v", oldest, newest, wantOldest, wantNewest)
				}
			})
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dims is a row's factDate and every dimension.
func dims(r insights.Row) string {
	return fmt.Sprint(r.FactDate.Format(time.DateOnly), r.AppID, r.OS, r.Country, r.Language, r.Browser,
		r.AuthFlow, r.IdentityProvider, r.MFAMethod, r.MFAType)
}

func TestRowsDimensionsUnique(t *testing.T) {
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			seen := map[string]bool{}
			for _, row := range Rows(DefaultTenantID, r, testNow(), false) {
				if seen[dims(row)] {
					t.Fatalf("two rows with the same date and dimensions: %s", dims(row))
				}
				seen[dims(row)] = true
			}
		})
	}
}

// TestRowsFillEveryField checks that each documented property of each
// report carries a value in some row.
func TestRowsFillEveryField(t *testing.T) {
	str := func(get func(insights.Row) string) func(insights.Row) bool {
		return func(r insights.Row) bool { return get(r) != "" }
	}
	num := func(get func(insights.Row) int64) func(insights.Row) bool {
		return func(r insights.Row) bool { return get(r) > 0 }
	}
	app := str(func(r insights.Row) string { return r.AppID })
	os := str(func(r insights.Row) string { return r.OS })
	country := str(func(r insights.Row) string { return r.Country })
	lang := str(func(r insights.Row) string { return r.Language })
	browser := str(func(r insights.Row) string { return r.Browser })
	idp := str(func(r insights.Row) string { return r.IdentityProvider })
	count := num(func(r insights.Row) int64 { return r.Count })
	attempts := num(func(r insights.Row) int64 { return r.Attempts })
	successes := num(func(r insights.Row) int64 { return r.Successes })
	failures := func(r insights.Row) bool { return len(r.Failures) > 0 && r.Failures[0].ReasonCode != "" }
	inactive := []func(insights.Row) bool{app,
		num(func(r insights.Row) int64 { return r.Inactive30Day }),
		num(func(r insights.Row) int64 { return r.Inactive60Day }),
		num(func(r insights.Row) int64 { return r.Inactive90Day })}
	want := map[string][]func(insights.Row) bool{
		insights.ActiveUsers: {count, app, str(func(r insights.Row) string { return r.AppName }), os, country, lang},
		insights.Authentications: {app, os, country, lang, browser, idp, attempts, successes, failures,
			str(func(r insights.Row) string { return r.AuthFlow })},
		insights.MFACompletions: {app, os, country, lang, idp, attempts, successes, failures,
			str(func(r insights.Row) string { return r.MFAMethod })},
		insights.SignUps: {count, app, os, country, lang, browser, idp},
		insights.Summary: {app, os,
			num(func(r insights.Row) int64 { return r.ActiveUsers }),
			num(func(r insights.Row) int64 { return r.AuthenticationRequests }),
			num(func(r insights.Row) int64 { return r.AuthenticationCompletions }),
			num(func(r insights.Row) int64 { return r.SecurityTextRequests }),
			num(func(r insights.Row) int64 { return r.SecurityTextCompletions }),
			num(func(r insights.Row) int64 { return r.SecurityVoiceRequests }),
			num(func(r insights.Row) int64 { return r.SecurityVoiceCompletions })},
		insights.UserCount:                  {count, lang},
		insights.Requests:                   {count, app, country, lang, browser, idp},
		insights.InactiveUsers:              inactive[1:],
		insights.InactiveUsersByApplication: inactive,
		insights.MFATelecomFraud: {
			num(func(r insights.Row) int64 { return r.CaptchaShownUsers }),
			num(func(r insights.Row) int64 { return r.CaptchaSuccesses }),
			num(func(r insights.Row) int64 { return r.CaptchaFailures }),
			num(func(r insights.Row) int64 { return r.CaptchaNotTriggeredUsers }),
			num(func(r insights.Row) int64 { return r.TelecomBlockedUsers })},
		insights.MFARegisteredUsers: {count, str(func(r insights.Row) string { return r.MFAType })},
	}
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			checks := want[r.Name]
			if r.Name == insights.InactiveUsers || r.Name == insights.InactiveUsersByApplication {
				window := num(func(r insights.Row) int64 { return r.Inactive1Day })
				if r.Granularity == insights.Monthly {
					window = num(func(r insights.Row) int64 { return r.InactiveCalendarMonth })
				}
				checks = append(slices.Clone(checks), window)
			}
			rows := Rows(DefaultTenantID, r, testNow(), false)
			for i, filled := range checks {
				if !slices.ContainsFunc(rows, filled) {
					t.Errorf("property check %d never filled", i)
				}
			}
		})
	}
}

func TestTodayGrowsWithClock(t *testing.T) {
	day := startOfDay(testNow())
	todaySum := func(now time.Time) (rows int, sum int64) {
		for _, r := range Rows(DefaultTenantID, insights.Report{Granularity: insights.Daily, Name: insights.Authentications}, now, false) {
			if r.FactDate.Equal(day) {
				if r.Attempts < 1 {
					t.Fatalf("at %v: a row of today has %d attempts", now, r.Attempts)
				}
				rows++
				sum += r.Attempts
			}
		}
		return rows, sum
	}
	var last int64
	for _, at := range []time.Duration{0, time.Hour, 6 * time.Hour, 12 * time.Hour, 23*time.Hour + 59*time.Minute} {
		n, sum := todaySum(day.Add(at))
		if n == 0 {
			t.Fatalf("at %v: no rows for today", at)
		}
		if sum <= last {
			t.Errorf("at %v: today's attempts %d, not above %d", at, sum, last)
		}
		last = sum
	}
	// At midnight today's final value becomes yesterday's, unchanged.
	_, final := todaySum(day.Add(24*time.Hour - time.Nanosecond))
	var yesterday int64
	for _, r := range Rows(DefaultTenantID, insights.Report{Granularity: insights.Daily, Name: insights.Authentications}, day.AddDate(0, 0, 1).Add(time.Hour), false) {
		if r.FactDate.Equal(day) {
			yesterday += r.Attempts
		}
	}
	if yesterday != final {
		t.Errorf("a day's attempts: %d at 23:59:59, %d the day after", final, yesterday)
	}
}

func TestPastDaysStable(t *testing.T) {
	r := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	key := func(row insights.Row) string { return dims(row) }
	before := map[string]int64{}
	for _, row := range Rows(DefaultTenantID, r, testNow(), false) {
		before[key(row)] = row.Count
	}
	compared := 0
	for _, row := range Rows(DefaultTenantID, r, testNow().Add(3*24*time.Hour), false) {
		if c, ok := before[key(row)]; ok && row.FactDate.Before(startOfDay(testNow())) {
			compared++
			if c != row.Count {
				t.Errorf("%s: count %d, three days later %d", key(row), c, row.Count)
			}
		}
	}
	if compared < 100 {
		t.Errorf("only %d rows compared", compared)
	}
}

func TestQuirks(t *testing.T) {
	rows := func(g insights.Granularity, name string) []insights.Row {
		return Rows(DefaultTenantID, insights.Report{Granularity: g, Name: name}, testNow(), false)
	}
	has := func(rs []insights.Row, pred func(insights.Row) bool) bool { return slices.ContainsFunc(rs, pred) }
	os := func(v string) func(insights.Row) bool { return func(r insights.Row) bool { return r.OS == v } }
	country := func(v string) func(insights.Row) bool { return func(r insights.Row) bool { return r.Country == v } }
	tests := []struct {
		name string
		ok   bool
	}{
		{"activeUsers os MacOs", has(rows(insights.Daily, insights.ActiveUsers), os("MacOs"))},
		{"signUps os Ios", has(rows(insights.Daily, insights.SignUps), os("Ios"))},
		{"summary os WINDOWS", has(rows(insights.Daily, insights.Summary), os("WINDOWS"))},
		{"summary os LINUX", has(rows(insights.Monthly, insights.Summary), os("LINUX"))},
		{"mfaCompletions os macOS", has(rows(insights.Daily, insights.MFACompletions), os("macOS"))},
		{"authentications os empty", has(rows(insights.Daily, insights.Authentications), os(""))},
		{"country UK", has(rows(insights.Daily, insights.ActiveUsers), country("UK"))},
		{"country empty", has(rows(insights.Daily, insights.Authentications), country(""))},
		{"monthly authentications on the 21st", has(rows(insights.Monthly, insights.Authentications),
			func(r insights.Row) bool { return r.FactDate.Day() == 21 })},
		{"mfa methods", has(rows(insights.Daily, insights.MFACompletions),
			func(r insights.Row) bool { return r.MFAMethod == "PhoneAppOTP" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Error("missing")
			}
		})
	}
	t.Run("inactiveUsers has date gaps", func(t *testing.T) {
		if n := len(rows(insights.Daily, insights.InactiveUsers)); n >= dailyPeriods {
			t.Errorf("%d rows, want fewer than %d days", n, dailyPeriods)
		}
	})
	t.Run("an app renamed", func(t *testing.T) {
		names := map[string][]string{} // app id → names, oldest first
		for _, r := range rows(insights.Daily, insights.ActiveUsers) {
			if n := names[r.AppID]; len(n) == 0 || n[len(n)-1] != r.AppName {
				names[r.AppID] = append(n, r.AppName)
			}
		}
		renamed := 0
		for _, n := range names {
			if len(n) > 1 {
				renamed++
			}
		}
		if len(names) < 4 || renamed != 1 {
			t.Errorf("apps and names: %v; want ≥ 4 apps, one renamed once", names)
		}
	})
	t.Run("MFA failure spike", func(t *testing.T) {
		failed := map[time.Time]int64{}
		for _, r := range rows(insights.Daily, insights.MFACompletions) {
			for _, f := range r.Failures {
				failed[r.FactDate] += f.Count
			}
			if r.Attempts-r.Successes != sumFailures(r.Failures) {
				t.Fatalf("%s: attempts − successes = %d, failures sum to %d", dims(r), r.Attempts-r.Successes, sumFailures(r.Failures))
			}
		}
		spike := startOfDay(testNow()).AddDate(0, 0, -SpikeDaysAgo)
		for d, n := range failed {
			if !d.Equal(spike) && d.Weekday() == spike.Weekday() && failed[spike] < 3*n {
				t.Errorf("failures on %v: %d; on the same weekday %v: %d", spike, failed[spike], d, n)
			}
		}
	})
	t.Run("weekends are quieter", func(t *testing.T) {
		perDay := map[time.Weekday]int64{}
		for _, r := range rows(insights.Daily, insights.Authentications) {
			if r.FactDate.Before(startOfDay(testNow())) {
				perDay[r.FactDate.Weekday()] += r.Attempts
			}
		}
		if perDay[time.Sunday]*3/2 > perDay[time.Tuesday] {
			t.Errorf("Sunday %d, Tuesday %d", perDay[time.Sunday], perDay[time.Tuesday])
		}
	})
}

func sumFailures(fs []insights.Failure) int64 {
	var n int64
	for _, f := range fs {
		n += f.Count
	}
	return n
}

func TestSplit(t *testing.T) {
	tests := []struct {
		total   int64
		weights []float64
		want    []int64
	}{
		{10, []float64{1, 1}, []int64{5, 5}},
		{7, []float64{0.5, 0.3, 0.2}, []int64{4, 2, 1}},
		{1, []float64{0.2, 0.8}, []int64{0, 1}},
		{0, []float64{1}, []int64{0}},
		{5, []float64{0, 1}, []int64{0, 5}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.total, tt.weights), func(t *testing.T) {
			if got := split(tt.total, tt.weights); !slices.Equal(got, tt.want) {
				t.Errorf("split = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummaryMatchesDetailReports(t *testing.T) {
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		t.Run(string(g), func(t *testing.T) {
			rows := func(name string) []insights.Row {
				return Rows(DefaultTenantID, insights.Report{Granularity: g, Name: name}, testNow(), false)
			}
			key := func(r insights.Row) string {
				return startOfDayOrMonth(g, r.FactDate) + r.AppID + strings.ToLower(r.OS)
			}
			active, auth := map[string]int64{}, map[string]insights.Row{}
			for _, r := range rows(insights.ActiveUsers) {
				active[key(r)] = r.Count
			}
			for _, r := range rows(insights.Authentications) {
				auth[key(r)] = r
				if r.Attempts-r.Successes != sumFailures(r.Failures) {
					t.Fatalf("%s: failures do not sum to attempts − successes", dims(r))
				}
			}
			summary := rows(insights.Summary)
			for _, s := range summary {
				a, ok := auth[key(s)]
				if c := active[key(s)]; !ok || (c != 0 && c != s.ActiveUsers) ||
					a.Attempts != s.AuthenticationRequests || a.Successes != s.AuthenticationCompletions {
					t.Fatalf("summary %s disagrees with activeUsers %d and authentications %+v", dims(s), c, a)
				}
			}
			if len(summary) != len(auth) {
				t.Errorf("%d summary rows, %d authentications rows", len(summary), len(auth))
			}
		})
	}
}

func startOfDayOrMonth(g insights.Granularity, t time.Time) string {
	if g == insights.Monthly {
		return startOfMonth(t).Format(time.DateOnly)
	}
	return t.Format(time.DateOnly)
}

// TestEveryServedReportHasABuilder checks the simulator against the report
// catalog: a builder for each report Graph serves, and none for others.
func TestEveryServedReportHasABuilder(t *testing.T) {
	b := builders()
	for _, s := range insights.Specs() {
		if _, ok := b[s.Name]; ok != (len(s.Graph) > 0) {
			t.Errorf("%s: builder %v, served by Graph %v", s.Name, ok, len(s.Graph) > 0)
		}
		delete(b, s.Name)
	}
	for name := range b {
		t.Errorf("builder for %q, which the catalog does not declare", name)
	}
}
