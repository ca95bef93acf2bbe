package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func TestStatusFaults(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	u := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers})
	httpDate := time.Date(2026, 3, 18, 14, 31, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		status     int
		retryAfter string
		code       string
	}{
		{429, "2.128", "TooManyRequests"},
		{429, "3", "TooManyRequests"},
		{429, httpDate, "TooManyRequests"},
		{429, "", "TooManyRequests"},
		{503, "5", "serviceNotAvailable"},
		{503, "", "serviceNotAvailable"},
		{504, "", "UnknownError"},
		{500, "", "generalException"},
		{502, "", "UnknownError"},
		{401, "", "InvalidAuthenticationToken"},
		{403, "", "Authorization_RequestDenied"},
		{400, "", "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+" "+tt.retryAfter, func(t *testing.T) {
			s.SetFault(Fault{Kind: FaultStatus, Status: tt.status, RetryAfter: tt.retryAfter})
			resp := get(t, s.Client(), u, token)
			if resp.StatusCode != tt.status || decodeGraphErr(t, resp).Error.Code != tt.code {
				t.Errorf("HTTP %d %s, want %d %s", resp.StatusCode, resp.body, tt.status, tt.code)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestBodyFaults(t *testing.T) {
	s := startPinned(t, Options{PageSize: 1000})
	token := getToken(t, s, s.TenantID)
	r := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	u := reportURL(s, r)
	good := get(t, s.Client(), u, token).body
	tests := []struct {
		fault Fault
		check func(t *testing.T, resp response)
	}{
		{Fault{Kind: FaultMalformedJSON}, func(t *testing.T, resp response) {
			if json.Valid(resp.body) || !bytes.HasPrefix(resp.body, good[:100]) {
				t.Error("body is valid JSON, or not a damaged page")
			}
		}},
		{Fault{Kind: FaultTruncatedJSON}, func(t *testing.T, resp response) {
			if json.Valid(resp.body) || !bytes.HasPrefix(good, resp.body) || len(resp.body) != len(good)/2 {
				t.Errorf("%d bytes, want the first half of %d", len(resp.body), len(good))
			}
		}},
		{Fault{Kind: FaultWrongTypes}, func(t *testing.T, resp response) {
			var p page
			if err := json.Unmarshal(resp.body, &p); err == nil || !bytes.Contains(resp.body, []byte(`"count":"abc"`)) {
				t.Errorf("decoded without error (%v)", err)
			}
		}},
		{Fault{Kind: FaultOversized, Size: 3<<20 + 17}, func(t *testing.T, resp response) {
			if len(resp.body) != 3<<20+17 || !json.Valid(resp.body) || resp.ContentLength != -1 {
				t.Errorf("%d bytes (Content-Length %d), valid %v", len(resp.body), resp.ContentLength, json.Valid(resp.body))
			}
		}},
		{Fault{Kind: FaultEmpty}, func(t *testing.T, resp response) {
			var p page
			if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Value) != 0 || p.NextLink != "" ||
				!bytes.Contains(resp.body, []byte(`"value":[]`)) {
				t.Errorf("body %s", resp.body)
			}
		}},
		{Fault{Kind: FaultDateBackwards}, func(t *testing.T, resp response) {
			var p page
			if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Value) == 0 {
				t.Fatalf("body %s", resp.body)
			}
			want := startOfDay(testNow()).AddDate(0, 0, -1).Format(time.DateOnly)
			if newest := p.Value[len(p.Value)-1].FactDate; newest != want {
				t.Errorf("newest factDate %s, want %s", newest, want)
			}
		}},
		{Fault{Kind: FaultSlow, Delay: 100 * time.Millisecond}, func(t *testing.T, resp response) {
			if !bytes.Equal(resp.body, good) {
				t.Error("slow answer differs from the normal one")
			}
		}},
		{Fault{Kind: FaultStall, Delay: 100 * time.Millisecond}, func(t *testing.T, resp response) {
			if !bytes.Equal(resp.body, good) {
				t.Error("stalled answer differs from the normal one after the stall")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.Kind.String(), func(t *testing.T) {
			s.SetFault(tt.fault)
			start := time.Now()
			resp := get(t, s.Client(), u, token)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			if took := time.Since(start); took < tt.fault.Delay {
				t.Errorf("answered after %v, before the delay %v", took, tt.fault.Delay)
			}
			tt.check(t, resp)
		})
	}
	t.Run("DateBackwards monthly", func(t *testing.T) {
		s.SetFault(Fault{Kind: FaultDateBackwards})
		got, _ := fetchAll(t, s.Client(), reportURL(s, insights.Report{Granularity: insights.Monthly, Name: insights.SignUps}), token)
		if newest := got[len(got)-1].FactDate; !newest.Equal(startOfMonth(testNow()).AddDate(0, -1, 0)) {
			t.Errorf("newest factDate %v, want last month", newest)
		}
	})
}

func TestConnectionFaults(t *testing.T) {
	s := startPinned(t, Options{PageSize: 1000})
	token := getToken(t, s, s.TenantID)
	u := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers})

	t.Run("Reset", func(t *testing.T) {
		s.SetFault(Fault{Kind: FaultReset})
		resp, err := do(s.Client(), u, token)
		if err != nil {
			t.Fatalf("no headers before the reset: %v", err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Error("body read without error")
		}
	})
	t.Run("Stall until the client gives up", func(t *testing.T) {
		s.SetFault(Fault{Kind: FaultStall})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatalf("no headers before the stall: %v", err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("read error %v, want the client's deadline", err)
		}
	})
	t.Run("Close releases a stall", func(t *testing.T) {
		sim, err := Listen(t.Context(), "127.0.0.1:0", Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		sim.SetFault(Fault{Kind: FaultStall})
		tok := getToken(t, sim, sim.TenantID)
		failed := make(chan error, 1)
		resp, err := do(sim.Client(), reportURL(sim, insights.Report{Granularity: insights.Daily, Name: insights.UserCount}), tok)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer resp.Body.Close()
			_, err := io.ReadAll(resp.Body)
			failed <- err
		}()
		closed := make(chan struct{})
		go func() { sim.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close blocked on a stalled request")
		}
		if err := <-failed; err == nil {
			t.Error("stalled body completed after Close")
		}
	})
}

func TestNextLinkFaults(t *testing.T) {
	s := startPinned(t, Options{PageSize: 50})
	token := getToken(t, s, s.TenantID)
	u := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}) + "?$filter=" + escapeValue("factDate ge 2026-03-01")
	nextOf := func(t *testing.T, u string) string {
		t.Helper()
		var p page
		if resp := get(t, s.Client(), u, token); json.Unmarshal(resp.body, &p) != nil || resp.StatusCode != 200 {
			t.Fatalf("HTTP %d %s", resp.StatusCode, resp.body)
		}
		return p.NextLink
	}
	t.Run("Loop", func(t *testing.T) {
		s.SetFault(Fault{Kind: FaultNextLinkLoop})
		next := nextOf(t, u)
		if next != u {
			t.Errorf("nextLink %q, want the page itself %q", next, u)
		}
		if again := nextOf(t, next); again != u {
			t.Errorf("second nextLink %q", again)
		}
	})
	t.Run("Foreign", func(t *testing.T) {
		foreign, err := s.ListenForeign()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(foreign.Close)
		s.SetFault(foreign.Fault())
		next := nextOf(t, u)
		want := foreign.URL + "/beta/reports/userInsights/daily/activeUsers?$filter="
		if !strings.HasPrefix(next, want) {
			t.Fatalf("nextLink %q, want it on %s", next, want)
		}
		// A careful client follows it without the token, a careless one
		// with it; the foreign server records both.
		get(t, s.Client(), next, "")
		get(t, s.Client(), next, token)
		if got := foreign.Authorizations(); len(got) != 2 || got[0] != "" || got[1] != "Bearer "+token {
			t.Errorf("foreign server saw Authorization %q", got)
		}
	})
}

