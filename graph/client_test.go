package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

var dailyActive = insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

const (
	accessDenied = `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`
	invalidToken = `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}`
)

func TestFetchFollowsNextLinks(t *testing.T) {
	var g *fakeGraph
	g = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("$skiptoken")
		next := map[string]string{"": "p2", "p2": "p3", "p3": ""}[page]
		link := ""
		if next != "" {
			link = fmt.Sprintf(`"@odata.nextLink":"%s/beta%s?$skiptoken=%s",`, g.URL, dailyActive.Path(), next)
		}
		writeJSON(w, 200, fmt.Sprintf(`{%s"value":[{"factDate":"2024-07-01","count":1,"appId":"%s"}]}`, link, page))
	})
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	rows, err := c.Fetch(t.Context(), dailyActive)
	if err != nil {
		t.Fatal(err)
	}
	var apps []string
	for _, r := range rows {
		apps = append(apps, r.AppID)
	}
	if got := strings.Join(apps, ","); got != ",p2,p3" {
		t.Errorf("rows from pages %q, want \",p2,p3\"", got)
	}
	for i, auth := range g.requests() {
		if auth != "Bearer token-1-1" {
			t.Errorf("request %d: Authorization %q, want the one cached token", i, auth)
		}
	}
	if len(g.requests()) != 3 {
		t.Errorf("%d requests, want 3", len(g.requests()))
	}
}

func TestFetchFailures(t *testing.T) {
	tests := []struct {
		name       string
		handler    func(g *fakeGraph) http.HandlerFunc
		creds      *fakeCredentials
		maxBody    int64
		wantReason insights.Reason
		wantStatus int
		wantHint   string
		wantText   string
	}{
		{
			name: "403 names the permission",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 403, accessDenied) }
			},
			wantReason: insights.ReasonForbidden, wantStatus: 403, wantHint: HintForbiddenUserInsights,
			wantText: "Authorization_RequestDenied: Insufficient privileges",
		},
		{
			name: "401 twice is unauthorized",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 401, invalidToken) }
			},
			wantReason: insights.ReasonUnauthorized, wantStatus: 401, wantHint: transport.HintUnauthorized,
		},
		{
			name: "400 is a server error with the URL hint",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 400, `{"error":{"code":"BadRequest","message":"Resource not found for the segment 'x'."}}`)
				}
			},
			wantReason: insights.ReasonBadRequest, wantStatus: 400, wantHint: transport.HintBadRequest,
		},
		{
			name: "error without a body keeps its status",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(409) }
			},
			wantReason: insights.ReasonBadRequest, wantStatus: 409,
		},
		{
			name: "429 after every retry is throttled",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Retry-After", "0")
					writeJSON(w, 429, `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`)
				}
			},
			wantReason: insights.ReasonThrottled, wantStatus: 429,
		},
		{
			name: "a gateway's HTML error page keeps its status",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(503)
					fmt.Fprint(w, "<html>Service Unavailable</html>")
				}
			},
			wantReason: insights.ReasonServerError, wantStatus: 503, wantHint: transport.HintServerError,
		},
		{
			name: "malformed JSON",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, `{"value":[{"factDate":"2024-07-01",`) }
			},
			wantReason: insights.ReasonBadResponse,
		},
		{
			name: "wrong value type",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, `{"value":[{"factDate":"2024-07-01","count":"many"}]}`)
				}
			},
			wantReason: insights.ReasonBadResponse,
		},
		{
			name: "not JSON",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, "<html>proxy login</html>")
				}
			},
			wantReason: insights.ReasonBadResponse,
		},
		{
			name:    "body over the cap",
			maxBody: 64,
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, `{"value":[`+strings.Repeat(`{"factDate":"2024-07-01","count":1},`, 10)+`{}]}`)
				}
			},
			wantReason: insights.ReasonBadResponse, wantText: "exceeds",
		},
		{
			name: "nextLink loop",
			handler: func(g *fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, 200, fmt.Sprintf(`{"@odata.nextLink":"%s/beta%s?$skiptoken=same","value":[]}`, g.URL, dailyActive.Path()))
				}
			},
			wantReason: insights.ReasonBadResponse, wantText: "repeats",
		},
		{
			name: "token service failure",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, `{"value":[]}`) }
			},
			creds:      &fakeCredentials{err: errors.New("credential unavailable")},
			wantReason: insights.ReasonToken, wantText: "credential unavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newFakeGraph(t, nil)
			g.handler = tt.handler(g)
			creds := tt.creds
			if creds == nil {
				creds = &fakeCredentials{}
			}
			c := newTestClient(t, g.URL+"/beta", creds, transport.Options{MaxBodyBytes: tt.maxBody})
			rows, err := c.Fetch(t.Context(), dailyActive)
			if err == nil {
				t.Fatalf("Fetch returned %d rows, want a %s error", len(rows), tt.wantReason)
			}
			var ie *insights.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *insights.Error", err)
			}
			if ie.Reason != tt.wantReason || ie.Status != tt.wantStatus {
				t.Errorf("reason %s status %d, want %s %d (error: %v)", ie.Reason, ie.Status, tt.wantReason, tt.wantStatus, err)
			}
			if tt.wantHint != "" && ie.Hint != tt.wantHint {
				t.Errorf("hint %q, want %q", ie.Hint, tt.wantHint)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "token-") {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}

