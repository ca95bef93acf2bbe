package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
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
// factDate over every report of that granularity, truncated to the day or
// (monthly) the 1st of the month. A granularity without dated rows is
// absent. It is computed afresh from the rows each time, so if Graph's
// newest date goes backwards (a day withdrawn, a clock fixed) the as-of
// period follows the data rather than holding on to a period Graph no
// longer reports.
func AsOf(rows map[insights.Report][]insights.Row) map[insights.Granularity]time.Time {
	asOf := map[insights.Granularity]time.Time{}
	for r, rs := range rows {
		for i := range rs {
			if rs[i].FactDate.IsZero() {
				continue
			}
			p := insights.PeriodStart(r.Granularity, rs[i].FactDate)
			if p.After(asOf[r.Granularity]) {
				asOf[r.Granularity] = p
			}
		}
	}
	return asOf
}

// inPeriod reports whether row r belongs to the period starting at start.
func inPeriod(g insights.Granularity, start time.Time, r *insights.Row) bool {
	return !r.FactDate.IsZero() && insights.PeriodStart(g, r.FactDate).Equal(start)
}

// rowsInPeriod counts the rows of the period starting at start.
func rowsInPeriod(g insights.Granularity, start time.Time, rows []insights.Row) int {
	n := 0
	for i := range rows {
		if inPeriod(g, start, &rows[i]) {
			n++
		}
	}
	return n
}

// Series returns the data series of granularity g for the as-of period that
// starts at period: every catalog metric of g built from that period's rows
// only, plus entra_insights_period_start_timestamp_seconds. The order is
// deterministic: by name, then label values.
func (c *Catalog) Series(tenant string, g insights.Granularity, period time.Time, rows map[insights.Report][]insights.Row) []Sample {
	return samples(c.seriesPoints(tenant, g, period, rows, nil))
}

// InfoSeries returns entra_insights_app_info, one series per application id
// seen in any report (with the newest name seen, else the id), and
// entra_insights_tenant_info.
func (c *Catalog) InfoSeries(t Tenant, rows map[insights.Report][]insights.Row) []Sample {
	t.Name = t.label()
	return samples(c.infoPoints(t, rows, nil))
}

func (c *Catalog) seriesPoints(tenant string, g insights.Granularity, period time.Time, rows map[insights.Report][]insights.Row, out []point) []point {
	period = insights.PeriodStart(g, period)
	for _, m := range c.metrics[g] {
		rs, ok := rows[m.report]
		if !ok && m.derivedFrom != nil {
			// A source without it (userinsights): the sum of the rows it
			// is derived from, an upper bound, as the HELP says.
			rs = rows[*m.derivedFrom]
		}
		out = m.aggregate(tenant, period, rs, out)
	}
	return append(out, c.periodStart.point(float64(period.Unix()), "tenant", tenant, "granularity", string(g)))
}

// aggregate appends the points of m over the rows of the period, summing
// rows whose labels are equal after normalisation: rows differing only in
// dropped dimensions, or in spelling ("WINDOWS", "Windows").
func (m *dataMetric) aggregate(tenant string, period time.Time, rows []insights.Row, out []point) []point {
	var (
		index  = map[string]int{} // joined label values → position in sums
		sums   []int64
		tuples [][]string
		tuple  = make([]string, 1+len(m.dims), 1+len(m.dims)+2)
		key    []byte // reused; a map lookup by string(key) does not copy it
	)
	tuple[0] = tenant
	emit := func(value int64, structural ...string) {
		full := append(tuple[:1+len(m.dims)], structural...)
		key = key[:0]
		for _, v := range full {
			// Label values are valid UTF-8, which never contains 0xff.
			key = append(append(key, v...), 0xff)
		}
		if i, ok := index[string(key)]; ok {
			sums[i] += value
			return
		}
		index[string(key)] = len(sums)
		sums = append(sums, value)
		tuples = append(tuples, slices.Clone(full))
	}
	for i := range rows {
		r := &rows[i]
		if !inPeriod(m.report.Granularity, period, r) {
			continue
		}
		for j, d := range m.dims {
			v, _ := r.Dimension(d)
			tuple[1+j] = insights.Normalize(d, v)
		}
		m.points(r, emit)
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

func (c *Catalog) infoPoints(t Tenant, rows map[insights.Report][]insights.Row, out []point) []point {
	out = append(out, c.tenantInfo.point(1, "tenant", t.Name,
		"tenant_id", insights.NormalizeText(t.TenantID, insights.UnknownValue), "cloud", insights.NormalizeText(t.Cloud, insights.UnknownValue),
		"source", insights.NormalizeText(t.sourceName(), insights.UnknownValue)))
	type app struct {
		name string
		date time.Time
	}
	apps := map[string]*app{}
	// Reports in a fixed order, so that equal dates resolve the same way
	// on every refresh.
	for _, r := range sortedReports(rows) {
		// A report with an app_id label counts a missing id as "unknown";
		// others (inactiveUsers carries appId without exposing it) only
		// add the ids they do carry.
		hasAppLabel := slices.Contains(reportDimensions(r.Name), "app_id")
		for i := range rows[r] {
			row := &rows[r][i]
			if !hasAppLabel && strings.TrimSpace(row.AppID) == "" {
				continue
			}
			id := insights.Normalize("app_id", row.AppID)
			a, ok := apps[id]
			if !ok {
				a = &app{}
				apps[id] = a
			}
			if name := insights.NormalizeText(row.AppName, ""); name != "" && (a.name == "" || row.FactDate.After(a.date)) {
				a.name, a.date = name, row.FactDate
			}
		}
	}
	for id, a := range apps {
		out = append(out, c.appInfo.point(1, "tenant", t.Name, "app_id", id, "app_name", insights.NormalizeText(a.name, id)))
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