func TestFaultMatching(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	dailyActive := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers})
	monthlyActive := reportURL(s, insights.Report{Granularity: insights.Monthly, Name: insights.ActiveUsers})
	signUps := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.SignUps})
	container := s.GraphURL + "/reports/userInsights"
	tests := []struct {
		fault Fault
		urls  []string
		want  []int // status per URL, in order
	}{
		{Fault{Kind: FaultStatus, Status: 503, Times: 2}, []string{signUps, dailyActive, monthlyActive, signUps}, []int{503, 503, 200, 200}},
		{Fault{Kind: FaultStatus, Status: 503, Report: "daily/activeUsers"}, []string{dailyActive, monthlyActive, signUps, container}, []int{503, 200, 200, 200}},
		{Fault{Kind: FaultStatus, Status: 503, Report: "ACTIVEUSERS"}, []string{dailyActive, monthlyActive, signUps}, []int{503, 503, 200}},
		{Fault{Kind: FaultStatus, Status: 503}, []string{container}, []int{503}},
		{Fault{Kind: FaultTokenDown, Status: 503}, []string{dailyActive}, []int{200}},
		{Fault{}, []string{dailyActive}, []int{200}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.Kind.String()+" "+tt.fault.Report, func(t *testing.T) {
			s.SetFault(tt.fault)
			s.ResetStats()
			faulted := 0
			for i, u := range tt.urls {
				if got := get(t, s.Client(), u, token).StatusCode; got != tt.want[i] {
					t.Errorf("request %d to %s: HTTP %d, want %d", i+1, u, got, tt.want[i])
				}
				if tt.want[i] != 200 {
					faulted++
				}
			}
			if st := s.Stats(); st.Faulted != faulted {
				t.Errorf("Stats.Faulted %d, want %d", st.Faulted, faulted)
			}
		})
	}
}

