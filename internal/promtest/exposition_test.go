package promtest

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// testRegistry has a counter, a gauge of two series and a summary.
func testRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "C."})
	c.Add(3)
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "g", Help: "G."}, []string{"z", "a"})
	g.WithLabelValues("1", "x").Set(1)
	g.WithLabelValues("2", "y\"").Set(2)
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "s", Help: "S.", Objectives: map[float64]float64{0.5: 0.05}})
	s.Observe(1)
	reg.MustRegister(c, g, s)
	return reg
}

func TestExpositionRoundTrip(t *testing.T) {
	reg := testRegistry(t)
	text, n := Text(t, reg, nil)
	if n != 3 {
		t.Fatalf("Text wrote %d families, want 3", n)
	}
	if only, n := Text(t, reg, func(name string) bool { return name == "g" }); n != 1 || bytes.Contains(only, []byte("c_total")) {
		t.Errorf("Text with keep wrote %d families:\n%s", n, only)
	}
	var proto bytes.Buffer
	enc := expfmt.NewEncoder(&proto, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, f := range Gather(t, reg) {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{`c_total{}`: 3, `g{a="x",z="1"}`: 1, `g{a="y\"",z="2"}`: 2, `s{}`: 0}
	for _, tc := range []struct{ contentType, body string }{
		{"text/plain; version=0.0.4; charset=utf-8", string(text)},
		{"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", proto.String()},
	} {
		families, err := Parse(tc.contentType, tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.contentType, err)
		}
		got := Values(slices.Collect(maps.Values(families)))
		if !maps.Equal(got, want) {
			t.Errorf("%s: values %v, want %v", tc.contentType, got, want)
		}
		g := families["g"]
		if v, ok := Find(g, map[string]string{"a": "y\""}); !ok || v != 2 {
			t.Errorf("%s: Find = %v, %v", tc.contentType, v, ok)
		}
		if _, ok := Find(g, map[string]string{"a": "x", "z": "2"}); ok {
			t.Errorf("%s: Find matched a series with another z", tc.contentType)
		}
		if got := Sum(g, nil); got != 3 {
			t.Errorf("%s: Sum of g = %v, want 3", tc.contentType, got)
		}
		if got := Sum(families["missing"], nil); got != 0 {
			t.Errorf("%s: Sum of a missing family = %v, want 0", tc.contentType, got)
		}
	}
	if _, err := ParseText(bytes.NewReader([]byte("g{a=\"x\" 1\n"))); err == nil {
		t.Error("ParseText accepted a broken line")
	}
}

func TestSampleNames(t *testing.T) {
	body := "# HELP s S.\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n# TYPE c counter\nc_total 3\n# EOF\n"
	got := slices.Sorted(maps.Keys(SampleNames(body)))
	if want := []string{"c_total", "s", "s_count", "s_sum"}; !slices.Equal(got, want) {
		t.Errorf("SampleNames = %v, want %v", got, want)
	}
	families, err := Parse("application/openmetrics-text; version=1.0.0", body)
	if err != nil || len(families) != 4 || families["c_total"] == nil {
		t.Errorf("Parse of OpenMetrics = %v, %v", families, err)
	}
}
