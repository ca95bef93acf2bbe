package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
	"sigs.k8s.io/yaml"
)

const (
	mixinDir     = ".."
	dashboardDir = "../../grafana-dashboards"
	rulesFile    = "../../deploy/prometheus/rules.yml"
)

// mixin is what mixin.libsonnet gives a jsonnet user.
type mixin struct {
	GrafanaDashboards map[string]any `json:"grafanaDashboards"`
	PrometheusAlerts  ruleFile       `json:"prometheusAlerts"`
	PrometheusRules   ruleFile       `json:"prometheusRules"`
}

type ruleFile struct {
	Groups []any `json:"groups"`
}

// evaluate runs mixin.libsonnet with go-jsonnet as a user would import
// it, from outside the mixin's directory.
func evaluate(t *testing.T) mixin {
	t.Helper()
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{mixinDir}})
	out, err := vm.EvaluateAnonymousSnippet("mixin_test.jsonnet", `
		local m = import 'mixin.libsonnet';
		{
		  grafanaDashboards: m.grafanaDashboards,
		  prometheusAlerts: m.prometheusAlerts,
		  prometheusRules: m.prometheusRules,
		}`)
	if err != nil {
		t.Fatalf("evaluate mixin.libsonnet: %v", err)
	}
	var m mixin
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("decode the mixin's output: %v", err)
	}
	return m
}

// TestDashboardsAreTheGeneratedOnes compares the mixin's dashboards with
// grafana-dashboards/*.json, the generator's output.
func TestDashboardsAreTheGeneratedOnes(t *testing.T) {
	m := evaluate(t)
	paths, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no dashboards in %s", dashboardDir)
	}
	var names []string
	for _, path := range paths {
		name := filepath.Base(path)
		names = append(names, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, ok := m.GrafanaDashboards[name]
		if !ok {
			t.Errorf("grafanaDashboards lacks %s", name)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("grafanaDashboards[%q] differs from %s (run go generate ./...)", name, path)
		}
	}
	for name := range m.GrafanaDashboards {
		if !slices.Contains(names, name) {
			t.Errorf("grafanaDashboards has %s, which is not in %s", name, dashboardDir)
		}
	}
}

// TestRulesAreTheCommittedOnes checks that the mixin's alerts and rules,
// together, are deploy/prometheus/rules.yml, each group once and in order.
func TestRulesAreTheCommittedOnes(t *testing.T) {
	m := evaluate(t)
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var want ruleFile
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Groups) == 0 {
		t.Fatalf("%s has no groups", rulesFile)
	}
	got := append(slices.Clone(m.PrometheusAlerts.Groups), m.PrometheusRules.Groups...)
	if !reflect.DeepEqual(got, want.Groups) {
		t.Errorf("prometheusAlerts + prometheusRules differ from %s (run go generate ./...)", rulesFile)
	}
}

// TestMixinIsExtensible checks the usual jsonnet overrides work: a user
// adds a group of their own and patches a dashboard.
func TestMixinIsExtensible(t *testing.T) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{mixinDir}})
	out, err := vm.EvaluateAnonymousSnippet("extend.jsonnet", `
		local m = (import 'mixin.libsonnet') + {
		  prometheusAlerts+:: { groups+: [{ name: 'mine', rules: [] }] },
		  grafanaDashboards+:: { 'users.json'+: { title: 'Mine' } },
		};
		{
		  groups: [g.name for g in m.prometheusAlerts.groups],
		  title: m.grafanaDashboards['users.json'].title,
		  uid: m.grafanaDashboards['users.json'].uid,
		}`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Groups []string `json:"groups"`
		Title  string   `json:"title"`
		UID    string   `json:"uid"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) < 2 || got.Groups[len(got.Groups)-1] != "mine" || !strings.HasPrefix(got.Groups[0], "entra-insights") {
		t.Errorf("groups %q: want the mixin's, then mine", got.Groups)
	}
	if got.Title != "Mine" || got.UID != "entra-insights-users" {
		t.Errorf("patched users.json: title %q uid %q", got.Title, got.UID)
	}
}