func TestTokenFaults(t *testing.T) {
	s := startPinned(t, Options{})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
		"client_secret": {s.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	metadata := s.URL + "/" + s.TenantID + "/v2.0/.well-known/openid-configuration"
	tests := []struct {
		fault      Fault
		status     int
		errStr     string
		code       int
		metadataOK bool
	}{
		{Fault{Kind: FaultTokenError, TokenError: "AADSTS7000222"}, 401, "invalid_client", 7000222, true},
		{Fault{Kind: FaultTokenError, TokenError: "invalid_client"}, 401, "invalid_client", 7000215, true},
		{Fault{Kind: FaultTokenError, TokenError: "invalid_grant", Status: 400}, 400, "invalid_grant", 50173, true},
		{Fault{Kind: FaultTokenError, TokenError: "AADSTS123456"}, 400, "invalid_request", 123456, true},
		{Fault{Kind: FaultTokenDown, Status: 503, RetryAfter: "5"}, 503, "temporarily_unavailable", 90033, false},
		{Fault{Kind: FaultStatus, Status: 503}, 200, "", 0, true}, // a Graph fault leaves tokens alone
	}
	for _, tt := range tests {
		t.Run(tt.fault.Kind.String()+" "+tt.fault.TokenError, func(t *testing.T) {
			s.SetFault(tt.fault)
			resp := postToken(t, s, s.TenantID, form)
			var body struct {
				Error      string `json:"error"`
				ErrorCodes []int  `json:"error_codes"`
			}
			if resp.StatusCode != tt.status || json.Unmarshal(resp.body, &body) != nil || body.Error != tt.errStr ||
				(tt.code != 0 && (len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != tt.code)) {
				t.Errorf("HTTP %d %s, want %d %s %d", resp.StatusCode, resp.body, tt.status, tt.errStr, tt.code)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.fault.RetryAfter {
				t.Errorf("Retry-After %q", got)
			}
			if got := get(t, s.Client(), metadata, "").StatusCode; (got == 200) != tt.metadataOK {
				t.Errorf("metadata: HTTP %d", got)
			}
		})
	}
	t.Run("TokenDown closes the connection", func(t *testing.T) {
		s.SetFault(Fault{Kind: FaultTokenDown})
		resp, err := s.Client().PostForm(s.URL+"/"+s.TenantID+"/oauth2/v2.0/token", form)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("HTTP %d, want a connection error", resp.StatusCode)
		}
	})
}

func TestFaultKindString(t *testing.T) {
	for k := FaultNone; k <= FaultTokenDown; k++ {
		if name := k.String(); name == "" || strings.HasPrefix(name, "FaultKind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if got := FaultKind(99).String(); got != "FaultKind(99)" {
		t.Errorf("unknown kind: %q", got)
	}
}
