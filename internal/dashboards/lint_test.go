package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// The dashboard lint rules, run on the committed files.

func TestLintDashboardConventions(t *testing.T) {
	uids := map[string]string{}
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			uid := deref(d.Uid)
			if !regexp.MustCompile(`^entra-insights-[a-z-]+$`).MatchString(uid) || len(uid) > 40 {
				t.Errorf("uid %q: want entra-insights-<name>, at most 40 characters", uid)
			}
			if other, dup := uids[uid]; dup {
				t.Errorf("uid %q also used by %s", uid, other)
			}
			uids[uid] = name
			if !slices.Contains(d.Tags, Tag) {
				t.Errorf("tags %q lack %q", d.Tags, Tag)
			}
			if d.Editable == nil || *d.Editable {
				t.Error("editable is not false")
			}
			if deref(d.Timezone) != "utc" {
				t.Errorf("timezone %q, want utc", deref(d.Timezone))
			}
			if !hasTagLink(d) {
				t.Errorf("no dashboards link by tag %q that keeps the variables", Tag)
			}
		})
	}
}

func hasTagLink(d dashboard.Dashboard) bool {
	for _, l := range d.Links {
		if l.Type == dashboard.DashboardLinkTypeDashboards && slices.Equal(l.Tags, []string{Tag}) && l.IncludeVars {
			return true
		}
	}
	return false
}

func TestLintNoInputsOrEmptyValues(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if _, ok := doc["__inputs"]; ok {
				t.Error("has __inputs: import would ask for a datasource instead of using the variable")
			}
			if strings.Contains(string(raw), "${DS_") {
				t.Error("refers to an import-time ${DS_…} input")
			}
			walkJSON(doc, "", func(path string, v any) {
				if v == "" {
					t.Errorf("%s is an empty string (an unset enum?)", path)
				}
			})
		})
	}
}

func walkJSON(v any, path string, visit func(string, any)) {
	visit(path, v)
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			walkJSON(child, path+"."+k, visit)
		}
	case []any:
		for i, child := range v {
			walkJSON(child, fmt.Sprintf("%s[%d]", path, i), visit)
		}
	}
}

func TestLintVariables(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			vars := map[string]dashboard.VariableModel{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			ds, ok := vars["datasource"]
			if !ok || ds.Type != "datasource" || ds.Query == nil || deref(ds.Query.String) != "prometheus" {
				t.Errorf("want a datasource variable of type datasource querying prometheus, got %+v", ds)
			}
			tenant, ok := vars["tenant"]
			if !ok {
				t.Fatal("no tenant variable")
			}
			if tenant.Query == nil || deref(tenant.Query.String) != `label_values(entra_insights_tenant_info{job=~"$job"}, tenant)` {
				t.Errorf("tenant variable query %+v", tenant.Query)
			}
			if !isTrue(tenant.Multi) || !isTrue(tenant.IncludeAll) {
				t.Error("tenant variable is not multi-value with All")
			}
			for _, v := range d.Templating.List {
				if v.Type == "query" && (v.Datasource == nil || deref(v.Datasource.Uid) != "${datasource}") {
					t.Errorf("variable %s does not query ${datasource}", v.Name)
				}
			}
			targets, err := Targets(d)
			if err != nil {
				t.Fatal(err)
			}
			// $1 and the like are label_replace's, not variables.
			used := regexp.MustCompile(`\$\{?([A-Za-z_]\w*)`)
			for _, tg := range targets {
				for _, m := range used.FindAllStringSubmatch(tg.Expr, -1) {
					if _, ok := vars[m[1]]; !ok {
						t.Errorf("%s uses $%s, which the dashboard does not define", tg, m[1])
					}
				}
				if !strings.Contains(tg.Expr, "$tenant") && !strings.Contains(tg.Expr, "build_info") {
					t.Errorf("%s ignores the tenant variable: %s", tg, tg.Expr)
				}
			}
		})
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func TestLintPanels(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			ids := map[uint32]bool{}
			for _, p := range panels(d) {
				title := deref(p.Title)
				if p.Id == nil || ids[*p.Id] {
					t.Errorf("panel %q: missing or duplicate id", title)
				} else {
					ids[*p.Id] = true
				}
				if strings.TrimSpace(deref(p.Description)) == "" {
					t.Errorf("panel %q has no description", title)
				}
				if p.FieldConfig == nil || deref(p.FieldConfig.Defaults.Unit) == "" {
					t.Errorf("panel %q has no unit", title)
				}
				if p.Datasource == nil || deref(p.Datasource.Uid) != "${datasource}" {
					t.Errorf("panel %q does not use ${datasource}", title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no queries", title)
				}
				refIDs := map[string]bool{}
				for _, q := range p.Targets {
					pq, err := promQuery(q)
					if err != nil {
						t.Fatalf("panel %q: %v", title, err)
					}
					if pq.Datasource == nil || deref(pq.Datasource.Uid) != "${datasource}" {
						t.Errorf("panel %q query %s does not use ${datasource}", title, deref(pq.RefId))
					}
					if ref := deref(pq.RefId); ref == "" || refIDs[ref] {
						t.Errorf("panel %q: missing or duplicate refId %q", title, ref)
					} else {
						refIDs[ref] = true
					}
				}
			}
		})
	}
}

