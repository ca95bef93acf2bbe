package main

import (
	"net/http"
	"strings"
	"testing"

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

// TestReloadAppliesANewConfigAndKeepsTheOldOnError: POST /-/reload re-reads
// --config.file; a broken file leaves the running configuration serving.
func TestReloadAppliesANewConfigAndKeepsTheOldOnError(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{PageSize: 1000})
	dir := t.TempDir()
	writeConfig := func(body string) string { return writeFile(t, dir, "config.yml", body) }
	tenant := "tenants: [{name: contoso, tenant_id: " + sim.TenantID + "}]\n"
	configFile := writeConfig(tenant + "dimensions: {daily/activeUsers: [app_id]}\n")
	in := launch(t, append(simArgs(t, sim, ""), "--config.file="+configFile, "--web.enable-lifecycle", "--graph.rate-limit=0")...)
	families := in.waitUp(t, 1)
	if got := labelNames(families["entra_insights_daily_active_users"]); got != "app_id,tenant" {
		t.Fatalf("daily_active_users labels = %s, want app_id,tenant", got)
	}

	writeConfig(tenant + "dimensions: {daily/activeUsers: [app_id, country]}\n")
	if code := post(t, in.url("/-/reload")); code != http.StatusOK {
		t.Fatalf("reload: HTTP %d", code)
	}
	// The reload returns once the new configuration has refreshed, so the
	// very next scrape has its series: no gap.
	if got := labelNames(in.scrape(t)["entra_insights_daily_active_users"]); got != "app_id,country,tenant" {
		t.Fatalf("right after the reload labels = %s, want app_id,country,tenant", got)
	}

	writeConfig("dimensions: {daily/activeUsers: [colour]}\n")
	if code := post(t, in.url("/-/reload")); code != http.StatusInternalServerError {
		t.Fatalf("reload of a broken file: HTTP %d, want 500", code)
	}
	if got := labelNames(in.scrape(t)["entra_insights_daily_active_users"]); got != "app_id,country,tenant" {
		t.Errorf("after a failed reload labels = %s, want the running configuration's", got)
	}
	if !strings.Contains(in.stderr.String(), "reload failed") {
		t.Errorf("a failed reload was not logged")
	}
}

func TestReloadNeedsTheLifecycleFlag(t *testing.T) {
	t.Parallel()
	in := launch(t, "--demo")
	if code := post(t, in.url("/-/reload")); code != http.StatusForbidden {
		t.Errorf("reload without --web.enable-lifecycle: HTTP %d, want 403", code)
	}
}
