package graphsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The tests of this file pin the documented contract of the activity
// logs: what graphsim refuses by default, with Graph's error bodies, and
// what the lenient options let through.

const selectRefused = "Query option 'Select' is not allowed. To allow it, set the 'AllowedQueryOptions' " +
	"property on EnableQueryAttribute or QueryValidationSettings."

// wantRefusal checks a 400 with Graph's error envelope, code BadRequest
// and the message.
func wantRefusal(t *testing.T, resp response, message string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("HTTP %d %s, want 400", resp.StatusCode, resp.body)
	}
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(resp.body, &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("not a Graph error envelope: %s", resp.body)
	}
	e := decodeGraphErr(t, resp)
	if e.Error.Code != "BadRequest" || e.Error.Message != message {
		t.Errorf("error %q %q, want BadRequest %q", e.Error.Code, e.Error.Message, message)
	}
	in := e.Error.InnerError
	if in.RequestID == "" || in.ClientRequestID == "" || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`).MatchString(in.Date) {
		t.Errorf("innerError %+v", in)
	}
}

func TestSelectRefusedByDefault(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	for _, path := range []string{"/auditLogs/signIns", "/auditLogs/signUps"} {
		resp := get(t, s.Client(), s.GraphURL+path+"?$select=id,createdDateTime&$top=10", token)
		wantRefusal(t, resp, selectRefused)
	}
	// v1.0 signIns keeps the same contract.
	wantRefusal(t, get(t, s.Client(), s.URL+"/v1.0/auditLogs/signIns?$select=id", token), selectRefused)

	lenient := startPinned(t, Options{AcceptSelect: true})
	token = getToken(t, lenient, lenient.TenantID)
	for _, path := range []string{"/auditLogs/signIns", "/auditLogs/signUps"} {
		items := first(t, lenient.Client(), lenient.GraphURL+path+"?$select=id,createdDateTime&$top=10", token)
		if len(items) != 10 {
			t.Fatalf("%s: %d items", path, len(items))
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(items[0], &m)
		if len(m) != 2 {
			t.Errorf("%s with AcceptSelect: %s", path, items[0])
		}
	}
}

func TestUndocumentedOptionsRefused(t *testing.T) {
	s := startPinned(t, Options{AcceptSelect: true})
	token := getToken(t, s, s.TenantID)
	for q, want := range map[string]string{
		"$count=true":    "Query option 'Count' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
		"$expand=x":      "Query option 'Expand' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
		"$skip=10":       "Query option 'Skip' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
		"$search=x":      "Query option 'Search' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
		"$nonsense=1":    "The query parameter '$nonsense' is not supported.",
		"$select=id,nop": "could not find a property named 'nop' on type 'microsoft.graph.signIn'",
	} {
		wantRefusal(t, get(t, s.Client(), signInsURL(s, "?"+q), token), want)
	}
	// An option without "$" is not an OData option: ignored, as Graph does.
	if resp := get(t, s.Client(), signInsURL(s, "?top=3"), token); resp.StatusCode != 200 {
		t.Errorf("top=3: HTTP %d", resp.StatusCode)
	}
}

func TestRegistrationsRefuseSelectAndTop(t *testing.T) {
	s := startPinned(t, Options{AcceptSelect: true}) // AcceptSelect is for the event logs only
	token := getToken(t, s, s.TenantID)
	u := s.GraphURL + "/reports/authenticationMethods/userRegistrationDetails"
	wantRefusal(t, get(t, s.Client(), u+"?$select=id,methodsRegistered", token), selectRefused)
	wantRefusal(t, get(t, s.Client(), u+"?$top=999", token),
		"Query option 'Top' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.")
	// The default page is Graph's, 1000, and the nextLink works.
	var p logPage
	resp := get(t, s.Client(), u, token)
	if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Value) != DefaultLogPageSize || p.NextLink == "" {
		t.Fatalf("first page: %d items, nextLink %q (%v)", len(p.Value), p.NextLink, err)
	}
	if resp := get(t, s.Client(), p.NextLink, token); resp.StatusCode != 200 {
		t.Errorf("nextLink: HTTP %d %s", resp.StatusCode, resp.body)
	}
}

func TestOnlyDocumentedOperators(t *testing.T) {
	s := startPinned(t, Options{NoMinDate: true})
	token := getToken(t, s, s.TenantID)
	for _, path := range []string{"/auditLogs/signIns", "/auditLogs/signUps"} {
		for _, op := range []string{"lt", "gt", "LT"} {
			f := "createdDateTime ge 2026-03-15T00:00:00Z and createdDateTime " + op + " 2026-03-16T00:00:00Z"
			resp := get(t, s.Client(), s.GraphURL+path+"?$filter="+url.QueryEscape(f), token)
			wantRefusal(t, resp, "Invalid filter clause: the operator '"+strings.ToLower(op)+"' is not supported on createdDateTime")
		}
		for _, op := range []string{"ge", "le", "eq"} {
			f := "createdDateTime " + op + " 2026-03-16T00:00:00Z"
			if resp := get(t, s.Client(), s.GraphURL+path+"?$filter="+url.QueryEscape(f), token); resp.StatusCode != 200 {
				t.Errorf("%s %s: HTTP %d %s", path, op, resp.StatusCode, resp.body)
			}
		}
	}
}

// TestMinDate: a bound before now − LogRetention is refused unless
// NoMinDate; a paging run is checked against the clock of its first page.
func TestMinDate(t *testing.T) {
	var clock atomicTime
	clock.Store(testNow())
	s := startSim(t, Options{Now: clock.Load, LogPageSize: 100})
	token := getToken(t, s, s.TenantID)
	earliest := testNow().Add(-DefaultLogRetention) // 2026-03-11T14:30:00Z
	tooOld := earliest.Add(-100 * time.Nanosecond)
	for _, op := range []string{"ge", "le", "eq"} {
		f := "createdDateTime " + op + " " + tooOld.Format(time.RFC3339Nano)
		wantRefusal(t, get(t, s.Client(), signInsURL(s, "?$filter="+url.QueryEscape(f)), token),
			"Invalid filter clause: the date 2026-03-11T14:29:59.9999999Z is before the earliest allowed date 2026-03-11T14:30:00Z (the log keeps 7 days)")
	}
	f := "createdDateTime ge " + earliest.Format(time.RFC3339) + " and createdDateTime le " + testNow().Format(time.RFC3339)
	resp := get(t, s.Client(), s.GraphURL+"/auditLogs/signUps?$filter="+url.QueryEscape(f), token)
	var p logPage
	if err := json.Unmarshal(resp.body, &p); err != nil || resp.StatusCode != 200 || p.NextLink == "" {
		t.Fatalf("bound at the earliest date: HTTP %d %.300s", resp.StatusCode, resp.body)
	}
	clock.Store(testNow().Add(time.Hour)) // the run goes on: its bound stays valid
	if resp := get(t, s.Client(), p.NextLink, token); resp.StatusCode != 200 {
		t.Errorf("nextLink an hour later: HTTP %d %s", resp.StatusCode, resp.body)
	}
	// A new run an hour later is refused with the same bound.
	wantRefusal(t, get(t, s.Client(), s.GraphURL+"/auditLogs/signUps?$filter="+url.QueryEscape(f), token),
		"Invalid filter clause: the date 2026-03-11T14:30:00Z is before the earliest allowed date 2026-03-11T15:30:00Z (the log keeps 7 days)")

	month := startPinned(t, Options{LogRetention: MaxLogRetention})
	token = getToken(t, month, month.TenantID)
	f = "createdDateTime ge 2026-02-20T00:00:00Z"
	if resp := get(t, month.Client(), signInsURL(month, "?$top=1&$filter="+url.QueryEscape(f)), token); resp.StatusCode != 200 {
		t.Errorf("30-day retention, 26 days back: HTTP %d %s", resp.StatusCode, resp.body)
	}
	wantRefusal(t, get(t, month.Client(), signInsURL(month, "?$filter="+url.QueryEscape("createdDateTime ge 2026-02-01T00:00:00Z")), token),
		"Invalid filter clause: the date 2026-02-01T00:00:00Z is before the earliest allowed date 2026-02-16T14:30:00Z (the log keeps 30 days)")

	lenient := startPinned(t, Options{NoMinDate: true})
	token = getToken(t, lenient, lenient.TenantID)
	if resp := get(t, lenient.Client(), signInsURL(lenient, "?$top=1&$filter="+url.QueryEscape("createdDateTime ge 2025-01-01T00:00:00Z")), token); resp.StatusCode != 200 {
		t.Errorf("NoMinDate: HTTP %d %s", resp.StatusCode, resp.body)
	}
}
