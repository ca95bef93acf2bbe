package deploytest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes/prometheusrule.yaml from deploy/prometheus/rules.yml")

var (
	rulesPath          = filepath.Join(repoRoot, "deploy", "prometheus", "rules.yml")
	prometheusRulePath = filepath.Join(kubernetesDir, "prometheusrule.yaml")
)

const prometheusRuleHeader = `# Generated from deploy/prometheus/rules.yml by
#   go test ./internal/deploytest/ -update
# Do not edit; change rules.yml (its opening comment explains the rules).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: entra-insights-exporter
  labels:
    app.kubernetes.io/name: entra-insights-exporter
spec:
`

// prometheusRule wraps rules.yml in a PrometheusRule: its text indented
// under spec, so the comments between the rules stay, without the file's
// opening comment, which is about rules.yml itself.
func prometheusRule(rules []byte) []byte {
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	opening := true
	for line := range strings.Lines(string(rules)) {
		if opening && strings.HasPrefix(line, "#") {
			continue
		}
		opening = false
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

func TestPrometheusRuleIsGenerated(t *testing.T) {
	rules, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	want := prometheusRule(rules)
	if *update {
		if err := os.WriteFile(prometheusRulePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRulePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from rules.yml; run go test ./internal/deploytest/ -update", prometheusRulePath)
	}
}

// TestPrometheusRuleHasTheRules compares the decoded groups, so it also
// proves the generator right.
func TestPrometheusRuleHasTheRules(t *testing.T) {
	rules := decodeOne[map[string]any](t, rulesPath)
	pr := decodeOne[struct {
		Kind string         `yaml:"kind"`
		Spec map[string]any `yaml:"spec"`
	}](t, prometheusRulePath)
	if pr.Kind != "PrometheusRule" {
		t.Errorf("kind = %q, want PrometheusRule", pr.Kind)
	}
	if rules["groups"] == nil {
		t.Fatal("rules.yml has no groups")
	}
	if !reflect.DeepEqual(pr.Spec, rules) {
		t.Errorf("PrometheusRule spec differs from rules.yml:\n got %v\nwant %v", pr.Spec, rules)
	}
}
