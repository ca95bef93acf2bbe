// Package backfill turns the history a source returns (every day and month
// of its families it holds: the retained logs, or the retired reports' 30
// days and 12 months) into OpenMetrics text for
// `promtool tsdb create-blocks-from openmetrics`, placing every value in
// time exactly where the live exporter would have shown it.
//
// The placement follows the README's data semantics ("What a value means", backfill): with L the lag (in whole
// periods) between the period containing Now (when Graph was read) and the
// newest period Graph returned, period P's values are written during
// [P.start+L, P.end+L) at
// P.start+L + (k+½)·step — never on a period boundary, so a
// last_over_time over a day or month never picks up a neighbour's value.
// Writing stops at End, where live data begins.
package backfill

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// TenantData is one tenant and what its source read of its reports, once.
type TenantData struct {
	Tenant  collector.Tenant
	Results map[insights.Report]source.Result
}

// Options bound the output in time and set the sample spacing.
type Options struct {
	Step  time.Duration // spacing of samples within a period
	Start time.Time     // nothing before; zero = everything Graph returned
	End   time.Time     // nothing at or after: where live data begins (usually Now)
	Now   time.Time     // when Graph was read: the lag L is measured from it
	// Labels are added to every series: the job and instance labels
	// Prometheus attaches when it scrapes the exporter, so history and live
	// data are one series rather than two that a sum would count twice.
	Labels []collector.Label
}

// Stats says what was written; the sample count is what promtool must load.
type Stats struct {
	Series  int
	Samples int
}

// segment is one constant value of a series over [from, to).
type segment struct {
	from, to time.Time
	value    float64
}

type series struct {
	labels   []collector.Label
	key      string // rendered labels: sort key and output
	segments []segment
}

type family struct {
	name, help string
	series     map[string]*series // while collecting
	sorted     []*series          // by key, once collected
}

