package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/config"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/logsource"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// demoRefreshInterval bounds the refresh interval in demo mode, so the demo
// shows movement (today's partial row grows) without waiting five minutes.
const demoRefreshInterval = 30 * time.Second

func newLogger(f logFlags, w io.Writer) *slog.Logger {
	level := promslog.NewLevel()
	format := promslog.NewFormat()
	_ = level.Set(f.Level)   // kong's enum already checked the value
	_ = format.Set(f.Format) // likewise
	return promslog.New(&promslog.Config{Level: level, Format: format, Writer: w})
}

// shared is what every generation shares for the life of the process: the
// counters (on the stable registry, so a reload resets none of them), the
// cross-tenant budget and, in demo mode, the simulator.
type shared struct {
	metrics       *transport.Metrics
	refreshErrors *prometheus.CounterVec
	limiters      *transport.Limiters
	sim           *graphsim.Sim // nil unless --demo
	logger        *slog.Logger

	mu     sync.Mutex
	counts map[string]bool // tenants that may have series in the counters

	storagePath string
	store       *store.Store // opened by the first generation with a logs tenant
	logs        logsFlags
}

func newShared(ctx context.Context, c *cli, reg prometheus.Registerer, logger *slog.Logger) (*shared, error) {
	s := &shared{metrics: transport.NewMetrics(reg), refreshErrors: collector.NewRefreshErrors(), logger: logger, counts: map[string]bool{},
		storagePath: c.Storage.Path, logs: c.Logs}
	if err := reg.Register(s.refreshErrors); err != nil {
		return nil, fmt.Errorf("register refresh errors: %w", err)
	}
	if c.Graph.RateLimit > 0 {
		s.limiters = transport.NewLimitersWith(
			transport.Limit{Requests: c.Graph.RateLimit, Window: transport.LimitWindow},
			transport.Limit{Requests: transport.ClientRequests, Window: transport.LimitWindow},
			time.Now)
	}
	if c.Demo {
		sim, err := graphsim.Listen(ctx, "127.0.0.1:0", graphsim.Options{Logger: logger.With("component", "graphsim")})
		if err != nil {
			return nil, fmt.Errorf("start the demo simulator: %w", err)
		}
		logger.Info("demo mode: reading the built-in Graph simulator", "graph_url", sim.GraphURL)
		s.sim = sim
	}
	return s, nil
}

// plan is what the configuration asks for: the tenants with their Graph
// settings and chosen credentials, and the collector settings. Building it
// reads the config file again, which is what a reload wants.
type plan struct {
	tenants     []graph.Config
	sources     map[string]string        // by tenant name: insights.SourceLogs or SourceUserInsights
	credentials map[string]azconf.Choice // by tenant name
	collector   collector.Config
}

// plan checks the configuration and builds the plan. With --demo, sim is
// the simulator to read; nil (--config.check) plans no tenant.
func (c *cli) plan(sim *graphsim.Sim) (*plan, error) {
	p := &plan{sources: map[string]string{}, credentials: map[string]azconf.Choice{}, collector: collector.Config{
		RefreshInterval: c.Insights.RefreshInterval,
		RefreshTimeout:  c.Insights.refreshTimeout(),
		MaxAge:          c.Insights.MaxAge,
	}}
	var file config.File
	if c.ConfigFile != "" {
		f, err := config.Load(c.ConfigFile)
		if err != nil {
			return nil, err
		}
		file = *f
		reports, _ := file.ReportList() // validated by Load
		dims, _ := file.DimensionMap()  // validated by Load
		p.collector.Reports, p.collector.Dimensions = reports, dims
	}
	if err := p.collector.Validate(); err != nil {
		return nil, fmt.Errorf("config.file: %w", err)
	}
	base := c.graphConfig()
	switch {
	case c.Demo && sim == nil:
		return p, nil
	case c.Demo:
		p.tenants = []graph.Config{demoConfig(base, sim)}
		p.sources["demo"] = c.Insights.Source // logs unless asked otherwise
		p.collector.RefreshInterval = min(p.collector.RefreshInterval, demoRefreshInterval)
		p.collector.RefreshTimeout = min(p.collector.RefreshTimeout, p.collector.RefreshInterval)
	case len(file.Tenants) > 0:
		for _, t := range file.Tenants {
			p.tenants = append(p.tenants, tenantConfig(base, t))
			p.sources[t.LabelName()] = cmp.Or(t.Source, c.Insights.Source)
		}
	default:
		if err := azconf.ValidTenantID(base.TenantID); err != nil {
			return nil, fmt.Errorf("--azure.tenant-id: %w", err)
		}
		p.tenants = []graph.Config{base}
		p.sources[base.TenantName] = c.Insights.Source
	}
	for i, t := range p.tenants {
		choice, err := credentials(t).Resolve()
		if err != nil {
			if c.ConfigFile != "" && !c.Demo {
				return nil, fmt.Errorf("config.file: tenants[%d]: %w", i, err)
			}
			return nil, err
		}
		p.credentials[t.TenantName] = choice
	}
	return p, nil
}

