package graph_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// probeClient is a client of sim (through graphURL when set, e.g. a proxy
// in front of it).
func probeClient(t *testing.T, sim *graphsim.Sim, graphURL string) *graph.Client {
	t.Helper()
	return graphsimtest.Client(t, sim, func(c *graph.Config) {
		if graphURL != "" {
			c.GraphURL = graphURL
		}
	}, graph.Deps{Metrics: transport.NewMetrics(prometheus.NewRegistry())})
}

// probeLogs probes the logs source at the simulator's data clock.
func probeLogs(t *testing.T, c *graph.Client) map[string]insights.ProbeResult {
	t.Helper()
	results := c.ProbeLogs(t.Context(), fixedNow(), 0)
	byRead := map[string]insights.ProbeResult{}
	for _, r := range results {
		if _, dup := byRead[r.Read]; dup {
			t.Fatalf("read %q listed twice", r.Read)
		}
		byRead[r.Read] = r
	}
	return byRead
}

// TestProbeLogsFromSimulator: every read of the logs source works, each
// line shows the request exactly as Graph received it (decoded), and
// each read is one request.
func TestProbeLogsFromSimulator(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow, AcceptSelect: true}) // the fast path; the refusal has its own test
	c := probeClient(t, sim, "")
	results := c.ProbeLogs(t.Context(), fixedNow(), 0)
	wantReads := []string{insights.ProbeToken, "signIns", "signUps", "userRegistrationDetails", "signIns $select",
		"signUps $select", "signIns lookback", "users/$count", "inactive users"}
	if len(results) != len(wantReads) {
		t.Fatalf("got %d results, want %d: %+v", len(results), len(wantReads), results)
	}
	received := sim.Stats().Requests
	if len(received) != len(results)-1 {
		t.Fatalf("the simulator saw %d Graph requests, want one per read (%d)", len(received), len(results)-1)
	}
	for i, r := range results {
		if r.Read != wantReads[i] {
			t.Errorf("result %d is %q, want %q", i, r.Read, wantReads[i])
		}
		if !r.OK || r.Code != "" {
			t.Errorf("%s: %+v, want it to work", r.Read, r)
		}
		if i == 0 {
			if r.Outcome != "obtained" || r.Status != 0 {
				t.Errorf("token line %+v", r)
			}
			continue
		}
		got := received[i-1]
		query, _ := url.QueryUnescape(got.Query)
		sent := got.Method + " " + got.Path
		if query != "" {
			sent += "?" + query
		}
		if line, _, _ := strings.Cut(r.Request, " (ConsistencyLevel"); line != sent {
			t.Errorf("%s shows %q; Graph received %q", r.Read, r.Request, sent)
		}
		if r.Status != http.StatusOK {
			t.Errorf("%s: status %d", r.Read, r.Status)
		}
	}
	byRead := probeLogs(t, c)
	hour := graph.CreatedFilter(fixedNow().Add(-time.Hour), fixedNow())
	for read, want := range map[string]string{
		"signIns":                 "GET /beta/auditLogs/signIns?$filter=" + hour + "&$top=1",
		"signUps":                 "GET /beta/auditLogs/signUps?$filter=" + hour + "&$top=1",
		"userRegistrationDetails": "GET /beta/reports/authenticationMethods/userRegistrationDetails",
		// fixedNow is 15:30: 7 days back rounded up to the hour is 16:00.
		"signIns lookback": "GET /beta/auditLogs/signIns?$filter=createdDateTime ge 2026-03-03T16:00:00Z and createdDateTime le 2026-03-03T17:00:00Z&$top=1",
		"users/$count":     "GET /beta/users/$count (ConsistencyLevel: eventual)",
		"inactive users":   "GET /beta/users/$count?$filter=signInActivity/lastSuccessfulSignInDateTime le 2026-02-08T15:30:00Z (ConsistencyLevel: eventual)",
	} {
		if got := byRead[read].Request; got != want {
			t.Errorf("%s request:\n got %s\nwant %s", read, got, want)
		}
	}
	for read, want := range map[string]string{
		"signIns":          "used",
		"signIns $select":  "used with $select",
		"signIns lookback": "first read starts 7 days back",
		"users/$count":     "used: " + strconv.FormatInt(graphsim.UserCount(sim.TenantID, fixedNow()), 10) + " users",
	} {
		if got := byRead[read].Outcome; got != want {
			t.Errorf("%s outcome %q, want %q", read, got, want)
		}
	}
	if !strings.Contains(byRead["signIns $select"].Request, "$select=id,createdDateTime,userId") {
		t.Errorf("$select line sends no $select: %s", byRead["signIns $select"].Request)
	}
}

// TestProbeForbiddenNamesThePermissions: a 403 on signIns fails that
// required read with the permissions to grant; the other reads go on.
func TestProbeForbiddenNamesThePermissions(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: http.StatusForbidden, Report: "signIns"})
	byRead := probeLogs(t, probeClient(t, sim, ""))
	r := byRead["signIns"]
	if r.OK || r.Status != http.StatusForbidden || r.Code != "Authorization_RequestDenied" || !r.Required ||
		r.Outcome != "refused: grant AuditLog.Read.All and Directory.Read.All (application) and admin consent" {
		t.Errorf("signIns with 403: %+v", r)
	}
	if !byRead["signUps"].OK || !byRead["userRegistrationDetails"].OK {
		t.Errorf("the 403 on signIns stopped the other reads: %+v", byRead)
	}
}

