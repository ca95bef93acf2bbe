package graph_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

const pageSize = 7

// fixedNow pins the simulator's data clock.
func fixedNow() time.Time { return time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC) }

// simClient starts a simulator and a client-secret Client for it; the
// budget is off so tests run at full speed.
func simClient(t testing.TB, edit func(*graph.Config)) (*graphsim.Sim, *graph.Client, *prometheus.Registry) {
	t.Helper()
	sim := graphsimtest.Start(t, graphsim.Options{Now: fixedNow, PageSize: pageSize})
	reg := prometheus.NewPedanticRegistry()
	c := graphsimtest.Client(t, sim, func(cfg *graph.Config) {
		cfg.UserAgent = "entra_insights_exporter/test"
		if edit != nil {
			edit(cfg)
		}
	}, graph.Deps{Metrics: transport.NewMetrics(reg)})
	return sim, c, reg
}

func pagesNeeded(rows int) int { return max(1, (rows+pageSize-1)/pageSize) }

func TestFetchEveryReportFromSimulator(t *testing.T) {
	sim, c, _ := simClient(t, nil)
	for _, r := range insights.AllReports() {
		t.Run(r.String(), func(t *testing.T) {
			sim.ResetStats()
			got, err := c.Fetch(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			want := graphsim.Rows(sim.TenantID, r, fixedNow(), false)
			if len(want) == 0 {
				t.Fatal("the simulator has no rows for this report; the test would prove nothing")
			}
			if diff := diffRows(got, want); diff != "" {
				t.Error(diff)
			}
			if got, want := sim.Stats().GraphRequests, pagesNeeded(len(want)); got != want {
				t.Errorf("%d Graph requests, want %d pages", got, want)
			}
		})
	}
}

// diffRows describes the first difference, treating nil and empty
// Failures alike.
func diffRows(got, want []insights.Row) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if len(g.Failures) == 0 && len(w.Failures) == 0 {
			g.Failures, w.Failures = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("row %d\n got %+v\nwant %+v", i, g, w)
		}
	}
	return ""
}