// credentials are the credential settings of t, for azconf's rules: the
// same ones graph.NewClient applies.
func credentials(t graph.Config) azconf.Credentials {
	return azconf.Credentials{
		Mode: t.AuthMode, ClientID: t.ClientID,
		ClientSecret: t.ClientSecret, ClientSecretFile: t.ClientSecretFile,
		ClientCertificateFile: t.ClientCertificateFile, FederatedTokenFile: t.FederatedTokenFile,
	}
}

// logCredentials says, one line per tenant, which credential each uses.
func (p *plan) logCredentials(logger *slog.Logger) {
	for _, t := range p.tenants {
		choice := p.credentials[t.TenantName]
		logger.Info("credential", "tenant", t.TenantName, "auth_mode", choice.Mode, "chosen_by", choice.From)
	}
}

// graphConfig is the single-tenant Graph configuration from the flags.
func (c *cli) graphConfig() graph.Config {
	name := c.Azure.TenantName
	if name == "" {
		name = c.Azure.TenantID
	}
	return graph.Config{
		TenantName:                name,
		TenantID:                  c.Azure.TenantID,
		ClientID:                  c.Azure.ClientID,
		AuthMode:                  c.Azure.AuthMode,
		ClientSecret:              c.Azure.ClientSecret,
		ClientSecretFile:          c.Azure.ClientSecretFile,
		ClientCertificateFile:     c.Azure.ClientCertificateFile,
		ClientCertificatePassword: c.Azure.ClientCertificatePassword,
		FederatedTokenFile:        c.Azure.FederatedTokenFile,
		Cloud:                     c.Azure.Cloud,
		AuthorityHost:             c.Azure.AuthorityHost,
		GraphURL:                  c.Graph.URL,
		Scope:                     c.Graph.Scope,
		CAFile:                    c.Graph.CAFile,
		UserAgent:                 exporterName + "/" + version.Version,
		DisableBudget:             c.Graph.RateLimit == 0,
	}
}

// tenantConfig overlays one config-file tenant on the flag defaults.
func tenantConfig(base graph.Config, t config.Tenant) graph.Config {
	cfg := base
	cfg.TenantName, cfg.TenantID = t.LabelName(), t.TenantID
	if t.ClientID != "" {
		cfg.ClientID = t.ClientID
	}
	if t.AuthMode != "" {
		cfg.AuthMode = t.AuthMode
	}
	if t.Cloud != "" {
		cfg.Cloud = t.Cloud
	}
	if t.ClientSecretFile != "" {
		cfg.ClientSecretFile, cfg.ClientCertificateFile = t.ClientSecretFile, ""
	}
	if t.ClientCertificateFile != "" {
		cfg.ClientCertificateFile, cfg.ClientSecretFile, cfg.ClientSecret = t.ClientCertificateFile, "", ""
	}
	return cfg
}

// demoConfig points one tenant labelled "demo" at the in-process simulator,
// through the same credential, TLS and transport code a real tenant uses.
func demoConfig(base graph.Config, sim *graphsim.Sim) graph.Config {
	return graph.Config{
		TenantName:    "demo",
		TenantID:      sim.TenantID,
		ClientID:      sim.ClientID,
		AuthMode:      azconf.AuthClientSecret,
		ClientSecret:  sim.ClientSecret,
		Cloud:         azconf.DefaultCloud,
		AuthorityHost: sim.AuthorityHost,
		GraphURL:      sim.GraphURL,
		RootCAs:       sim.CertPool,
		DisableBudget: true, // the demo fills in seconds; the simulator does not throttle by default
		UserAgent:     base.UserAgent,
	}
}

