package app

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// syntheticRows are n rows of daily/activeUsers in one period, one per
// language: with the language dimension only, n data series.
func syntheticRows(n int) (rowsSource, collector.Config) {
	active := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	rows := make([]insights.Row, n)
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = insights.Row{FactDate: day, AppID: "app", Language: fmt.Sprintf("lang-%06d", i), Count: int64(i)}
	}
	return rowsSource{active: rows}, collector.Config{Reports: []insights.Report{active}, Dimensions: map[insights.Report][]string{active: {"language"}}}
}

// BenchmarkMetrics measures one /metrics answer at 10 k and 100 k data
// series, as Prometheus asks for it (OpenMetrics, gzip) and in the text
// format, with one scraper and with two at once (RunParallel on 2 cores).
// heap-MB is the live heap holding the snapshot, for scale.
// docs/performance.md has the figures.
func BenchmarkMetrics(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		source, cfg := syntheticRows(n)
		rt := newTestRuntime(b, source, cfg)
		var mem runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&mem)
		heap := float64(mem.HeapAlloc) / (1 << 20)
		// Commit bf8dea9 also has the custom cache this replaced, as
		// "cached": the baseline of docs/performance.md's comparison.
		handlers := map[string]http.Handler{"promhttp": rt.MetricsHandler(MetricsOptions{ExporterMetrics: true})}
		for _, name := range []string{"promhttp"} {
			for _, format := range []struct {
				name   string
				header map[string]string
			}{
				{"prometheus-gzip", map[string]string{"Accept": prometheusAccept, "Accept-Encoding": "gzip"}},
				{"text", nil},
			} {
				h := handlers[name]
				prefix := fmt.Sprintf("series=%d/%s/%s", n, name, format.name)
				b.Run(prefix+"/scrapers=1", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						benchScrape(b, h, format.header)
					}
					b.ReportMetric(heap, "heap-MB")
				})
				b.Run(prefix+"/scrapers=2", func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(1) // GOMAXPROCS goroutines: 2 on this machine
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							benchScrape(b, h, format.header)
						}
					})
				})
			}
		}
	}
}

func benchScrape(b *testing.B, h http.Handler, header map[string]string) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := &discardRecorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.code != 0 && rec.code != http.StatusOK {
		b.Errorf("HTTP %d", rec.code)
	}
}

// discardRecorder is a ResponseWriter that throws the body away, as a
// socket to a scraper would take it, without buffering 10 MB per scrape.
type discardRecorder struct {
	header http.Header
	code   int
}

func (r *discardRecorder) Header() http.Header         { return r.header }
func (r *discardRecorder) WriteHeader(code int)        { r.code = code }
func (r *discardRecorder) Write(p []byte) (int, error) { return io.Discard.Write(p) }
