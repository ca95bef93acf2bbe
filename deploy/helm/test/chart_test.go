package charttest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const dataDir = "/var/lib/entra_insights_exporter"

// exporterFlags are the flags of cmd/entra_insights_exporter (cli.go,
// serve.go) and of the logs source (--insights.source, --storage.path,
// --logs.lookback) that the chart may pass; a misspelt flag stops the
// exporter at start, so the test refuses any other.
var exporterFlags = []string{
	"--log.level", "--log.format",
	"--azure.auth-mode", "--azure.tenant-id", "--azure.tenant-name", "--azure.client-id",
	"--azure.client-secret-file", "--azure.client-certificate-file", "--azure.cloud", "--azure.authority-host",
	"--graph.url", "--graph.scope", "--graph.ca-file", "--graph.rate-limit",
	"--insights.refresh-interval", "--insights.refresh-timeout", "--insights.max-age", "--insights.source",
	"--storage.path", "--logs.lookback",
	"--config.file",
	"--web.listen-address", "--web.config.file", "--web.telemetry-path", "--web.enable-lifecycle", "--web.max-requests",
}

// TestScenarios renders every ci/*-values.yaml and checks what holds for
// all of them: strict decoding (in render), the hardened pod, the probes,
// volumes and ports that fit together, flags the exporter has, and no
// secret in a ConfigMap.
func TestScenarios(t *testing.T) {
	for name, values := range scenarios(t) {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, values)
			checkPod(t, r)
			checkService(t, r)
			checkNoSecretInConfigMaps(t, r)
			checkNamespaces(t, r)
			if strings.TrimSpace(r.Notes) == "" {
				t.Error("NOTES.txt renders empty")
			}
		})
	}
}

func checkPod(t *testing.T, r rendered) {
	t.Helper()
	pod, _ := podSpec(t, r)
	spec := pod.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("pod automounts a service account token; the exporter never calls the Kubernetes API")
	}
	// The exporter comes first; extraContainers (sidecars) follow it.
	if len(spec.Containers) == 0 || spec.Containers[0].Name != "exporter" {
		t.Fatalf("the first container is not the exporter: %d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	checkContainerHardened(t, c)

	scheme := corev1.URISchemeHTTP
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--web.config.file=") }) && webTLS(r) {
		scheme = corev1.URISchemeHTTPS
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readiness", c.ReadinessProbe, "/-/ready"},
		{"liveness", c.LivenessProbe, "/-/healthy"},
		{"startup", c.StartupProbe, "/-/ready"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s httpGet probe", p.name)
			continue
		}
		if n := handlers(p.probe); n != 1 {
			t.Errorf("%s probe has %d handlers; the API server wants exactly one", p.name, n)
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || g.Port.String() != "http" {
			t.Errorf("%s probe: %s on port %s, want %s on http", p.name, g.Path, g.Port.String(), p.path)
		}
		if want := scheme; g.Scheme != want && !(want == corev1.URISchemeHTTP && g.Scheme == "") {
			t.Errorf("%s probe scheme %q, want %q", p.name, g.Scheme, want)
		}
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" }) {
		t.Error("no container port named http")
	}

	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("args %q do not start with the serve command", c.Args)
	}
	for _, a := range c.Args[1:] {
		flag, _, _ := strings.Cut(a, "=")
		if !slices.Contains(exporterFlags, flag) {
			t.Errorf("arg %q: the exporter has no flag %s", a, flag)
		}
	}
	if !slices.Contains(c.Args, "--storage.path="+dataDir+"/state.db") {
		t.Errorf("args %q lack --storage.path=%s/state.db", c.Args, dataDir)
	}

	// Every mount has its volume (or, in a StatefulSet, its claim template),
	// and the store's directory is one.
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	for _, s := range each[appsv1.StatefulSet](r) {
		for _, pvc := range s.Spec.VolumeClaimTemplates {
			volumes[pvc.Name] = true
		}
	}
	for _, other := range slices.Concat(spec.InitContainers, spec.Containers[1:]) {
		for _, m := range other.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("container %s: volumeMount %s has no volume", other.Name, m.Name)
			}
		}
	}
	var dataMounted bool
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("volumeMount %s has no volume", m.Name)
		}
		if m.MountPath == dataDir {
			dataMounted = true
		}
	}
	if !dataMounted {
		t.Errorf("nothing is mounted at %s: the read-only root file system leaves the store nowhere to write", dataDir)
	}
	for _, e := range c.Env {
		if e.Value != "" && regexp.MustCompile(`(?i)secret|password|token`).MatchString(e.Name) {
			t.Errorf("env %s carries a literal value; credentials come from a Secret", e.Name)
		}
	}

	if sas := each[corev1.ServiceAccount](r); len(sas) == 1 {
		if spec.ServiceAccountName != sas[0].Name {
			t.Errorf("pod uses service account %q, the chart creates %q", spec.ServiceAccountName, sas[0].Name)
		}
		if sas[0].AutomountServiceAccountToken == nil || *sas[0].AutomountServiceAccountToken {
			t.Error("ServiceAccount automounts its token")
		}
	}
}

