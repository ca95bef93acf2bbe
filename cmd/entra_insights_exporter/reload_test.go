package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

func post(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// labelNames returns the label names of a family's first series.
func labelNames(f *dto.MetricFamily) string {
	if f == nil || len(f.Metric) == 0 {
		return ""
	}
	var names []string
	for _, lp := range f.Metric[0].Label {
		names = append(names, lp.GetName())
	}
	return strings.Join(names, ",")
}

// TestReloadAppliesANewConfigAndKeepsTheOldOnError: POST /-/reload re-reads
// --config.file; a broken file leaves the running configuration serving.
func TestReloadAppliesANewConfigAndKeepsTheOldOnError(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{PageSize: 1000})
	caFile, err := sim.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_CLIENT_ID", sim.ClientID)
	t.Setenv("AZURE_CLIENT_SECRET", sim.ClientSecret)
	t.Setenv("AZURE_TENANT_ID", "")
	configFile := filepath.Join(t.TempDir(), "config.yml")
	writeConfig := func(body string) {
		if err := os.WriteFile(configFile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tenant := "tenants: [{name: contoso, tenant_id: " + sim.TenantID + "}]\n"
	writeConfig(tenant + "dimensions: {daily/activeUsers: [app_id]}\n")
	e := startExporter(t, "--config.file="+configFile, "--web.enable-lifecycle", "--graph.rate-limit=0",
		"--azure.authority-host="+sim.AuthorityHost, "--graph.url="+sim.GraphURL, "--graph.ca-file="+caFile)
	families := e.waitUntilUp(t, "contoso")
	if got := labelNames(families["entra_insights_daily_active_users"]); got != "app_id,tenant" {
		t.Fatalf("daily_active_users labels = %s, want app_id,tenant", got)
	}

	writeConfig(tenant + "dimensions: {daily/activeUsers: [app_id, country]}\n")
	if code := post(t, "http://"+e.addr+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: HTTP %d; log:\n%s", code, e.stderr)
	}
	// The reload returns once the new configuration has refreshed, so the
	// very next scrape has its series: no gap.
	if got := labelNames(e.scrape(t)["entra_insights_daily_active_users"]); got != "app_id,country,tenant" {
		t.Fatalf("right after the reload labels = %s, want app_id,country,tenant", got)
	}

	writeConfig("dimensions: {daily/activeUsers: [colour]}\n")
	if code := post(t, "http://"+e.addr+"/-/reload"); code != http.StatusInternalServerError {
		t.Fatalf("reload of a broken file: HTTP %d, want 500", code)
	}
	if got := labelNames(e.scrape(t)["entra_insights_daily_active_users"]); got != "app_id,country,tenant" {
		t.Errorf("after a failed reload labels = %s, want the running configuration's", got)
	}
	if !strings.Contains(e.stderr.String(), "reload failed") {
		t.Errorf("a failed reload was not logged")
	}
}

func TestReloadNeedsTheLifecycleFlag(t *testing.T) {
	e := startExporter(t, "--demo")
	if code := post(t, "http://"+e.addr+"/-/reload"); code != http.StatusForbidden {
		t.Errorf("reload without --web.enable-lifecycle: HTTP %d, want 403", code)
	}
}
