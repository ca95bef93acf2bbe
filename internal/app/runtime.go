package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// Runtime is what lives for the whole process: the stable registry (build
// info and the counters a reload must not reset), the cross-tenant budget,
// the state file, in demo mode the simulator, and the current generation,
// swapped atomically by a reload.
type Runtime struct {
	ctx    context.Context // the process's, ended by Close: the reload loop's and every generation's
	cancel context.CancelFunc
	cfg    Config
	logger *slog.Logger
	stable *prometheus.Registry

	metrics       *transport.Metrics
	refreshErrors *prometheus.CounterVec
	limiters      *transport.Limiters // nil when the budget is off
	sim           *graphsim.Sim       // nil unless cfg.Demo

	mu     sync.Mutex
	counts map[string]bool // tenants that may have series in the counters

	store *store.Store // opened by the first generation with a logs tenant

	current atomic.Pointer[generation]
	reload  sync.Mutex // one start or reload at a time
	reloads sync.WaitGroup
}

// New opens what every generation shares; in demo mode it starts the
// simulator. Close releases it.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Runtime, error) {
	rt := &Runtime{cfg: cfg, logger: logger, stable: prometheus.NewRegistry(), counts: map[string]bool{},
		refreshErrors: collector.NewRefreshErrors()}
	rt.stable.MustRegister(versioncollector.NewCollector(Name))
	rt.metrics = transport.NewMetrics(rt.stable)
	if err := rt.stable.Register(rt.refreshErrors); err != nil {
		return nil, fmt.Errorf("register refresh errors: %w", err)
	}
	if cfg.RateLimit > 0 {
		rt.limiters = transport.NewLimitersWith(
			transport.Limit{Requests: cfg.RateLimit, Window: transport.LimitWindow},
			transport.Limit{Requests: transport.ClientRequests, Window: transport.LimitWindow},
			time.Now)
	}
	if cfg.Demo {
		sim, err := graphsim.Listen(ctx, "127.0.0.1:0", graphsim.Options{Logger: logger.With("component", "graphsim")})
		if err != nil {
			return nil, fmt.Errorf("start the demo simulator: %w", err)
		}
		logger.Info("demo mode: reading the built-in Graph simulator", "graph_url", sim.GraphURL)
		rt.sim = sim
	}
	rt.ctx, rt.cancel = context.WithCancel(ctx)
	return rt, nil
}

// Plan re-reads the configuration and builds its plan.
func (rt *Runtime) Plan() (*Plan, error) {
	return NewPlan(rt.cfg, rt.sim)
}

// Start logs what is starting and starts p as the first generation. It
// does not wait for Graph: the first scrapes may show no data yet.
func (rt *Runtime) Start(p *Plan) error {
	rt.reload.Lock()
	defer rt.reload.Unlock()
	rt.logger.Info("starting "+Name, "version", version.Info(), "build_context", version.BuildContext(), "tenants", len(p.Tenants))
	p.Log(rt.logger)
	gen, err := rt.start(p)
	if err != nil {
		return err
	}
	rt.current.Store(gen)
	return nil
}

// Reload builds a new generation from the re-read configuration, lets it
// finish its first refresh (so no series vanish meanwhile), swaps it in and
// stops the old one. On any error the running generation stays. ctx bounds
// the wait, not the new generation, whose loops run until Close.
func (rt *Runtime) Reload(ctx context.Context) error {
	rt.reload.Lock()
	defer rt.reload.Unlock()
	p, err := rt.Plan()
	if err != nil {
		return err
	}
	gen, err := rt.start(p)
	if err != nil {
		rt.forgetAllBut(rt.running())
		rt.reclaim()
		return err
	}
	if err := waitFirstRefresh(ctx, gen, p.Collector.RefreshTimeout); err != nil {
		gen.close()
		rt.forgetAllBut(rt.running())
		rt.reclaim()
		return err
	}
	if old := rt.current.Swap(gen); old != nil {
		old.close()
	}
	rt.forgetAllBut(p) // the removed tenants' counters go with them
	rt.logger.Info("configuration reloaded", "tenants", len(p.Tenants))
	p.Log(rt.logger)
	return nil
}