// handlers counts the probe's handlers (httpGet, tcpSocket, exec, grpc).
func handlers(p *corev1.Probe) int {
	n := 0
	for _, set := range []bool{p.HTTPGet != nil, p.TCPSocket != nil, p.Exec != nil, p.GRPC != nil} {
		if set {
			n++
		}
	}
	return n
}

func checkContainerHardened(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatalf("container %s has no securityContext", c.Name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("container %s: capabilities %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container %s has no memory limit", c.Name)
	}
}

func webTLS(r rendered) bool {
	for _, s := range each[monitoringv1.ServiceMonitor](r) {
		return s.Spec.Endpoints[0].Scheme != nil && *s.Spec.Endpoints[0].Scheme == "https"
	}
	for _, p := range each[corev1.Pod](r) {
		return strings.Contains(strings.Join(p.Spec.Containers[0].Command, " "), "https://")
	}
	return false
}

// mainService is the Service scrapes and the test go through (not the
// StatefulSet's headless one).
func mainService(t *testing.T, r rendered) *corev1.Service {
	t.Helper()
	var out []*corev1.Service
	for _, s := range each[corev1.Service](r) {
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one Service besides a headless one, got %d", len(out))
	}
	return out[0]
}

// headlessServices are the Services with clusterIP: None.
func headlessServices(r rendered) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range each[corev1.Service](r) {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			out = append(out, s)
		}
	}
	return out
}

func checkService(t *testing.T, r rendered) {
	t.Helper()
	pod, kind := podSpec(t, r)
	svc := mainService(t, r)
	services := []*corev1.Service{svc}
	headless := headlessServices(r)
	switch {
	case kind == "StatefulSet" && len(headless) != 1:
		t.Errorf("a StatefulSet with %d headless Services, want one", len(headless))
	case kind == "StatefulSet":
		set := only[appsv1.StatefulSet](t, r)
		if set.Spec.ServiceName != headless[0].Name {
			t.Errorf("StatefulSet serviceName %q, want the headless Service %q", set.Spec.ServiceName, headless[0].Name)
		}
		services = append(services, headless[0])
	case len(headless) != 0:
		t.Errorf("a %s with a headless Service %s", kind, headless[0].Name)
	}
	for _, s := range services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s selector %v does not select the pod's labels %v", s.Name, s.Spec.Selector, pod.Labels)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "http" || s.Spec.Ports[0].TargetPort.String() != "http" {
			t.Errorf("Service %s ports %+v, want one named http targeting http", s.Name, s.Spec.Ports)
		}
	}
	// The ServiceMonitor scrapes the pod once: through the main Service.
	for _, sm := range each[monitoringv1.ServiceMonitor](r) {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %s does not select the Service %v", sel, svc.Labels)
		}
		for _, h := range headless {
			if sel.Matches(labels.Set(h.Labels)) {
				t.Errorf("ServiceMonitor selector %s also selects the headless Service %s: the pod is scraped twice", sel, h.Name)
			}
		}
	}
	for _, p := range each[corev1.Pod](r) {
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) {
			t.Errorf("the Service selects the test pod %s", p.Name)
		}
		if want := fmt.Sprintf("%s:%d", svc.Name, svc.Spec.Ports[0].Port); !strings.Contains(strings.Join(p.Spec.Containers[0].Command, " "), want) {
			t.Errorf("test pod %s does not call %s", p.Name, want)
		}
		checkContainerHardened(t, p.Spec.Containers[0])
		if p.Annotations["helm.sh/hook"] != "test" {
			t.Errorf("test pod %s is not a helm test hook", p.Name)
		}
	}
}

