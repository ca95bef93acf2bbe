package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// testNow is a Wednesday afternoon: today's rows are partial.
func testNow() time.Time { return time.Date(2026, time.March, 18, 14, 30, 0, 0, time.UTC) }

// startPinned starts a simulator whose data clock is testNow unless opts
// sets one.
func startPinned(t *testing.T, opts Options) *Sim {
	t.Helper()
	if opts.Now == nil {
		opts.Now = testNow
	}
	return startSim(t, opts)
}

// startSim is graphsimtest.Start, which this package's tests cannot import
// (it imports graphsim).
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	s, err := Listen(t.Context(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("start graphsim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// getToken runs the client-credentials flow with the simulator's secret.
func getToken(t *testing.T, s *Sim, tenant string) string {
	t.Helper()
	resp := postToken(t, s, tenant, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}, "scope": {"https://graph.microsoft.com/.default openid offline_access profile"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: HTTP %d: %s", resp.StatusCode, resp.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token body %s: %v", resp.body, err)
	}
	return tok.AccessToken
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	body []byte
}

func postToken(t *testing.T, s *Sim, tenant string, form url.Values) response {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/"+strings.ToLower(tenant)+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return readAll(t, resp)
}

func readAll(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	return response{resp, body}
}

// get fetches u with the bearer token (none when empty).
func get(t *testing.T, c *http.Client, u, token string) response {
	t.Helper()
	resp, err := do(c, u, token)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readAll(t, resp)
}

func do(c *http.Client, u, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.Do(req)
}

// page is a collection page as a plain JSON client decodes it.
type page struct {
	Context  string    `json:"@odata.context"`
	Count    *int      `json:"@odata.count"`
	NextLink string    `json:"@odata.nextLink"`
	Value    []wireRow `json:"value"`
}

type wireFailure struct {
	Count      int64  `json:"count"`
	Reason     string `json:"reason"`
	ReasonCode string `json:"reasonCode"`
}

// wireRow has every property of every report. encoding/json matches names
// case-insensitively but prefers the exact one, so appid and appId land in
// their own fields.
type wireRow struct {
	ID                         string        `json:"id"`
	FactDate                   string        `json:"factDate"`
	AppID                      string        `json:"appId"`
	Appid                      string        `json:"appid"`
	AppName                    string        `json:"appName"`
	OS                         string        `json:"os"`
	Country                    string        `json:"country"`
	Language                   string        `json:"language"`
	Browser                    string        `json:"browser"`
	AuthFlow                   string        `json:"authFlow"`
	IdentityProvider           string        `json:"identityProvider"`
	MFAMethod                  string        `json:"mfaMethod"`
	MFAType                    string        `json:"mfaType"`
	Count                      int64         `json:"count"`
	RequestCount               int64         `json:"requestCount"`
	AttemptsCount              int64         `json:"attemptsCount"`
	SuccessCount               int64         `json:"successCount"`
	Failures                   []wireFailure `json:"failures"`
	MFAFailures                []wireFailure `json:"mfaFailures"`
	ActiveUsers                int64         `json:"activeUsers"`
	AuthenticationRequests     int64         `json:"authenticationRequests"`
	AuthenticationCompletions  int64         `json:"authenticationCompletions"`
	SecurityTextRequests       int64         `json:"securityTextRequests"`
	SecurityTextCompletions    int64         `json:"securityTextCompletions"`
	SecurityVoiceRequests      int64         `json:"securityVoiceRequests"`
	SecurityVoiceCompletions   int64         `json:"securityVoiceCompletions"`
	Inactive1DayCount          int64         `json:"inactive1DayCount"`
	InactiveCalendarMonthCount int64         `json:"inactiveCalendarMonthCount"`
	Inactive30DayCount         int64         `json:"inactive30DayCount"`
	Inactive60DayCount         int64         `json:"inactive60DayCount"`
	Inactive90DayCount         int64         `json:"inactive90DayCount"`
	CaptchaShownUserCount      int64         `json:"captchaShownUserCount"`
	CaptchaSuccessCount        int64         `json:"captchaSuccessCount"`
	CaptchaFailureCount        int64         `json:"captchaFailureCount"`
	CaptchaNotTriggeredUsers   int64         `json:"captchaNotTriggeredUserCount"`
	TelecomBlockedUserCount    int64         `json:"telecomBlockedUserCount"`
}

// row converts a decoded row to the data model, as a client would.
func (w wireRow) row(t *testing.T) insights.Row {
	t.Helper()
	date, err := time.Parse(time.DateOnly, w.FactDate)
	if err != nil {
		t.Fatalf("row %s: factDate: %v", w.ID, err)
	}
	r := insights.Row{
		FactDate: date, AppID: w.AppID + w.Appid, AppName: w.AppName, OS: w.OS, Country: w.Country,
		Language: w.Language, Browser: w.Browser, AuthFlow: w.AuthFlow, IdentityProvider: w.IdentityProvider,
		MFAMethod: w.MFAMethod, MFAType: w.MFAType, Count: w.Count + w.RequestCount,
		Attempts: w.AttemptsCount, Successes: w.SuccessCount,
		ActiveUsers: w.ActiveUsers, AuthenticationRequests: w.AuthenticationRequests,
		AuthenticationCompletions: w.AuthenticationCompletions, SecurityTextRequests: w.SecurityTextRequests,
		SecurityTextCompletions: w.SecurityTextCompletions, SecurityVoiceRequests: w.SecurityVoiceRequests,
		SecurityVoiceCompletions: w.SecurityVoiceCompletions,
		Inactive1Day:             w.Inactive1DayCount, InactiveCalendarMonth: w.InactiveCalendarMonthCount,
		Inactive30Day: w.Inactive30DayCount, Inactive60Day: w.Inactive60DayCount, Inactive90Day: w.Inactive90DayCount,
		CaptchaShownUsers: w.CaptchaShownUserCount, CaptchaSuccesses: w.CaptchaSuccessCount,
		CaptchaFailures: w.CaptchaFailureCount, CaptchaNotTriggeredUsers: w.CaptchaNotTriggeredUsers,
		TelecomBlockedUsers: w.TelecomBlockedUserCount,
	}
	for _, f := range append(w.Failures, w.MFAFailures...) {
		r.Failures = append(r.Failures, insights.Failure{ReasonCode: f.ReasonCode, Reason: f.Reason, Count: f.Count})
	}
	return r
}

// fetchAll follows nextLinks from u and returns the rows and the pages.
func fetchAll(t *testing.T, c *http.Client, u, token string) ([]insights.Row, []page) {
	t.Helper()
	var rows []insights.Row
	var pages []page
	for u != "" {
		if len(pages) > 1000 {
			t.Fatalf("more than 1000 pages: nextLink loop at %s", u)
		}
		resp := get(t, c, u, token)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d: %s", u, resp.StatusCode, resp.body)
		}
		var p page
		if err := json.Unmarshal(resp.body, &p); err != nil {
			t.Fatalf("GET %s: decode: %v", u, err)
		}
		for _, w := range p.Value {
			rows = append(rows, w.row(t))
		}
		pages = append(pages, p)
		u = p.NextLink
	}
	return rows, pages
}

// graphErr is Graph's error envelope.
type graphErr struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
			Date            string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

func decodeGraphErr(t *testing.T, resp response) graphErr {
	t.Helper()
	var e graphErr
	if err := json.Unmarshal(resp.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("HTTP %d: not a Graph error envelope: %s (%v)", resp.StatusCode, resp.body, err)
	}
	return e
}

func reportURL(s *Sim, r insights.Report) string { return s.GraphURL + r.Path() }

// atomicTime is a settable clock for Options.Now and Options.Wall.
type atomicTime struct{ p atomic.Pointer[time.Time] }

func (a *atomicTime) Store(t time.Time) { a.p.Store(&t) }
func (a *atomicTime) Load() time.Time   { return *a.p.Load() }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
