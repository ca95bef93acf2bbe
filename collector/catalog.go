package collector

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

const namespace = "entra_insights"

// Help sentences the collector adds to the sources' help of a family.
const (
	cachedHelp = " The value for the current as-of period (see entra_insights_period_start_timestamp_seconds);" +
		" cached, refreshed in the background."
	upperBoundHelp = " A user counts once per label set, so a sum over labels is an upper bound."
)

// Catalog is the metric catalog compiled for one Config: every family
// the sources declare for the configured reports, with the configured
// labels, plus the period and info metrics. It is immutable and safe for
// concurrent use.
type Catalog struct {
	reports     []insights.Report
	metrics     map[insights.Granularity][]*dataMetric
	periodStart *family
	appInfo     *family
	tenantInfo  *family
}

// NewCatalog validates cfg and compiles its catalog.
func NewCatalog(cfg Config) (*Catalog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Families) == 0 {
		return nil, errors.New("no families: Config.Families lists those the sources declare (registry.Families)")
	}
	cfg = cfg.withDefaults()
	c := &Catalog{
		reports: slices.Clone(cfg.Reports),
		metrics: map[insights.Granularity][]*dataMetric{},
		periodStart: newFamily(namespace+"_period_start_timestamp_seconds",
			"Start (00:00 UTC) of the as-of period the data metrics of this granularity show:"+
				" the newest day or month found in any of its reports.",
			"tenant", "granularity"),
		appInfo: newFamily(namespace+"_app_info",
			"One series per application id seen in any report, with the newest application name seen (else the id).",
			"tenant", "app_id", "app_name"),
		tenantInfo: newFamily(namespace+"_tenant_info",
			"The tenant's directory id, cloud and source (logs: the activity logs; userinsights: the retired reports).",
			"tenant", "tenant_id", "cloud", "source"),
	}
	inUse := slices.DeleteFunc(slices.Clone(cfg.Families), func(f source.Family) bool {
		return cfg.Sources != nil && !slices.Contains(cfg.Sources, f.Source)
	})
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		decls, err := declarations(inUse, g)
		if err != nil {
			return nil, err
		}
		for _, d := range decls {
			r := insights.Report{Granularity: g, Name: d[0].Report}
			if !slices.Contains(c.reports, r) {
				continue
			}
			dims, configured := cfg.Dimensions[r]
			if !configured || d[0].Whole {
				dims = d[0].Defaults
			}
			m := compileMetric(d, r, slices.Clone(dims))
			m.choices = dimensionsOf(inUse, r)
			c.metrics[g] = append(c.metrics[g], m)
		}
	}
	return c, nil
}

// declarations groups the families declared at granularity g by name, in
// the order first declared; two sources' declarations of one name must
// agree but for their help.
func declarations(families []source.Family, g insights.Granularity) ([][]source.Family, error) {
	var out [][]source.Family
	for _, f := range families {
		if !f.In(g) {
			continue
		}
		i := slices.IndexFunc(out, func(d []source.Family) bool { return d[0].Name == f.Name })
		if i < 0 {
			out = append(out, []source.Family{f})
			continue
		}
		if !out[i][0].Agrees(f) {
			return nil, fmt.Errorf("family %s_%s: the %s and %s sources declare it differently", g, f.Name, out[i][0].Source, f.Source)
		}
		out[i] = append(out[i], f)
	}
	return out, nil
}

// Reports returns the configured reports.
func (c *Catalog) Reports() []insights.Report { return slices.Clone(c.reports) }

// Kept returns the dimensions the metric of family keeps at granularity g
// (nil when the catalog has none): a source that counts distinct users
// counts them by those.
func (c *Catalog) Kept(family string, g insights.Granularity) []string {
	for _, m := range c.metrics[g] {
		if m.declared == family {
			return slices.Clone(m.dims)
		}
	}
	return nil
}

// ReportsOf returns the catalog's reports that s produces, in catalog
// order.
func (c *Catalog) ReportsOf(s source.Source) []insights.Report {
	var out []insights.Report
	for _, r := range c.reports {
		if slices.Contains(s.Reports(), r) {
			out = append(out, r)
		}
	}
	return out
}

// describe sends the descriptor of every family the catalog can produce.
func (c *Catalog) describe(ch chan<- *prometheus.Desc) {
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		for _, m := range c.metrics[g] {
			ch <- m.desc
		}
	}
	ch <- c.periodStart.desc
	ch <- c.appInfo.desc
	ch <- c.tenantInfo.desc
}

// family is one metric name with its fixed, sorted label names.
type family struct {
	name   string
	help   string
	labels []string // sorted; the order of Sample.Labels and of the desc's variable labels
	desc   *prometheus.Desc
}

func newFamily(name, help string, labels ...string) *family {
	labels = slices.Sorted(slices.Values(labels))
	return &family{name: name, help: help, labels: labels, desc: prometheus.NewDesc(name, help, labels, nil)}
}

// dataMetric is a source family compiled for one granularity and the
// configured dimensions.
type dataMetric struct {
	*family
	declared string // the family's name as its sources declare it
	report   insights.Report
	dims     []string // dimension labels kept, in configured order
	whole    bool     // keeps no dimension whatever the configuration
	choices  []string // the dimensions a config may keep, for the README
	own      []string // the family's own labels, always kept
	// slot maps each position of family.labels to its position in the
	// unsorted tuple (tenant, dims..., own...).
	slot    []int
	sources []string // the sources that declare it, for the README
}

// compileMetric compiles the declarations decls of one family at report
// r's granularity, keeping dims.
func compileMetric(decls []source.Family, r insights.Report, dims []string) *dataMetric {
	f := decls[0]
	tuple := append(append([]string{"tenant"}, dims...), f.Labels...)
	help := helpOf(decls)
	if f.Kind == source.Users && len(tuple) > 1 {
		help += upperBoundHelp
	}
	m := &dataMetric{
		family:   newFamily(fmt.Sprintf("%s_%s_%s", namespace, r.Granularity, f.Name), help+cachedHelp, tuple...),
		declared: f.Name,
		report:   r,
		dims:     dims,
		whole:    f.Whole,
		own:      f.Labels,
	}
	for _, d := range decls {
		m.sources = append(m.sources, d.Source)
	}
	for _, l := range m.family.labels {
		m.slot = append(m.slot, slices.Index(tuple, l))
	}
	return m
}

// helpOf is the help of a family: its one source's, or each source's
// named, where several declare it.
func helpOf(decls []source.Family) string {
	if len(decls) == 1 {
		return decls[0].Help
	}
	parts := make([]string, len(decls))
	for i, d := range decls {
		parts[i] = d.Source + " source: " + d.Help
	}
	return strings.Join(parts, " ")
}