// secretLike finds a secret's key or an inline credential in config text;
// client_secret_file and _certificate_file name files and are fine.
var secretLike = regexp.MustCompile(`(?im)^\s*[-\w]*(secret|password|passwd|token|private_key)[-\w]*\s*:`)

func checkNoSecretInConfigMaps(t *testing.T, r rendered) {
	t.Helper()
	for _, cm := range each[corev1.ConfigMap](r) {
		for key, v := range cm.Data {
			if secretLike.MatchString(key + ":") {
				t.Errorf("ConfigMap %s has a secret-like key %s", cm.Name, key)
			}
			for _, m := range secretLike.FindAllString(v, -1) {
				if !strings.Contains(m, "_file") {
					t.Errorf("ConfigMap %s key %s holds a secret-like key %q", cm.Name, key, strings.TrimSpace(m))
				}
			}
			if strings.Contains(v, "AZURE_CLIENT_SECRET") {
				t.Errorf("ConfigMap %s key %s mentions AZURE_CLIENT_SECRET", cm.Name, key)
			}
		}
	}
}

// checkNamespaces: everything goes into the release's namespace, except
// where values say otherwise (dashboards for a Grafana elsewhere).
func checkNamespaces(t *testing.T, r rendered) {
	t.Helper()
	for _, o := range r.Objects {
		var m struct {
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(o.Text), &m); err != nil {
			t.Fatal(err)
		}
		if m.Metadata.Namespace == "" {
			t.Errorf("%s %s has no namespace", o.Kind, o.Name)
		}
		if len(o.Name) > 63 {
			t.Errorf("%s name %q is longer than 63 characters", o.Kind, o.Name)
		}
	}
}

