package graphsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// getWith fetches u with the bearer token and extra headers.
func getWith(t *testing.T, c *http.Client, u, token string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readAll(t, resp)
}

// logPage is a page of an activity log as a plain client decodes it.
type logPage struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

// fetchLog follows nextLinks from u and returns the items and the pages.
func fetchLog(t *testing.T, c *http.Client, u, token string) ([]json.RawMessage, []logPage) {
	t.Helper()
	var items []json.RawMessage
	var pages []logPage
	for u != "" {
		if len(pages) > 200 {
			t.Fatalf("more than 200 pages: nextLink loop at %s", u)
		}
		resp := get(t, c, u, token)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d: %s", u, resp.StatusCode, resp.body)
		}
		var p logPage
		if err := json.Unmarshal(resp.body, &p); err != nil {
			t.Fatalf("GET %s: decode: %v", u, err)
		}
		items = append(items, p.Value...)
		pages = append(pages, p)
		u = p.NextLink
	}
	return items, pages
}

func decodeAll[E any](t *testing.T, items []json.RawMessage) []E {
	t.Helper()
	out := make([]E, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			t.Fatalf("item %d: %v: %s", i, err, it)
		}
	}
	return out
}

func signInsURL(s *Sim, query string) string { return s.GraphURL + "/auditLogs/signIns" + query }

// TestSignInsServedEqualsOracle: paging returns exactly SignInEvents,
// newest first, without duplicates, in pages of LogPageSize.
func TestSignInsServedEqualsOracle(t *testing.T) {
	s := startPinned(t, Options{LogPageSize: 700})
	token := getToken(t, s, s.TenantID)
	items, pages := fetchLog(t, s.Client(), signInsURL(s, ""), token)
	got := decodeAll[SignInEvent](t, items)
	want := s.SignInEvents(s.TenantID)
	if len(want) < 5000 || len(got) != len(want) {
		t.Fatalf("%d sign-ins served, oracle has %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range want {
		w := want[i]
		w.VisibleAt = time.Time{}
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("sign-in %d:\n served %+v\n oracle %+v", i, got[i], w)
		}
		if seen[got[i].ID] {
			t.Fatalf("duplicate %s", got[i].ID)
		}
		seen[got[i].ID] = true
		if i > 0 && got[i].CreatedDateTime.After(got[i-1].CreatedDateTime) {
			t.Fatalf("sign-in %d is newer than the one before", i)
		}
	}
	if n := (len(want) + 699) / 700; len(pages) != n {
		t.Errorf("%d pages, want %d", len(pages), n)
	}
	for i, p := range pages {
		if p.Context != s.GraphURL+"/$metadata#auditLogs/signIns" {
			t.Errorf("page %d: @odata.context %q", i, p.Context)
		}
		if p.NextLink != "" && !strings.HasPrefix(p.NextLink, s.GraphURL+"/auditLogs/signIns?") ||
			!strings.Contains(p.NextLink, "$skiptoken=") && i < len(pages)-1 {
			t.Errorf("page %d: nextLink %q", i, p.NextLink)
		}
	}
}

func TestSignUpsServedEqualsOracle(t *testing.T) {
	s := startPinned(t, Options{LogPageSize: 100, LogRetention: MaxLogRetention})
	token := getToken(t, s, s.TenantID)
	items, _ := fetchLog(t, s.Client(), s.GraphURL+"/auditLogs/signUps", token)
	got := decodeAll[SignUpEvent](t, items)
	want := s.SignUpEvents(s.TenantID)
	if len(want) < 300 || len(got) != len(want) {
		t.Fatalf("%d sign-ups served, oracle has %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.VisibleAt = time.Time{}
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("sign-up %d:\n served %+v\n oracle %+v", i, got[i], w)
		}
	}
	if !slices.ContainsFunc(items, func(m json.RawMessage) bool { return strings.Contains(string(m), `"userId":null`) }) {
		t.Error(`no failed sign-up with "userId":null`)
	}
}

