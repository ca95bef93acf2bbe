package collector

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// Catalog is the metric catalog compiled for one Config: every data metric
// of the configured reports with its labels, plus the period and info
// metrics. It is immutable and safe for concurrent use.
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
	cfg = cfg.withDefaults()
	c := &Catalog{
		reports: withDerived(cfg.Reports),
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
	for _, spec := range metricSpecs() {
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			r := insights.Report{Granularity: g, Name: spec.report}
			if (spec.only != "" && spec.only != g) || !slices.Contains(c.reports, r) {
				continue
			}
			dims, configured := cfg.Dimensions[r]
			if !configured {
				dims = spec.defaults
			}
			c.metrics[g] = append(c.metrics[g], compileMetric(spec, g, slices.Clone(dims)))
		}
	}
	return c, nil
}

// Reports returns the configured reports (not the derived ones).
func (c *Catalog) Reports() []insights.Report {
	return slices.DeleteFunc(slices.Clone(c.reports), func(r insights.Report) bool { return derivedFrom(r) != nil })
}

// ActiveUserDimensions returns the dimensions the active_users metric of
// each granularity keeps: the logs source counts distinct users by them.
func (c *Catalog) ActiveUserDimensions() map[insights.Granularity][]string {
	out := map[insights.Granularity][]string{}
	for g, metrics := range c.metrics {
		for _, m := range metrics {
			if m.report.Name == insights.ActiveUsers {
				out[g] = slices.Clone(m.dims)
			}
		}
	}
	return out
}

// withDerived adds to reports each derived report (e.g. tenantActiveUsers)
// whose source report is configured at that granularity.
func withDerived(reports []insights.Report) []insights.Report {
	out := slices.Clone(reports)
	for _, spec := range insights.Specs() {
		for _, r := range reports {
			derived := insights.Report{Granularity: r.Granularity, Name: spec.Name}
			if spec.DerivedFrom != "" && r.Name == spec.DerivedFrom && !slices.Contains(out, derived) {
				out = append(out, derived)
			}
		}
	}
	return out
}

// derivedFrom returns the report whose rows stand in for the derived
// report r, or nil when r is not derived.
func derivedFrom(r insights.Report) *insights.Report {
	spec, _ := insights.SpecOf(r.Name)
	if spec.DerivedFrom == "" {
		return nil
	}
	return &insights.Report{Granularity: r.Granularity, Name: spec.DerivedFrom}
}

// ReportsOf returns the catalog's reports that s produces, in catalog
// order. The reports the collector derives (tenantActiveUsers from
// activeUsers) are the source's if it lists them, else derived.
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

// dataMetric is a catalog metric compiled for one granularity and the
// configured dimensions.
type dataMetric struct {
	*family
	report insights.Report
	dims   []string // dimension labels kept, in configured order
	// slot maps each position of family.labels to its position in the
	// unsorted tuple (tenant, dims..., structural...).
	slot    []int
	points  func(r *insights.Row, emit emitFunc)
	sources []string // which sources produce it, for the README
	// derivedFrom is the report whose rows stand in for a derived report
	// where the source does not produce it; nil otherwise.
	derivedFrom *insights.Report
}

func compileMetric(spec metricSpec, g insights.Granularity, dims []string) *dataMetric {
	help := spec.help + cachedHelp
	report := insights.Report{Granularity: g, Name: spec.report}
	switch {
	case spec.users && report.Name == insights.ActiveUsers:
		help = spec.help + exactUsersHelp + upperBoundHelp + cachedHelp
	case spec.users:
		help = spec.help + upperBoundHelp + cachedHelp
	}
	tuple := append(append([]string{"tenant"}, dims...), spec.structural...)
	m := &dataMetric{
		family: newFamily(fmt.Sprintf("%s_%s_%s", namespace, g, spec.name), help, tuple...),
		report: report,
		dims:   dims,
		points: func(r *insights.Row, emit emitFunc) { spec.points(g, r, emit) },
	}
	if slices.Contains(insights.LogsReports(), m.report) {
		m.sources = append(m.sources, insights.SourceLogs)
	}
	m.derivedFrom = derivedFrom(report)
	if !spec.logsOnly && (slices.Contains(insights.AllReports(), m.report) || m.derivedFrom != nil) {
		m.sources = append(m.sources, insights.SourceUserInsights)
	}
	for _, l := range m.labels {
		m.slot = append(m.slot, slices.Index(tuple, l))
	}
	return m
}