// TestDefaultIsStatefulSetWithClaim: with the logs source (the default) the
// state survives a pod restart by default: a StatefulSet whose claim
// template (RWO, 1Gi, the cluster's default StorageClass) is mounted at the
// --storage.path directory, governed by a headless Service.
func TestDefaultIsStatefulSetWithClaim(t *testing.T) {
	r := mustRender(t, scenarios(t)["default"])
	pod, kind := podSpec(t, r)
	if kind != "StatefulSet" {
		t.Fatalf("default renders a %s", kind)
	}
	s := only[appsv1.StatefulSet](t, r)
	if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", s.Spec.Replicas)
	}
	if len(s.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("want one volumeClaimTemplate, got %d", len(s.Spec.VolumeClaimTemplates))
	}
	pvc := s.Spec.VolumeClaimTemplates[0]
	if pvc.Name != "data" || pvc.Spec.StorageClassName != nil || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" ||
		!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("claim template %s: class %v, size %s, access %v; want data, the default class, 1Gi, RWO",
			pvc.Name, pvc.Spec.StorageClassName, pvc.Spec.Resources.Requests.Storage(), pvc.Spec.AccessModes)
	}
	if volume(pod, "data") != nil {
		t.Error("the StatefulSet has a data volume besides its claim template")
	}
	c := pod.Spec.Containers[0]
	if m := mount(c, "data"); m == nil || m.MountPath != dataDir || m.ReadOnly {
		t.Errorf("data mount %+v, want the claim writable at %s", m, dataDir)
	}
	headless := headlessServices(r)
	if len(headless) != 1 || s.Spec.ServiceName != headless[0].Name || headless[0].Name != release+"-entra-insights-exporter-headless" {
		t.Errorf("serviceName %q, headless Services %d", s.Spec.ServiceName, len(headless))
	}
	if pod.Spec.Volumes != nil {
		t.Errorf("volumes %+v, want none (the claim template is the only one)", pod.Spec.Volumes)
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap", "Deployment"} {
		if slices.ContainsFunc(r.Objects, func(o object) bool { return o.Kind == kind }) {
			t.Errorf("default renders a %s", kind)
		}
	}
	for _, want := range []string{"--insights.source=logs", "--logs.lookback=7d", "--azure.auth-mode=auto"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if want := "ghcr.io/entra-insights/entra_insights_exporter:" + loadChart(t).Metadata.AppVersion; c.Image != want {
		t.Errorf("image %s, want %s", c.Image, want)
	}
	for _, want := range []string{
		"No credential is configured",
		"installed as StatefulSet",
		"survives pod restarts",
		"PersistentVolumeClaim data-" + release + "-entra-insights-exporter-0 (1Gi)",
		"an estimate",
		"Not also " + release + "-entra-insights-exporter-headless",
	} {
		if !strings.Contains(r.Notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, r.Notes)
		}
	}
}

func TestPersistenceIsStatefulSet(t *testing.T) {
	r := mustRender(t, scenarios(t)["persistence"])
	s := only[appsv1.StatefulSet](t, r)
	if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", s.Spec.Replicas)
	}
	if len(s.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("want one volumeClaimTemplate, got %d", len(s.Spec.VolumeClaimTemplates))
	}
	pvc := s.Spec.VolumeClaimTemplates[0]
	if pvc.Name != "data" || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "managed-csi" ||
		pvc.Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Errorf("claim template %s: class %v, size %s", pvc.Name, pvc.Spec.StorageClassName, pvc.Spec.Resources.Requests.Storage())
	}
	if volume(s.Spec.Template, "data") != nil {
		t.Error("the StatefulSet has a data volume besides its claim template")
	}
	if h := headlessServices(r); len(h) != 1 || s.Spec.ServiceName != h[0].Name {
		t.Errorf("serviceName %q is not the headless Service", s.Spec.ServiceName)
	}
	c := s.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--logs.lookback=7d") || !slices.Contains(c.Args, "--config.file=/etc/entra-insights/config/config.yml") {
		t.Errorf("args %q", c.Args)
	}
	// The ConfigMap holds the values' config, parsed back equal.
	cm := only[corev1.ConfigMap](t, r)
	var got, want map[string]any
	if err := strictUnmarshal([]byte(cm.Data["config.yml"]), &got); err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(scenarios(t)["persistence"], &values); err != nil {
		t.Fatal(err)
	}
	want = values.Config
	if gy, wy := mustYAML(t, got), mustYAML(t, want); gy != wy {
		t.Errorf("config.yml\n%s\nwant\n%s", gy, wy)
	}
	if s.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation with a config from values")
	}
}