// graphErrorBody is a Graph error envelope as Graph sends it.
func graphErrorBody(code, message string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innerError":{"date":"2026-09-01T08:00:00",`+
		`"request-id":"5b0c8a8e-1d7e-4d0c-9a53-2c1f0e6b7a10","client-request-id":"5b0c8a8e-1d7e-4d0c-9a53-2c1f0e6b7a10"}}}`,
		code, message)
}

// TestFetchClassifiesRetirement serves the answers of a retired (or
// missing) userInsights API over HTTP through the real client, and the
// look-alikes that are not retirement.
func TestFetchClassifiesRetirement(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string // "" for application/json
		body        string
		wantReason  insights.Reason
		wantText    string
	}{
		{"400 segment userInsights not found", 400, "",
			graphErrorBody("BadRequest", "Resource not found for the segment 'userInsights'."),
			insights.ReasonRetired, "BadRequest: Resource not found for the segment 'userInsights'."},
		{"400 segment of a report not found", 400, "",
			graphErrorBody("BadRequest", "Resource not found for the segment 'activeUsers'."),
			insights.ReasonRetired, "segment 'activeUsers'"},
		{"400 ResourceNotFound", 400, "",
			graphErrorBody("ResourceNotFound", "Resource could not be discovered."),
			insights.ReasonRetired, "ResourceNotFound: Resource could not be discovered."},
		{"400 Request_ResourceNotFound", 400, "",
			graphErrorBody("Request_ResourceNotFound", "Resource 'userInsights' does not exist or one of its queried reference-property objects are not present."),
			insights.ReasonRetired, "Request_ResourceNotFound"},
		{"404 with a Graph body", 404, "",
			graphErrorBody("ResourceNotFound", "Resource not found."),
			insights.ReasonRetired, "ResourceNotFound: Resource not found."},
		{"404 without a body", 404, "text/plain", "",
			insights.ReasonRetired, "Not Found"},
		{"404 HTML page of a gateway", 404, "text/html", "<html>Not Found</html>",
			insights.ReasonRetired, "Not Found"},
		{"410 gone", 410, "",
			graphErrorBody("Gone", "The userInsights API has been retired."),
			insights.ReasonRetired, "Gone: The userInsights API has been retired."},
		// Not retirement: other statuses keep their classification.
		{"400 segment of another path", 400, "",
			graphErrorBody("BadRequest", "Resource not found for the segment 'betaa'."),
			insights.ReasonBadRequest, "segment 'betaa'"},
		{"400 bad filter", 400, "",
			graphErrorBody("BadRequest", "Invalid filter clause"),
			insights.ReasonBadRequest, "Invalid filter clause"},
		{"403 stays forbidden", 403, "", accessDenied, insights.ReasonForbidden, "Authorization_RequestDenied"},
		{"500 ResourceNotFound is a server error", 500, "",
			graphErrorBody("ResourceNotFound", "Resource not found."), insights.ReasonServerError, "ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests := 0
			g := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request) {
				requests++
				ct := tt.contentType
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				w.Header().Set("Retry-After", "0") // the 500 is retried: without a wait
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
			rows, err := c.Fetch(t.Context(), dailyActive)
			if err == nil {
				t.Fatalf("Fetch returned %d rows, want a %s error", len(rows), tt.wantReason)
			}
			var ie *insights.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *insights.Error", err)
			}
			if ie.Reason != tt.wantReason || ie.Status != tt.status {
				t.Errorf("reason %s status %d, want %s %d (error: %v)", ie.Reason, ie.Status, tt.wantReason, tt.status, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if tt.wantReason == insights.ReasonRetired {
				if ie.Hint != HintRetired {
					t.Errorf("hint %q, want %q", ie.Hint, HintRetired)
				}
				if requests != 1 {
					t.Errorf("%d requests, want 1: retirement is not retried", requests)
				}
			}
		})
	}
}