// TestSignInWireQuirks: the quirks the reader must survive are on the wire.
func TestSignInWireQuirks(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	items, _ := fetchLog(t, s.Client(), signInsURL(s, ""), token)
	var all strings.Builder
	for _, it := range items {
		all.Write(it)
		all.WriteByte('\n')
	}
	body := all.String()
	for _, want := range []string{`"operatingSystem":null`, `"operatingSystem":""`, `"browser":null`, `"location":null`,
		`"countryOrRegion":"UK"`, `"countryOrRegion":""`, `"operatingSystem":"MacOs"`, `"operatingSystem":"Ios"`,
		`"newProperty":{`, `"failureReason":null`, `"errorCode":50126`, `"errorCode":500121`,
		`"authenticationRequirement":"multiFactorAuthentication"`, `"signInEventTypes":["interactiveUser"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("no sign-in has %s", want)
		}
	}
	absent := 0
	for _, it := range items {
		if !strings.Contains(string(it), `"location":`) {
			absent++
		}
	}
	if absent == 0 {
		t.Error("no sign-in without a location")
	}
}

func TestLogFilter(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	all := s.SignInEvents(s.TenantID)
	from, to := testNow().Add(-50*time.Hour), testNow().Add(-26*time.Hour)
	good := []struct {
		filter string
		keep   func(time.Time) bool
	}{
		{"createdDateTime ge " + from.Format(time.RFC3339), func(t time.Time) bool { return !t.Before(from) }},
		{"createdDateTime ge " + from.Format(time.RFC3339) + " and createdDateTime le " + to.Format(time.RFC3339),
			func(t time.Time) bool { return !t.Before(from) && !t.After(to) }},
		{"CreatedDateTime GE 2026-03-16T10:00:00.5Z and createdDateTime le 2026-03-17T00:00:00.0000000Z",
			func(t time.Time) bool {
				return !t.Before(time.Date(2026, 3, 16, 10, 0, 0, 5e8, time.UTC)) && !t.After(time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC))
			}},
		{"createdDateTime le 2026-03-12T01:00:00+01:00", func(t time.Time) bool { return !t.After(time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)) }},
	}
	for _, tt := range good {
		t.Run(tt.filter, func(t *testing.T) {
			items, _ := fetchLog(t, s.Client(), signInsURL(s, "?$filter="+url.QueryEscape(tt.filter)), token)
			got := decodeAll[SignInEvent](t, items)
			var want []string
			for _, e := range all {
				if tt.keep(e.CreatedDateTime) {
					want = append(want, e.ID)
				}
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if len(want) == 0 || !slices.Equal(ids, want) {
				t.Errorf("%d sign-ins, want %d", len(ids), len(want))
			}
		})
	}
	bad := []string{
		"createdDateTime lt 2026-03-17T00:00:00Z", "createdDateTime gt 2026-03-16T00:00:00Z",
		"createdDateTime ge '2026-03-16T00:00:00Z'", "createdDateTime ge 2026-03-16", "appId eq 'x'",
		"createdDateTime ne 2026-03-16T00:00:00Z", "createdDateTime ge 2026-03-16T00:00:00Z or createdDateTime lt 2026-03-17T00:00:00Z",
		"createdDateTime ge 2026-03-16T00:00:00Z and", "createdDateTime ge", "(createdDateTime ge 2026-03-16T00:00:00Z)",
		"createdDateTime ge 2026-03-16T00:00:00Z and status/errorCode eq 0", "signInEventTypes/any(t: t eq 'interactiveUser')",
	}
	for _, f := range bad {
		t.Run("bad "+f, func(t *testing.T) {
			resp := get(t, s.Client(), signInsURL(s, "?$filter="+url.QueryEscape(f)), token)
			e := decodeGraphErr(t, resp)
			if resp.StatusCode != http.StatusBadRequest || e.Error.Code != "BadRequest" ||
				!strings.HasPrefix(e.Error.Message, "Invalid filter clause") {
				t.Errorf("HTTP %d %s, want 400 BadRequest Invalid filter clause", resp.StatusCode, resp.body)
			}
		})
	}
}

// TestLogSelectTopOrder: with AcceptSelect, $select sends only the
// selected properties; $top, $orderby and nextLinks keep the options.
func TestLogSelectTopOrder(t *testing.T) {
	s := startPinned(t, Options{AcceptSelect: true})
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	f := "createdDateTime ge 2026-03-17T00:00:00Z"
	u := signInsURL(s, "?$filter="+url.QueryEscape(f)+"&$select=id,createdDateTime,status,location&$top=50")
	resp := get(t, c, u, token)
	var p logPage
	if err := json.Unmarshal(resp.body, &p); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.body)
	}
	if len(p.Value) != 50 {
		t.Errorf("%d items on a $top=50 page", len(p.Value))
	}
	for _, it := range p.Value {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(it, &m)
		for k := range m {
			if !slices.Contains([]string{"id", "createdDateTime", "status", "location"}, k) {
				t.Fatalf("unselected property %s in %s", k, it)
			}
		}
		if _, ok := m["status"]; !ok {
			t.Fatalf("no status in %s", it)
		}
	}
	next, err := url.Parse(p.NextLink)
	if err != nil {
		t.Fatal(err)
	}
	q := next.Query()
	if q.Get("$filter") != f || q.Get("$select") != "id,createdDateTime,status,location" || q.Get("$top") != "50" {
		t.Errorf("nextLink %s lost the options", p.NextLink)
	}
	if !strings.HasSuffix(p.Context, "#auditLogs/signIns(id,createdDateTime,status,location)") {
		t.Errorf("@odata.context %s", p.Context)
	}
	// The nextLink run with $top=50 yields the filtered set once.
	items, pages := fetchLog(t, c, u, token)
	want := 0
	for _, e := range s.SignInEvents(s.TenantID) {
		if !e.CreatedDateTime.Before(time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)) {
			want++
		}
	}
	if len(items) != want || len(pages) != (want+49)/50 {
		t.Errorf("%d items in %d pages, want %d", len(items), len(pages), want)
	}
	asc := decodeAll[SignInEvent](t, first(t, c, signInsURL(s, "?$orderby="+url.QueryEscape("createdDateTime asc")+"&$top=3"), token))
	all := s.SignInEvents(s.TenantID)
	if len(asc) != 3 || asc[0].ID != all[len(all)-1].ID {
		t.Errorf("$orderby asc does not start with the oldest")
	}
	for _, q := range []string{"$top=0", "$top=1001", "$top=abc", "$select=id,nope", "$orderby=userId", "$expand=x", "$skiptoken=%%%"} {
		resp := get(t, c, signInsURL(s, "?"+q), token)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", q, resp.StatusCode)
		}
	}
	if resp := get(t, c, signInsURL(s, "?$top=1000"), token); resp.StatusCode != 200 {
		t.Errorf("$top=1000: HTTP %d", resp.StatusCode)
	}
}

// first returns the items of the first page at u.
func first(t *testing.T, c *http.Client, u, token string) []json.RawMessage {
	t.Helper()
	resp := get(t, c, u, token)
	var p logPage
	if err := json.Unmarshal(resp.body, &p); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d %s", u, resp.StatusCode, resp.body)
	}
	return p.Value
}

// TestLatencyAndRetention: an event is served from VisibleAt on; late
// events arrive hours later; nothing older than the retention is served.
func TestLatencyAndRetention(t *testing.T) {
	var clock atomicTime
	clock.Store(testNow())
	opts := Options{Now: clock.Load, LateLogShare: 0.2, AcceptSelect: true}
	s := startSim(t, opts)
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	ids := func() map[string]bool {
		items, _ := fetchLog(t, c, signInsURL(s, "?$select=id"), token)
		out := map[string]bool{}
		for _, e := range decodeAll[SignInEvent](t, items) {
			out[e.ID] = true
		}
		return out
	}
	now := ids()
	created := SignIns(s.TenantID, testNow(), opts)
	var hidden, late []SignInEvent
	for _, e := range created {
		if now[e.ID] != !e.VisibleAt.After(testNow()) {
			t.Fatalf("%s created %s visible at %s: served %v at %s", e.ID, e.CreatedDateTime, e.VisibleAt, now[e.ID], testNow())
		}
		lat := e.VisibleAt.Sub(e.CreatedDateTime)
		if lat < DefaultLatencyMin || lat > DefaultLateMax {
			t.Fatalf("latency %s", lat)
		}
		if !now[e.ID] {
			hidden = append(hidden, e)
			if lat >= DefaultLateMin {
				late = append(late, e)
			}
		}
	}
	if len(late) == 0 || len(hidden) == len(late) {
		t.Fatalf("%d hidden sign-ins, %d of them late", len(hidden), len(late))
	}
	clock.Store(testNow().Add(5 * time.Hour))
	later := ids()
	for _, e := range hidden {
		if !later[e.ID] {
			t.Errorf("%s (visible at %s) still hidden five hours later", e.ID, e.VisibleAt)
		}
	}
	// Retention: 7 days by default.
	all := s.SignInEvents(s.TenantID)
	oldest := all[len(all)-1].CreatedDateTime
	cut := clock.Load().Add(-DefaultLogRetention)
	if oldest.Before(cut) || oldest.After(cut.Add(time.Hour)) {
		t.Errorf("oldest sign-in %s, retention starts %s", oldest, cut)
	}
	wide := New(Options{Now: testNow, LogRetention: 90 * 24 * time.Hour})
	evs := wide.SignInEvents(DefaultTenantID)
	if o := evs[len(evs)-1].CreatedDateTime; o.Before(testNow().Add(-MaxLogRetention)) || o.After(testNow().Add(-MaxLogRetention+time.Hour)) {
		t.Errorf("oldest sign-in %s with a 90-day retention, want about 30 days back", o)
	}
}

func TestUserCount(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	u := s.GraphURL + "/users/$count"
	resp := get(t, c, u, token)
	if e := decodeGraphErr(t, resp); resp.StatusCode != 400 || e.Error.Code != "Request_BadRequest" {
		t.Errorf("without ConsistencyLevel: HTTP %d %s", resp.StatusCode, resp.body)
	}
	resp = getWith(t, c, u, token, "ConsistencyLevel", "eventual")
	if resp.StatusCode != 200 || string(resp.body) != strconv.FormatInt(UserCount(s.TenantID, testNow()), 10) ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("HTTP %d %q (%s), want %d", resp.StatusCode, resp.body, resp.Header.Get("Content-Type"), UserCount(s.TenantID, testNow()))
	}
	users := Users(s.TenantID, testNow())
	for _, tt := range []struct {
		op string
		at time.Time
	}{{"le", testNow().Add(-30 * day)}, {"lt", testNow().Add(-3 * day)}, {"le", testNow()}} {
		var want int
		for _, us := range users {
			l := us.LastSuccessfulSignIn
			if !l.IsZero() && (l.Before(tt.at) || tt.op == "le" && l.Equal(tt.at)) {
				want++
			}
		}
		f := "signInActivity/lastSuccessfulSignInDateTime " + tt.op + " " + tt.at.Format(time.RFC3339)
		resp := getWith(t, c, u+"?$filter="+url.QueryEscape(f), token, "ConsistencyLevel", "eventual")
		if resp.StatusCode != 200 || string(resp.body) != strconv.Itoa(want) || want == 0 || want == len(users) {
			t.Errorf("%s: HTTP %d %s, want %d of %d", f, resp.StatusCode, resp.body, want, len(users))
		}
	}
	resp = getWith(t, c, u+"?$filter="+url.QueryEscape("displayName eq 'x'"), token, "ConsistencyLevel", "eventual")
	if resp.StatusCode != 400 {
		t.Errorf("bad filter: HTTP %d", resp.StatusCode)
	}

	unlicensed := startPinned(t, Options{SignInActivityUnlicensed: true})
	token = getToken(t, unlicensed, unlicensed.TenantID)
	f := "?$filter=" + url.QueryEscape("signInActivity/lastSuccessfulSignInDateTime le 2026-02-01T00:00:00Z")
	resp = getWith(t, unlicensed.Client(), unlicensed.GraphURL+"/users/$count"+f, token, "ConsistencyLevel", "eventual")
	e := decodeGraphErr(t, resp)
	if resp.StatusCode != 403 || e.Error.Code != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" ||
		e.Error.Message != "Neither tenant is B2C or tenant doesn't have premium license" {
		t.Errorf("unlicensed: HTTP %d %s", resp.StatusCode, resp.body)
	}
	resp = getWith(t, unlicensed.Client(), unlicensed.GraphURL+"/users/$count", token, "ConsistencyLevel", "eventual")
	if resp.StatusCode != 200 {
		t.Errorf("unlicensed, no filter: HTTP %d", resp.StatusCode)
	}
}

func TestRegistrationDetails(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	u := s.GraphURL + "/reports/authenticationMethods/userRegistrationDetails"
	items, pages := fetchLog(t, s.Client(), u, token)
	got := decodeAll[UserRegistration](t, items)
	users := Users(s.TenantID, testNow())
	if len(got) != len(users) || len(pages) != (len(users)+999)/1000 {
		t.Fatalf("%d registrations in %d pages, %d users", len(got), len(pages), len(users))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], users[i].Registration) {
			t.Fatalf("registration %d:\n served %+v\n oracle %+v", i, got[i], users[i].Registration)
		}
	}
	if !strings.Contains(string(items[0]), `.0000000Z"`) {
		t.Errorf("lastUpdatedDateTime without 7 fractional digits: %s", items[0])
	}
	// Only $filter (and $orderby) are documented: $select and $top are
	// refused. graphsim implements neither $filter nor $orderby here, so
	// it refuses them too (stricter than Graph).
	for q, want := range map[string]string{
		"$select=id,methodsRegistered": notAllowed("$select").Error(),
		"$top=5":                       notAllowed("$top").Error(),
		"$filter=" + url.QueryEscape("isMfaRegistered eq true"): "Invalid filter clause",
		"$orderby=userPrincipalName":                            "graphsim does not implement",
	} {
		resp := get(t, s.Client(), u+"?"+q, token)
		if e := decodeGraphErr(t, resp); resp.StatusCode != 400 || e.Error.Code != "BadRequest" || !strings.HasPrefix(e.Error.Message, want) {
			t.Errorf("%s: HTTP %d %s, want 400 %q", q, resp.StatusCode, resp.body, want)
		}
	}
}

