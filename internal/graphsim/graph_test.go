package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// TestServedEqualsRows is the contract tests elsewhere rely on: a plain
// client that follows every nextLink decodes exactly Rows().
func TestServedEqualsRows(t *testing.T) {
	s := startPinned(t, Options{PageSize: 40})
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			got, pages := fetchAll(t, c, reportURL(s, r), token)
			want := Rows(s.TenantID, r, testNow(), false)
			if len(got) != len(want) {
				t.Fatalf("%d rows served, Rows has %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("row %d:\n served %+v\n   Rows %+v", i, got[i], want[i])
				}
			}
			if wantPages := (len(want) + 39) / 40; len(pages) != wantPages {
				t.Errorf("%d pages, want %d", len(pages), wantPages)
			}
			for i, p := range pages {
				if !strings.Contains(p.Context, "$metadata#Collection(microsoft.graph.") {
					t.Errorf("page %d: @odata.context %q", i, p.Context)
				}
				if (p.NextLink == "") != (i == len(pages)-1) {
					t.Errorf("page %d of %d: nextLink %q", i, len(pages), p.NextLink)
				}
				if p.NextLink != "" && !strings.HasPrefix(p.NextLink, s.GraphURL+r.Path()+"?") {
					t.Errorf("page %d: nextLink %q is not absolute on the report path", i, p.NextLink)
				}
			}
		})
	}
}

func TestWireQuirks(t *testing.T) {
	s := startPinned(t, Options{PageSize: 1000})
	token := getToken(t, s, s.TenantID)
	tests := []struct {
		report        insights.Report
		want, notWant []string
	}{
		{insights.Report{Granularity: insights.Daily, Name: insights.Authentications}, []string{`"appid":"`}, []string{`"appId"`}},
		{insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}, []string{`"appId":"`, `"newDimension":"x"`, `"count":null`}, []string{`"appid"`}},
		{insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsers}, []string{`"@odata.type":"#microsoft.graph.dailyInactiveUsersMetric"`, `"appId":null`}, nil},
		{insights.Report{Granularity: insights.Monthly, Name: insights.InactiveUsersByApplication}, []string{`"@odata.type":"#microsoft.graph.monthlyInactiveUsersByApplicationMetric"`, `"inactiveCalendarMonthCount":`}, []string{`inactive1DayCount`}},
		{insights.Report{Granularity: insights.Daily, Name: insights.Summary}, []string{`"securityVoiceRequests":null`, `"os":"WINDOWS"`}, nil},
		{insights.Report{Granularity: insights.Daily, Name: insights.SignUps}, []string{`"browser":null`, `"os":"MacOs"`}, nil},
		{insights.Report{Granularity: insights.Daily, Name: insights.MFATelecomFraud}, []string{`"telecomBlockedUserCount":null`}, nil},
		{insights.Report{Granularity: insights.Monthly, Name: insights.Requests}, []string{`"requestCount":`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.report.String(), func(t *testing.T) {
			resp := get(t, s.Client(), reportURL(s, tt.report), token)
			for _, w := range tt.want {
				if !strings.Contains(string(resp.body), w) {
					t.Errorf("body lacks %s", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(resp.body), w) {
					t.Errorf("body has %s", w)
				}
			}
		})
	}
}