func TestLintLayout(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			taken := map[[2]uint32]string{}
			for _, p := range d.Panels {
				title, g := "", (*dashboard.GridPos)(nil)
				switch {
				case p.Panel != nil:
					title, g = deref(p.Panel.Title), p.Panel.GridPos
				case p.RowPanel != nil:
					title, g = deref(p.RowPanel.Title), p.RowPanel.GridPos
				}
				if g == nil || g.W == 0 || g.H == 0 || g.X+g.W > 24 {
					t.Errorf("panel %q: bad grid position %+v", title, g)
					continue
				}
				for x := g.X; x < g.X+g.W; x++ {
					for y := g.Y; y < g.Y+g.H; y++ {
						if other, ok := taken[[2]uint32{x, y}]; ok {
							t.Fatalf("panel %q overlaps %q", title, other)
						}
						taken[[2]uint32{x, y}] = title
					}
				}
			}
		})
	}
}

// eachTarget runs check as a subtest on every query of every committed
// dashboard.
func eachTarget(t *testing.T, check func(t *testing.T, tg Target)) {
	t.Helper()
	for name, d := range committedDashboards(t) {
		targets, err := Targets(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			t.Run(name+"/"+tg.Panel+"/"+tg.RefID, func(t *testing.T) { check(t, tg) })
		}
	}
}

func TestLintQueries(t *testing.T) {
	now := time.Now()
	eachTarget(t, func(t *testing.T, tg Target) {
		if err := lintExpr(tg.Expr, !tg.Instant); err != nil {
			t.Errorf("%s: %v\n%s", tg, err, tg.Expr)
		}
		if tg.Instant {
			return
		}
		w, err := window(tg, now)
		if err != nil {
			t.Fatalf("%s: %v", tg, err)
		}
		// Grafana's step is max(interval, range/maxDataPoints), rounded
		// up to a "nice" value: keep range/maxDataPoints well below.
		if tg.MaxDataPoints == 0 || w.end.Sub(w.start)/time.Duration(tg.MaxDataPoints) > w.step/2 {
			t.Errorf("%s: maxDataPoints %v too low for the range: the step would not be the %s interval",
				tg, tg.MaxDataPoints, tg.Interval)
		}
	})
}

// lintExpr applies the PromQL rules: functions Prometheus 2.42 knows, rate
// and friends only on counters, counters only through them, and, in range
// queries, the gauges that change once a day or month only through
// *_over_time (Prometheus forgets a series 5 minutes after its last
// sample) and monthly ones only at month ends.
func lintExpr(expr string, history bool) error {
	p, err := promtest.ParsePromQL(expr)
	if err != nil {
		return err
	}
	for _, f := range p.Functions {
		if !promtest.IsPrometheus242Function(f) {
			return fmt.Errorf("%s() is not a Prometheus 2.42 function", f)
		}
	}
	for _, s := range p.Selectors {
		counter := strings.HasSuffix(s.Metric, "_total")
		perSecond := s.Func == "rate" || s.Func == "irate" || s.Func == "increase"
		data := strings.HasPrefix(s.Metric, "entra_insights_daily_") || strings.HasPrefix(s.Metric, "entra_insights_monthly_") ||
			s.Metric == appInfo
		switch {
		case perSecond && !counter:
			return fmt.Errorf("%s() applied to the gauge %s", s.Func, s.Metric)
		case counter && !perSecond:
			return fmt.Errorf("counter %s used without rate() or increase()", s.Metric)
		case history && data && !strings.HasSuffix(s.Func, "_over_time"):
			return fmt.Errorf("range query reads %s without *_over_time", s.Metric)
		case history && strings.HasPrefix(s.Metric, "entra_insights_monthly_") && !strings.Contains(expr, "days_in_month()"):
			return fmt.Errorf("range query plots %s on every day, not at month ends", s.Metric)
		}
	}
	return nil
}

func TestLintExprCatchesMistakes(t *testing.T) {
	g := testGen(t)
	tests := map[string]struct {
		expr    string
		history bool
	}{
		"rate on a gauge":            {`rate(entra_insights_daily_sign_ups[5m])`, false},
		"bare counter":               {`entra_insights_graph_requests_total`, false},
		"function newer than 2.42":   {`sort_by_label(entra_insights_report_up, "report")`, false},
		"history without over_time":  {`sum(entra_insights_daily_sign_ups)`, true},
		"monthly without month ends": {g.day(g.sel("entra_insights_monthly_sign_ups")), true},
		"unbalanced":                 {`sum(up`, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if lintExpr(tt.expr, tt.history) == nil {
				t.Errorf("lintExpr accepted %s", tt.expr)
			}
		})
	}
	if err := lintExpr(g.monthEnds(sum("", g.day(g.sel("entra_insights_monthly_sign_ups")))), true); err != nil {
		t.Errorf("lintExpr rejected a month-end query: %v", err)
	}
}

// TestDashboardQueriesPassPromtool has Prometheus 2.42's own parser check
// every query, written as recording rules.
func TestDashboardQueriesPassPromtool(t *testing.T) {
	promtest.Require(t)
	targets, err := AllTargets()
	if err != nil {
		t.Fatal(err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboards\n  rules:\n")
	for i, tg := range targets {
		expr, err := json.Marshal(expand(tg.Expr)) // a JSON string is a YAML string
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rules, "  # %s\n  - record: dashboard_query_%d\n    expr: %s\n", tg, i, expr)
	}
	files, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		for _, v := range f.Dashboard.Templating.List {
			if v.Type != "query" {
				continue
			}
			promql, err := variablePromQL(v)
			if err != nil {
				t.Fatal(err)
			}
			expr, err := json.Marshal(expand(promql))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rules, "  # %s variable %s\n  - record: dashboard_%d_variable_%s\n    expr: %s\n", f.Name, v.Name, i, v.Name, expr)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}
