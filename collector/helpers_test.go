package collector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

// fakeSource serves fixed rows and errors per report; tests change them
// between refreshes.
type fakeSource struct {
	mu    sync.Mutex
	rows  map[insights.Report][]insights.Row
	errs  map[insights.Report]error
	calls int
}

func newFakeSource(rows map[insights.Report][]insights.Row) *fakeSource {
	return &fakeSource{rows: rows, errs: map[insights.Report]error{}}
}

func (s *fakeSource) Fetch(_ context.Context, r insights.Report) ([]insights.Row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.errs[r]; err != nil {
		return nil, err
	}
	return slices.Clone(s.rows[r]), nil
}

func (s *fakeSource) setErr(r insights.Report, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[r] = err
}

func (s *fakeSource) setRows(r insights.Report, rows []insights.Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[r] = rows
}

// The fakes that serve one report at a time (Fetch) are read as the
// userinsights source reads its reports, through its worker pool, but are
// nameless (source="unknown") and never retired.

func (s *fakeSource) Name() string               { return "" }
func (s *fakeSource) Reports() []insights.Report { return insights.AllReports() }
func (s *fakeSource) Refresh(ctx context.Context, want []insights.Report) source.Results {
	return userinsights.FetchAll(ctx, s, want)
}

// sourceFunc adapts a function to a source of every Graph report.
type sourceFunc func(ctx context.Context, r insights.Report) ([]insights.Row, error)

func (f sourceFunc) Fetch(ctx context.Context, r insights.Report) ([]insights.Row, error) {
	return f(ctx, r)
}

func (f sourceFunc) Name() string               { return "" }
func (f sourceFunc) Reports() []insights.Report { return insights.AllReports() }
func (f sourceFunc) Refresh(ctx context.Context, want []insights.Report) source.Results {
	return userinsights.FetchAll(ctx, f, want)
}

// fakeClock is a settable clock for timestamps and max-age.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func report(g insights.Granularity, name string) insights.Report {
	return insights.Report{Granularity: g, Name: name}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// seriesKey renders a series as name{label="value",...} with labels in the
// given order.
func seriesKey(name string, labels []Label) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s=%q", l.Name, l.Value)
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// sampleValues maps every sample to its value by seriesKey.
func sampleValues(samples []Sample) map[string]float64 {
	values := make(map[string]float64, len(samples))
	for _, s := range samples {
		values[seriesKey(s.Name, s.Labels)] = s.Value
	}
	return values
}

// gatherValues gathers g and maps every series to its value by
// promtest.Key: seriesKey's form, labels sorted by name (as the registry
// sorts them).
func gatherValues(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return promtest.Values(families)
}

// checkValues fails for every series of want whose value differs or that is
// missing, and for every series of absent that is present. absent entries
// ending in "{" match any series of that name.
func checkValues(t testing.TB, got map[string]float64, want map[string]float64, absent ...string) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("missing series %s (want %g)", k, v)
		case g != v:
			t.Errorf("%s = %g, want %g", k, g, v)
		}
	}
	for _, a := range absent {
		for k := range got {
			if k == a || (strings.HasSuffix(a, "{") && strings.HasPrefix(k, a)) {
				t.Errorf("series %s present, want it absent", k)
			}
		}
	}
}

// newTestExporter returns an exporter for tenants registered on a fresh
// pedantic registry, with counters on the same registry.
func newTestExporter(t testing.TB, cfg Config, clock func() time.Time, tenants ...Tenant) (*Exporter, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	e, err := New(tenants, withFamilies(cfg), nil, reg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	reg.MustRegister(e)
	return e, reg
}

// newRegistry returns a registry with only c on it.
func newRegistry(t testing.TB, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return reg
}

// withFamilies is cfg with the families of every source, as the app gives
// a configuration whose tenants read both.
func withFamilies(cfg Config) Config {
	if cfg.Families == nil {
		cfg.Families = registry.Families()
	}
	return cfg
}

// adapt maps userInsights rows into their families, as the userinsights
// source does.
func adapt(rows map[insights.Report][]insights.Row) map[insights.Report]source.Result {
	out := make(map[insights.Report]source.Result, len(rows))
	for r, rs := range rows {
		out[r] = userinsights.ResultOf(r, rs)
	}
	return out
}
