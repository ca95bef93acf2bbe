package charttest

import (
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestProbes: readiness on /-/ready, liveness on /-/healthy, and a startup
// probe on /-/ready with room for a long first catch-up; each can be tuned,
// and startupProbe.enabled: false turns the startup probe off.
func TestProbes(t *testing.T) {
	pod, _ := podSpec(t, mustRender(t, nil))
	c := pod.Spec.Containers[0]
	sp := c.StartupProbe
	if sp == nil || sp.HTTPGet == nil || sp.HTTPGet.Path != "/-/ready" {
		t.Fatalf("startupProbe %+v, want httpGet /-/ready", sp)
	}
	if window := sp.FailureThreshold * sp.PeriodSeconds; window < 10*60 {
		t.Errorf("startup window %ds: too short for a first catch-up bounded by a refresh timeout of minutes", window)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/-/ready" || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("readiness %s, liveness %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}

	pod, _ = podSpec(t, mustRender(t, []byte("startupProbe: {httpGet: {path: /-/ready, port: http}, periodSeconds: 30, failureThreshold: 120}\nwebConfig: {existingSecret: web, tls: true}\n")))
	sp = pod.Spec.Containers[0].StartupProbe
	if sp == nil || sp.FailureThreshold != 120 || sp.PeriodSeconds != 30 || sp.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("tuned startupProbe %+v, want 120 x 30s over https", sp)
	}
	// Another handler replaces the default httpGet (Helm merges the maps,
	// and two handlers are refused by the API server).
	pod, _ = podSpec(t, mustRender(t, []byte("readinessProbe: {tcpSocket: {port: http}}\n"+
		"livenessProbe: {exec: {command: [/bin/true]}}\nstartupProbe: {tcpSocket: {port: http}}\n")))
	c = pod.Spec.Containers[0]
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil || handlers(p) != 1 || p.HTTPGet != nil {
			t.Errorf("%s probe %+v: want the given handler alone", name, p)
		}
	}
	if c.StartupProbe.FailureThreshold != 90 {
		t.Errorf("startup probe lost its defaults: %+v", c.StartupProbe)
	}
	pod, _ = podSpec(t, mustRender(t, []byte("startupProbe: {enabled: false}\n")))
	if pod.Spec.Containers[0].StartupProbe != nil {
		t.Error("startupProbe.enabled: false still renders a startup probe")
	}
}

// TestExtras: the extras scenario's knobs land where they belong.
func TestExtras(t *testing.T) {
	r := mustRender(t, scenarios(t)["extras"])
	s := only[appsv1.StatefulSet](t, r)
	if s.Spec.RevisionHistoryLimit == nil || *s.Spec.RevisionHistoryLimit != 3 {
		t.Errorf("StatefulSet revisionHistoryLimit %v, want 3", s.Spec.RevisionHistoryLimit)
	}
	spec := s.Spec.Template.Spec
	if len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "restore" || spec.InitContainers[0].VolumeMounts[0].Name != "data" {
		t.Errorf("initContainers %+v, want restore mounting data", spec.InitContainers)
	}
	var names []string
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"exporter", "backup"}) {
		t.Errorf("containers %v, want the exporter, then the sidecar", names)
	}

	sm := only[monitoringv1.ServiceMonitor](t, r)
	if ep := sm.Spec.Endpoints[0]; !ep.HonorLabels {
		t.Error("serviceMonitor.honorLabels: true is not on the endpoint")
	}
	if !slices.Equal(sm.Spec.TargetLabels, []string{"team"}) {
		t.Errorf("ServiceMonitor targetLabels %v, want [team]", sm.Spec.TargetLabels)
	}
	if svc := mainService(t, r); svc.Labels["team"] != "identity" {
		t.Errorf("the Service lacks the label the target label copies: %v", svc.Labels)
	}

	// extraObjects: a map and a string, both through tpl.
	extras := map[string]object{}
	for _, o := range r.Objects {
		if strings.HasSuffix(o.Template, "/extra-objects.yaml") {
			extras[o.Kind] = o
		}
	}
	if len(extras) != 2 {
		t.Fatalf("extra objects %v, want an ExternalSecret and a ConfigMap", extras)
	}
	es, ok := extras["ExternalSecret"].Value.(*unstructured.Unstructured)
	if !ok || es.GetNamespace() != namespace || es.GetName() != "entra-insights-credentials" {
		t.Errorf("ExternalSecret %+v: want the release namespace from tpl", extras["ExternalSecret"].Value)
	}
	cm, ok := extras["ConfigMap"].Value.(*corev1.ConfigMap)
	if !ok || cm.Name != release+"-entra-insights-exporter-extra" || cm.Data["release"] != release ||
		cm.Labels["app.kubernetes.io/instance"] != release {
		t.Errorf("ConfigMap %+v: want names and labels from tpl", extras["ConfigMap"].Value)
	}
}

// TestKnobDefaults: without values the knobs add nothing but their
// defaults (revisionHistoryLimit 10, honorLabels false), and
// revisionHistoryLimit reaches the Deployment too.
func TestKnobDefaults(t *testing.T) {
	r := mustRender(t, []byte("serviceMonitor: {enabled: true}\n"))
	s := only[appsv1.StatefulSet](t, r)
	if s.Spec.RevisionHistoryLimit == nil || *s.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit %v, want 10", s.Spec.RevisionHistoryLimit)
	}
	if spec := s.Spec.Template.Spec; len(spec.InitContainers) != 0 || len(spec.Containers) != 1 {
		t.Errorf("%d init containers, %d containers; want none and the exporter", len(spec.InitContainers), len(spec.Containers))
	}
	sm := only[monitoringv1.ServiceMonitor](t, r)
	if sm.Spec.Endpoints[0].HonorLabels || len(sm.Spec.TargetLabels) != 0 {
		t.Errorf("honorLabels %v, targetLabels %v; want false and none", sm.Spec.Endpoints[0].HonorLabels, sm.Spec.TargetLabels)
	}
	if strings.Contains(strings.Join(templates(r), " "), "extra-objects") {
		t.Error("extraObjects renders an object by default")
	}

	r = mustRender(t, []byte("exporter: {source: userinsights}\nrevisionHistoryLimit: 0\ninitContainers: [{name: wait, image: busybox}]\nextraContainers: [{name: proxy, image: nginx}]\n"))
	d := only[appsv1.Deployment](t, r)
	if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 0 {
		t.Errorf("Deployment revisionHistoryLimit %v, want 0", d.Spec.RevisionHistoryLimit)
	}
	if spec := d.Spec.Template.Spec; len(spec.InitContainers) != 1 || len(spec.Containers) != 2 || spec.Containers[1].Name != "proxy" {
		t.Errorf("Deployment init containers %d, containers %d", len(spec.InitContainers), len(spec.Containers))
	}
}

func templates(r rendered) []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.Template)
	}
	return out
}