func TestWorkloadIdentity(t *testing.T) {
	r := mustRender(t, scenarios(t)["workload-identity"])
	sa := only[corev1.ServiceAccount](t, r)
	if got := sa.Annotations["azure.workload.identity/client-id"]; got != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("ServiceAccount client-id annotation %q", got)
	}
	if got := sa.Annotations["azure.workload.identity/tenant-id"]; got != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("ServiceAccount tenant-id annotation %q", got)
	}
	pod, kind := podSpec(t, r)
	if kind != "StatefulSet" {
		t.Errorf("persistence with an existing claim renders a %s", kind)
	}
	if pod.Labels["azure.workload.identity/use"] != "true" {
		t.Errorf("pod labels %v lack azure.workload.identity/use: \"true\"", pod.Labels)
	}
	if v := volume(pod, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "entra-insights-state" {
		t.Errorf("data volume %+v, want the existing claim", v)
	}
	if s := only[appsv1.StatefulSet](t, r); len(s.Spec.VolumeClaimTemplates) != 0 {
		t.Error("an existing claim and a claim template")
	}
	c := pod.Spec.Containers[0]
	if !slices.Contains(c.Args, "--azure.auth-mode=workload-identity") {
		t.Errorf("args %q lack --azure.auth-mode=workload-identity", c.Args)
	}
	if volume(pod, "secret") != nil || len(c.Env) != 0 || slices.ContainsFunc(c.Args, func(a string) bool { return strings.Contains(a, "secret") }) {
		t.Error("workload identity still wires a client secret")
	}
}

func TestExistingSecretAsFile(t *testing.T) {
	r := mustRender(t, scenarios(t)["existing-secret"])
	pod, _ := podSpec(t, r)
	c := pod.Spec.Containers[0]
	v := volume(pod, "secret")
	if v == nil || v.Secret == nil || v.Secret.SecretName != "entra-insights-credentials" {
		t.Fatalf("secret volume %+v", v)
	}
	if m := mount(c, "secret"); m == nil || m.MountPath != "/etc/entra-insights/secret" || m.SubPath != "" || !m.ReadOnly {
		t.Errorf("secret mount %+v: want the directory, read-only, no subPath (rotation)", m)
	}
	for _, want := range []string{
		"--azure.client-secret-file=/etc/entra-insights/secret/client-secret",
		"--azure.tenant-id=contoso.onmicrosoft.com", "--azure.tenant-name=contoso",
		"--azure.client-id=11111111-1111-1111-1111-111111111111",
		"--web.config.file=/etc/entra-insights/web/web-config.yml",
	} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if w := volume(pod, "web-config"); w == nil || w.Secret == nil || w.Secret.SecretName != "entra-insights-web-config" {
		t.Errorf("web-config volume %+v", w)
	}
	if c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Error("with webConfig.tls the probes still use http")
	}
	if p := only[corev1.Pod](t, r); !strings.Contains(strings.Join(p.Spec.Containers[0].Command, " "), "https://") {
		t.Error("with webConfig.tls the test pod still uses http")
	}
	if len(c.Env) != 0 {
		t.Errorf("file mode sets env %+v", c.Env)
	}
}

func TestExistingConfigMapAndSecretAsEnv(t *testing.T) {
	r := mustRender(t, scenarios(t)["existing-configmap"])
	pod, _ := podSpec(t, r)
	c := pod.Spec.Containers[0]
	if len(each[corev1.ConfigMap](r)) != 0 {
		t.Error("the chart makes a ConfigMap although an existing one is given")
	}
	if v := volume(pod, "config"); v == nil || v.ConfigMap == nil || v.ConfigMap.Name != "entra-insights-tenants" {
		t.Errorf("config volume %+v", v)
	}
	if !slices.Contains(c.Args, "--config.file=/etc/entra-insights/config/tenants.yml") || !slices.Contains(c.Args, "--web.enable-lifecycle") {
		t.Errorf("args %q", c.Args)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "AZURE_CLIENT_SECRET" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.SecretKeyRef == nil ||
		c.Env[0].ValueFrom.SecretKeyRef.Name != "entra-insights-credentials" || c.Env[0].ValueFrom.SecretKeyRef.Key != "AZURE_CLIENT_SECRET" {
		t.Errorf("env %+v, want AZURE_CLIENT_SECRET from the Secret's key", c.Env)
	}
	if volume(pod, "secret") != nil {
		t.Error("env mode also mounts the secret")
	}
	if _, ok := pod.Annotations["checksum/config"]; ok {
		t.Error("checksum/config of a ConfigMap the chart cannot see")
	}
}

func TestUserinsightsAllowsReplicas(t *testing.T) {
	r := mustRender(t, scenarios(t)["userinsights"])
	d := only[appsv1.Deployment](t, r)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--insights.source=userinsights") {
		t.Error("no --insights.source=userinsights")
	}
}