func TestRetirement(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	report := reportURL(s, daily(insights.ActiveUsers))
	if rows, _ := fetchAll(t, c, report, token); len(rows) == 0 {
		t.Fatal("no rows before the retirement")
	}
	const msg = "Resource not found for the segment 'userInsights'."
	for _, tt := range []struct {
		mode   Retirement
		status int
	}{{RetiredEmpty, 200}, {RetiredBadRequest, 400}, {RetiredNotFound, 404}, {RetiredGone, 410}, {NotRetired, 200}} {
		s.SetRetirement(tt.mode)
		for _, r := range []insights.Report{daily(insights.Authentications), monthly(insights.MFARegisteredUsers)} {
			resp := get(t, c, reportURL(s, r), token)
			switch {
			case resp.StatusCode != tt.status:
				t.Errorf("mode %d %s: HTTP %d, want %d", tt.mode, r, resp.StatusCode, tt.status)
			case tt.status != 200:
				if e := decodeGraphErr(t, resp); e.Error.Code != "BadRequest" || e.Error.Message != msg {
					t.Errorf("mode %d: %s", tt.mode, resp.body)
				}
			case tt.mode == RetiredEmpty && !strings.Contains(string(resp.body), `"value":[]`):
				t.Errorf("empty mode: %s", resp.body)
			case tt.mode == NotRetired && strings.Contains(string(resp.body), `"value":[]`):
				t.Errorf("not retired: %s", resp.body)
			}
		}
		if resp := get(t, c, signInsURL(s, "?$top=1"), token); resp.StatusCode != 200 || strings.Contains(string(resp.body), `"value":[]`) {
			t.Errorf("mode %d: signIns HTTP %d %s", tt.mode, resp.StatusCode, resp.body)
		}
	}
	retired := startPinned(t, Options{Retirement: RetiredBadRequest})
	if resp := get(t, retired.Client(), reportURL(retired, daily(insights.SignUps)), getToken(t, retired, retired.TenantID)); resp.StatusCode != 400 {
		t.Errorf("Options.Retirement: HTTP %d", resp.StatusCode)
	}
}