// TestProbeUnlicensed: without P1/P2 the inactive users are absent, by
// Graph's error code.
func TestProbeUnlicensed(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow, SignInActivityUnlicensed: true})
	r := probeLogs(t, probeClient(t, sim, ""))["inactive users"]
	if r.OK || r.Required || r.Status != http.StatusForbidden || r.Code != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" ||
		r.Outcome != "inactive users absent: needs Entra ID P1/P2" {
		t.Errorf("inactive users without the licence: %+v", r)
	}
}

// selectRefusal is Graph's answer to $select on the sign-in logs, as users
// report it (microsoftgraph/microsoft-graph-devx-api#1250).
const selectRefusal = "Query option 'Select' is not allowed. To allow it, set the 'AllowedQueryOptions' " +
	"property on EnableQueryAttribute or QueryValidationSettings."

// graphAnswer is an error answer of Graph's.
type graphAnswer struct {
	status        int
	code, message string
}

// graphProxy is a proxy in front of sim that gives answer to the
// requests refuse picks, as Graph does, and passes the others on.
func graphProxy(t *testing.T, sim *graphsim.Sim, answer graphAnswer, refuse func(*http.Request) bool) string {
	t.Helper()
	target, err := url.Parse(sim.GraphURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	proxy.Transport = sim.Client().Transport
	body, err := json.Marshal(map[string]any{"error": map[string]any{"code": answer.code, "message": answer.message,
		"innerError": map[string]string{"date": "2026-03-10T15:30:00", "request-id": "1", "client-request-id": "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !refuse(r) {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answer.status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// refuseSelect answers every request with $select as Graph does on the
// sign-in logs.
func refuseSelect(t *testing.T, sim *graphsim.Sim) string {
	t.Helper()
	return graphProxy(t, sim, graphAnswer{http.StatusBadRequest, "BadRequest", selectRefusal},
		func(r *http.Request) bool { return r.URL.Query().Has("$select") })
}

// TestProbePremiumLicence: Graph's licence refusal of the sign-in logs
// names the licence besides the permissions, by code or by message.
func TestProbePremiumLicence(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow})
	signIns := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/auditLogs/signIns") }
	for _, answer := range []graphAnswer{
		{http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license"},
		{http.StatusForbidden, "Authorization_RequestDenied", "Tenant doesn't have premium license"},
	} {
		r := probeLogs(t, probeClient(t, sim, graphProxy(t, sim, answer, signIns)))["signIns"]
		if r.OK || r.Status != http.StatusForbidden || r.Code != answer.code ||
			!strings.Contains(r.Outcome, "AuditLog.Read.All") || !strings.Contains(r.Outcome, "premium licence (Entra ID P1/P2)") {
			t.Errorf("signIns refused for the licence (%s): %+v", answer.code, r)
		}
	}
}

// TestProbeSelectRefused: Graph's refusal of $select is "used without
// $select", with Graph's message; the required reads are untouched.
func TestProbeSelectRefused(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow})
	byRead := probeLogs(t, probeClient(t, sim, refuseSelect(t, sim)))
	for _, read := range []string{"signIns $select", "signUps $select"} {
		r := byRead[read]
		if r.Status != http.StatusBadRequest || r.Code != "BadRequest" || r.Required ||
			r.Outcome != "used without $select (Graph refused it: "+selectRefusal+")" {
			t.Errorf("%s refused: %+v", read, r)
		}
	}
	for _, read := range []string{"signIns", "signUps", "userRegistrationDetails"} {
		if !byRead[read].OK {
			t.Errorf("%s: %+v", read, byRead[read])
		}
	}
}

// TestProbeTokenRefused: a refused credential is the token line, with the
// token service's status and code, and no read is sent.
func TestProbeTokenRefused(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "invalid_client"})
	results := probeClient(t, sim, "").ProbeLogs(t.Context(), fixedNow(), 0)
	token := results[0]
	if token.Read != insights.ProbeToken || token.OK || token.Status != http.StatusUnauthorized || token.Code != "invalid_client" ||
		!strings.HasPrefix(token.Outcome, "refused: token service answered HTTP 401: invalid_client: AADSTS7000215") {
		t.Errorf("token line %+v", token)
	}
	for _, r := range results[1:] {
		if r.OK || r.Outcome != "skipped: no token" || r.Request == "" {
			t.Errorf("%s without a token: %+v", r.Read, r)
		}
	}
	if n := sim.Stats().GraphRequests; n != 0 {
		t.Errorf("%d Graph requests without a token", n)
	}
}

// TestProbeUserInsights: one request per configured report; retired
// reports say so.
func TestProbeUserInsights(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow})
	c := probeClient(t, sim, "")
	list := []insights.Report{{Granularity: insights.Daily, Name: insights.ActiveUsers}, {Granularity: insights.Monthly, Name: insights.SignUps}}
	results := c.ProbeUserInsights(t.Context(), list)
	if len(results) != 3 || sim.Stats().GraphRequests != 2 {
		t.Fatalf("got %+v after %d requests, want the token and 2 reports in 2 requests", results, sim.Stats().GraphRequests)
	}
	for i, r := range results[1:] {
		if !r.OK || !r.Required || r.Read != list[i].String() || r.Request != "GET /beta"+list[i].Path() ||
			!strings.HasPrefix(r.Outcome, "used: ") {
			t.Errorf("report %s: %+v", list[i], r)
		}
	}
	sim.SetRetirement(graphsim.RetiredNotFound)
	for _, r := range c.ProbeUserInsights(t.Context(), list)[1:] {
		if r.OK || r.Status != http.StatusNotFound || !strings.HasPrefix(r.Outcome, "retired: ") {
			t.Errorf("retired report %s: %+v", r.Read, r)
		}
	}
}