func TestFilter(t *testing.T) {
	s := startPinned(t, Options{PageSize: 25})
	token := getToken(t, s, s.TenantID)
	r := insights.Report{Granularity: insights.Daily, Name: insights.Authentications}
	all := Rows(s.TenantID, r, testNow(), false)
	day := func(n int) time.Time { return startOfDay(testNow()).AddDate(0, 0, -n) }
	tests := []struct {
		name, key, filter string
		keep              func(insights.Row) bool
	}{
		{"ge", "$filter", "factDate ge " + day(2).Format(time.DateOnly),
			func(r insights.Row) bool { return !r.FactDate.Before(day(2)) }},
		{"gt and lt", "$filter", "factDate gt " + day(10).Format(time.DateOnly) + " and factDate lt " + day(5).Format(time.DateOnly),
			func(r insights.Row) bool { return r.FactDate.After(day(10)) && r.FactDate.Before(day(5)) }},
		{"eq, encoded key", "%24filter", "factDate eq " + day(0).Format(time.DateOnly),
			func(r insights.Row) bool { return r.FactDate.Equal(day(0)) }},
		{"le, upper-case AND", "$filter", "factDate le " + day(28).Format(time.DateOnly) + " AND os eq 'Windows'",
			func(r insights.Row) bool { return !r.FactDate.After(day(28)) && r.OS == "Windows" }},
		{"appid eq", "$filter", "appid eq '" + all[0].AppID + "'",
			func(row insights.Row) bool { return row.AppID == all[0].AppID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := reportURL(s, r) + "?" + tt.key + "=" + escapeValue(tt.filter)
			got, pages := fetchAll(t, s.Client(), u, token)
			var want []insights.Row
			for _, row := range all {
				if tt.keep(row) {
					want = append(want, row)
				}
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%d rows served, want %d", len(got), len(want))
			}
			for _, p := range pages[:len(pages)-1] {
				if !strings.Contains(p.NextLink, "$filter="+escapeValue(tt.filter)) {
					t.Errorf("nextLink %q lost the filter", p.NextLink)
				}
			}
		})
	}
	for _, bad := range []string{
		"factDate ge '2026-03-01'", "factDate ge 2026-13-01", "factDate ne 2026-03-01",
		"factDate ge 2026-03-01 or factDate le 2026-03-02", "startswith(os,'W')", "os gt 'A'",
		"count eq 1", "factDate ge", "factDate ge 2026-03-01 and", "os eq 'Windows",
	} {
		t.Run("rejects "+bad, func(t *testing.T) {
			resp := get(t, s.Client(), reportURL(s, r)+"?$filter="+escapeValue(bad), token)
			if resp.StatusCode != http.StatusBadRequest || decodeGraphErr(t, resp).Error.Code != "BadRequest" {
				t.Errorf("HTTP %d %s, want 400 BadRequest", resp.StatusCode, resp.body)
			}
		})
	}
}

