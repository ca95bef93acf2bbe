package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

const testClientID = "11111111-0000-4000-8000-00000000000c"

// flagConfig is a Config as the flags make it: one tenant's settings and
// a client secret from the environment.
func flagConfig(tenantID string) Config {
	return Config{
		Graph: graph.Config{
			TenantName: tenantID, TenantID: tenantID, ClientID: testClientID, ClientSecret: "from-the-environment",
			AuthMode: azconf.AuthAuto, Cloud: azconf.DefaultCloud,
		},
		Source:          insights.SourceLogs,
		RefreshInterval: 5 * time.Minute, RefreshTimeout: 2 * time.Minute, MaxAge: time.Hour,
	}
}

func writeTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlanOfTheFlags: without a config file the flags are the one tenant,
// whose id must be valid.
func TestPlanOfTheFlags(t *testing.T) {
	p, err := NewPlan(flagConfig("contoso.onmicrosoft.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tenants) != 1 || p.Tenants[0].Name() != "contoso.onmicrosoft.com" || p.Tenants[0].Source != insights.SourceLogs ||
		p.Tenants[0].Credential != (azconf.Choice{Mode: azconf.AuthClientSecret, From: "auto: " + azconf.EnvClientSecret}) {
		t.Errorf("plan %+v, want the flags' tenant reading logs with the environment's secret", p.Tenants)
	}
	if p.Collector.RefreshInterval != 5*time.Minute || p.Collector.Reports != nil {
		t.Errorf("collector %+v, want the flags' interval and every report", p.Collector)
	}
	for _, id := range []string{"", "not a tenant"} {
		if _, err := NewPlan(flagConfig(id), nil); err == nil || !strings.HasPrefix(err.Error(), "--azure.tenant-id: ") {
			t.Errorf("tenant id %q: %v, want an error naming --azure.tenant-id", id, err)
		}
	}
}

// TestPlanOfAConfigFile: each tenant overlays the flags; a file credential
// replaces the other kind, the environment's secret included; a tenant
// that cannot get a token is named by its index.
func TestPlanOfAConfigFile(t *testing.T) {
	cert := writeTestFile(t, "tls.pem", "a certificate")
	secret := writeTestFile(t, "secret", "a secret")
	otherClient := "11111111-0000-4000-8000-0000000000cc"
	cfg := flagConfig("")
	cfg.Graph.ClientSecretFile = secret
	cfg.ConfigFile = writeTestFile(t, "config.yml", "tenants:\n"+
		"  - {name: contoso, tenant_id: contoso.onmicrosoft.com}\n"+
		"  - {name: fabrikam, tenant_id: fabrikam.onmicrosoft.com, client_id: "+otherClient+", client_certificate_file: "+cert+", source: userinsights, cloud: usgov}\n"+
		"reports: [daily/activeUsers]\n"+
		"dimensions: {daily/activeUsers: [app_id]}\n")
	p, err := NewPlan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tenants) != 2 {
		t.Fatalf("%d tenants, want 2", len(p.Tenants))
	}
	contoso, fabrikam := p.Tenants[0], p.Tenants[1]
	if g := contoso.Graph; g.ClientSecretFile != secret || g.ClientID != testClientID || contoso.Source != insights.SourceLogs ||
		contoso.Credential.Mode != azconf.AuthClientSecret {
		t.Errorf("contoso %+v, want the flags' client and secret file, reading logs", contoso)
	}
	if g := fabrikam.Graph; g.ClientCertificateFile != cert || g.ClientSecretFile != "" || g.ClientSecret != "" || g.ClientID != otherClient ||
		g.Cloud != "usgov" || g.TenantID != "fabrikam.onmicrosoft.com" || fabrikam.Source != insights.SourceUserInsights ||
		fabrikam.Credential.Mode != azconf.AuthClientCertificate {
		t.Errorf("fabrikam %+v, want its own client, certificate only, cloud and source", fabrikam)
	}
	active := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	if !slices.Equal(p.Collector.Reports, []insights.Report{active}) || !slices.Equal(p.Collector.Dimensions[active], []string{"app_id"}) {
		t.Errorf("collector %+v, want the file's report and dimensions", p.Collector)
	}

	cfg.ConfigFile = writeTestFile(t, "config.yml", "tenants:\n"+
		"  - {name: contoso, tenant_id: contoso.onmicrosoft.com}\n"+
		"  - {name: fabrikam, tenant_id: fabrikam.onmicrosoft.com, auth_mode: workload-identity}\n")
	if _, err := NewPlan(cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "config.file: tenants[1]: --azure.auth-mode: workload-identity needs") {
		t.Errorf("a tenant without its federated token: %v, want an error naming tenants[1]", err)
	}
}

// TestPlanOfTheDemo: the demo is one tenant, "demo", on the simulator,
// refreshed often; --config.check (no simulator) plans none.
func TestPlanOfTheDemo(t *testing.T) {
	cfg := flagConfig("")
	cfg.Demo = true
	if p, err := NewPlan(cfg, nil); err != nil || len(p.Tenants) != 0 {
		t.Errorf("demo without a simulator: %v, %v; want no tenant", p, err)
	}
	sim := graphsimtest.Start(t, graphsim.Options{})
	p, err := NewPlan(cfg, sim)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tenants) != 1 || p.Tenants[0].Name() != "demo" || p.Tenants[0].Graph.GraphURL != sim.GraphURL || !p.Tenants[0].Graph.DisableBudget {
		t.Errorf("demo plan %+v, want one tenant demo on the simulator without a budget", p.Tenants)
	}
	if p.Collector.RefreshInterval != demoRefreshInterval || p.Collector.RefreshTimeout != demoRefreshInterval {
		t.Errorf("demo refresh every %s (timeout %s), want %s", p.Collector.RefreshInterval, p.Collector.RefreshTimeout, demoRefreshInterval)
	}
}

