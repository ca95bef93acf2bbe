package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// The simulator's further tenants, beside its default one (contoso here).
const (
	fabrikamID  = "22222222-0000-4000-8000-000000000002"
	northwindID = "33333333-0000-4000-8000-000000000003"
)

// testReports keeps the refreshes short: two reports of each granularity.
const testReports = "reports: [daily/activeUsers, daily/authentications, monthly/activeUsers, monthly/signUps]\n"

// logBuffer keeps a logger's lines (a handler writes one record a call),
// safe to read while generations log.
type logBuffer struct {
	mu      sync.Mutex
	records []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.records = append(b.records, string(p))
	return len(p), nil
}

// lines returns the lines that contain every one of parts.
func (b *logBuffer) lines(parts ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(b.records), func(line string) bool {
		return slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) })
	})
}

// simRuntime is a runtime reading a simulator as the flags would point
// at it, with the tenants of a config file the test rewrites. Its refresh
// interval is long: after its first refresh a generation stays still
// unless reloaded.
type simRuntime struct {
	*Runtime
	sim        *graphsim.Sim
	log        *logBuffer
	configFile string
}

// startSimRuntime starts a simulator and a runtime reading the named
// tenants (contoso, fabrikam, northwind) from source, and waits for the
// first generation's first refresh, as a scrape a little after start
// would find it.
func startSimRuntime(t *testing.T, source string, tenants ...string) *simRuntime {
	t.Helper()
	dir := t.TempDir()
	sim := graphsimtest.Start(t, graphsim.Options{PageSize: 1000, Tenants: []string{fabrikamID, northwindID}})
	s := &simRuntime{sim: sim, log: &logBuffer{}, configFile: filepath.Join(dir, "config.yml")}
	s.writeTenants(t, tenants...)
	cfg := Config{
		// The tenants come from the config file.
		Graph: graphsimtest.Config(sim, func(c *graph.Config) {
			c.TenantName, c.TenantID = "", ""
			c.AuthMode, c.Cloud, c.UserAgent = azconf.AuthAuto, azconf.DefaultCloud, Name+"/test"
		}),
		ConfigFile:      s.configFile,
		Source:          source,
		RefreshInterval: time.Hour, RefreshTimeout: 20 * time.Second, MaxAge: 2 * time.Hour,
		StoragePath: filepath.Join(dir, "state.db"),
		SourceFlags: map[string]registry.Flags{
			insights.SourceLogs: &logs.Flags{Lookback: model.Duration(24 * time.Hour), Overlap: model.Duration(time.Hour)},
		},
	}
	rt, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(s.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	s.Runtime = rt
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(p); err != nil {
		t.Fatal(err)
	}
	if err := waitFirstRefresh(t.Context(), s.current.Load(), p.Collector.RefreshTimeout); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *simRuntime) write(t *testing.T, config string) {
	t.Helper()
	if err := os.WriteFile(s.configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reloadWhileGraphStalls reloads while Graph does not answer, giving up
// after a second (the new generation has started and claimed by then),
// and returns the reload's error.
func (s *simRuntime) reloadWhileGraphStalls(t *testing.T) error {
	t.Helper()
	s.sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStall, Delay: time.Minute})
	defer s.sim.SetFault(graphsim.Fault{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	return s.Reload(ctx)
}

// writeTenants writes a config file with the named tenants.
func (s *simRuntime) writeTenants(t *testing.T, names ...string) {
	t.Helper()
	ids := map[string]string{"contoso": s.sim.TenantID, "fabrikam": fabrikamID, "northwind": northwindID}
	config := "tenants:\n"
	for _, n := range names {
		config += "  - {name: " + n + ", tenant_id: " + ids[n] + "}\n"
	}
	s.write(t, config+testReports)
}

// gather is what /metrics would serve but the runtime metrics, by family.
func (s *simRuntime) gather(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return promtest.Gather(t, s.Gatherer())
}

// sumOf adds up family name's series whose labels include want.
func sumOf(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	return promtest.Sum(families[name], want)
}

// seriesOf names every series of tenant, in any family.
func seriesOf(families map[string]*dto.MetricFamily, tenant string) []string {
	var out []string
	for name, f := range families {
		for _, m := range f.GetMetric() {
			if promtest.HasLabels(m, map[string]string{"tenant": tenant}) {
				out = append(out, name)
			}
		}
	}
	return out
}

// TestReloadAddsAndRemovesTenants: a reload swaps in a generation that
// has refreshed (the added tenant is up at once), drops every series of
// the removed tenant, counters included, and resets no counter of a tenant
// that stays: those live on the stable registry.
func TestReloadAddsAndRemovesTenants(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceUserInsights, "contoso", "fabrikam")
	before := rt.gather(t)
	contoso := map[string]string{"tenant": "contoso", "host_kind": "graph"}
	requests := sumOf(before, "entra_insights_graph_requests_total", contoso)
	if requests == 0 || sumOf(before, "entra_insights_tenant_up", map[string]string{"tenant": "fabrikam"}) != 1 {
		t.Fatalf("before the reload: contoso made %v Graph requests, fabrikam's series: %v", requests, seriesOf(before, "fabrikam"))
	}
	first := rt.current.Load()

	rt.writeTenants(t, "contoso", "northwind")
	if err := rt.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := rt.gather(t)
	if got := seriesOf(after, "fabrikam"); len(got) > 0 {
		t.Errorf("the removed tenant still has %v", got)
	}
	if got := sumOf(after, "entra_insights_tenant_up", map[string]string{"tenant": "northwind"}); got != 1 {
		t.Errorf("the added tenant's tenant_up right after the reload = %v, want 1", got)
	}
	if got := sumOf(after, "entra_insights_graph_requests_total", contoso); got <= requests {
		t.Errorf("contoso's Graph requests after the reload = %v, want more than the %v before (not reset)", got, requests)
	}
	select {
	case <-first.done:
	default:
		t.Error("the first generation's loops still run after the reload")
	}
	if got := rt.log.lines(`msg="configuration reloaded"`, "tenants=2"); len(got) != 1 {
		t.Errorf("reload log lines %q, want one", got)
	}
}

// TestFailedReloadKeepsTheRunningGeneration: a config file that does not
// load, or a new configuration whose first refresh does not finish before
// the caller gives up, leaves the running generation serving and nothing
// of the tenant it tried; a reload after the cause is gone works.
func TestFailedReloadKeepsTheRunningGeneration(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceUserInsights, "contoso")
	running := rt.current.Load()

	rt.write(t, "dimensions: {daily/activeUsers: [colour]}\n")
	if err := rt.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), `"colour"`) {
		t.Errorf("reload of a broken file: %v, want the unknown label named", err)
	}
	if rt.current.Load() != running {
		t.Fatal("a broken file replaced the running generation")
	}

	rt.writeTenants(t, "contoso", "northwind")
	err := rt.reloadWhileGraphStalls(t)
	if err == nil || !strings.Contains(err.Error(), "first refresh did not finish") {
		t.Fatalf("reload whose first refresh stalls: %v", err)
	}
	families := rt.gather(t)
	if rt.current.Load() != running || sumOf(families, "entra_insights_tenant_up", map[string]string{"tenant": "contoso"}) != 1 {
		t.Fatal("a reload that did not finish replaced the running generation")
	}
	if got := seriesOf(families, "northwind"); len(got) > 0 {
		t.Errorf("the tenant of the failed reload left %v", got)
	}

	if err := rt.Reload(t.Context()); err != nil {
		t.Fatalf("reload once Graph answers again: %v", err)
	}
	if got := sumOf(rt.gather(t), "entra_insights_tenant_up", nil); got != 2 {
		t.Errorf("tenant_up of both tenants after the reload sums to %v, want 2", got)
	}
}

