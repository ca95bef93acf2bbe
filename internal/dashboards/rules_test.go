package dashboards

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// The alert and recording rules ship with the dashboards and share their
// PromQL rules, so they are checked here too.

const (
	rulesFile     = "../../deploy/prometheus/rules.yml"
	rulesTestFile = "../../deploy/prometheus/rules_test.yml"
	runbookFile   = "../../docs/runbook.md"
	runbookURL    = "https://github.com/entra-insights/entra_insights_exporter/blob/main/docs/runbook.md#"
)

// rule is one rule of a Prometheus rule file.
type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Name is the alert or the recorded series.
func (r rule) Name() string { return r.Alert + r.Record }

func loadRules(t *testing.T) []rule {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var rules []rule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return rules
}

func TestLintAlerts(t *testing.T) {
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)\s*$`).FindAllStringSubmatch(string(runbook), -1) {
		headings[m[1]] = true
	}
	alerts := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		alerts[r.Alert] = true
		t.Run(r.Alert, func(t *testing.T) {
			if !regexp.MustCompile(`^EntraInsights[A-Z][A-Za-z0-9]+$`).MatchString(r.Alert) {
				t.Errorf("name lacks the EntraInsights prefix or is not CamelCase")
			}
			if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
				t.Errorf("severity %q, want critical, warning or info", s)
			}
			if s := r.Annotations["summary"]; s == "" || strings.Contains(s, "{{") {
				t.Errorf("summary %q: want a static text", s)
			}
			// absent() has no labels to name; every other alert's
			// description says which tenant, report, … fires.
			absent := strings.HasPrefix(strings.TrimSpace(r.Expr), "absent(")
			if d := r.Annotations["description"]; d == "" || !absent && !strings.Contains(d, "{{") {
				t.Errorf("description %q: want a template naming what fires", d)
			}
			if want := runbookURL + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
				t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
			}
			if !headings[r.Alert] {
				t.Errorf("%s has no section \"## %s\"", runbookFile, r.Alert)
			}
			if err := lintExpr(r.Expr, false); err != nil {
				t.Errorf("%v\n%s", err, r.Expr)
			}
		})
	}
	for h := range headings {
		if !alerts[h] {
			t.Errorf("%s has a section for %s, which is not an alert", runbookFile, h)
		}
	}
}

func TestLintRecordingRules(t *testing.T) {
	rules := loadRules(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	for _, r := range rules {
		t.Run(r.Name(), func(t *testing.T) {
			if r.Record != "" {
				if !regexp.MustCompile(`^[a-z_]+:entra_insights_[a-z_]+:[a-z0-9_]+$`).MatchString(r.Record) {
					t.Errorf("recorded name is not level:metric:operations")
				}
				if err := lintExpr(r.Expr, false); err != nil {
					t.Errorf("%v\n%s", err, r.Expr)
				}
			}
			p, err := promtest.ParsePromQL(r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Selectors {
				if strings.Contains(s.Metric, ":") && !recorded[s.Metric] {
					t.Errorf("uses %s, which no rule records", s.Metric)
				}
			}
		})
	}
}

func TestRulesPassPromtool(t *testing.T) {
	promtest.Require(t)
	runPromtool(t, "check", "rules", rulesFile)
	runPromtool(t, "test", "rules", rulesTestFile)
}

// runPromtool runs promtool and fails the test with its output if it fails.
func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "promtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ruleSelectors returns every series selector of every rule, for the e2e
// test to check that they all have data under each source's demo. A
// selector pinned to the userinsights source is checked without that
// matcher: the series must exist under the logs source's demo too
// (rules_test.yml tests the rules that pin it).
func ruleSelectors(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range loadRules(t) {
		p, err := promtest.ParsePromQL(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
		for _, s := range p.Selectors {
			s.Matchers = withoutMatcher(s.Matchers, `source="userinsights"`)
			if !slices.Contains(out[r.Name()], s.String()) {
				out[r.Name()] = append(out[r.Name()], s.String())
			}
		}
	}
	return out
}

// withoutMatcher removes matcher from the comma-separated matchers.
func withoutMatcher(matchers, matcher string) string {
	var kept []string
	for m := range strings.SplitSeq(matchers, ",") {
		if m = strings.TrimSpace(m); m != "" && m != matcher {
			kept = append(kept, m)
		}
	}
	return strings.Join(kept, ", ")
}

func TestRuleSelectorsDropTheUserInsightsSource(t *testing.T) {
	got := ruleSelectors(t)["EntraInsightsSourceRetired"]
	want := []string{"entra_insights_source_up", `entra_insights_refresh_errors_total{reason="retired"}`}
	if !slices.Equal(got, want) {
		t.Errorf("selectors %q, want %q", got, want)
	}
	if got := withoutMatcher(`tenant="a", source="userinsights",reason="x"`, `source="userinsights"`); got != `tenant="a", reason="x"` {
		t.Errorf("withoutMatcher = %q", got)
	}
}

// TestRulesDedupeLikeDashboards keeps the rules' folding of series copies
// the dashboards' default: rules.yml is written by hand, so every
// "without (…)" in it must list DefaultConfig's dedupe labels.
func TestRulesDedupeLikeDashboards(t *testing.T) {
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(DefaultConfig().DedupeLabels, ", ")
	found := regexp.MustCompile(`without \(([^)]*)\)`).FindAllStringSubmatch(string(raw), -1)
	if len(found) == 0 {
		t.Fatalf("%s folds no series copies with without (…)", rulesFile)
	}
	for _, m := range found {
		if m[1] != want {
			t.Errorf("%s: without (%s), want without (%s) as the dashboards", rulesFile, m[1], want)
		}
	}
}
