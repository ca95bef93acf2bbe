package main

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/graphsim"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = gz
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

// TestMetricsFormatsAndCache: text, OpenMetrics and gzip responses carry the
// self-metrics and the data; the data's encoding is reused until a refresh
// swaps a snapshot.
func TestMetricsFormatsAndCache(t *testing.T) {
	e := startExporter(t, "--demo")
	e.waitUntilUp(t, "demo")
	url := "http://" + e.addr + "/metrics"

	resp, text := get(t, url, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	for _, want := range []string{"\nentra_insights_daily_active_users{", "\ngo_goroutines ", "\nentra_insights_graph_requests_total{", "\npromhttp_metric_handler_requests_total{"} {
		if !strings.Contains(text, want) {
			t.Errorf("text response lacks %q", strings.TrimSpace(want))
		}
	}

	// Prometheus' own Accept header; like promhttp's default, the answer is
	// the text format, here gzipped.
	resp, zipped := get(t, url, map[string]string{"Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("gzip was accepted but not used")
	}
	if !strings.Contains(zipped, "entra_insights_daily_active_users{") {
		t.Errorf("gzipped response lacks the data")
	}

}

type rowsSource map[insights.Report][]insights.Row

func (s rowsSource) Fetch(_ context.Context, r insights.Report) ([]insights.Row, error) {
	return s[r], nil
}

// TestMetricsDataCachedPerSnapshot: the data is encoded once per snapshot
// swap and format, and a refresh makes the next scrape encode it again.
func TestMetricsDataCachedPerSnapshot(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	source := rowsSource{}
	for _, r := range insights.AllReports() {
		source[r] = graphsim.Rows(graphsim.DefaultTenantID, r, now, false)
	}
	reg := prometheus.NewRegistry()
	exp, err := collector.New([]collector.Tenant{{Name: "t", TenantID: "t", Source: source}}, collector.Config{}, slog.New(slog.DiscardHandler), reg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(exp)
	gen := &generation{registry: reg, exporter: exp}
	h := newMetricsHandler(prometheus.NewRegistry(), func() *generation { return gen }, 0, slog.New(slog.DiscardHandler))
	format := expfmt.NewFormat(expfmt.TypeTextPlain)

	exp.RefreshAll(t.Context())
	first, err := h.data(format)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := h.data(format)
	if &first[0] != &again[0] {
		t.Errorf("the data was encoded again without a snapshot swap")
	}
	if !strings.Contains(string(first), "entra_insights_daily_active_users{") {
		t.Fatalf("the data lacks the data metrics")
	}
	exp.RefreshAll(t.Context())
	after, _ := h.data(format)
	if &after[0] == &first[0] {
		t.Errorf("a snapshot swap did not invalidate the cached encoding")
	}
}