func TestFetchRetriesThrottlingWithEachRetryAfterForm(t *testing.T) {
	report := insights.Report{Granularity: insights.Daily, Name: insights.UserCount}
	tests := []struct {
		name       string
		retryAfter func() string
	}{
		{"integer seconds", func() string { return "1" }},
		{"fractional seconds", func() string { return "0.25" }},
		{"HTTP date", func() string { return time.Now().Add(time.Second).UTC().Format(http.TimeFormat) }},
		{"absent", func() string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, reg := simClient(t, nil)
			sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: 429, RetryAfter: tt.retryAfter(), Times: 1})
			rows, err := c.Fetch(t.Context(), report)
			if err != nil {
				t.Fatal(err)
			}
			want := graphsim.Rows(sim.TenantID, report, fixedNow(), false)
			if diff := diffRows(rows, want); diff != "" {
				t.Error(diff)
			}
			if got, want := sim.Stats().GraphRequests, pagesNeeded(len(want))+1; got != want {
				t.Errorf("%d Graph requests, want %d (pages + one retry)", got, want)
			}
			expected := `
# HELP entra_insights_graph_retries_total Graph requests repeated after a 429, 5xx or network failure.
# TYPE entra_insights_graph_retries_total counter
entra_insights_graph_retries_total{tenant="contoso"} 1
# HELP entra_insights_graph_throttled_total Graph responses with status 429 (Too Many Requests).
# TYPE entra_insights_graph_throttled_total counter
entra_insights_graph_throttled_total{tenant="contoso"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(expected),
				"entra_insights_graph_retries_total", "entra_insights_graph_throttled_total"); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFetchFailuresFromSimulator(t *testing.T) {
	report := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	tests := []struct {
		name       string
		fault      graphsim.Fault
		wantReason insights.Reason
		wantHint   string
	}{
		{"malformed JSON", graphsim.Fault{Kind: graphsim.FaultMalformedJSON}, insights.ReasonBadResponse, transport.HintBadResponse},
		{"truncated JSON", graphsim.Fault{Kind: graphsim.FaultTruncatedJSON}, insights.ReasonBadResponse, transport.HintBadResponse},
		{"wrong types", graphsim.Fault{Kind: graphsim.FaultWrongTypes}, insights.ReasonBadResponse, transport.HintBadResponse},
		{"oversized body", graphsim.Fault{Kind: graphsim.FaultOversized, Size: 17 << 20}, insights.ReasonBadResponse, transport.HintBadResponse},
		{"nextLink loop", graphsim.Fault{Kind: graphsim.FaultNextLinkLoop}, insights.ReasonBadResponse, transport.HintBadResponse},
		{"connection reset in the body", graphsim.Fault{Kind: graphsim.FaultReset}, insights.ReasonNetwork, transport.HintNetwork},
		{"403", graphsim.Fault{Kind: graphsim.FaultStatus, Status: 403}, insights.ReasonForbidden, graph.HintForbiddenUserInsights},
		{"500 twice", graphsim.Fault{Kind: graphsim.FaultStatus, Status: 500}, insights.ReasonServerError, transport.HintServerError},
		{"token service refuses the secret", graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "AADSTS7000215"},
			insights.ReasonToken, "invalid_client: the client secret or certificate is wrong or expired; check it and the client id"},
		{"expired secret", graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "AADSTS7000222"},
			insights.ReasonToken, "invalid_client: the client secret has expired; create a new one and update the secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := simClient(t, nil)
			sim.SetFault(tt.fault)
			_, err := c.Fetch(t.Context(), report)
			if got := insights.ReasonOf(err); got != tt.wantReason {
				t.Fatalf("reason %s, want %s (error: %v)", got, tt.wantReason, err)
			}
			if got := insights.HintOf(err); got != tt.wantHint {
				t.Errorf("hint %q, want %q", got, tt.wantHint)
			}
			if strings.Contains(err.Error(), sim.ClientSecret) || strings.Contains(err.Error(), "graphsim.") {
				t.Errorf("error leaks a secret or token: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestFetchNeverSendsTheTokenToAForeignNextLink(t *testing.T) {
	sim, c, _ := simClient(t, nil)
	foreign := graphsimtest.NewForeignServer(t, sim) // same CA, same host, other port
	sim.SetFault(foreign.Fault())
	_, err := c.Fetch(t.Context(), insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers})
	if insights.ReasonOf(err) != insights.ReasonBadResponse {
		t.Errorf("reason %s, want bad_response (error: %v)", insights.ReasonOf(err), err)
	}
	if n := foreign.Requests(); n != 0 {
		t.Errorf("the foreign server got %d requests (Authorization: %q)", n, foreign.Authorizations())
	}
}

func TestFetchGetsANewTokenAfterRevocation(t *testing.T) {
	sim, c, reg := simClient(t, nil)
	report := insights.Report{Granularity: insights.Daily, Name: insights.UserCount}
	if _, err := c.Fetch(t.Context(), report); err != nil {
		t.Fatal(err)
	}
	sim.RevokeTokens()
	sim.ResetStats()
	rows, err := c.Fetch(t.Context(), report)
	if err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if len(rows) == 0 {
		t.Error("no rows")
	}
	st := sim.Stats()
	if st.TokenRequests != 1 {
		t.Errorf("%d token requests after the revocation, want 1", st.TokenRequests)
	}
	if want := pagesNeeded(len(rows)) + 1; st.GraphRequests != want {
		t.Errorf("%d Graph requests, want %d (the refused one and the pages)", st.GraphRequests, want)
	}
	// Each credential reads the OpenID metadata once, then gets a token.
	if n := testutil.ToFloat64(mustCounter(t, reg, "entra_insights_graph_requests_total", `code="200",host_kind="token"`)); n != 4 {
		t.Errorf("%v successful token-service requests counted, want 4", n)
	}
}

// mustCounter finds one series of a counter in reg by a label substring.
func mustCounter(t *testing.T, reg *prometheus.Registry, name, labels string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if strings.Contains(strings.Join(parts, ","), labels) {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"},
					func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	t.Fatalf("no %s{%s}", name, labels)
	return nil
}
