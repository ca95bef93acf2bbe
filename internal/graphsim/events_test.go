package graphsim

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// month keeps 30 days of events, as a P1/P2 tenant does.
var month = Options{LogRetention: MaxLogRetention}

func daily(name string) insights.Report {
	return insights.Report{Granularity: insights.Daily, Name: name}
}

func monthly(name string) insights.Report {
	return insights.Report{Granularity: insights.Monthly, Name: name}
}

// authKey is the dimensions an authentications row shares with a sign-in.
type authKey struct {
	day                       string
	app, os, country, browser string
}

func signInKey(e SignInEvent, gran insights.Granularity) authKey {
	return authKey{day: startOfDayOrMonth(gran, e.CreatedDateTime), app: e.AppID, os: e.DeviceDetail.OperatingSystem,
		country: e.Location.CountryOrRegion, browser: e.DeviceDetail.Browser}
}

type tally struct {
	attempts, successes int64
	reasons             map[string]int64
	users               map[string]bool // with a success
}

func (t *tally) add(e SignInEvent) {
	t.attempts++
	if e.Status.ErrorCode == 0 {
		t.successes++
		t.users[e.UserID] = true
		return
	}
	t.reasons[ErrorCodeReasons()[e.Status.ErrorCode]]++
}

// tallies counts the sign-ins the reports count: interrupts are neither
// attempts nor failures.
func tallies(evs []SignInEvent, gran insights.Granularity) map[authKey]*tally {
	out := map[authKey]*tally{}
	for _, e := range evs {
		if e.Interrupt() {
			continue
		}
		k := signInKey(e, gran)
		if out[k] == nil {
			out[k] = &tally{reasons: map[string]int64{}, users: map[string]bool{}}
		}
		out[k].add(e)
	}
	return out
}

// agreementTenants are tenants of different sizes.
func agreementTenants() []string {
	return []string{DefaultTenantID, "0b6f0a53-4f4e-4c0a-9d55-6a0e3c5b1a01", "contoso.onmicrosoft.com"}
}

// TestSignInsAgreeWithAuthentications: the events created on each day of
// the window (today up to now) with a row's dimensions number exactly its
// attempts and successes, their error codes its failures, and the
// distinct users with a success stay at or below activeUsers, close to it.
func TestSignInsAgreeWithAuthentications(t *testing.T) {
	for _, tenant := range agreementTenants() {
		t.Run(tenant, func(t *testing.T) {
			evs := SignIns(tenant, testNow(), month)
			got := tallies(evs, insights.Daily)
			oldest := startOfDay(testNow().Add(-MaxLogRetention)).AddDate(0, 0, 1) // first complete day
			rows := 0
			for _, r := range Rows(tenant, daily(insights.Authentications), testNow(), false) {
				if r.FactDate.Before(oldest) {
					continue
				}
				rows++
				k := authKey{r.FactDate.Format(time.DateOnly), r.AppID, r.OS, r.Country, r.Browser}
				g := got[k]
				if g == nil {
					t.Errorf("%v: no sign-ins for the row", k)
					continue
				}
				if g.attempts != r.Attempts || g.successes != r.Successes {
					t.Errorf("%v: events %d attempts %d successes, row %d %d", k, g.attempts, g.successes, r.Attempts, r.Successes)
				}
				for _, f := range r.Failures {
					if g.reasons[f.ReasonCode] != f.Count {
						t.Errorf("%v: %d events of reason %s, row %d", k, g.reasons[f.ReasonCode], f.ReasonCode, f.Count)
					}
				}
				delete(got, k)
			}
			if rows < 29*10 {
				t.Errorf("only %d rows compared", rows)
			}
			for k := range got {
				if k.day >= oldest.Format(time.DateOnly) {
					t.Errorf("%v: sign-ins without an authentications row", k)
				}
			}
			checkActiveUsers(t, tenant, evs, oldest)
		})
	}
}

