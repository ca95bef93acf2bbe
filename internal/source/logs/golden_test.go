package logs_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/logs.prom")

// goldenNow pins the simulator's data clock and the source's clock.
var goldenNow = time.Date(2026, 12, 2, 15, 30, 0, 0, time.UTC)

// TestGoldenLogsExposition reads pinned simulator data through the real
// Graph client (SDK decode, paging, TLS token) into the logs source and a
// collector, and compares the data metrics with testdata/logs.prom.
func TestGoldenLogsExposition(t *testing.T) {
	now := func() time.Time { return goldenNow }
	sim := graphsimtest.Start(t, graphsim.Options{Now: now, LogPageSize: 300})
	client := graphsimtest.Client(t, sim, func(c *graph.Config) {
		c.TenantName, c.AuthMode, c.Cloud = "golden", azconf.AuthClientSecret, azconf.DefaultCloud
	}, graph.Deps{})
	catalog, err := collector.NewCatalog(collector.Config{Families: logs.Families()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src, err := logs.New(logs.Options{Tenant: "golden", Label: "golden", Reader: client, Store: st, Now: now,
		ActiveUserDims: logs.ActiveUserDims(catalog.Kept)})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	e, err := collector.New([]collector.Tenant{{Name: "golden", TenantID: sim.TenantID, Cloud: "public", Source: src}}, collector.Config{Families: logs.Families()}, nil, reg, now)
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(e)
	e.RefreshAll(context.Background())

	text, kept := promtest.Text(t, reg, func(name string) bool {
		// The data and info metrics: what the dashboards read. Health
		// metrics carry wall-clock times and durations.
		return strings.HasPrefix(name, "entra_insights_daily_") || strings.HasPrefix(name, "entra_insights_monthly_") ||
			name == "entra_insights_app_info" || name == "entra_insights_tenant_info" ||
			name == "entra_insights_period_start_timestamp_seconds" || name == "entra_insights_source_up"
	})
	if kept < 10 {
		t.Fatalf("only %d data families exposed", kept)
	}
	path := filepath.Join("testdata", "logs.prom")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/source/logs -run TestGolden -update)", err)
	}
	if !bytes.Equal(want, text) {
		t.Errorf("the logs source's exposition differs from %s; run go test ./internal/source/logs -run TestGolden -update and review the diff", path)
	}
}
