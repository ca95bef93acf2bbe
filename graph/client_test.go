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
			wantReason: insights.ReasonForbidden, wantStatus: 403, wantHint: transport.HintForbidden,
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
			wantReason: insights.ReasonServerError, wantStatus: 400, wantHint: transport.HintBadRequest,
		},
		{
			name: "error without a body keeps its status",
			handler: func(*fakeGraph) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }
			},
			wantReason: insights.ReasonServerError, wantStatus: 404,
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