func TestEvolvableEnumsAndFactDateTime(t *testing.T) {
	s := startPinned(t, Options{EvolvableEnums: true, FactDateTime: true})
	token := getToken(t, s, s.TenantID)
	u := reportURL(s, daily(insights.Authentications)) + "?$top=1000"
	plain := string(get(t, s.Client(), u, token).body)
	preferred := string(getWith(t, s.Client(), u, token, "Prefer", "odata.maxpagesize=1000, include-unknown-enum-members").body)
	if !strings.Contains(plain, `"reasonCode":"unknownFutureValue"`) || strings.Contains(plain, `"userError"`) || strings.Contains(plain, `"configError"`) {
		t.Error("without Prefer: userError/configError not sent as unknownFutureValue")
	}
	if !strings.Contains(preferred, `"reasonCode":"userError"`) || strings.Contains(preferred, "unknownFutureValue") {
		t.Error("with Prefer: members not sent")
	}
	if !strings.Contains(plain, `"factDate":"2026-03-18T00:00:00Z"`) {
		t.Error("factDate not a date-time")
	}
	d := startPinned(t, Options{})
	body := string(get(t, d.Client(), reportURL(d, daily(insights.Authentications))+"?$top=1000", getToken(t, d, d.TenantID)).body)
	if !strings.Contains(body, `"userError"`) || !strings.Contains(body, `"factDate":"2026-03-18"`) {
		t.Error("default: members or plain dates missing")
	}
}