// stateOwner is a source that keeps its state in the store (the logs
// source), claimed by the newest generation's source.
type stateOwner interface {
	Reclaim() error
}

// reclaim gives the running generation's sources their state back after a
// failed reload: the new generation's sources claimed it (so that only
// they would write during their first refresh) and are gone now.
func (rt *Runtime) reclaim() {
	gen := rt.current.Load()
	if gen == nil {
		return
	}
	for _, s := range gen.stateful {
		if err := s.Reclaim(); err != nil {
			rt.logger.Error("reload failed and a running source could not take its state back; it stops saving until a restart",
				"err", azconf.OneLine(err.Error()))
		}
	}
}

// Pending names the tenants of the running configuration that have not
// completed their first refresh (all of them before Start).
func (rt *Runtime) Pending() []string {
	gen := rt.current.Load()
	if gen == nil {
		return []string{"(not started)"}
	}
	return gen.exporter.Pending()
}

// running is the current generation's plan; an empty one before Start.
func (rt *Runtime) running() *Plan {
	if gen := rt.current.Load(); gen != nil {
		return gen.plan
	}
	return &Plan{}
}

// ReloadOnSignals reloads the configuration on every signal from hup until
// Close. A reload that fails keeps the running configuration, as
// POST /-/reload does.
func (rt *Runtime) ReloadOnSignals(hup <-chan os.Signal) {
	rt.reloads.Go(func() {
		for {
			select {
			case <-rt.ctx.Done():
				return
			case <-hup:
				rt.logger.Info("SIGHUP: reloading the configuration")
				if err := rt.Reload(rt.ctx); err != nil && rt.ctx.Err() == nil {
					rt.logger.Error("reload failed; keeping the running configuration", "trigger", "SIGHUP", "err", azconf.OneLine(err.Error()))
				}
			}
		}
	})
}

// Close ends the process's context, waits for the signal reloads (a
// reload in flight ends first) and the current generation's loops, and
// closes the state file. It may be called again.
func (rt *Runtime) Close() {
	rt.cancel()
	rt.reloads.Wait()
	if gen := rt.current.Load(); gen != nil {
		gen.close()
	}
	if rt.store != nil {
		if err := rt.store.Close(); err != nil {
			rt.logger.Error("close the state file", "path", rt.cfg.StoragePath, "err", err)
		}
		rt.store = nil // a second Close has nothing left to do
	}
}