func TestRetired(t *testing.T) {
	tests := []struct {
		status        int
		code, message string
		want          bool
	}{
		{404, "", "", true},
		{410, "", "", true},
		{400, "BadRequest", "Resource not found for the segment 'userInsights'.", true},
		{400, "BadRequest", "resource not found for the segment 'USERINSIGHTS'.", true},
		{400, "BadRequest", "Resource not found for the segment 'daily'.", true},
		{400, "BadRequest", "Resource not found for the segment 'mfaTelecomFraud'.", true},
		{400, "BadRequest", "Resource not found.", true},
		{400, "resourceNotFound", "", true},
		{400, "Request_ResourceNotFound", "Resource 'x' does not exist.", true},
		{400, "BadRequest", "Resource not found for the segment 'betaa'.", false},
		{400, "BadRequest", "Invalid filter clause", false},
		{400, "", "", false},
		{401, "ResourceNotFound", "Resource not found.", false},
		{403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", false},
		{405, "", "", false},
		{429, "", "", false},
		{503, "ResourceNotFound", "", false},
	}
	for _, tt := range tests {
		if got := retired(tt.status, tt.code, tt.message); got != tt.want {
			t.Errorf("retired(%d, %q, %q) = %v, want %v", tt.status, tt.code, tt.message, got, tt.want)
		}
	}
}

// TestFetchPrefersUnknownEnumMembers checks that every request, nextLinks
// included, carries Prefer: include-unknown-enum-members exactly once, and
// that the failure reason codes Graph then sends come through.
func TestFetchPrefersUnknownEnumMembers(t *testing.T) {
	report := insights.Report{Granularity: insights.Daily, Name: insights.Authentications}
	var (
		g       *fakeGraph
		prefers [][]string
	)
	g = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		prefers = append(prefers, r.Header.Values("Prefer"))
		code := "configError"
		link := fmt.Sprintf(`"@odata.nextLink":"%s/beta%s?$skiptoken=2",`, g.URL, report.Path())
		if r.URL.Query().Get("$skiptoken") == "2" {
			code, link = "userError", ""
		}
		writeJSON(w, 200, fmt.Sprintf(`{%s"value":[{"factDate":"2026-12-01","attemptsCount":3,"successCount":1,`+
			`"failures":[{"count":2,"reasonCode":%q}]}]}`, link, code))
	})
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	rows, err := c.Fetch(t.Context(), report)
	if err != nil {
		t.Fatal(err)
	}
	if len(prefers) != 2 {
		t.Fatalf("%d requests, want 2 (a first page and a nextLink)", len(prefers))
	}
	for i, p := range prefers {
		if len(p) != 1 || p[0] != "include-unknown-enum-members" {
			t.Errorf("request %d: Prefer %q, want [include-unknown-enum-members]", i+1, p)
		}
	}
	var codes []string
	for _, r := range rows {
		for _, f := range r.Failures {
			codes = append(codes, f.ReasonCode)
		}
	}
	if fmt.Sprint(codes) != "[configError userError]" {
		t.Errorf("reason codes %q, want [configError userError]", codes)
	}
}

