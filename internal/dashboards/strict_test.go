package dashboards

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// committedDashboards decodes every grafana-dashboards/*.json with the
// SDK's strict decoder, which fails on unknown fields, wrong types and
// missing required fields, panel options and queries included. It returns
// them decoded by the SDK's ordinary decoder (see decodeStrict).
func committedDashboards(t *testing.T) map[string]dashboard.Dashboard {
	t.Helper()
	// The SDK keeps its panel and query types in a process-wide registry;
	// without them, options and targets would decode as untyped maps.
	plugins.RegisterDefaultPlugins()
	paths, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no dashboards in %s", dashboardDir)
	}
	out := map[string]dashboard.Dashboard{}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeStrict(raw)
		if err != nil {
			t.Fatalf("%s: strict decoding: %v", path, err)
		}
		out[filepath.Base(path)] = d
	}
	return out
}

// decodeStrict checks raw with the SDK's strict decoder and returns it
// decoded by the ordinary one. The strict decoder of SDK v0.0.22 returns an
// empty cog.BuildErrors (a non-nil error) on success, and because of that
// drops every panel and query it decoded; its errors are right, though.
func decodeStrict(raw []byte) (dashboard.Dashboard, error) {
	var strict dashboard.Dashboard
	err := strict.UnmarshalJSONStrict(raw)
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		err = nil
	}
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return dashboard.Dashboard{}, err
	}
	return d, nil
}

// TestDashboardsDecodeStrictly also re-encodes each decoded dashboard and
// compares it with the file, so nothing in the file escapes the schema.
func TestDashboardsDecodeStrictly(t *testing.T) {
	for name, d := range committedDashboards(t) {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dashboardDir, name))
			if err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s changes when decoded strictly and encoded again", name)
			}
		})
	}
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	tests := map[string]string{
		"dashboard": `{"title":"x","schemaVersion":42,"templating":{},"annotations":{},"bogus":1}`,
		"panel":     `{"title":"x","schemaVersion":42,"templating":{},"annotations":{},"panels":[{"type":"stat","bogus":1}]}`,
		"query": `{"title":"x","schemaVersion":42,"templating":{},"annotations":{},"panels":[{"type":"stat",
			"targets":[{"datasource":{"type":"prometheus","uid":"u"},"refId":"A","expr":"up","bogus":1}]}]}`,
		"panel options": `{"title":"x","schemaVersion":42,"templating":{},"annotations":{},"panels":[{"type":"stat","options":{"bogus":1}}]}`,
		"variable":      `{"title":"x","schemaVersion":42,"templating":{"list":[{"type":"query","name":"v","bogus":1}]},"annotations":{}}`,
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeStrict([]byte(raw)); err == nil {
				t.Errorf("strict decoding accepted an unknown field in a %s", name)
			}
		})
	}
}
