package collector

import (
	"slices"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Family describes one metric family the exporter can expose, for
// documentation (the README's catalog is generated from it).
type Family struct {
	Name     string
	Type     string // "gauge" or "counter"
	Help     string
	Report   string   // e.g. "daily/activeUsers" for a data metric, else ""
	Labels   []string // labels of every series, sorted, tenant included
	Optional []string // further dimension labels Config.Dimensions can add
	Sources  []string // the sources that produce a data metric (logs, userinsights)
}

// Families lists every metric family an Exporter with cfg exposes: the data
// metrics in catalog order, then the period, info and health metrics.
func Families(cfg Config) ([]Family, error) {
	c, err := NewCatalog(cfg)
	if err != nil {
		return nil, err
	}
	var out []Family
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		for _, m := range c.metrics[g] {
			f := gaugeFamily(m.family)
			f.Report = m.report.String()
			f.Sources = m.sources
			for _, d := range m.choices {
				if !m.whole && !slices.Contains(m.dims, d) {
					f.Optional = append(f.Optional, d)
				}
			}
			out = append(out, f)
		}
	}
	for _, f := range append([]*family{c.periodStart, c.appInfo, c.tenantInfo}, newHealthFamilies().all()...) {
		out = append(out, gaugeFamily(f))
	}
	return append(out, Family{
		Name: refreshErrorsName, Type: "counter", Help: refreshErrorsHelp, Labels: []string{"reason", "tenant"},
	}), nil
}

func gaugeFamily(f *family) Family {
	return Family{Name: f.name, Type: "gauge", Help: f.help, Labels: slices.Clone(f.labels)}
}
