package promtest

import (
	"reflect"
	"testing"
)

func TestParsePromQL(t *testing.T) {
	tests := []struct {
		name      string
		expr      string
		selectors []Selector
		functions []string
		aggs      []string
	}{
		{
			name:      "bare metric",
			expr:      "up",
			selectors: []Selector{{Metric: "up"}},
		},
		{
			name:      "matchers with braces and quotes in values",
			expr:      `m{a="}", b=~'x|"y"', c!="\"}"}`,
			selectors: []Selector{{Metric: "m", Matchers: `a="}", b=~'x|"y"', c!="\"}"`}},
		},
		{
			name:      "matchers only",
			expr:      `count by (__name__) ({__name__=~"entra_.+"})`,
			selectors: []Selector{{Matchers: `__name__=~"entra_.+"`, Func: "count"}},
			aggs:      []string{"count"},
		},
		{
			name:      "range, negative offset and function",
			expr:      `last_over_time(a{t=~"$tenant"}[1d] offset -1d)`,
			selectors: []Selector{{Metric: "a", Matchers: `t=~"$tenant"`, Func: "last_over_time"}},
			functions: []string{"last_over_time"},
		},
		{
			name: "aggregation with by before and after, innermost function",
			expr: `sum by (tenant, app_id) (rate(c_total[5m])) / sum(g) without (os)`,
			selectors: []Selector{
				{Metric: "c_total", Func: "rate"},
				{Metric: "g", Func: "sum"},
			},
			functions: []string{"rate"},
			aggs:      []string{"sum", "sum"},
		},
		{
			name: "join keywords, topk and binary keywords",
			expr: `x * on(tenant, app_id) group_left(app_name) topk by (tenant) (1, info) and on() day_of_month() == days_in_month() or vector(1) unless y > bool 0`,
			selectors: []Selector{
				{Metric: "x"},
				{Metric: "info", Func: "topk"},
				{Metric: "y"},
			},
			functions: []string{"day_of_month", "days_in_month", "vector"},
			aggs:      []string{"topk"},
		},
		{
			name:      "strings are not selectors",
			expr:      `label_replace(m, "country", "GB", "country", "UK")`,
			selectors: []Selector{{Metric: "m", Func: "label_replace"}},
			functions: []string{"label_replace"},
		},
		{
			name: "subquery, numbers, Inf and comments",
			expr: "max_over_time((sum(a) > 1e3)[7d:1d]) # a comment with b{}\n + Inf + 0.5 * NaN",
			selectors: []Selector{
				{Metric: "a", Func: "sum"},
			},
			functions: []string{"max_over_time"},
			aggs:      []string{"sum"},
		},
		{
			name:      "recording rule names have colons",
			expr:      `tenant:m:ratio > 2 * tenant:m:ratio_7d`,
			selectors: []Selector{{Metric: "tenant:m:ratio"}, {Metric: "tenant:m:ratio_7d"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePromQL(tt.expr)
			if err != nil {
				t.Fatalf("ParsePromQL(%q): %v", tt.expr, err)
			}
			if !reflect.DeepEqual(got.Selectors, tt.selectors) {
				t.Errorf("selectors:\n got %#v\nwant %#v", got.Selectors, tt.selectors)
			}
			if !reflect.DeepEqual(got.Functions, tt.functions) {
				t.Errorf("functions: got %q, want %q", got.Functions, tt.functions)
			}
			if !reflect.DeepEqual(got.Aggregations, tt.aggs) {
				t.Errorf("aggregations: got %q, want %q", got.Aggregations, tt.aggs)
			}
		})
	}
}

func TestParsePromQLErrors(t *testing.T) {
	for _, expr := range []string{
		"sum(a",
		"a)",
		`a{b="c"`,
		`a{b="c}`,
		"a[5m",
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := ParsePromQL(expr); err == nil {
				t.Errorf("ParsePromQL(%q) succeeded, want an error", expr)
			}
		})
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct {
		sel  Selector
		want string
	}{
		{Selector{Metric: "m"}, "m"},
		{Selector{Metric: "m", Matchers: `a="b"`, Func: "rate"}, `m{a="b"}`},
		{Selector{Matchers: `__name__="m"`}, `{__name__="m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.sel.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsPrometheus242Function(t *testing.T) {
	tests := map[string]bool{
		"last_over_time":               true,
		"days_in_month":                true,
		"absent_over_time":             true,
		"present_over_time":            true,
		"mad_over_time":                false, // 2.48
		"sort_by_label":                false, // 2.49
		"double_exponential_smoothing": false, // 3.0
		"sum":                          false, // an aggregation, not a function
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if got := IsPrometheus242Function(name); got != want {
				t.Errorf("IsPrometheus242Function(%q) = %v, want %v", name, got, want)
			}
		})
	}
}
