package app

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/config"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// demoRefreshInterval bounds the refresh interval in demo mode, so the demo
// shows movement (today's partial row grows) without waiting five minutes.
const demoRefreshInterval = 30 * time.Second

// Plan is what the configuration asks for: the tenants with their Graph
// settings and chosen credentials, and the collector settings. Building it
// reads the config file again, which is what a reload wants.
type Plan struct {
	Tenants   []Tenant
	Collector collector.Config
}

// Tenant is one planned tenant.
type Tenant struct {
	Graph      graph.Config
	Source     string        // insights.SourceLogs or SourceUserInsights
	Credential azconf.Choice // which credential Graph.AuthMode resolves to, and why
	// Unserved are the listed reports this tenant's source cannot produce
	// (the logs source has no live replacement for some): absent for it.
	Unserved []insights.Report
}

// Name is the tenant label value.
func (t Tenant) Name() string { return t.Graph.TenantName }

// NewPlan checks the configuration and builds the plan. With cfg.Demo, sim
// is the simulator to read; nil (--config.check) plans no tenant.
func NewPlan(cfg Config, sim *graphsim.Sim) (*Plan, error) {
	p := &Plan{Collector: collector.Config{
		Families:        registry.Families(),
		RefreshInterval: cfg.RefreshInterval,
		RefreshTimeout:  cfg.RefreshTimeout,
		MaxAge:          cfg.MaxAge,
	}}
	var file config.File
	if cfg.ConfigFile != "" {
		f, err := config.Load(cfg.ConfigFile)
		if err != nil {
			return nil, err
		}
		file = *f
		reports, _ := file.ReportList() // validated by Load
		dims, _ := file.DimensionMap()  // validated by Load
		p.Collector.Reports, p.Collector.Dimensions = reports, dims
	}
	if err := p.Collector.Validate(); err != nil {
		return nil, fmt.Errorf("config.file: %w", err)
	}
	base := cfg.Graph
	switch {
	case cfg.Demo && sim == nil:
		return p, nil
	case cfg.Demo:
		// The demo reads logs unless asked otherwise.
		p.Tenants = []Tenant{{Graph: demoConfig(base, sim), Source: cfg.Source}}
		p.Collector.RefreshInterval = min(p.Collector.RefreshInterval, demoRefreshInterval)
		p.Collector.RefreshTimeout = min(p.Collector.RefreshTimeout, p.Collector.RefreshInterval)
	case len(file.Tenants) > 0:
		for _, t := range file.Tenants {
			p.Tenants = append(p.Tenants, Tenant{Graph: tenantConfig(base, t), Source: cmp.Or(t.Source, cfg.Source)})
		}
	default:
		if err := azconf.ValidTenantID(base.TenantID); err != nil {
			return nil, fmt.Errorf("--azure.tenant-id: %w", err)
		}
		p.Tenants = []Tenant{{Graph: base, Source: cfg.Source}}
	}
	for i := range p.Tenants {
		choice, err := credentials(p.Tenants[i].Graph).Resolve()
		if err != nil {
			if cfg.ConfigFile != "" && !cfg.Demo {
				return nil, fmt.Errorf("config.file: tenants[%d]: %w", i, err)
			}
			return nil, err
		}
		p.Tenants[i].Credential = choice
	}
	if err := p.checkServed(); err != nil {
		return nil, fmt.Errorf("config.file: reports: %w", err)
	}
	p.Collector.Sources = p.Sources()
	return p, nil
}

// Sources are the sources the tenants read, for the collector: the
// families of those, so that each help says what its one source counts
// (two sources' helps are both given). None without tenants.
func (p *Plan) Sources() []string {
	var out []string
	for _, t := range p.Tenants {
		if !slices.Contains(out, t.Source) {
			out = append(out, t.Source)
		}
	}
	return out
}

// checkServed notes for each tenant the listed reports its source does not
// produce, and fails when a listed report is produced for no tenant at
// all: a setting that can only be a mistake (say, a userInsights-era list
// under the logs source).
func (p *Plan) checkServed() error {
	for _, r := range p.Collector.Reports {
		served := len(p.Tenants) == 0 // --config.check of a demo plans none
		var read []string             // the sources the tenants read
		for i, t := range p.Tenants {
			spec, err := registry.Lookup(t.Source)
			if err != nil {
				return fmt.Errorf("tenant %s: source: %w", t.Graph.TenantName, err)
			}
			if !slices.Contains(spec.Reports(), r) {
				p.Tenants[i].Unserved = append(p.Tenants[i].Unserved, r)
				if !slices.Contains(read, t.Source) {
					read = append(read, t.Source)
				}
				continue
			}
			served = true
		}
		if !served {
			var producers []string
			for _, spec := range registry.Sources() {
				if slices.Contains(spec.Reports(), r) {
					producers = append(producers, "source: "+spec.Name)
				}
			}
			return fmt.Errorf("%s: the %s source, which every tenant reads, has no live replacement for it "+
				"(see the README's catalog); remove it, or give a tenant %s", r, strings.Join(read, " and "), strings.Join(producers, " or "))
		}
	}
	return nil
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

// Log says, one line per tenant, which credential each uses, and warns of
// the listed reports a tenant's source does not produce.
func (p *Plan) Log(logger *slog.Logger) {
	for _, t := range p.Tenants {
		logger.Info("credential", "tenant", t.Name(), "auth_mode", t.Credential.Mode, "chosen_by", t.Credential.From)
		if need := p.leastInterval(t); p.Collector.RefreshInterval < need {
			logger.Warn("the refresh interval is shorter than Graph's budget (5 requests per 10 s per tenant) can serve;"+
				" refreshes will wait for it and take longer than the interval", "tenant", t.Name(),
				"interval", p.Collector.RefreshInterval, "least_interval", need)
		}
		if len(t.Unserved) > 0 {
			logger.Warn("listed reports the tenant's source does not produce; they are absent for it",
				"tenant", t.Name(), "source", t.Source, "reports", fmt.Sprint(t.Unserved))
		}
	}
}

// leastInterval is the shortest refresh interval Graph's budget of 5
// requests per 10 s serves for tenant t, counting one request per read of
// a steady refresh (logs: sign-ins, sign-ups, users/$count; userinsights:
// one per report); 0 when the budget is off (the demo).
func (p *Plan) leastInterval(t Tenant) time.Duration {
	if t.Graph.DisableBudget {
		return 0
	}
	spec, err := registry.Lookup(t.Source)
	if err != nil {
		return 0
	}
	reports := p.Collector.Reports
	if reports == nil {
		reports = insights.DefaultReports()
	}
	requests := spec.SteadyRequests(reports)
	return time.Duration(requests) * 2 * time.Second
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