func checkActiveUsers(t *testing.T, tenant string, evs []SignInEvent, oldest time.Time) {
	t.Helper()
	got := tallies(evs, insights.Daily)
	type appOS struct{ day, app, os string }
	users := map[appOS]map[string]bool{}
	for k, g := range got {
		ao := appOS{k.day, k.app, k.os}
		if users[ao] == nil {
			users[ao] = map[string]bool{}
		}
		for u := range g.users {
			users[ao][u] = true
		}
	}
	var sumActive, sumDistinct int
	for _, r := range Rows(tenant, daily(insights.ActiveUsers), testNow(), false) {
		if r.FactDate.Before(oldest) || r.Count == 0 { // 0: Graph sent null
			continue
		}
		distinct := len(users[appOS{r.FactDate.Format(time.DateOnly), r.AppID, r.OS}])
		if int64(distinct) > r.Count {
			t.Errorf("%s %s %s: %d distinct users signed in, activeUsers %d", r.FactDate.Format(time.DateOnly), r.AppID, r.OS, distinct, r.Count)
		}
		sumActive += int(r.Count)
		sumDistinct += distinct
	}
	if float64(sumDistinct) < 0.95*float64(sumActive) {
		t.Errorf("distinct users %d, far below the activeUsers sum %d", sumDistinct, sumActive)
	}
	// Some users use two apps: per-app sums exceed the tenant's distinct users.
	day := testNow().AddDate(0, 0, -1).Format(time.DateOnly)
	tenantWide, perApp := map[string]bool{}, map[string]map[string]bool{}
	for _, e := range evs {
		if e.Status.ErrorCode != 0 || e.CreatedDateTime.Format(time.DateOnly) != day {
			continue
		}
		tenantWide[e.UserID] = true
		if perApp[e.AppID] == nil {
			perApp[e.AppID] = map[string]bool{}
		}
		perApp[e.AppID][e.UserID] = true
	}
	sum := 0
	for _, us := range perApp {
		sum += len(us)
	}
	if sum <= len(tenantWide) {
		t.Errorf("yesterday: per-app distinct users sum to %d, tenant-wide %d: no user of two apps", sum, len(tenantWide))
	}
}

// TestMonthlyAuthenticationsAreSumsOfEvents: the current month's rows
// (all its days are retained at testNow) equal its events.
func TestMonthlyAuthenticationsAreSumsOfEvents(t *testing.T) {
	evs := SignIns(DefaultTenantID, testNow(), month)
	got := tallies(evs, insights.Monthly)
	thisMonth := startOfMonth(testNow())
	n := 0
	for _, r := range Rows(DefaultTenantID, monthly(insights.Authentications), testNow(), false) {
		if !r.FactDate.Equal(thisMonth) {
			continue
		}
		n++
		k := authKey{r.FactDate.Format(time.DateOnly), r.AppID, r.OS, r.Country, r.Browser}
		g := got[k]
		if g == nil || g.attempts != r.Attempts || g.successes != r.Successes {
			t.Errorf("%v: events %+v, row %d/%d", k, g, r.Attempts, r.Successes)
		}
	}
	if n == 0 {
		t.Fatal("no row of the current month")
	}
	// Past months are the sums of their days too: at the last minute of
	// last month, its row equals its daily rows (the spike is relative to
	// today, so both use that clock).
	end := thisMonth.Add(-time.Minute)
	var dailySum, monthlySum int64
	for _, r := range Rows(DefaultTenantID, daily(insights.Authentications), end, false) {
		if !r.FactDate.Before(startOfMonth(end)) {
			dailySum += r.Attempts
		}
	}
	for _, r := range Rows(DefaultTenantID, monthly(insights.Authentications), end, false) {
		if startOfMonth(r.FactDate).Equal(startOfMonth(end)) {
			monthlySum += r.Attempts
		}
	}
	if dailySum == 0 || dailySum != monthlySum {
		t.Errorf("last month: daily rows sum to %d attempts, monthly rows %d", dailySum, monthlySum)
	}
}

