package app

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

// decodeBody reads body in the content encoding the server chose.
func decodeBody(t testing.TB, encoding string, body io.Reader) string {
	t.Helper()
	switch encoding {
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		body = gz
	case "zstd":
		zr, err := zstd.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		body = zr
	case "":
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

type rowsSource map[insights.Report][]insights.Row

func (s rowsSource) Name() string               { return insights.SourceUserInsights }
func (s rowsSource) Reports() []insights.Report { return insights.AllReports() }
func (s rowsSource) Refresh(_ context.Context, want []insights.Report) source.Results {
	out := source.Results{}
	for _, r := range want {
		out[r] = userinsights.ResultOf(r, s[r])
	}
	return out
}

// simRows are the simulator's rows of every report at a pinned time.
func simRows() rowsSource {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	source := rowsSource{}
	for _, r := range insights.AllReports() {
		source[r] = graphsim.Rows(graphsim.DefaultTenantID, r, now, false)
	}
	return source
}

// newTestRuntime returns a runtime whose current generation is tenant "t"
// reading source, refreshed once: for handler tests with httptest, without
// Graph or a port.
func newTestRuntime(t testing.TB, source rowsSource, cfg collector.Config) *Runtime {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	rt, err := New(t.Context(), Config{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	// No Close: nothing runs and no file is open, and a cleanup would keep
	// the snapshot alive for BenchmarkMetrics' heap figure of the next size.
	rt.metrics.Tenant("t") // retries and throttles at 0, as a client would
	reg := prometheus.NewRegistry()
	if cfg.Families == nil {
		cfg.Families = registry.Families(insights.SourceUserInsights)
	}
	exp, err := collector.New([]collector.Tenant{{Name: "t", TenantID: "t", Source: source}}, cfg, logger, reg, time.Now,
		collector.WithRefreshErrors(rt.refreshErrors))
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(exp)
	exp.RefreshAll(t.Context())
	done := make(chan struct{})
	close(done) // no loops run: RefreshAll refreshed it
	rt.current.Store(&generation{plan: &Plan{Tenants: []Tenant{{Graph: graph.Config{TenantName: "t"}}}},
		registry: reg, exporter: exp, stop: func() {}, done: done})
	return rt
}

// serveGet answers GET path with h, the request carrying header.
func serveGet(h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// prometheusAccept is the Accept header of Prometheus 2.42's scrapes.
const prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// TestMetricsNegotiatesFormatAndCompression: /metrics is promhttp's: the
// text format by default, OpenMetrics (ending in # EOF) when asked, as
// Prometheus does, protobuf, and gzip or zstd when accepted. Each answer
// holds the data, the stable counters and the runtime metrics.
func TestMetricsNegotiatesFormatAndCompression(t *testing.T) {
	h := newTestRuntime(t, simRows(), collector.Config{}).MetricsHandler(MetricsOptions{ExporterMetrics: true})
	for _, tc := range []struct {
		name, accept, encoding string
		wantType               string
	}{
		{"no Accept", "", "", "text/plain; version=0.0.4"},
		{"OpenMetrics asked", "application/openmetrics-text; version=1.0.0", "", "application/openmetrics-text; version=1.0.0"},
		{"Prometheus' Accept", prometheusAccept, "", "application/openmetrics-text; version=1.0.0"},
		{"protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "", "application/vnd.google.protobuf"},
		{"gzip", prometheusAccept, "gzip", "application/openmetrics-text; version=1.0.0"},
		{"zstd", "", "zstd", "text/plain; version=0.0.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := map[string]string{"Accept": tc.accept}
			if tc.encoding != "" {
				header["Accept-Encoding"] = tc.encoding
			}
			rec := serveGet(h, "/metrics", header)
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
			}
			if got := rec.Header().Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			body := decodeBody(t, rec.Header().Get("Content-Encoding"), rec.Body)
			families := parseExposition(t, rec.Header().Get("Content-Type"), body)
			for _, name := range []string{"entra_insights_daily_active_users", "entra_insights_tenant_up", "entra_insights_refresh_errors_total",
				"entra_insights_graph_retries_total", "entra_insights_exporter_build_info", "go_goroutines", "process_start_time_seconds"} {
				if families[name] == nil {
					t.Errorf("%s missing", name)
				}
			}
			openMetrics := strings.HasPrefix(tc.wantType, "application/openmetrics-text")
			if openMetrics != strings.HasSuffix(body, "# EOF\n") {
				t.Errorf("OpenMetrics %v, but the body ends in %q", openMetrics, body[max(0, len(body)-20):])
			}
		})
	}
}

// parseExposition parses a /metrics body of the given Content-Type into
// families by name (OpenMetrics counters under their _total name).
func parseExposition(t testing.TB, contentType, body string) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := promtest.Parse(contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// TestDisableExporterMetrics: --web.disable-exporter-metrics drops go_*,
// process_* and promhttp_*, as node_exporter's flag does, and nothing else.
func TestDisableExporterMetrics(t *testing.T) {
	for _, include := range []bool{true, false} {
		t.Run(fmt.Sprintf("exporter metrics %v", include), func(t *testing.T) {
			h := newTestRuntime(t, simRows(), collector.Config{}).MetricsHandler(MetricsOptions{ExporterMetrics: include})
			serveGet(h, "/metrics", nil) // promhttp counts a scrape after it
			families := parseExposition(t, "text/plain", serveGet(h, "/metrics", nil).Body.String())
			for _, prefix := range []string{"go_", "process_", "promhttp_"} {
				found := false
				for name := range families {
					found = found || strings.HasPrefix(name, prefix)
				}
				if found != include {
					t.Errorf("%s* exported: %v, want %v", prefix, found, include)
				}
			}
			for _, name := range []string{"entra_insights_daily_active_users", "entra_insights_exporter_build_info", "entra_insights_refresh_errors_total"} {
				if families[name] == nil {
					t.Errorf("%s missing", name)
				}
			}
		})
	}
}

// TestMetricsLimitsParallelScrapes: --web.max-requests answers the scrapes
// beyond it with 503.
func TestMetricsLimitsParallelScrapes(t *testing.T) {
	rt := newTestRuntime(t, simRows(), collector.Config{})
	// entered is buffered: the first scrape's Collect must not depend on
	// this goroutine already waiting for it (under -race on a loaded
	// machine it was not, and the test hung for good).
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	rt.stable.MustRegister(blockingCollector{entered: entered, block: block})
	h := rt.MetricsHandler(MetricsOptions{MaxRequests: 1})
	done := make(chan int)
	go func() { done <- serveGet(h, "/metrics", nil).Code }()
	<-entered
	if code := serveGet(h, "/metrics", nil).Code; code != http.StatusServiceUnavailable {
		t.Errorf("a second parallel scrape: HTTP %d, want 503", code)
	}
	close(block)
	if code := <-done; code != http.StatusOK {
		t.Errorf("the first scrape: HTTP %d", code)
	}
}

// blockingCollector holds a scrape until block closes.
type blockingCollector struct{ entered, block chan struct{} }

func (blockingCollector) Describe(chan<- *prometheus.Desc) {}
func (b blockingCollector) Collect(chan<- prometheus.Metric) {
	select {
	case b.entered <- struct{}{}:
		<-b.block
	default:
	}
}