func TestTopCountAndItems(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	r := insights.Report{Granularity: insights.Daily, Name: insights.SignUps}
	rows := Rows(s.TenantID, r, testNow(), false)

	t.Run("$top sets the page size", func(t *testing.T) {
		got, pages := fetchAll(t, s.Client(), reportURL(s, r)+"?$top=150&$count=true", token)
		if len(got) != len(rows) || len(pages) != (len(rows)+149)/150 {
			t.Errorf("%d rows in %d pages, want %d in pages of 150", len(got), len(pages), len(rows))
		}
		if pages[0].Count == nil || *pages[0].Count != len(rows) {
			t.Errorf("@odata.count %v, want %d", pages[0].Count, len(rows))
		}
	})
	t.Run("$count", func(t *testing.T) {
		resp := get(t, s.Client(), reportURL(s, r)+"/$count", token)
		if resp.StatusCode != http.StatusOK || string(resp.body) != strconv.Itoa(len(rows)) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("HTTP %d %q (%s), want %d", resp.StatusCode, resp.body, resp.Header.Get("Content-Type"), len(rows))
		}
	})
	t.Run("item", func(t *testing.T) {
		resp := get(t, s.Client(), reportURL(s, r)+"/3", token)
		var w wireRow
		if resp.StatusCode != http.StatusOK || jsonUnmarshal(resp.body, &w) != nil || !reflect.DeepEqual(w.row(t), rows[2]) {
			t.Errorf("HTTP %d %s, want row 3 %+v", resp.StatusCode, resp.body, rows[2])
		}
		if resp = get(t, s.Client(), reportURL(s, r)+"/99999", token); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown item: HTTP %d", resp.StatusCode)
		}
	})
	for _, bad := range []string{"$top=0", "$top=x", "$count=maybe", "$skiptoken=%%%", "$skiptoken=bm9wZQ", "$orderby=factDate"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if resp := get(t, s.Client(), reportURL(s, r)+"?"+bad, token); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("HTTP %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	s := startPinned(t, Options{PageSize: 1000})
	token := getToken(t, s, s.TenantID)
	tests := []struct {
		name, path, token, method string
		status                    int
		want                      string // in the body
	}{
		{"lower case, as Woodgrove calls it", "/beta/reports/userinsights/daily/activeusers", token, "GET", 200, `"value":[`},
		{"upper case", "/BETA/REPORTS/USERINSIGHTS/MONTHLY/MFAREGISTEREDUSERS", token, "GET", 200, `"mfaType"`},
		{"root container", "/beta/reports/userInsights", token, "GET", 200, `"id":"userInsights"`},
		{"daily container", "/beta/reports/userInsights/daily", token, "GET", 200, `"id":"daily"`},
		{"unknown report", "/beta/reports/userInsights/daily/fooBar", token, "GET", 400, "Resource not found for the segment 'fooBar'."},
		{"monthly only report under daily", "/beta/reports/userInsights/daily/requests", token, "GET", 400, "segment 'requests'"},
		{"unknown granularity", "/beta/reports/userInsights/weekly/activeUsers", token, "GET", 400, "segment 'weekly'"},
		{"v1.0 has no userInsights", "/v1.0/reports/userInsights/daily/activeUsers", token, "GET", 400, "segment 'userInsights'"},
		{"no token", "/beta/reports/userInsights/daily/activeUsers", "", "GET", 401, "InvalidAuthenticationToken"},
		{"unknown token", "/beta/reports/userInsights/daily/activeUsers", "forged", "GET", 401, "InvalidAuthenticationToken"},
		{"write verb", "/beta/reports/userInsights/daily/activeUsers", token, "DELETE", 405, "BadRequest"},
		{"not a Graph path", "/something", token, "GET", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			req.Header.Set("client-request-id", "my-correlation")
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r := readAll(t, resp)
			if r.StatusCode != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("HTTP %d %s, want %d with %s", r.StatusCode, r.body, tt.status, tt.want)
			}
			if tt.status == 404 {
				return
			}
			if got := r.Header.Get("client-request-id"); got != "my-correlation" {
				t.Errorf("client-request-id %q not echoed", got)
			}
			if r.Header.Get("request-id") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", r.Header)
			}
			if tt.status >= 400 {
				if e := decodeGraphErr(t, r); e.Error.InnerError.ClientRequestID != "my-correlation" || e.Error.InnerError.RequestID == "" {
					t.Errorf("innerError %+v", e.Error.InnerError)
				}
			}
		})
	}
}

func TestLagWithholdsToday(t *testing.T) {
	s := startPinned(t, Options{Lag: true, PageSize: 1000})
	token := getToken(t, s, s.TenantID)
	today := startOfDay(testNow())
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			got, _ := fetchAll(t, s.Client(), reportURL(s, r), token)
			if !reflect.DeepEqual(got, Rows(s.TenantID, r, testNow(), true)) {
				t.Fatal("served rows differ from Rows(lag=true)")
			}
			sawToday := false
			for _, row := range got {
				sawToday = sawToday || row.FactDate.Equal(today)
			}
			if sawToday {
				t.Errorf("a row of today was served")
			}
			if r.Granularity == insights.Monthly && !reflect.DeepEqual(got, Rows(s.TenantID, r, testNow(), false)) {
				t.Error("lag changed a monthly report")
			}
		})
	}
}

// TestPagingKeepsSnapshot: a paging run that crosses midnight still reads
// the rows of its first page's time.
func TestPagingKeepsSnapshot(t *testing.T) {
	var clock atomicTime
	clock.Store(startOfDay(testNow()).Add(24*time.Hour - time.Second))
	s := startSim(t, Options{Now: clock.Load, PageSize: 100})
	token := getToken(t, s, s.TenantID)
	r := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	first := get(t, s.Client(), reportURL(s, r), token)
	var p page
	if err := jsonUnmarshal(first.body, &p); err != nil || p.NextLink == "" {
		t.Fatalf("first page: %v, nextLink %q", err, p.NextLink)
	}
	before := clock.Load()
	clock.Store(before.Add(time.Hour))
	rest, _ := fetchAll(t, s.Client(), p.NextLink, token)
	want := Rows(s.TenantID, r, before, false)[len(p.Value):]
	if !reflect.DeepEqual(rest, want) {
		t.Errorf("pages after midnight differ from the snapshot of the first page")
	}
}

