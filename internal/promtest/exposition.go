package promtest

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The exposition: what /metrics serves and what a registry gathers, read
// and written the one way every test does.

// ParseText parses the text format (version 0.0.4) into families by name.
func ParseText(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}

// Parse parses a /metrics body of the given Content-Type into families by
// name: the text format and delimited protobuf in full; OpenMetrics, which
// client_golang cannot parse, as an empty family for each sample name
// (counters under their _total name), see SampleNames.
func Parse(contentType, body string) (map[string]*dto.MetricFamily, error) {
	switch {
	case strings.HasPrefix(contentType, "text/plain"):
		return ParseText(strings.NewReader(body))
	case strings.HasPrefix(contentType, "application/openmetrics-text"):
		families := map[string]*dto.MetricFamily{}
		for name := range SampleNames(body) {
			families[name] = &dto.MetricFamily{}
		}
		return families, nil
	}
	families := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			return families, nil
		} else if err != nil {
			return nil, err
		}
		families[mf.GetName()] = &mf
	}
}

// sampleLine matches the metric name of a sample line.
var sampleLine = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]`)

// SampleNames returns the metric names of the sample lines of a text or
// OpenMetrics exposition: a histogram's or summary's series under their
// _bucket, _sum and _count names, as PromQL selects them.
func SampleNames(body string) map[string]bool {
	names := map[string]bool{}
	for _, m := range sampleLine.FindAllStringSubmatch(body, -1) {
		names[m[1]] = true
	}
	return names
}

// Gather gathers g into families by name.
func Gather(t testing.TB, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(families))
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

// Text gathers g and writes the families keep accepts (all when keep is
// nil) in the text format, in the registry's order; n is how many.
func Text(t testing.TB, g prometheus.Gatherer, keep func(name string) bool) (text []byte, n int) {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if keep != nil && !keep(f.GetName()) {
			continue
		}
		if err := enc.Encode(f); err != nil {
			t.Fatalf("encode %s: %v", f.GetName(), err)
		}
		n++
	}
	return buf.Bytes(), n
}

// Value is the value of a gauge, counter or untyped series.
func Value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// Key renders a series of family name as name{label="value",...}, its
// labels sorted by name (as a registry sorts them).
func Key(name string, m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Values maps every series of families to its Value by Key.
func Values(families []*dto.MetricFamily) map[string]float64 {
	values := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			values[Key(f.GetName(), m)] = Value(m)
		}
	}
	return values
}

// HasLabels reports whether m has every label of want, with its value.
func HasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

// Find returns the Value of the first series of f whose labels include
// want, and whether there is one.
func Find(f *dto.MetricFamily, want map[string]string) (float64, bool) {
	for _, m := range f.GetMetric() {
		if HasLabels(m, want) {
			return Value(m), true
		}
	}
	return 0, false
}

// Sum adds up the Values of f's series whose labels include want; 0 when
// f is nil.
func Sum(f *dto.MetricFamily, want map[string]string) float64 {
	sum := 0.0
	for _, m := range f.GetMetric() {
		if HasLabels(m, want) {
			sum += Value(m)
		}
	}
	return sum
}
