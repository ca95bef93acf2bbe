package app

import (
	"fmt"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
)

// Check is --config.check: it plans cfg (config file, every tenant's
// credential settings) and builds each tenant's client, which reads and
// parses its secret or certificate file, without contacting Graph or the
// token service. It returns a one-line summary of what would run.
func Check(cfg Config) (string, error) {
	p, err := NewPlan(cfg, nil)
	if err != nil {
		return "", err
	}
	catalog, err := collector.NewCatalog(p.Collector)
	if err != nil {
		return "", fmt.Errorf("config.file: %w", err)
	}
	reports := fmt.Sprintf("%d reports, refresh every %s (timeout %s)",
		len(catalog.Reports()), p.Collector.RefreshInterval, p.Collector.RefreshTimeout)
	if cfg.Demo {
		return "demo (the built-in simulator), " + reports, nil
	}
	var tenants []string
	for _, t := range p.Tenants {
		g := t.Graph
		g.DisableBudget = true // the client is built, never used
		if _, err := graph.NewClient(g, graph.Deps{}); err != nil {
			return "", fmt.Errorf("tenant %s: %w", t.Name(), err)
		}
		tenants = append(tenants, t.Name()+": "+t.Credential.Mode+" ("+t.Source+")")
	}
	return fmt.Sprintf("%d tenant(s) (%s), %s", len(tenants), strings.Join(tenants, ", "), reports), nil
}