// generation is one running configuration: its clients, its exporter with a
// registry of its own, and the loops refreshing it. A reload starts a new
// generation and stops the old one.
type generation struct {
	plan     *plan
	registry *prometheus.Registry
	exporter *collector.Exporter
	stop     context.CancelFunc
	done     chan struct{}
}

func (s *shared) start(ctx context.Context, p *plan) (*generation, error) {
	catalog, err := collector.NewCatalog(p.collector)
	if err != nil {
		return nil, err
	}
	s.track(p)
	reg := prometheus.NewRegistry()
	tenants := make([]collector.Tenant, 0, len(p.tenants))
	for _, cfg := range p.tenants {
		// The demo keeps its logs state in memory: no file in the working directory.
		t, err := s.tenant(cfg, p.sources[cfg.TenantName], catalog, s.sim == nil)
		if err != nil {
			return nil, err
		}
		if c, ok := t.Source.(prometheus.Collector); ok {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("tenant %s: register the source's metrics: %w", cfg.TenantName, err)
			}
		}
		tenants = append(tenants, t)
	}
	exp, err := collector.New(tenants, p.collector, s.logger, reg, time.Now, collector.WithRefreshErrors(s.refreshErrors))
	if err != nil {
		return nil, err
	}
	if err := reg.Register(exp); err != nil {
		return nil, fmt.Errorf("register the collector: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	g := &generation{plan: p, registry: reg, exporter: exp, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		exp.Run(runCtx)
	}()
	return g, nil
}

// tenant builds one tenant's Graph client and source. A logs source keeps
// its state in the store when persist is set (serve), in memory otherwise
// (backfill).
func (s *shared) tenant(cfg graph.Config, source string, catalog *collector.Catalog, persist bool) (collector.Tenant, error) {
	logger := s.logger.With("tenant", cfg.TenantName)
	client, err := graph.NewClient(cfg, graph.Deps{Metrics: s.metrics, Limiters: s.limiters, Logger: logger})
	if err != nil {
		return collector.Tenant{}, fmt.Errorf("tenant %s: %w", cfg.TenantName, err)
	}
	t := collector.Tenant{Name: cfg.TenantName, TenantID: cfg.TenantID, Cloud: cfg.Cloud, Source: client, SourceName: source}
	if source != insights.SourceLogs {
		return t, nil
	}
	opts := logsource.Options{
		Tenant: cfg.TenantName + "/" + cfg.TenantID, Label: cfg.TenantName, Reader: client,
		Lookback: time.Duration(s.logs.Lookback), Overlap: time.Duration(s.logs.Overlap),
		ActiveUserDims: catalog.ActiveUserDimensions(), Logger: logger,
	}
	if persist {
		if opts.Store, err = s.openStore(); err != nil {
			return collector.Tenant{}, err
		}
	}
	if t.Source, err = logsource.New(opts); err != nil {
		return collector.Tenant{}, fmt.Errorf("--storage.path: %w", err)
	}
	return t, nil
}

// openStore opens the logs source's state file once per process.
func (s *shared) openStore() (*store.Store, error) {
	if s.store == nil {
		st, err := store.Open(s.storagePath)
		if err != nil {
			return nil, fmt.Errorf("--storage.path: %w", err)
		}
		s.logger.Info("logs source state", "path", s.storagePath)
		s.store = st
	}
	return s.store, nil
}

// close releases what the process holds: the state file.
func (s *shared) close() {
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.logger.Error("close the state file", "path", s.storagePath, "err", err)
		}
	}
}

// track notes the tenants of p as having series in the shared counters.
func (s *shared) track(p *plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range p.tenants {
		s.counts[t.TenantName] = true
	}
}

// forgetAllBut deletes the counter series of every tenant not in p (the
// running plan): a tenant a reload removed, or one a failed reload tried,
// leaves nothing behind. Call it once no other generation runs.
func (s *shared) forgetAllBut(p *plan) {
	keep := map[string]bool{}
	for _, t := range p.tenants {
		keep[t.TenantName] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.counts {
		if !keep[name] {
			s.metrics.Forget(name)
			s.refreshErrors.DeletePartialMatch(prometheus.Labels{"tenant": name})
			delete(s.counts, name)
		}
	}
}

// close stops the generation's refresh loops and waits for them.
func (g *generation) close() {
	g.stop()
	<-g.done
}
