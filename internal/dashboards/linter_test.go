package dashboards

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// grafana/dashboard-linter's rules, as checks on the committed dashboards.
// Its module is not available here, so the rules that apply are
// reimplemented from its documentation; the others are exceptions, each
// with its reason in grafana-dashboards/README.md ("Lint"), which
// TestLinterRulesDocumented keeps in step with linterRules.

// linterRules lists dashboard-linter's default rules (by the names of its
// documentation) and the configurable ones that apply: true where the
// dashboards follow the rule, checked here or by the test the README
// names, false where they are an exception.
func linterRules() map[string]bool {
	return map[string]bool{
		"template-datasource-rule":            true,
		"template-job-rule":                   false, // allValue ".*", not ".+"
		"template-instance-rule":              false,
		"template-label-promql-rule":          true,
		"template-on-time-change-reload-rule": true,
		"panel-datasource-rule":               true,
		"panel-title-description-rule":        true,
		"panel-units-rule":                    false, // time:YYYY-MM-DD units
		"panel-no-targets-rule":               true,
		"target-logql-rule":                   false,
		"target-logql-auto-rule":              false,
		"target-promql-rule":                  true,
		"target-rate-interval-rule":           true,
		"target-job-rule":                     true,
		"target-instance-rule":                false,
		"target-counter-agg-rule":             true,
		"uneditable-dashboard":                true,
		// Configurable and experimental rules, with our settings: the
		// required matchers are job=~"$job" and tenant=~"$tenant".
		"target-required-matchers-rule":    true,
		"template-required-variables-rule": true,
		"template-variable-matchers-rule":  true,
		"template-unused-rule":             true,
		"target-histogram-rule":            true,
	}
}

func TestLinterRulesDocumented(t *testing.T) {
	raw, err := os.ReadFile(dashboardDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for rule, followed := range linterRules() {
		// The README lists each rule as "- `rule`: …" under its heading.
		line := regexp.MustCompile("(?m)^- `" + regexp.QuoteMeta(rule) + "`.*$").FindString(readme)
		switch {
		case line == "":
			t.Errorf("README.md does not list dashboard-linter's %s", rule)
		case !followed && !strings.Contains(line, "exception"):
			t.Errorf("README.md's line for %s does not say it is an exception and why", rule)
		case followed && strings.Contains(line, "exception"):
			t.Errorf("README.md calls %s an exception; linterRules says it is followed", rule)
		}
	}
}

// linterVariable is dashboard-linter's check of a job-like variable
// (checkTemplate): a multi-value query variable on ${datasource}, labelled
// with its title-cased name. Its allValue must be ".+"; ours are ".*" (see
// the README), which is checked instead.
func linterVariable(t *testing.T, v dashboard.VariableModel, label string) {
	t.Helper()
	if v.Datasource == nil || deref(v.Datasource.Uid) != "${datasource}" {
		t.Errorf("variable %s: datasource is not ${datasource}", v.Name)
	}
	if v.Type != "query" {
		t.Errorf("variable %s: type %q, want query", v.Name, v.Type)
	}
	if deref(v.Label) != label {
		t.Errorf("variable %s: label %q, want %q", v.Name, deref(v.Label), label)
	}
	if !isTrue(v.Multi) {
		t.Errorf("variable %s is not multi-value", v.Name)
	}
	if deref(v.AllValue) != ".*" {
		t.Errorf("variable %s: allValue %q, want .* (series without the label match too)", v.Name, deref(v.AllValue))
	}
}

var variableQuery = regexp.MustCompile(`^(label_names|label_values|metrics|query_result)\((.+)\)$`)

// variablePromQL returns the PromQL of a query variable: the argument of
// Grafana's label_values(expr, label), query_result(expr), ….
func variablePromQL(v dashboard.VariableModel) (string, error) {
	query := ""
	if v.Query != nil {
		query = deref(v.Query.String)
	}
	m := variableQuery.FindStringSubmatch(query)
	if m == nil {
		return "", fmt.Errorf("variable %s: query %q is not label_values(…), query_result(…), …", v.Name, query)
	}
	expr := m[2]
	if m[1] == "label_values" {
		i := strings.LastIndex(expr, ",")
		if i < 0 {
			return "", fmt.Errorf("variable %s: label_values without a label: %q", v.Name, query)
		}
		expr = expr[:i]
	}
	return expr, nil
}

func TestLintDashboardLinterTemplates(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			targets, err := Targets(d)
			if err != nil {
				t.Fatal(err)
			}
			vars := d.Templating.List
			// template-datasource-rule: one datasource variable, named
			// datasource, labelled "Data source", for Prometheus.
			var datasources []string
			for _, v := range vars {
				if v.Type == "datasource" {
					datasources = append(datasources, v.Name)
					if deref(v.Label) != "Data source" || v.Query == nil || deref(v.Query.String) != "prometheus" {
						t.Errorf("datasource variable %s: label %q, want \"Data source\" for prometheus", v.Name, deref(v.Label))
					}
				}
			}
			if !slices.Equal(datasources, []string{"datasource"}) {
				t.Errorf("datasource variables %q, want [datasource]", datasources)
			}
			// template-job-rule, template-required-variables-rule and
			// template-variable-matchers-rule: the variables of the
			// required matchers (job, tenant) exist and are set up alike.
			for _, want := range []struct{ name, label string }{{"job", "Job"}, {"tenant", "Tenant"}} {
				i := slices.IndexFunc(vars, func(v dashboard.VariableModel) bool { return v.Name == want.name })
				if i < 0 {
					t.Errorf("no %s variable", want.name)
					continue
				}
				linterVariable(t, vars[i], want.label)
			}
			for i, v := range vars {
				if v.Type != "query" {
					continue
				}
				// template-label-promql-rule: a query of Grafana's
				// Prometheus functions on PromQL (promtool parses it in
				// TestDashboardQueriesPassPromtool).
				if expr, err := variablePromQL(v); err != nil {
					t.Error(err)
				} else if _, err := promtest.ParsePromQL(expr); err != nil {
					t.Errorf("variable %s: %v", v.Name, err)
				}
				// template-on-time-change-reload-rule.
				if v.Refresh == nil || *v.Refresh != dashboard.VariableRefreshOnTimeRangeChanged {
					t.Errorf("variable %s is not refreshed on time range change", v.Name)
				}
				// The job variable comes before the variables it scopes.
				if v.Name == "job" && i != 1 {
					t.Errorf("job variable at position %d, want right after the datasource", i)
				}
				// template-unused-rule.
				if !slices.ContainsFunc(targets, func(tg Target) bool { return usesVariable(tg.Expr, v.Name) }) {
					t.Errorf("variable %s is used by no query", v.Name)
				}
			}
		})
	}
}