// Write writes every tenant's history to w as OpenMetrics text ending in
// "# EOF": families sorted by name, series sorted by labels, samples in time
// order. It is deterministic: the same input gives the same bytes, so a
// re-run produces identical samples that Prometheus merges.
func Write(w io.Writer, catalog *collector.Catalog, tenants []TenantData, opts Options) (Stats, error) {
	families, err := collect(catalog, tenants, opts)
	if err != nil {
		return Stats{}, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	stats := writeFamilies(bw, families, opts)
	fmt.Fprintln(bw, "# EOF")
	if err := bw.Flush(); err != nil {
		return stats, fmt.Errorf("write openmetrics: %w", err)
	}
	return stats, nil
}

// collect gathers every series of every tenant with the value it had in
// each display window, sorted: families by name, series by labels.
func collect(catalog *collector.Catalog, tenants []TenantData, opts Options) ([]*family, error) {
	if opts.Step <= 0 {
		return nil, fmt.Errorf("step %s must be positive", opts.Step)
	}
	if opts.Now.IsZero() || opts.End.IsZero() {
		return nil, errors.New("now and end must be set")
	}
	for _, l := range opts.Labels {
		if !model.LegacyValidation.IsValidLabelName(l.Name) || strings.HasPrefix(l.Name, "__") {
			return nil, fmt.Errorf("label name %q is not valid", l.Name)
		}
	}
	byName := map[string]*family{}
	for _, t := range tenants {
		if err := addTenant(byName, catalog, t, opts); err != nil {
			return nil, err
		}
	}
	families := make([]*family, 0, len(byName))
	for _, f := range byName {
		f.sorted = make([]*series, 0, len(f.series))
		for _, s := range f.series {
			slices.SortFunc(s.segments, func(a, b segment) int { return a.from.Compare(b.from) })
			f.sorted = append(f.sorted, s)
		}
		slices.SortFunc(f.sorted, func(a, b *series) int { return strings.Compare(a.key, b.key) })
		families = append(families, f)
	}
	slices.SortFunc(families, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return families, nil
}

// addTenant records, for every series of the tenant, the value it had in
// each display window.
func addTenant(families map[string]*family, catalog *collector.Catalog, t TenantData, opts Options) error {
	asOf := collector.AsOf(t.Results)
	var first time.Time
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		newest, ok := asOf[g]
		if !ok {
			continue
		}
		lag := periodsBetween(g, newest, insights.PeriodStart(g, opts.Now))
		for _, p := range periods(g, t.Results) {
			from, to := shift(g, p, lag), shift(g, next(g, p), lag)
			if first.IsZero() || from.Before(first) {
				first = from
			}
			for _, s := range catalog.Series(t.Tenant.Name, g, p, t.Results) {
				if err := add(families, s, segment{from: from, to: to, value: s.Value}, opts.Labels); err != nil {
					return err
				}
			}
		}
	}
	if first.IsZero() {
		return nil // the source had no data at all
	}
	for _, s := range catalog.InfoSeries(t.Tenant, t.Results) {
		if err := add(families, s, segment{from: first, to: opts.End, value: s.Value}, opts.Labels); err != nil {
			return err
		}
	}
	return nil
}

func add(families map[string]*family, s collector.Sample, seg segment, extra []collector.Label) error {
	f := families[s.Name]
	if f == nil {
		f = &family{name: s.Name, help: s.Help, series: map[string]*series{}}
		families[s.Name] = f
	}
	labels := s.Labels
	for _, l := range extra {
		if slices.ContainsFunc(s.Labels, func(own collector.Label) bool { return own.Name == l.Name }) {
			return fmt.Errorf("label %q is one of %s's own labels; it cannot be added", l.Name, s.Name)
		}
	}
	if len(extra) > 0 {
		labels = append(slices.Clone(s.Labels), extra...)
		slices.SortFunc(labels, func(a, b collector.Label) int { return strings.Compare(a.Name, b.Name) })
	}
	key := renderLabels(labels)
	ser := f.series[key]
	if ser == nil {
		ser = &series{labels: labels, key: key}
		f.series[key] = ser
	}
	ser.segments = append(ser.segments, seg)
	return nil
}

func writeFamilies(w *bufio.Writer, families []*family, opts Options) Stats {
	var stats Stats
	for _, f := range families {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", f.name, escape(f.help), f.name)
		for _, s := range f.sorted {
			prefix := f.name + s.key + " "
			n := s.samples(opts, func(t time.Time, _ float64, value string) {
				w.WriteString(prefix)
				w.WriteString(value)
				w.WriteByte(' ')
				w.WriteString(formatTimestamp(t))
				w.WriteByte('\n')
			})
			if n > 0 {
				stats.Series++
				stats.Samples += n
			}
		}
	}
	return stats
}

// samples calls emit for every sample of the series in time order, with the
// value also formatted as text, and returns how many there were.
func (s *series) samples(opts Options, emit func(t time.Time, value float64, text string)) int {
	n := 0
	for _, seg := range s.segments {
		value := strconv.FormatFloat(seg.value, 'g', -1, 64)
		for t := seg.from.Add(opts.Step / 2); t.Before(seg.to) && t.Before(opts.End); t = t.Add(opts.Step) {
			if t.Before(opts.Start) {
				continue
			}
			emit(t, seg.value, value)
			n++
		}
	}
	return n
}

// formatTimestamp renders t in seconds, with a fraction only when needed.
func formatTimestamp(t time.Time) string {
	if t.Nanosecond() == 0 {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func renderLabels(labels []collector.Label) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		b.WriteString(escape(l.Value))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// escape escapes a label value or HELP text as OpenMetrics requires.
func escape(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// periods returns the distinct period starts of granularity g the results
// hold records of, oldest first.
func periods(g insights.Granularity, results map[insights.Report]source.Result) []time.Time {
	seen := map[time.Time]bool{}
	for r, res := range results {
		if r.Granularity != g {
			continue
		}
		for _, p := range res.Periods() {
			seen[p] = true
		}
	}
	out := make([]time.Time, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return cmp.Compare(a.Unix(), b.Unix()) })
	return out
}

func next(g insights.Granularity, p time.Time) time.Time { return shift(g, p, 1) }

// shift moves a period start by n whole periods (calendar months for
// monthly, so February is as long as it really is).
func shift(g insights.Granularity, p time.Time, n int) time.Time {
	if g == insights.Monthly {
		return p.AddDate(0, n, 0)
	}
	return p.AddDate(0, 0, n)
}

// periodsBetween counts whole periods from period start a to period start b.
func periodsBetween(g insights.Granularity, a, b time.Time) int {
	if g == insights.Monthly {
		return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	}
	return int(math.Round(b.Sub(a).Hours() / 24))
}
