package main

import (
	"fmt"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
)

// check is --config.check: kong has validated the flags; this plans the
// configuration (config file, every tenant's credential settings) and
// builds each tenant's client, which reads and parses its secret or
// certificate file, without contacting Graph or the token service. It
// returns a one-line summary of what would run.
func (c *cli) check() (string, error) {
	p, err := c.plan(nil)
	if err != nil {
		return "", err
	}
	catalog, err := collector.NewCatalog(p.collector)
	if err != nil {
		return "", fmt.Errorf("config.file: %w", err)
	}
	reports := fmt.Sprintf("%d reports, refresh every %s (timeout %s)",
		len(catalog.Reports()), p.collector.RefreshInterval, p.collector.RefreshTimeout)
	if c.Demo {
		return "demo (the built-in simulator), " + reports, nil
	}
	var tenants []string
	for _, t := range p.tenants {
		t.DisableBudget = true // the client is built, never used
		if _, err := graph.NewClient(t, graph.Deps{}); err != nil {
			return "", fmt.Errorf("tenant %s: %w", t.TenantName, err)
		}
		tenants = append(tenants, t.TenantName+": "+p.credentials[t.TenantName].Mode+" ("+p.sources[t.TenantName]+")")
	}
	return fmt.Sprintf("%d tenant(s) (%s), %s", len(tenants), strings.Join(tenants, ", "), reports), nil
}