func TestTenantsHaveTheirOwnData(t *testing.T) {
	other := "0f0e0d0c-0b0a-4090-8070-605040302010"
	s := startPinned(t, Options{Tenants: []string{other}, PageSize: 1000})
	r := insights.Report{Granularity: insights.Monthly, Name: insights.Requests}
	for _, tenant := range []string{s.TenantID, other} {
		got, _ := fetchAll(t, s.Client(), reportURL(s, r), getToken(t, s, tenant))
		if !reflect.DeepEqual(got, Rows(tenant, r, testNow(), false)) {
			t.Errorf("tenant %s: served rows differ from its Rows", tenant)
		}
	}
	st := s.Stats()
	if st.Requests[0].Tenant != s.TenantID || st.Requests[1].Tenant != other {
		t.Errorf("request log tenants %q, %q", st.Requests[0].Tenant, st.Requests[1].Tenant)
	}
}

func TestStats(t *testing.T) {
	s := startPinned(t, Options{PageSize: 100})
	token := getToken(t, s, s.TenantID)
	r := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	_, pages := fetchAll(t, s.Client(), reportURL(s, r)+"?$filter="+url.QueryEscape("factDate ge 2026-01-01"), token)
	get(t, s.Client(), reportURL(s, r), "")
	st := s.Stats()
	want := Stats{GraphRequests: len(pages) + 1, Authorized: len(pages), TokenRequests: 1}
	if st.GraphRequests != want.GraphRequests || st.Authorized != want.Authorized || st.TokenRequests != want.TokenRequests {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if st.ByPath[r.Path()] != len(pages)+1 || st.Scopes["https://graph.microsoft.com/.default openid offline_access profile"] != 1 {
		t.Errorf("ByPath %v, Scopes %v", st.ByPath, st.Scopes)
	}
	if len(st.Requests) != len(pages)+1 || !strings.Contains(st.Requests[0].Query, "filter") || st.Requests[len(pages)].Authorized {
		t.Errorf("request log %+v", st.Requests)
	}
	s.ResetStats()
	if st := s.Stats(); st.GraphRequests != 0 || len(st.ByPath) != 0 || len(st.Requests) != 0 {
		t.Errorf("after reset: %+v", st)
	}
}

func TestThrottle(t *testing.T) {
	var wall atomicTime
	wall.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := startPinned(t, Options{Throttle: true, Wall: wall.Load})
	token := getToken(t, s, s.TenantID)
	u := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.UserCount})
	step := func() { wall.Store(wall.Load().Add(1500 * time.Millisecond)) }
	for i := range throttleLimit {
		if resp := get(t, s.Client(), u, token); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: HTTP %d", i+1, resp.StatusCode)
		}
		step()
	}
	resp := get(t, s.Client(), u, token)
	if resp.StatusCode != http.StatusTooManyRequests || decodeGraphErr(t, resp).Error.Code != "TooManyRequests" {
		t.Fatalf("request 6 within 10 s: HTTP %d %s", resp.StatusCode, resp.body)
	}
	// The first request was at 0 s, now is 7.5 s: room again at 10 s.
	if got := resp.Header.Get("Retry-After"); got != "2.500" {
		t.Errorf("Retry-After %q, want 2.500", got)
	}
	wall.Store(wall.Load().Add(2500 * time.Millisecond))
	if resp := get(t, s.Client(), u, token); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: HTTP %d", resp.StatusCode)
	}
	if st := s.Stats(); st.Throttled != 1 || st.GraphRequests != throttleLimit+2 {
		t.Errorf("stats %+v", st)
	}
}

func ExampleRows() {
	now := time.Date(2026, time.March, 18, 12, 0, 0, 0, time.UTC)
	rows := Rows(DefaultTenantID, insights.Report{Granularity: insights.Daily, Name: insights.UserCount}, now, false)
	fmt.Println(len(rows), rows[0].FactDate.Format(time.DateOnly), rows[len(rows)-1].FactDate.Format(time.DateOnly))
	// Output: 180 2026-02-17 2026-03-18
}