func TestChecksumFollowsConfig(t *testing.T) {
	sum := func(tenant string) string {
		r := mustRender(t, []byte("config:\n  tenants:\n    - tenant_id: "+tenant+"\n"))
		pod, _ := podSpec(t, r)
		if pod.Annotations["checksum/config"] == "" {
			t.Fatal("no checksum/config annotation")
		}
		return pod.Annotations["checksum/config"]
	}
	a, b, a2 := sum("contoso.onmicrosoft.com"), sum("fabrikam.onmicrosoft.com"), sum("contoso.onmicrosoft.com")
	if a == b || a != a2 {
		t.Errorf("checksums %s %s %s: want a change with the config and only then", a, b, a2)
	}
}

func TestMonitoring(t *testing.T) {
	r := mustRender(t, scenarios(t)["monitoring"])
	svc := mainService(t, r)

	sm := only[monitoringv1.ServiceMonitor](t, r)
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 || !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %s does not select the Service %v", sel, svc.Labels)
	}
	for _, h := range headlessServices(r) {
		if sel.Matches(labels.Set(h.Labels)) {
			t.Errorf("ServiceMonitor selector %s selects the headless Service %s too", sel, h.Name)
		}
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("namespaceSelector %v", sm.Spec.NamespaceSelector.MatchNames)
	}
	if sm.Labels["release"] != "kps" {
		t.Errorf("ServiceMonitor labels %v lack release: kps", sm.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("want one endpoint, got %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" || ep.Interval != "2m" {
		t.Errorf("endpoint port %q path %q interval %q", ep.Port, ep.Path, ep.Interval)
	}
	if !slices.ContainsFunc(ep.RelabelConfigs, func(c monitoringv1.RelabelConfig) bool {
		return c.Action == "labeldrop" && c.Regex == "pod"
	}) {
		t.Errorf("relabelings %+v do not drop pod", ep.RelabelConfigs)
	}

	// The PrometheusRule carries rules.yml as it is: its spec, indented two
	// spaces, is the file byte for byte.
	rules, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var ruleObj object
	for _, o := range r.Objects {
		if o.Kind == "PrometheusRule" {
			ruleObj = o
		}
	}
	pr := only[monitoringv1.PrometheusRule](t, r)
	if pr.Labels["release"] != "kps" {
		t.Errorf("PrometheusRule labels %v lack release: kps", pr.Labels)
	}
	_, spec, ok := strings.Cut(ruleObj.Text, "\nspec:\n")
	if !ok {
		t.Fatal("PrometheusRule has no spec")
	}
	if got := unindent(spec, "  "); strings.TrimRight(got, "\n") != strings.TrimRight(string(rules), "\n") {
		t.Errorf("the PrometheusRule's spec is not deploy/prometheus/rules.yml byte for byte")
	}
	var want monitoringv1.PrometheusRuleSpec
	if err := strictUnmarshal(rules, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Groups) == 0 || mustYAML(t, want) != mustYAML(t, pr.Spec) {
		t.Error("the PrometheusRule's groups differ from rules.yml's")
	}

	// One ConfigMap per dashboard, byte-identical to grafana-dashboards/.
	files, err := filepath.Glob(filepath.Join(repoRoot, "grafana-dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	found := map[string]bool{}
	for _, cm := range each[corev1.ConfigMap](r) {
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("ConfigMap %s lacks grafana_dashboard: \"1\"", cm.Name)
		}
		if cm.Namespace != "grafana" || cm.Annotations["grafana_folder"] != "Entra" {
			t.Errorf("ConfigMap %s in %q with annotations %v", cm.Name, cm.Namespace, cm.Annotations)
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s has %d keys", cm.Name, len(cm.Data))
		}
		for key, v := range cm.Data {
			file := strings.TrimPrefix(key, "entra-insights-")
			want, err := os.ReadFile(filepath.Join(repoRoot, "grafana-dashboards", file))
			if err != nil {
				t.Errorf("ConfigMap %s key %s: %v", cm.Name, key, err)
				continue
			}
			if !bytes.Equal([]byte(v), want) {
				t.Errorf("ConfigMap %s key %s is not grafana-dashboards/%s byte for byte", cm.Name, key, file)
			}
			found[file] = true
		}
	}
	for _, f := range files {
		if !found[filepath.Base(f)] {
			t.Errorf("no ConfigMap carries %s", f)
		}
	}
}

func TestNetworkPolicy(t *testing.T) {
	r := mustRender(t, scenarios(t)["networkpolicy"])
	np := only[networkingv1.NetworkPolicy](t, r)
	pod, _ := podSpec(t, r)
	if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(labels.Set(pod.Labels)) {
		t.Errorf("podSelector %v does not select the pod %v", np.Spec.PodSelector.MatchLabels, pod.Labels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) {
		t.Errorf("policyTypes %v", np.Spec.PolicyTypes)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "http" {
		t.Fatalf("ingress %+v, want the http port only", np.Spec.Ingress)
	}
	from := np.Spec.Ingress[0].From
	test := only[corev1.Pod](t, r)
	var monitoring, testPod bool
	for _, peer := range from {
		if peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "monitoring" {
			monitoring = true
		}
		if peer.PodSelector != nil && labels.SelectorFromSet(peer.PodSelector.MatchLabels).Matches(labels.Set(test.Labels)) {
			testPod = true
		}
	}
	if !monitoring || !testPod {
		t.Errorf("ingress from %+v: monitoring namespace %v, test pod %v", from, monitoring, testPod)
	}
	var ports []string
	for _, e := range np.Spec.Egress {
		for _, p := range e.Ports {
			ports = append(ports, string(*p.Protocol)+"/"+p.Port.String())
		}
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []string{"TCP/443", "TCP/53", "UDP/53"}) {
		t.Errorf("egress ports %v, want DNS and HTTPS", ports)
	}
}

// TestDefaultsMatchKubernetesManifests: the chart's pod is hardened and
// probed exactly like deploy/kubernetes/deployment.yaml.
func TestDefaultsMatchKubernetesManifests(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "kubernetes", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest appsv1.Deployment
	if err := strictUnmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	pod, _ := podSpec(t, mustRender(t, scenarios(t)["default"]))
	want, got := manifest.Spec.Template.Spec, pod.Spec
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"pod securityContext", got.SecurityContext, want.SecurityContext},
		{"container securityContext", got.Containers[0].SecurityContext, want.Containers[0].SecurityContext},
		{"readinessProbe", got.Containers[0].ReadinessProbe, want.Containers[0].ReadinessProbe},
		{"livenessProbe", got.Containers[0].LivenessProbe, want.Containers[0].LivenessProbe},
		{"startupProbe", got.Containers[0].StartupProbe, want.Containers[0].StartupProbe},
		{"resources", got.Containers[0].Resources, want.Containers[0].Resources},
		{"container ports", got.Containers[0].Ports[0].ContainerPort, want.Containers[0].Ports[0].ContainerPort},
	} {
		if g, w := mustYAML(t, c.got), mustYAML(t, c.want); g != w {
			t.Errorf("%s:\n%s\nwant (deploy/kubernetes/deployment.yaml)\n%s", c.name, g, w)
		}
	}
}

func volume(pod corev1.PodTemplateSpec, name string) *corev1.Volume {
	for i, v := range pod.Spec.Volumes {
		if v.Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

func mount(c corev1.Container, name string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func unindent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(strings.TrimPrefix(line, prefix))
	}
	return b.String()
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
