package deploytest

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

const chartSchemaPath = "../../deploy/helm/entra-insights-exporter/values.schema.json"

// TestChartSourcesAreTheRegistry: every "source" enum of the chart's
// values schema (the default source, a tenant's source) lists the
// registry's sources, so a new source needs no second list here.
func TestChartSourcesAreTheRegistry(t *testing.T) {
	data, err := os.ReadFile(chartSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("%s: %v", chartSchemaPath, err)
	}
	var enums [][]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				src, _ := props["source"].(map[string]any)
				if enum, ok := src["enum"].([]any); ok {
					var names []string
					for _, n := range enum {
						names = append(names, n.(string))
					}
					enums = append(enums, names)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(schema)
	if len(enums) != 2 {
		t.Fatalf("%d source enums in %s, want 2 (exporter.source and a tenant's source)", len(enums), chartSchemaPath)
	}
	for _, names := range enums {
		if !slices.Equal(names, registry.Names()) {
			t.Errorf("a source enum of %s is %v, want the registry's %v", chartSchemaPath, names, registry.Names())
		}
	}
}