// usesVariable reports whether expr refers to $name, ${name…} or [[name]].
func usesVariable(expr, name string) bool {
	q := regexp.QuoteMeta(name)
	return regexp.MustCompile(`\$` + q + `\b|\$\{` + q + `(:[^}]+)?\}|\[\[` + q + `\]\]`).MatchString(expr)
}

// linterUnits are the units of dashboard-linter's panel-units-rule that
// the dashboards use; Grafana's "time:<format>" units are the exception.
func linterUnits() []string {
	return []string{"none", "short", "percentunit", "s", "dateTimeAsIso"}
}

func TestLintDashboardLinterPanels(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			for _, p := range panels(d) {
				title := deref(p.Title)
				// panel-title-description-rule, panel-no-targets-rule and
				// panel-datasource-rule are in TestLintPanels too; the
				// linter's own wording: a title, a description, a target.
				if title == "" || deref(p.Description) == "" || len(p.Targets) == 0 {
					t.Errorf("panel %q: missing title, description or targets", title)
				}
				// panel-units-rule: the default unit and every override's.
				var units []string
				if p.FieldConfig != nil {
					units = append(units, deref(p.FieldConfig.Defaults.Unit))
					for _, o := range p.FieldConfig.Overrides {
						for _, prop := range o.Properties {
							if prop.Id == "unit" {
								u, _ := prop.Value.(string)
								units = append(units, u)
							}
						}
					}
				}
				for _, u := range units {
					if !slices.Contains(linterUnits(), u) && !regexp.MustCompile(`^time:[YMD-]+$`).MatchString(u) {
						t.Errorf("panel %q: unit %q is not one of dashboard-linter's", title, u)
					}
				}
			}
		})
	}
}

// rangeOf matches a function's range argument, e.g. rate(x[5m]).
var rangeOf = regexp.MustCompile(`\b(\w+)\(([^()\[]*)\[([^\]]+)\]`)

func TestLintDashboardLinterTargets(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg Target) {
		if err := linterTarget(tg.Expr); err != nil {
			t.Errorf("%s: %v\n%s", tg, err, tg.Expr)
		}
	})
}

// linterTarget applies dashboard-linter's target rules to a query:
// target-job-rule and target-required-matchers-rule (every selector has
// job=~"$job" and tenant=~"$tenant"), target-rate-interval-rule (rate and
// irate over $__rate_interval), target-histogram-rule (_bucket series only
// in histogram_quantile); target-counter-agg-rule is lintExpr's. Valid
// PromQL (target-promql-rule) is promtool's, in
// TestDashboardQueriesPassPromtool.
func linterTarget(expr string) error {
	if err := lintExpr(expr, false); err != nil {
		return err
	}
	p, err := promtest.ParsePromQL(expr)
	if err != nil {
		return err
	}
	for _, s := range p.Selectors {
		required := []string{`job=~"$job"`, tenantMatcher}
		if s.Metric == "entra_insights_exporter_build_info" {
			required = required[:1] // the one series without a tenant
		}
		for _, m := range required {
			if !slices.Contains(strings.Split(s.Matchers, ", "), m) {
				return fmt.Errorf("selector %s lacks %s", s, m)
			}
		}
		if strings.Contains(s.Metric, "_bucket") && !slices.Contains(p.Functions, "histogram_quantile") {
			return fmt.Errorf("histogram %s outside histogram_quantile()", s.Metric)
		}
	}
	for _, m := range rangeOf.FindAllStringSubmatch(expr, -1) {
		if (m[1] == "rate" || m[1] == "irate") && m[3] != "$__rate_interval" {
			return fmt.Errorf("%s() over [%s], want [$__rate_interval]", m[1], m[3])
		}
	}
	return nil
}

func TestLinterTargetCatchesMistakes(t *testing.T) {
	for _, expr := range []string{
		`sum(entra_insights_daily_users{tenant=~"$tenant"})`, // no job matcher
		`sum(entra_insights_daily_users{job=~"$job"})`,       // no tenant matcher
		`rate(entra_insights_graph_requests_total{job=~"$job", tenant=~"$tenant"}[5m])`,
		`sum(x_bucket{job=~"$job", tenant=~"$tenant"})`,
		`entra_insights_graph_requests_total{job=~"$job", tenant=~"$tenant"}`,
	} {
		if linterTarget(expr) == nil {
			t.Errorf("linterTarget accepted %s", expr)
		}
	}
	if err := linterTarget(`rate(entra_insights_graph_requests_total{job=~"$job", tenant=~"$tenant"}[$__rate_interval])`); err != nil {
		t.Errorf("linterTarget rejected rate over $__rate_interval: %v", err)
	}
}