func TestPrefers(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"odata.maxpagesize=10"}, false},
		{[]string{"odata.maxpagesize=10, Include-Unknown-Enum-Members"}, true},
		{[]string{"return=minimal", "include-unknown-enum-members"}, true},
	}
	for _, tt := range tests {
		h := http.Header{"Prefer": tt.values}
		if got := prefers(h, preferUnknownEnums); got != tt.want {
			t.Errorf("prefers(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}

func TestFetchGetsOneNewTokenAfter401(t *testing.T) {
	tests := []struct {
		name       string
		rejections int // 401s before success
		wantErr    bool
		wantAuths  []string
	}{
		{"one 401: new token, success", 1, false, []string{"Bearer token-1-1", "Bearer token-2-2"}},
		{"two 401s: unauthorized", 2, true, []string{"Bearer token-1-1", "Bearer token-2-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			g := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request) {
				calls++
				if calls <= tt.rejections {
					writeJSON(w, 401, invalidToken)
					return
				}
				writeJSON(w, 200, `{"value":[{"factDate":"2024-07-01","count":3}]}`)
			})
			creds := &fakeCredentials{}
			c := newTestClient(t, g.URL+"/beta", creds, transport.Options{})
			_, err := c.Fetch(t.Context(), dailyActive)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && insights.ReasonOf(err) != insights.ReasonUnauthorized {
				t.Errorf("reason %s, want unauthorized", insights.ReasonOf(err))
			}
			if got := g.requests(); fmt.Sprint(got) != fmt.Sprint(tt.wantAuths) {
				t.Errorf("Authorization headers %q, want %q", got, tt.wantAuths)
			}
			if creds.built.Load() != 2 {
				t.Errorf("%d credentials built, want 2 (a fresh one after the 401)", creds.built.Load())
			}
		})
	}
}

func TestFetchRefusesForeignNextLink(t *testing.T) {
	foreign := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, `{"value":[]}`) })
	g := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"@odata.nextLink":"%s/beta%s?$skiptoken=x","value":[]}`, foreign.URL, dailyActive.Path()))
	})
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	_, err := c.Fetch(t.Context(), dailyActive)
	if insights.ReasonOf(err) != insights.ReasonBadResponse || !strings.Contains(err.Error(), "outside the Graph URL") {
		t.Errorf("error %v, want bad_response naming the Graph URL", err)
	}
	if n := len(foreign.requests()); n != 0 {
		t.Errorf("the foreign server got %d requests", n)
	}
}

func TestFetchBoundsPages(t *testing.T) {
	var g *fakeGraph
	n := 0
	g = newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request) {
		n++
		writeJSON(w, 200, fmt.Sprintf(`{"@odata.nextLink":"%s/beta%s?$skiptoken=%d","value":[]}`, g.URL, dailyActive.Path(), n))
	})
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	c.maxPages = 3
	_, err := c.Fetch(t.Context(), dailyActive)
	if insights.ReasonOf(err) != insights.ReasonBadResponse || !strings.Contains(err.Error(), "more than 3 pages") {
		t.Errorf("error %v, want bad_response about the page bound", err)
	}
	if n != 3 {
		t.Errorf("%d pages read, want 3", n)
	}
}