// TestReloadHandler: POST /-/reload answers once the reload is done, or
// 500 with the cause, logged in one line, keeping the running
// configuration; it needs --web.enable-lifecycle and POST or PUT.
func TestReloadHandler(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceUserInsights, "contoso")
	running := rt.current.Load()
	request := func(h http.Handler, method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), method, "/-/reload", nil))
		return rec
	}

	if rec := request(rt.ReloadHandler(false), http.MethodPost); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "--web.enable-lifecycle") {
		t.Errorf("without the lifecycle flag: HTTP %d %q, want 403 naming the flag", rec.Code, rec.Body)
	}
	h := rt.ReloadHandler(true)
	if rec := request(h, http.MethodGet); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d, want 405", rec.Code)
	}
	if rt.current.Load() != running {
		t.Fatal("a refused request reloaded")
	}

	rt.write(t, "tenants: [{name: contoso, tenant_id: "+rt.sim.TenantID+", auth_mode: client-certificate}]\n")
	rec := request(h, http.MethodPost)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "reload failed: config.file: tenants[0]") {
		t.Errorf("a tenant without its certificate: HTTP %d %q, want 500 naming tenants[0]", rec.Code, rec.Body)
	}
	if got := rt.log.lines("reload failed; keeping the running configuration", `trigger="POST /-/reload"`); len(got) != 1 {
		t.Errorf("failed reload log lines %q, want one", got)
	}
	if rt.current.Load() != running {
		t.Fatal("a failed reload replaced the running generation")
	}

	rt.writeTenants(t, "contoso", "fabrikam")
	if rec := request(h, http.MethodPut); rec.Code != http.StatusOK || rec.Body.String() != "Reloaded\n" {
		t.Errorf("PUT: HTTP %d %q, want 200 Reloaded", rec.Code, rec.Body)
	}
	if got := len(rt.current.Load().plan.Tenants); got != 2 {
		t.Errorf("after the reload %d tenants run, want 2", got)
	}
}

