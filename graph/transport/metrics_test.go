package transport

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsCountAttemptsRetriesAndThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		metrics := NewMetrics(reg)
		metrics.Tenant("idle") // pre-initialised at 0
		base := newFakeBase(step{status: 429, retryAfter: "1"}, step{status: 503}, step{err: errReset}, step{status: 200})
		tr := mustNew(t, base, Options{Metrics: metrics.Tenant("contoso")})
		resp, err := get(t, t.Context(), tr, reportURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()

		want := `
# HELP entra_insights_graph_requests_total HTTP requests sent to Microsoft Graph (host_kind=graph) and the token service (host_kind=token), by status code; code=error is a transport failure.
# TYPE entra_insights_graph_requests_total counter
entra_insights_graph_requests_total{code="200",host_kind="graph",tenant="contoso"} 1
entra_insights_graph_requests_total{code="429",host_kind="graph",tenant="contoso"} 1
entra_insights_graph_requests_total{code="503",host_kind="graph",tenant="contoso"} 1
entra_insights_graph_requests_total{code="error",host_kind="graph",tenant="contoso"} 1
# HELP entra_insights_graph_retries_total Graph requests repeated after a 429, 5xx or network failure.
# TYPE entra_insights_graph_retries_total counter
entra_insights_graph_retries_total{tenant="contoso"} 3
entra_insights_graph_retries_total{tenant="idle"} 0
# HELP entra_insights_graph_throttled_total Graph responses with status 429 (Too Many Requests).
# TYPE entra_insights_graph_throttled_total counter
entra_insights_graph_throttled_total{tenant="contoso"} 1
entra_insights_graph_throttled_total{tenant="idle"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", problems, err)
		}

		// A tenant a reload removed leaves no series behind; the others keep counting.
		metrics.Forget("contoso")
		if n := testutil.CollectAndCount(metrics.requests) + testutil.CollectAndCount(metrics.retries); n != 1 {
			t.Errorf("%d series after Forget, want only idle's retries", n)
		}
	})
}

func TestCountingTransportCountsTokenRequests(t *testing.T) {
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	reg := prometheus.NewPedanticRegistry()
	metrics := NewMetrics(reg)
	client := &http.Client{Transport: Counting(nil, metrics.Tenant("contoso"), "exporter/1")}
	for _, path := range []string{"/token", "/bad"} {
		resp, err := client.Get(srv.URL + path) // any host: no Graph URL check
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	srv.Close()
	if _, err := client.Get(srv.URL + "/token"); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	if gotUA != "exporter/1" {
		t.Errorf("User-Agent %q", gotUA)
	}
	want := `
# HELP entra_insights_graph_requests_total HTTP requests sent to Microsoft Graph (host_kind=graph) and the token service (host_kind=token), by status code; code=error is a transport failure.
# TYPE entra_insights_graph_requests_total counter
entra_insights_graph_requests_total{code="200",host_kind="token",tenant="contoso"} 1
entra_insights_graph_requests_total{code="401",host_kind="token",tenant="contoso"} 1
entra_insights_graph_requests_total{code="error",host_kind="token",tenant="contoso"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "entra_insights_graph_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	tm := m.Tenant("x")
	tm.request(HostGraph, 200)
	tm.retry()
}