// TestMFASignInsAgreeWithMFACompletions: MFA sign-ins per day, app and
// method (the last authenticationDetails entry) number the row's attempts
// and successes, the spike day included.
func TestMFASignInsAgreeWithMFACompletions(t *testing.T) {
	evs := SignIns(DefaultTenantID, testNow(), month)
	type key struct{ day, app, method string }
	type count struct{ attempts, successes int64 }
	got := map[key]*count{}
	for _, e := range evs {
		if e.Interrupt() {
			continue
		}
		if e.AuthenticationRequirement != "multiFactorAuthentication" {
			if len(e.AuthenticationDetails) != 1 || e.AuthenticationDetails[0].AuthenticationMethod != "Password" ||
				e.AuthenticationRequirement != "singleFactorAuthentication" {
				t.Fatalf("single-factor sign-in %+v", e)
			}
			continue
		}
		last := e.AuthenticationDetails[len(e.AuthenticationDetails)-1]
		k := key{e.CreatedDateTime.Format(time.DateOnly), e.AppID, last.AuthenticationMethod}
		if got[k] == nil {
			got[k] = &count{}
		}
		got[k].attempts++
		if last.Succeeded {
			got[k].successes++
			if e.Status.ErrorCode != 0 {
				t.Errorf("%s: MFA succeeded but errorCode %d", e.ID, e.Status.ErrorCode)
			}
		} else if e.Status.ErrorCode != errStrongAuthFailed.code {
			t.Errorf("%s: MFA failed with errorCode %d", e.ID, e.Status.ErrorCode)
		}
	}
	oldest := startOfDay(testNow().Add(-MaxLogRetention)).AddDate(0, 0, 1)
	spike := startOfDay(testNow()).AddDate(0, 0, -SpikeDaysAgo)
	var spikeFailures, otherFailures int64
	for _, r := range Rows(DefaultTenantID, daily(insights.MFACompletions), testNow(), false) {
		if r.FactDate.Before(oldest) {
			continue
		}
		k := key{r.FactDate.Format(time.DateOnly), r.AppID, r.MFAMethod}
		g := got[k]
		if g == nil || g.attempts != r.Attempts || g.successes != r.Successes {
			t.Errorf("%v: events %+v, row %d/%d", k, g, r.Attempts, r.Successes)
		}
		if r.FactDate.Equal(spike) {
			spikeFailures += r.Attempts - r.Successes
		} else if r.FactDate.Equal(spike.AddDate(0, 0, -7)) {
			otherFailures += r.Attempts - r.Successes
		}
		delete(got, k)
	}
	maps.DeleteFunc(got, func(k key, _ *count) bool { return k.day < oldest.Format(time.DateOnly) })
	if len(got) > 0 {
		t.Errorf("%d MFA groups without a row, e.g. %v", len(got), slices.Collect(func(yield func(key) bool) {
			for k := range got {
				yield(k)
				return
			}
		}))
	}
	if spikeFailures < 3*otherFailures {
		t.Errorf("spike day: %d MFA failures, a week before %d", spikeFailures, otherFailures)
	}
}

