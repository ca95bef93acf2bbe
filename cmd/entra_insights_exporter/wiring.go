package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/graphsim"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/config"
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

// shared is what every tenant's Graph client shares for the life of the
// process: the request counters, the cross-tenant budget and, in demo mode,
// the simulator.
type shared struct {
	metrics  *transport.Metrics
	limiters *transport.Limiters
	sim      *graphsim.Sim // nil unless --demo
	logger   *slog.Logger

	storagePath string
	store       *store.Store // opened by the first generation with a logs tenant
	logs        logsFlags
}

func newShared(ctx context.Context, c *cli, reg prometheus.Registerer, logger *slog.Logger) (*shared, error) {
	s := &shared{metrics: transport.NewMetrics(reg), logger: logger, storagePath: c.Storage.Path, logs: c.Logs}
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
// settings and the collector settings. Building it reads the config file
// again, which is what a reload wants.
type plan struct {
	tenants   []graph.Config
	sources   map[string]string // tenant name → insights.SourceLogs or SourceUserInsights
	collector collector.Config
}

func (c *cli) plan(sim *graphsim.Sim) (*plan, error) {
	p := &plan{sources: map[string]string{}, collector: collector.Config{
		RefreshInterval: c.Insights.RefreshInterval,
		RefreshTimeout:  c.Insights.RefreshTimeout,
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
	case sim != nil:
		p.tenants = []graph.Config{demoConfig(base, sim)}
		p.sources["demo"] = insights.SourceLogs
		p.collector.RefreshInterval = min(p.collector.RefreshInterval, demoRefreshInterval)
		p.collector.RefreshTimeout = min(p.collector.RefreshTimeout, p.collector.RefreshInterval)
	case len(file.Tenants) > 0:
		for _, t := range file.Tenants {
			p.tenants = append(p.tenants, tenantConfig(base, t))
			p.sources[t.LabelName()] = cmp.Or(t.Source, c.Insights.Source)
		}
	default:
		if err := config.ValidTenantID(base.TenantID); err != nil {
			return nil, fmt.Errorf("--azure.tenant-id: %w", err)
		}
		p.tenants = []graph.Config{base}
		p.sources[base.TenantName] = c.Insights.Source
	}
	for i, t := range p.tenants {
		if err := checkCredentials(t); err != nil {
			if c.ConfigFile != "" && sim == nil {
				return nil, fmt.Errorf("config.file: tenants[%d]: %w", i, err)
			}
			return nil, err
		}
	}
	return p, nil
}

// checkCredentials fails early, naming the setting, when a tenant cannot
// possibly get a token.
func checkCredentials(t graph.Config) error {
	if t.ClientID == "" && (t.AuthMode == "client-secret" || t.AuthMode == "client-certificate" ||
		(t.AuthMode == "auto" && (t.ClientSecret != "" || t.ClientSecretFile != ""))) {
		return errors.New("--azure.client-id: missing (set it or AZURE_CLIENT_ID)")
	}
	hasSecret := t.ClientSecret != "" || t.ClientSecretFile != ""
	switch t.AuthMode {
	case "auto":
		if !hasSecret {
			return fmt.Errorf("--azure.auth-mode: auto needs a client secret (AZURE_CLIENT_SECRET or --azure.client-secret-file); otherwise choose one of %s",
				strings.Join(config.AuthModes()[1:], ", "))
		}
	case "client-secret":
		if !hasSecret {
			return errors.New("--azure.auth-mode: client-secret needs AZURE_CLIENT_SECRET or --azure.client-secret-file")
		}
	case "client-certificate":
		if t.ClientCertificateFile == "" {
			return errors.New("--azure.auth-mode: client-certificate needs --azure.client-certificate-file")
		}
	}
	return nil
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
		AuthMode:      "client-secret",
		ClientSecret:  sim.ClientSecret,
		Cloud:         "public",
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
	exp, err := collector.New(tenants, p.collector, s.logger, reg, time.Now)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(exp); err != nil {
		return nil, fmt.Errorf("register the collector: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	g := &generation{registry: reg, exporter: exp, stop: stop, done: make(chan struct{})}
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

// close stops the generation's refresh loops and waits for them.
func (g *generation) close() {
	g.stop()
	<-g.done
}
