package dashboards

import (
	"slices"
	"strings"
	"testing"
)

// TestGenerateWithOtherScope generates the dashboards for a global view of
// several clusters: a fixed selector without $job, and cluster among the
// dedupe labels. Every query carries the selector and folds cluster, and
// there is no job variable.
func TestGenerateWithOtherScope(t *testing.T) {
	c := Config{Selector: `cluster=~"eu-.*", job="entra"`, DedupeLabels: []string{"instance", "job", "cluster"}}
	files, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, v := range f.Dashboard.Templating.List {
			if v.Name == "job" {
				t.Errorf("%s has a job variable, but the selector does not use $job", f.Name)
			}
			if v.Name == "tenant" && !strings.Contains(deref(v.Query.String), `entra_insights_tenant_info{cluster=~"eu-.*", job="entra"}`) {
				t.Errorf("%s: tenant variable not scoped: %s", f.Name, deref(v.Query.String))
			}
		}
		targets, err := Targets(f.Dashboard)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			if strings.Contains(tg.Expr, "$job") || strings.Contains(tg.Expr, "without (instance, job)") {
				t.Errorf("%s keeps the default scope: %s", tg, tg.Expr)
			}
			if !strings.Contains(tg.Expr, "without (instance, job, cluster)") {
				t.Errorf("%s does not fold cluster: %s", tg, tg.Expr)
			}
			if err := lintExpr(tg.Expr, !tg.Instant); err != nil {
				t.Errorf("%s: %v", tg, err)
			}
		}
	}
}

func TestConfigRejectsBadScope(t *testing.T) {
	tests := map[string]Config{
		"no dedupe labels":     {Selector: `job=~"$job"`},
		"bad dedupe label":     {Selector: `job=~"$job"`, DedupeLabels: []string{"instance", "my-label"}},
		"tenant folded":        {Selector: `job=~"$job"`, DedupeLabels: []string{"instance", "tenant"}},
		"braces":               {Selector: `{job=~"$job"}`, DedupeLabels: []string{"instance"}},
		"unquoted value":       {Selector: `job=~$job`, DedupeLabels: []string{"instance"}},
		"empty matcher":        {Selector: `job="a",,cluster="b"`, DedupeLabels: []string{"instance"}},
		"single-quoted value":  {Selector: `job='a'`, DedupeLabels: []string{"instance"}},
		"unterminated quoting": {Selector: `job="a, cluster="b"`, DedupeLabels: []string{"instance"}},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Generate(c)
			if err == nil {
				t.Fatalf("Generate(%+v) succeeded", c)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "dashboards config: ") {
				t.Errorf("error %q: want one line starting with \"dashboards config: \"", msg)
			}
		})
	}
}

func TestConfigMatchers(t *testing.T) {
	c := Config{Selector: ` job=~"a|b", cluster="x,y" , env!~"dev\"s"`}
	want := []string{` job=~"a|b"`, ` cluster="x,y" `, ` env!~"dev\"s"`}
	if got := c.matchers(); !slices.Equal(got, want) {
		t.Errorf("matchers = %q, want %q", got, want)
	}
	if got := (Config{}).matchers(); got != nil {
		t.Errorf("matchers of an empty selector = %q, want none", got)
	}
}