// TestReloadOnSignals: each signal reloads; a failed one is logged and
// keeps the running configuration; Close ends the loop.
func TestReloadOnSignals(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceUserInsights, "contoso")
	hup := make(chan os.Signal)
	rt.ReloadOnSignals(hup)

	rt.writeTenants(t, "contoso", "fabrikam")
	hup <- syscall.SIGHUP
	waitLog(t, rt.log, `msg="configuration reloaded"`)
	reloaded := rt.current.Load()
	if len(reloaded.plan.Tenants) != 2 {
		t.Fatalf("after SIGHUP %d tenants run, want 2", len(reloaded.plan.Tenants))
	}

	rt.write(t, "reports: [daily/colours]\n")
	hup <- syscall.SIGHUP
	waitLog(t, rt.log, "reload failed; keeping the running configuration", "trigger=SIGHUP", "colours")
	if rt.current.Load() != reloaded {
		t.Error("a failed reload replaced the running generation")
	}
	rt.Close() // returns once the loop has ended
}

// waitLog waits until log has a line with every one of parts.
func waitLog(t *testing.T, log *logBuffer, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(log.lines(parts...)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q", parts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTheStateFileOutlivesGenerations: logs tenants keep their state in one
// file, opened by the first generation, used by every reloaded one, and
// released by Close.
func TestTheStateFileOutlivesGenerations(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceLogs, "contoso")
	rt.writeTenants(t, "contoso", "fabrikam")
	if err := rt.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(rt.gather(t), "entra_insights_source_up", nil); got != 2 {
		t.Errorf("source_up of both logs tenants sums to %v, want 2", got)
	}
	if got := rt.log.lines(`msg="logs source state"`); len(got) != 1 {
		t.Errorf("state file log lines %q, want one: the file is opened once", got)
	}
	rt.Close()
	st, err := store.Open(rt.cfg.StoragePath) // bbolt's lock is free again
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedReloadGivesTheLogsStateBack: the new generation's logs sources
// claim their tenants' state when they start; when that reload then fails,
// the running sources take it back and go on saving (before, every save
// failed with "state claimed by a newer source" until a restart).
func TestFailedReloadGivesTheLogsStateBack(t *testing.T) {
	rt := startSimRuntime(t, insights.SourceLogs, "contoso")
	running := rt.current.Load()
	if len(running.stateful) != 1 {
		t.Fatalf("%d logs sources in the running generation, want 1", len(running.stateful))
	}
	rt.writeTenants(t, "contoso", "fabrikam")
	err := rt.reloadWhileGraphStalls(t)
	if err == nil || rt.current.Load() != running {
		t.Fatalf("reload whose first refresh stalls: %v, and the running generation replaced: %v", err, rt.current.Load() != running)
	}
	if err := running.stateful[0].(*logs.Source).Sync(t.Context()); err != nil {
		t.Fatalf("the running logs source after the failed reload: %v", err)
	}
	if got := rt.log.lines("could not write the logs source's state"); len(got) > 0 {
		t.Errorf("the running source could not save: %q", got)
	}
}
