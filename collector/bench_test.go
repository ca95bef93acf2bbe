package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// syntheticExporter returns a refreshed exporter with about n data series:
// daily/activeUsers split by language only, one row per language.
func syntheticExporter(b *testing.B, n int) *Exporter {
	active := report(insights.Daily, insights.ActiveUsers)
	rows := make([]insights.Row, n)
	for i := range rows {
		rows[i] = insights.Row{FactDate: date(2026, 11, 27), AppID: "app", Language: fmt.Sprintf("lang-%06d", i), Count: int64(i)}
	}
	cfg := Config{Reports: []insights.Report{active}, Dimensions: map[insights.Report][]string{active: {"language"}}}
	e, err := New([]Tenant{{Name: "t", Source: newFakeSource(map[insights.Report][]insights.Row{active: rows})}}, withFamilies(cfg), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	e.RefreshAll(b.Context())
	return e
}

// BenchmarkCollect measures a full /metrics render of the Exporter through
// promhttp: what a scrape costs.
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			e := syntheticExporter(b, n)
			reg := newRegistry(b, e)
			handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkRefreshBuild measures building a snapshot from the held rows:
// the simulator's tenant (every report, 30 days and 12 months of rows) and
// synthetic tenants with many rows in the as-of period.
func BenchmarkRefreshBuild(b *testing.B) {
	b.Run("graphsim", func(b *testing.B) {
		st := goldenTenants()[0]
		e, err := New([]Tenant{{Name: st.name, TenantID: st.id, Source: simSource(st, goldenNow)}}, withFamilies(Config{}), nil, nil, goldenNow)
		if err != nil {
			b.Fatal(err)
		}
		e.RefreshAll(b.Context())
		benchmarkBuild(b, e)
	})
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			benchmarkBuild(b, syntheticExporter(b, n))
		})
	}
}

func benchmarkBuild(b *testing.B, e *Exporter) {
	t := e.tenants[0]
	b.ReportAllocs()
	for b.Loop() {
		if s := e.buildSnapshot(t, 0); len(s.metrics) == 0 {
			b.Fatal("empty snapshot")
		}
	}
}

// BenchmarkRows is the cost of the simulator's data for one tenant, for
// comparison with the build.
func BenchmarkRows(b *testing.B) {
	st := goldenTenants()[0]
	for b.Loop() {
		for _, r := range insights.AllReports() {
			graphsim.Rows(st.id, r, goldenNow(), false)
		}
	}
}

// TestCollectDoesNotAllocate checks that Collect only ranges over the
// pre-built snapshot: whatever a scrape allocates is client_golang's.
func TestCollectDoesNotAllocate(t *testing.T) {
	e, _ := goldenExporter(t, Config{})
	ch := make(chan prometheus.Metric, 10_000)
	allocs := testing.AllocsPerRun(10, func() {
		e.Collect(ch)
		for len(ch) > 0 {
			<-ch
		}
	})
	if allocs != 0 {
		t.Errorf("Collect allocates %v times per call, want 0", allocs)
	}
}