// TestPlanOfReportsNoSourceProduces: a listed report that the logs source
// has no replacement for fails the plan when every tenant reads logs, and
// is noted (then logged) for the logs tenants when another reads it.
func TestPlanOfReportsNoSourceProduces(t *testing.T) {
	cfg := flagConfig("")
	const list = "reports: [daily/activeUsers, monthly/summary]\n"
	cfg.ConfigFile = writeTestFile(t, "config.yml", "tenants:\n  - {name: contoso, tenant_id: contoso.onmicrosoft.com}\n"+list)
	if _, err := NewPlan(cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "config.file: reports: monthly/summary: the logs source") {
		t.Errorf("a report no tenant's source produces: %v, want an error naming it", err)
	}

	cfg.ConfigFile = writeTestFile(t, "config.yml", "tenants:\n  - {name: contoso, tenant_id: contoso.onmicrosoft.com}\n"+
		"  - {name: fabrikam, tenant_id: fabrikam.onmicrosoft.com, source: userinsights}\n"+list)
	p, err := NewPlan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	summary := insights.Report{Granularity: insights.Monthly, Name: insights.Summary}
	if !slices.Equal(p.Tenants[0].Unserved, []insights.Report{summary}) || p.Tenants[1].Unserved != nil {
		t.Errorf("unserved %v and %v, want monthly/summary for the logs tenant only", p.Tenants[0].Unserved, p.Tenants[1].Unserved)
	}
	log := &logBuffer{}
	p.Log(slog.New(slog.NewTextHandler(log, nil)))
	if got := log.lines("level=WARN", "tenant=contoso", "source=logs", "monthly/summary"); len(got) != 1 {
		t.Errorf("warnings %q, want one for contoso naming the report", log.lines("level=WARN"))
	}
}

// TestPlanWarnsOfAnIntervalTheBudgetCannotServe: one warning per tenant
// whose refresh interval is shorter than its reads take under Graph's
// budget; none for a sensible interval.
func TestPlanWarnsOfAnIntervalTheBudgetCannotServe(t *testing.T) {
	p := &Plan{Tenants: []Tenant{{Graph: graph.Config{TenantName: "a"}, Source: insights.SourceLogs},
		{Graph: graph.Config{TenantName: "b"}, Source: insights.SourceUserInsights}}}
	for interval, want := range map[time.Duration]int{time.Second: 2, 10 * time.Second: 1, 5 * time.Minute: 0} {
		p.Collector.RefreshInterval = interval
		log := &logBuffer{}
		p.Log(slog.New(slog.NewTextHandler(log, nil)))
		if got := log.lines("level=WARN", "Graph's budget"); len(got) != want {
			t.Errorf("interval %s: %d warnings, want %d:\n%q", interval, len(got), want, got)
		}
	}
}
