package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// TestPromQLBuildingBlocks evaluates day, monthEnds and inStageOrder with
// Prometheus 2.42's engine (promtool test rules) on data shaped like the
// exporter's: counts that grow during their day or month, a series present
// twice (backfilled, and scraped with target labels), a query step of one
// day at 00:00 UTC, and sign-up stages. Time 0 is 1970-01-01, a January of
// 31 days.
func TestPromQLBuildingBlocks(t *testing.T) {
	promtest.Require(t)

	// Daily: during day d (0..3) the count is 100*(d+1) + hours into the
	// day, sampled every 30 minutes but never at 00:00 (as the backfill
	// does). The scraped copy exists on day 3 only.
	var daily, scraped []string
	for d := range 4 {
		for half := range 48 {
			v := fmt.Sprint(100*(d+1) + half/2)
			if half == 0 {
				v = "_"
			}
			daily = append(daily, v)
			if d == 3 {
				scraped = append(scraped, v)
			} else {
				scraped = append(scraped, "_")
			}
		}
	}
	// Monthly: during January the count is 1000 + day of month, in
	// February 2000 + day of month, sampled every 6 hours but never at
	// 00:00, until Feb 2 (day 32).
	var monthly, period []string
	for i := range 33 * 4 {
		dayOfYear := i / 4 // 0-based
		v := fmt.Sprint(1000 + dayOfYear + 1)
		if dayOfYear >= 31 {
			v = fmt.Sprint(2000 + dayOfYear - 31 + 1)
		}
		if i%4 == 0 {
			v = "_"
		}
		monthly = append(monthly, v)
		period = append(period, v)
	}

	g := testGen(t)
	dailyExpr := expand(sum("", g.day(g.sel("entra_insights_daily_sign_ups"))))
	monthlyExpr := expand(g.monthEnds(sum("", g.day(g.sel("entra_insights_monthly_sign_ups")))))
	stageExpr := expand(inStageOrder(sum("stage", g.latest("entra_insights_monthly_sign_up_flows"))))
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	one := func(v float64) []sample { return []sample{{Labels: "{}", Value: v}} }
	// promtool shows a test only the data up to its latest eval_time; this
	// one lets the negative offsets see the days after.
	end := func(at string) exprTest { return exprTest{"vector(1)", at, one(1)} }
	tests := []struct {
		interval string
		series   map[string][]string
		exprs    []exprTest
	}{
		{
			interval: "30m",
			series: map[string][]string{
				`entra_insights_daily_sign_ups{tenant="t"}`:                                               daily,
				`entra_insights_daily_sign_ups{tenant="t",instance="exporter:9101",job="entra_insights"}`: scraped,
			},
			exprs: []exprTest{
				// A point at a day's 00:00 shows that day's last value.
				{dailyExpr, "0d", one(123)},
				{dailyExpr, "1d", one(223)},
				// The day with both copies counts once.
				{dailyExpr, "3d", one(423)},
				end("5d"),
			},
		},
		{
			interval: "6h",
			series: map[string][]string{
				`entra_insights_monthly_sign_ups{tenant="t"}`:                                     monthly,
				`entra_insights_period_start_timestamp_seconds{tenant="t",granularity="monthly"}`: period,
			},
			exprs: []exprTest{
				// Not a month end, and later data exists: no point.
				{monthlyExpr, "29d", nil},
				// January 31: January's total.
				{monthlyExpr, "30d", one(1031)},
				{monthlyExpr, "31d", nil},
				// February 2 is the last day with data: the month so far.
				{monthlyExpr, "32d", one(2002)},
				end("35d"),
			},
		},
		{
			// Each stage gets its place in the flow; one Graph adds
			// later goes last.
			interval: "1m",
			series: map[string][]string{
				`entra_insights_monthly_sign_up_flows{tenant="t",stage="credentialCollection"}`: {"10"},
				`entra_insights_monthly_sign_up_flows{tenant="t",stage="consent"}`:              {"4"},
				`entra_insights_monthly_sign_up_flows{tenant="t",stage="userCreation"}`:         {"3"},
				`entra_insights_monthly_sign_up_flows{tenant="t",stage="futureStage"}`:          {"1"},
			},
			exprs: []exprTest{
				{stageExpr, "0m", []sample{
					{`{stage="credentialCollection", step="1"}`, 10},
					{`{stage="consent", step="4"}`, 4},
					{`{stage="userCreation", step="6"}`, 3},
					{`{stage="futureStage", step="9"}`, 1},
				}},
			},
		},
	}

	var file strings.Builder
	file.WriteString("rule_files: []\ntests:\n")
	for _, tt := range tests {
		fmt.Fprintf(&file, "- interval: %s\n  input_series:\n", tt.interval)
		for name, values := range tt.series {
			fmt.Fprintf(&file, "  - series: %s\n    values: %q\n", quote(t, name), strings.Join(values, " "))
		}
		file.WriteString("  promql_expr_test:\n")
		for _, e := range tt.exprs {
			fmt.Fprintf(&file, "  - expr: %s\n    eval_time: %s\n    exp_samples: %s\n", quote(t, e.Expr), e.EvalTime, quote(t, e.ExpSamples))
		}
	}
	path := filepath.Join(t.TempDir(), "blocks_test.yml")
	if err := os.WriteFile(path, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "test", "rules", path)
}

// testGen is the generator of the committed dashboards.
func testGen(t *testing.T) gen {
	t.Helper()
	g, err := newGen(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// quote renders v as JSON, which YAML reads as the same value.
func quote(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.([]any); ok && s == nil {
		return "[]"
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