// TestSignUpsAgreeWithReport: the sign-ups (userCreation events with
// errorCode 0) per day and app equal the signUps rows; failed steps
// exist and are not counted.
func TestSignUpsAgreeWithReport(t *testing.T) {
	evs := SignUps(DefaultTenantID, testNow(), month)
	type key struct{ day, app, idp string }
	got, failed := map[key]int64{}, 0
	for _, e := range evs {
		switch {
		case e.Failed():
			failed++
			if e.UserID != "" {
				t.Errorf("failed sign-up step %+v has a user", e)
			}
		case e.SignedUp():
			got[key{e.CreatedDateTime.Format(time.DateOnly), e.AppID, e.SignUpIdentityProvider}]++
		case e.UserID != "":
			t.Errorf("%s step %+v has a user", e.SignUpStage, e)
		}
	}
	// The provider maps back to the rows' identityProvider.
	back := map[string]string{"Email OTP": "local", "Email Password": "local", "Google": "google.com", "Facebook": "facebook.com"}
	byRow := map[key]int64{}
	for k, n := range got {
		byRow[key{k.day, k.app, back[k.idp]}] += n
	}
	oldest := startOfDay(testNow().Add(-MaxLogRetention)).AddDate(0, 0, 1).Format(time.DateOnly)
	want := map[key]int64{}
	for _, r := range Rows(DefaultTenantID, daily(insights.SignUps), testNow(), false) {
		if d := r.FactDate.Format(time.DateOnly); d >= oldest {
			want[key{d, r.AppID, r.IdentityProvider}] += r.Count
		}
	}
	if len(want) < 29*3 {
		t.Errorf("only %d (day, app, provider) groups", len(want))
	}
	for k, n := range want {
		if byRow[k] != n {
			t.Errorf("%v: %d successful sign-ups, report %d", k, byRow[k], n)
		}
	}
	for k, n := range byRow {
		if k.day >= oldest && want[k] != n {
			t.Errorf("%v: %d sign-ups without report rows", k, n)
		}
	}
	if failed == 0 {
		t.Error("no failed sign-ups")
	}
}

// TestDirectoryAgreesWithReports: users/$count is the newest userCount,
// and the current month's mfaRegisteredUsers counts the registrations.
func TestDirectoryAgreesWithReports(t *testing.T) {
	var total int64
	rows := Rows(DefaultTenantID, daily(insights.UserCount), testNow(), false)
	for _, r := range rows {
		if r.FactDate.Equal(startOfDay(testNow())) {
			total += r.Count
		}
	}
	if n := UserCount(DefaultTenantID, testNow()); n != total || n == 0 {
		t.Errorf("UserCount %d, newest userCount rows sum to %d", n, total)
	}
	users := Users(DefaultTenantID, testNow())
	if int64(len(users)) != total {
		t.Errorf("%d users, UserCount %d", len(users), total)
	}
	methods := map[string]int64{}
	ids := map[string]bool{}
	for _, u := range users {
		ids[u.ID] = true
		for _, m := range u.Registration.MethodsRegistered {
			methods[m]++
		}
		if u.Registration.IsMfaRegistered != (u.MFAType != "") {
			t.Errorf("user %s: registered %v, type %q", u.ID, u.Registration.IsMfaRegistered, u.MFAType)
		}
	}
	if len(ids) != len(users) {
		t.Errorf("%d distinct ids of %d users", len(ids), len(users))
	}
	want := map[string]int64{}
	for _, r := range Rows(DefaultTenantID, monthly(insights.MFARegisteredUsers), testNow(), false) {
		if r.FactDate.Equal(startOfMonth(testNow())) {
			want[MFATypeMethods()[r.MFAType]] += r.Count
		}
	}
	if fmt.Sprint(methods) != fmt.Sprint(want) {
		t.Errorf("registered methods %v, mfaRegisteredUsers by method %v", methods, want)
	}
	// Every sign-in's user is in the directory.
	for _, e := range SignIns(DefaultTenantID, testNow(), Options{}) {
		if !ids[e.UserID] {
			t.Fatalf("sign-in %s by unknown user %s", e.ID, e.UserID)
		}
	}
}

