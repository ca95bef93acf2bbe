package collector

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// Label is one label of a Sample.
type Label struct{ Name, Value string }

// Sample is one series with its value, in a form that serve (via const
// metrics) and backfill (via OpenMetrics text) both write, so both expose
// the same names, labels and values.
type Sample struct {
	Name   string  // full metric name
	Help   string  // HELP text
	Type   string  // "gauge": every data series is a gauge
	Labels []Label // sorted by name, tenant included
	Value  float64
}

// point is a Sample before it is rendered: label values in the order of
// family.labels.
type point struct {
	family *family
	values []string
	value  float64
}

// point returns the point of f with the label name/value pairs kv, which
// must name every label of f.
func (f *family) point(value float64, kv ...string) point {
	values := make([]string, len(f.labels))
	for i := 0; i+1 < len(kv); i += 2 {
		values[slices.Index(f.labels, kv[i])] = kv[i+1]
	}
	return point{family: f, values: values, value: value}
}

// AsOf returns the as-of period start of each granularity: the newest
// period any report of that granularity holds records of. A granularity
// without records is absent. It is computed afresh from the results each
// time, so if Graph's newest date goes backwards (a day withdrawn, a clock
// fixed) the as-of period follows the data rather than holding on to a
// period Graph no longer reports.
func AsOf(results map[insights.Report]source.Result) map[insights.Granularity]time.Time {
	asOf := map[insights.Granularity]time.Time{}
	for r, res := range results {
		for _, p := range res.Periods() {
			if p.After(asOf[r.Granularity]) {
				asOf[r.Granularity] = p
			}
		}
	}
	return asOf
}

// Series returns the data series of granularity g for the as-of period that
// starts at period: every catalog metric of g built from that period's
// points only, plus entra_insights_period_start_timestamp_seconds. The
// order is deterministic: by name, then label values.
func (c *Catalog) Series(tenant string, g insights.Granularity, period time.Time, results map[insights.Report]source.Result) []Sample {
	return samples(c.seriesPoints(tenant, g, period, results, nil))
}

// InfoSeries returns entra_insights_app_info, one series per application id
// seen in any report (with the newest name seen, else the id), and
// entra_insights_tenant_info.
func (c *Catalog) InfoSeries(t Tenant, results map[insights.Report]source.Result) []Sample {
	t.Name = t.label()
	return samples(c.infoPoints(t, results, nil))
}

func (c *Catalog) seriesPoints(tenant string, g insights.Granularity, period time.Time, results map[insights.Report]source.Result, out []point) []point {
	period = insights.PeriodStart(g, period)
	for _, m := range c.metrics[g] {
		out = m.aggregate(tenant, period, results[m.report].Points, out)
	}
	return append(out, c.periodStart.point(float64(period.Unix()), "tenant", tenant, "granularity", string(g)))
}

// aggregate appends the points of m in the period, summing those whose
// labels are equal after normalisation: points differing only in dropped
// dimensions, or in spelling ("WINDOWS", "Windows").
func (m *dataMetric) aggregate(tenant string, period time.Time, points []source.Point, out []point) []point {
	var (
		index  = map[string]int{} // joined label values → position in sums
		sums   []int64
		tuples [][]string
		tuple  = make([]string, 1+len(m.dims)+len(m.own))
		key    []byte // reused; a map lookup by string(key) does not copy it
	)
	tuple[0] = tenant
	for i := range points {
		p := &points[i]
		if p.Family != m.declared || !p.Start.Equal(period) {
			continue
		}
		for j, l := range m.dims {
			tuple[1+j] = insights.Normalize(l, p.Label(l))
		}
		for j, l := range m.own {
			tuple[1+len(m.dims)+j] = insights.Normalize(l, p.Label(l))
		}
		key = key[:0]
		for _, v := range tuple {
			// Label values are valid UTF-8, which never contains 0xff.
			key = append(append(key, v...), 0xff)
		}
		if i, ok := index[string(key)]; ok {
			sums[i] += p.Value
			continue
		}
		index[string(key)] = len(sums)
		sums = append(sums, p.Value)
		tuples = append(tuples, slices.Clone(tuple))
	}
	for i, t := range tuples {
		values := make([]string, len(m.slot))
		for j, s := range m.slot {
			values[j] = t[s]
		}
		out = append(out, point{family: m.family, values: values, value: float64(sums[i])})
	}
	return out
}

func (c *Catalog) infoPoints(t Tenant, results map[insights.Report]source.Result, out []point) []point {
	out = append(out, c.tenantInfo.point(1, "tenant", t.Name,
		"tenant_id", insights.NormalizeText(t.TenantID, insights.UnknownValue), "cloud", insights.NormalizeText(t.Cloud, insights.UnknownValue),
		"source", insights.NormalizeText(t.sourceName(), insights.UnknownValue)))
	apps := map[string]source.App{}
	// Reports in a fixed order, so that equal dates resolve the same way
	// on every refresh; the app_id values of the points count too.
	for _, r := range sortedReports(results) {
		res := results[r]
		for _, id := range slices.Sorted(maps.Keys(res.Apps)) {
			source.SeeApp(apps, insights.Normalize("app_id", id), res.Apps[id])
		}
		for i := range res.Points {
			for _, l := range res.Points[i].Labels {
				if l.Name == "app_id" {
					source.SeeApp(apps, insights.Normalize("app_id", l.Value), source.App{})
				}
			}
		}
	}
	for id, a := range apps {
		out = append(out, c.appInfo.point(1, "tenant", t.Name, "app_id", id, "app_name", insights.NormalizeText(a.Name, id)))
	}
	return out
}

// samples renders points as Samples sorted by name, then label values.
func samples(points []point) []Sample {
	slices.SortFunc(points, func(a, b point) int {
		if c := strings.Compare(a.family.name, b.family.name); c != 0 {
			return c
		}
		return slices.Compare(a.values, b.values)
	})
	out := make([]Sample, len(points))
	for i, p := range points {
		labels := make([]Label, len(p.values))
		for j, v := range p.values {
			labels[j] = Label{Name: p.family.labels[j], Value: v}
		}
		out[i] = Sample{Name: p.family.name, Help: p.family.help, Type: "gauge", Labels: labels, Value: p.value}
	}
	return out
}
