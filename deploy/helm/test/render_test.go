package charttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "../entra-insights-exporter"
	repoRoot  = "../../.."
	release   = "eie"
	namespace = "monitoring"
)

// object is one rendered manifest: its source template, its text and the
// typed value it decoded into.
type object struct {
	Template string
	Text     string
	Kind     string
	Name     string
	Value    any
}

// rendered is the output of one helm template run.
type rendered struct {
	Objects []object
	Notes   string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

// render does what helm template does for an install into namespace: merge
// values, validate them against values.schema.json, render every template
// (strictly: a missing value is an error).
func render(t *testing.T, valuesYAML []byte) (rendered, error) {
	t.Helper()
	vals, err := chartutil.ReadValues(valuesYAML)
	if err != nil {
		return rendered{}, fmt.Errorf("read values: %w", err)
	}
	ch := loadChart(t)
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValues(ch, vals, opts, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		return rendered{}, err
	}
	files, err := engine.Engine{Strict: true}.Render(ch, top)
	if err != nil {
		return rendered{}, fmt.Errorf("render: %w", err)
	}
	var out rendered
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		text := files[name]
		switch {
		case strings.HasSuffix(name, "NOTES.txt"):
			out.Notes = text
			continue
		case !strings.HasSuffix(name, ".yaml"):
			if strings.TrimSpace(text) != "" {
				return rendered{}, fmt.Errorf("%s renders text but is no manifest", name)
			}
			continue
		}
		docs := releaseutil.SplitManifests(text)
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		// SplitManifests names them manifest-0, manifest-1, ...
		slices.SortFunc(keys, cmpNatural)
		for _, k := range keys {
			doc := docs[k]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			// Helm trims each manifest and writes it followed by a newline
			// (action.Install, helm template); decode what it sends.
			obj, err := decode(doc+"\n", strings.HasSuffix(name, "/extra-objects.yaml"))
			if err != nil {
				return rendered{}, fmt.Errorf("%s: %w\n%s", name, err, doc)
			}
			obj.Template = name
			out.Objects = append(out.Objects, obj)
		}
	}
	return out, nil
}

// cmpNatural orders manifest-2 before manifest-10.
func cmpNatural(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// decode reads one manifest strictly (unknown or duplicate fields are
// errors) into the type of its kind; a kind the chart is not meant to make
// is an error too, except among the user's extraObjects (any), which
// decode into an Unstructured when their kind is not one of the above.
func decode(doc string, extra bool) (object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
		return object{}, err
	}
	var v any
	switch meta.APIVersion + " " + meta.Kind {
	case "apps/v1 Deployment":
		v = &appsv1.Deployment{}
	case "apps/v1 StatefulSet":
		v = &appsv1.StatefulSet{}
	case "v1 Service":
		v = &corev1.Service{}
	case "v1 ServiceAccount":
		v = &corev1.ServiceAccount{}
	case "v1 ConfigMap":
		v = &corev1.ConfigMap{}
	case "v1 Pod":
		v = &corev1.Pod{}
	case "networking.k8s.io/v1 NetworkPolicy":
		v = &networkingv1.NetworkPolicy{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		v = &monitoringv1.ServiceMonitor{}
	case "monitoring.coreos.com/v1 PrometheusRule":
		v = &monitoringv1.PrometheusRule{}
	default:
		if !extra {
			return object{}, fmt.Errorf("unexpected object %s %s", meta.APIVersion, meta.Kind)
		}
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return object{}, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return object{}, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
		v = u
	}
	if _, ok := v.(*unstructured.Unstructured); ok {
		return object{Text: doc, Kind: meta.Kind, Name: meta.Metadata.Name, Value: v}, nil
	}
	if err := strictUnmarshal([]byte(doc), v); err != nil {
		return object{}, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
	}
	return object{Text: doc, Kind: meta.Kind, Name: meta.Metadata.Name, Value: v}, nil
}

// strictUnmarshal decodes YAML as the API server's strict field validation
// does: duplicate keys, unknown fields and fields in the wrong case
// (readonly for readOnly, which encoding/json would accept) are errors.
func strictUnmarshal(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// scenarios lists ci/*-values.yaml by name (without -values.yaml).
func scenarios(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 6 {
		t.Fatalf("only %d ci scenarios in %s/ci", len(paths), chartDir)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), "-values.yaml")] = data
	}
	return out
}

func mustRender(t *testing.T, valuesYAML []byte) rendered {
	t.Helper()
	r, err := render(t, valuesYAML)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// only returns the one object of type T, failing unless there is exactly one.
func only[T any](t *testing.T, r rendered) *T {
	t.Helper()
	all := each[T](r)
	if len(all) != 1 {
		var zero T
		t.Fatalf("want one %T, got %d", zero, len(all))
	}
	return all[0]
}

func each[T any](r rendered) []*T {
	var out []*T
	for _, o := range r.Objects {
		if v, ok := o.Value.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// podSpec is the exporter's pod, from the Deployment or the StatefulSet.
func podSpec(t *testing.T, r rendered) (corev1.PodTemplateSpec, string) {
	t.Helper()
	deps, sets := each[appsv1.Deployment](r), each[appsv1.StatefulSet](r)
	switch {
	case len(deps) == 1 && len(sets) == 0:
		return deps[0].Spec.Template, "Deployment"
	case len(sets) == 1 && len(deps) == 0:
		return sets[0].Spec.Template, "StatefulSet"
	}
	t.Fatalf("want one Deployment or one StatefulSet, got %d and %d", len(deps), len(sets))
	return corev1.PodTemplateSpec{}, ""
}