// TestEventsStable: today's events only grow with the clock and keep
// their ids and contents; past days do not change.
func TestEventsStable(t *testing.T) {
	early := SignIns(DefaultTenantID, testNow().Add(-3*time.Hour), Options{})
	late := SignIns(DefaultTenantID, testNow(), Options{})
	byID := map[string]SignInEvent{}
	for _, e := range late {
		byID[e.ID] = e
	}
	cutoff := testNow().Add(-DefaultLogRetention)
	for _, e := range early {
		if e.CreatedDateTime.Before(cutoff) {
			continue
		}
		l, ok := byID[e.ID]
		if !ok {
			t.Fatalf("event %s of %s gone three hours later", e.ID, e.CreatedDateTime)
		}
		if fmt.Sprint(l) != fmt.Sprint(e) {
			t.Fatalf("event changed:\n%+v\n%+v", e, l)
		}
	}
	if len(late) <= len(early)-200 {
		t.Errorf("%d events three hours later, %d before", len(late), len(early))
	}
	ids := map[string]bool{}
	for i, e := range late {
		if ids[e.ID] {
			t.Fatalf("duplicate id %s", e.ID)
		}
		ids[e.ID] = true
		if i > 0 && e.CreatedDateTime.After(late[i-1].CreatedDateTime) {
			t.Fatalf("event %d newer than the one before", i)
		}
		if e.CreatedDateTime.After(testNow()) {
			t.Fatalf("event %s created in the future", e.ID)
		}
	}
}

func TestErrorCodeReasonsCoverReports(t *testing.T) {
	reasons := map[string]bool{}
	for code, r := range ErrorCodeReasons() {
		reasons[r] = true
		if code == 0 {
			t.Error("error code 0 is success")
		}
	}
	for _, r := range authFailureReasons() {
		if !reasons[r.code] {
			t.Errorf("reason %s has no error code", r.code)
		}
	}
}

// TestEveryTotalPositiveEarly: at any time of day, even just after
// midnight, each total the exporter's tests check (successes and
// failures of every kind) is positive in the newest period, so a missing
// series cannot go unnoticed.
func TestEveryTotalPositiveEarly(t *testing.T) {
	type total struct {
		name  string
		value func(insights.Row) int64
	}
	totals := map[string][]total{
		insights.Authentications: {{"success", func(r insights.Row) int64 { return r.Successes }},
			{"failure", func(r insights.Row) int64 { return r.Attempts - r.Successes }}},
		insights.MFACompletions: {{"success", func(r insights.Row) int64 { return r.Successes }},
			{"failure", func(r insights.Row) int64 { return r.Attempts - r.Successes }}},
		insights.Summary: {{"sms success", func(r insights.Row) int64 { return r.SecurityTextCompletions }},
			{"sms failure", func(r insights.Row) int64 { return r.SecurityTextRequests - r.SecurityTextCompletions }},
			{"voice success", func(r insights.Row) int64 { return r.SecurityVoiceCompletions }},
			{"voice failure", func(r insights.Row) int64 { return r.SecurityVoiceRequests - r.SecurityVoiceCompletions }},
			{"completions", func(r insights.Row) int64 { return r.AuthenticationCompletions }},
			{"incomplete", func(r insights.Row) int64 { return r.AuthenticationRequests - r.AuthenticationCompletions }}},
		insights.SignUps:     {{"count", func(r insights.Row) int64 { return r.Count }}},
		insights.ActiveUsers: {{"count", func(r insights.Row) int64 { return r.Count }}},
	}
	for _, now := range []time.Time{time.Date(2026, 12, 2, 0, 0, 30, 0, time.UTC), time.Date(2026, 12, 6, 1, 18, 0, 0, time.UTC),
		time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC), testNow()} {
		for _, gran := range []insights.Granularity{insights.Daily, insights.Monthly} {
			for name, ts := range totals {
				r := insights.Report{Granularity: gran, Name: name}
				for _, tt := range ts {
					var sum int64
					for _, row := range Rows(DefaultTenantID, r, now, false) {
						if startOfDayOrMonth(gran, row.FactDate) == startOfDayOrMonth(gran, now) {
							sum += tt.value(row)
						}
					}
					if sum <= 0 {
						t.Errorf("%s at %s: %s sums to %d", r, now, tt.name, sum)
					}
				}
			}
		}
	}
}