// waitFirstRefresh waits until every tenant of gen has finished a refresh,
// at most timeout (a refresh's own bound) or until ctx ends.
func waitFirstRefresh(ctx context.Context, gen *generation, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !gen.exporter.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the new configuration's first refresh did not finish: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// generation is one running configuration: its clients, its exporter with a
// registry of its own, and the loops refreshing it. A reload starts a new
// generation and stops the old one.
type generation struct {
	plan     *Plan
	registry *prometheus.Registry
	exporter *collector.Exporter
	stateful []stateOwner // the tenants' sources that own their state in the store
	stop     context.CancelFunc
	done     chan struct{}
}

// start builds p's tenants and runs their refresh loops until rt's context
// ends or the generation is closed.
func (rt *Runtime) start(p *Plan) (*generation, error) {
	catalog, err := collector.NewCatalog(p.Collector)
	if err != nil {
		return nil, err
	}
	rt.track(p)
	reg := prometheus.NewRegistry()
	tenants := make([]collector.Tenant, 0, len(p.Tenants))
	var (
		sources  sourceMetrics
		stateful []stateOwner
	)
	for _, pt := range p.Tenants {
		// The demo keeps its logs state in memory: no file in the working directory.
		t, err := rt.tenant(pt, catalog, rt.sim == nil)
		if err != nil {
			return nil, err
		}
		if c, ok := t.Source.(prometheus.Collector); ok {
			sources = append(sources, c)
		}
		if s, ok := t.Source.(stateOwner); ok {
			stateful = append(stateful, s)
		}
		tenants = append(tenants, t)
	}
	if err := reg.Register(sources); err != nil {
		return nil, fmt.Errorf("register the sources' metrics: %w", err)
	}
	exp, err := collector.New(tenants, p.Collector, rt.logger, reg, time.Now, collector.WithRefreshErrors(rt.refreshErrors))
	if err != nil {
		return nil, err
	}
	if err := reg.Register(exp); err != nil {
		return nil, fmt.Errorf("register the collector: %w", err)
	}
	runCtx, stop := context.WithCancel(rt.ctx)
	g := &generation{plan: p, registry: reg, exporter: exp, stateful: stateful, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		exp.Run(runCtx)
	}()
	return g, nil
}

// sourceMetrics are the sources' own metrics (the logs sources'), as one
// collector: every source describes the same families, with the tenant as
// a label, and a registry takes a set of descriptors from one collector
// only.
type sourceMetrics []prometheus.Collector

func (cs sourceMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs sourceMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}

// close stops the generation's refresh loops and waits for them.
func (g *generation) close() {
	g.stop()
	<-g.done
}

// InMemoryTenant builds t's Graph client and source as serve does, with a
// logs source's state in memory, leaving serve's state file alone: for a
// one-off read such as backfill's.
func (rt *Runtime) InMemoryTenant(t Tenant, catalog *collector.Catalog) (collector.Tenant, error) {
	return rt.tenant(t, catalog, false)
}

// tenant builds one tenant's Graph client and source. A logs source keeps
// its state in the store when persist is set, in memory otherwise.
func (rt *Runtime) tenant(pt Tenant, catalog *collector.Catalog, persist bool) (collector.Tenant, error) {
	cfg := pt.Graph
	logger := rt.logger.With("tenant", cfg.TenantName)
	client, err := graph.NewClient(cfg, graph.Deps{Metrics: rt.metrics, Limiters: rt.limiters, Logger: logger})
	if err != nil {
		return collector.Tenant{}, fmt.Errorf("tenant %s: %w", cfg.TenantName, err)
	}
	spec, err := registry.Lookup(pt.Source)
	if err != nil {
		return collector.Tenant{}, fmt.Errorf("tenant %s: source: %w", cfg.TenantName, err)
	}
	deps := registry.Deps{Client: client, Label: cfg.TenantName, StoreKey: cfg.TenantName + "/" + cfg.TenantID,
		Flags: rt.cfg.SourceFlags[spec.Name], Kept: catalog.Kept, Logger: logger}
	if spec.KeepsState && persist {
		if deps.Store, err = rt.openStore(); err != nil {
			return collector.Tenant{}, err
		}
	}
	src, err := spec.New(deps)
	if err != nil {
		return collector.Tenant{}, fmt.Errorf("--storage.path: %w", err)
	}
	return collector.Tenant{Name: cfg.TenantName, TenantID: cfg.TenantID, Cloud: cfg.Cloud, Source: src}, nil
}

// openStore opens the logs source's state file once per process.
func (rt *Runtime) openStore() (*store.Store, error) {
	if rt.store == nil {
		st, err := store.Open(rt.cfg.StoragePath)
		if err != nil {
			return nil, fmt.Errorf("--storage.path: %w", err)
		}
		rt.logger.Info("logs source state", "path", rt.cfg.StoragePath)
		rt.store = st
	}
	return rt.store, nil
}

// track notes the tenants of p as having series in the shared counters.
func (rt *Runtime) track(p *Plan) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, t := range p.Tenants {
		rt.counts[t.Name()] = true
	}
}

// forgetAllBut deletes the counter series of every tenant not in p (the
// running plan): a tenant a reload removed, or one a failed reload tried,
// leaves nothing behind. Call it once no other generation runs.
func (rt *Runtime) forgetAllBut(p *Plan) {
	keep := map[string]bool{}
	for _, t := range p.Tenants {
		keep[t.Name()] = true
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for name := range rt.counts {
		if !keep[name] {
			rt.metrics.Forget(name)
			rt.refreshErrors.DeletePartialMatch(prometheus.Labels{"tenant": name})
			delete(rt.counts, name)
		}
	}
}
