// Package collector turns the families of the tenants' sources into
// Prometheus metrics: it keeps the configured labels (summing the values a
// dropped label told apart), adds tenant, the health of each report and
// max-age. One background loop per tenant refreshes its source, builds an
// immutable snapshot of pre-built metrics and swaps it in atomically;
// /metrics only reads the snapshots and never calls Graph. The collector
// knows no source: Config.Families are the families declared by the
// sources in use, and it asks each tenant's source for the catalog's
// reports it produces (package source).
package collector

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// catchUpPause is the wait between the refreshes of a source catching up
// (source.CatchingUp): Graph's request budget, not the interval, sets the
// pace of a catch-up.
const catchUpPause = 10 * time.Second

// Tenant is one tenant to export.
type Tenant struct {
	Name     string // tenant label value; empty means TenantID
	TenantID string // for entra_insights_tenant_info
	Cloud    string // for entra_insights_tenant_info
	Source   source.Source
}

// sourceName is the source label value: the source's name, empty without
// a source (a tenant whose results are given, as backfill's).
func (t Tenant) sourceName() string {
	if t.Source == nil {
		return ""
	}
	return t.Source.Name()
}

// label returns the tenant label value: the name, else the tenant id.
func (t Tenant) label() string {
	if t.Name == "" {
		return t.TenantID
	}
	return t.Name
}

// Exporter refreshes the reports of every tenant in the background and
// serves the latest snapshots. It implements prometheus.Collector.
type Exporter struct {
	cfg           Config
	catalog       *Catalog
	health        healthFamilies
	logger        *slog.Logger
	now           func() time.Time
	tenants       []*tenantState
	refreshErrors *prometheus.CounterVec
}

var _ prometheus.Collector = (*Exporter)(nil)

// Option changes what New builds.
type Option func(*Exporter)

// WithRefreshErrors counts failed refreshes in c, made by NewRefreshErrors
// and registered by the caller, instead of a counter New registers: a
// counter that outlives the Exporter keeps counting across reloads.
func WithRefreshErrors(c *prometheus.CounterVec) Option {
	return func(e *Exporter) { e.refreshErrors = c }
}

// New returns an Exporter for tenants; Run or RefreshAll fill it. It
// registers its own counters (refresh_errors_total) with reg unless
// WithRefreshErrors gives them; the caller registers the Exporter. now is
// the clock for timestamps and max-age.
func New(tenants []Tenant, cfg Config, logger *slog.Logger, reg prometheus.Registerer, now func() time.Time, opts ...Option) (*Exporter, error) {
	catalog, err := NewCatalog(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	e := &Exporter{
		cfg:     cfg.withDefaults(),
		catalog: catalog,
		health:  newHealthFamilies(),
		logger:  logger,
		now:     now,
	}
	if e.tenants, err = newTenants(tenants, catalog); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(e)
	}
	if e.refreshErrors == nil {
		if e.refreshErrors, err = newRefreshErrors(reg); err != nil {
			return nil, fmt.Errorf("register refresh errors: %w", err)
		}
	}
	// Every reason starts at 0, so rate() and increase() see the first error.
	for _, t := range e.tenants {
		for _, reason := range insights.Reasons() {
			e.refreshErrors.WithLabelValues(t.Name, string(reason))
		}
	}
	for _, t := range e.tenants {
		// Until the first refresh, only the tenant's info is known.
		t.snap.Store(newSnapshot(catalog.infoPoints(t.Tenant, nil, nil)))
	}
	return e, nil
}

func newTenants(configured []Tenant, catalog *Catalog) ([]*tenantState, error) {
	if len(configured) == 0 {
		return nil, errors.New("no tenants")
	}
	seen := map[string]bool{}
	tenants := make([]*tenantState, 0, len(configured))
	for i, c := range configured {
		c.Name = c.label()
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("tenant %d: neither name nor tenant id", i+1)
		case !utf8.ValidString(c.Name) || !utf8.ValidString(c.TenantID) || !utf8.ValidString(c.Cloud):
			return nil, fmt.Errorf("tenant %q: invalid UTF-8", c.Name)
		case seen[c.Name]:
			return nil, fmt.Errorf("tenant %q: configured twice", c.Name)
		case c.Source == nil:
			return nil, fmt.Errorf("tenant %q: no source", c.Name)
		}
		seen[c.Name] = true
		t := &tenantState{Tenant: c, refreshing: make(chan struct{}, 1), reports: map[insights.Report]*reportState{}}
		t.order = catalog.ReportsOf(c.Source)
		for _, r := range t.order {
			t.reports[r] = &reportState{}
		}
		tenants = append(tenants, t)
	}
	return tenants, nil
}

// Ready reports whether every tenant has completed a refresh (successful
// or not), e.g. for a demo to wait until the first data is in.
func (e *Exporter) Ready() bool {
	for _, t := range e.tenants {
		if !t.refreshed.Load() {
			return false
		}
	}
	return true
}

// Pending names the tenants that have not completed a refresh yet, in
// configuration order.
func (e *Exporter) Pending() []string {
	var out []string
	for _, t := range e.tenants {
		if !t.refreshed.Load() {
			out = append(out, t.Name)
		}
	}
	return out
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	e.catalog.describe(ch)
	e.health.describe(ch)
}

// Collect implements prometheus.Collector. It sends the pre-built metrics
// of each tenant's latest snapshot.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	for _, t := range e.tenants {
		for _, m := range t.snap.Load().metrics {
			ch <- m
		}
	}
}