func TestLogFaultsAndPaths(t *testing.T) {
	s := startPinned(t, Options{LogPageSize: 200})
	token := getToken(t, s, s.TenantID)
	c := s.Client()
	report := reportURL(s, daily(insights.ActiveUsers))
	s.SetFault(Fault{Kind: FaultStatus, Status: 429, RetryAfter: "1.5", Report: "signIns"})
	if resp := get(t, c, signInsURL(s, ""), token); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1.5" {
		t.Errorf("signIns under a signIns fault: HTTP %d", resp.StatusCode)
	}
	if resp := get(t, c, report, token); resp.StatusCode != 200 {
		t.Errorf("report under a signIns fault: HTTP %d", resp.StatusCode)
	}
	s.SetFault(Fault{Kind: FaultStatus, Status: 503, Report: "auditLogs/signUps"})
	if resp := get(t, c, s.GraphURL+"/auditLogs/signUps", token); resp.StatusCode != 503 {
		t.Errorf("signUps: HTTP %d", resp.StatusCode)
	}
	s.SetFault(Fault{Kind: FaultMalformedJSON, Report: "userRegistrationDetails"})
	resp := get(t, c, s.GraphURL+"/reports/authenticationMethods/userRegistrationDetails", token)
	if json.Valid(resp.body) {
		t.Error("malformed fault sent valid JSON")
	}
	s.SetFault(Fault{Kind: FaultNextLinkLoop})
	p := first(t, c, signInsURL(s, "?$top=5"), token)
	var pg logPage
	_ = json.Unmarshal(get(t, c, signInsURL(s, "?$top=5"), token).body, &pg)
	if len(p) != 5 || pg.NextLink != signInsURL(s, "?$top=5") {
		t.Errorf("nextLink loop: %q", pg.NextLink)
	}
	s.SetFault(Fault{Kind: FaultEmpty, Report: "users"})
	if resp := getWith(t, c, s.GraphURL+"/users/$count", token, "ConsistencyLevel", "eventual"); string(resp.body) != "0" {
		t.Errorf("empty users/$count: %s", resp.body)
	}
	s.SetFault(Fault{Kind: FaultWrongTypes, Report: "signIns"})
	if !strings.Contains(string(get(t, c, signInsURL(s, "?$top=3"), token).body), `"errorCode":"abc"`) {
		t.Error("wrong types: errorCode not a string")
	}
	s.SetFault(Fault{Kind: FaultTruncatedJSON, Report: "signIns"})
	if json.Valid(get(t, c, signInsURL(s, ""), token).body) {
		t.Error("truncated fault sent valid JSON")
	}
	s.SetFault(Fault{})
	if resp := get(t, c, s.URL+"/v1.0/auditLogs/signUps", token); resp.StatusCode != 400 {
		t.Errorf("v1.0 signUps: HTTP %d, want 400 (beta only)", resp.StatusCode)
	}
	var v1 logPage
	_ = json.Unmarshal(get(t, c, s.URL+"/v1.0/auditLogs/signIns?$top=2", token).body, &v1)
	if len(v1.Value) != 2 || !strings.HasPrefix(v1.NextLink, s.URL+"/v1.0/auditLogs/signIns?") {
		t.Errorf("v1.0 signIns: %d items, nextLink %q", len(v1.Value), v1.NextLink)
	}
	if resp := get(t, c, s.GraphURL+"/auditLogs/signIns", ""); resp.StatusCode != 401 {
		t.Errorf("no token: HTTP %d", resp.StatusCode)
	}
	if n := s.Stats().ByPath["/auditLogs/signIns"]; n == 0 {
		t.Errorf("stats: %v", s.Stats().ByPath)
	}
}
