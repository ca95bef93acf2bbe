package deploytest

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/config"
)

// The subset of the Kubernetes objects the tests look at; yaml ignores the
// rest.
type (
	metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	object struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Metadata   metadata `yaml:"metadata"`
	}
	kustomization struct {
		Resources []string `yaml:"resources"`
	}
	configMap struct {
		Metadata metadata          `yaml:"metadata"`
		Data     map[string]string `yaml:"data"`
	}
	secret struct {
		Metadata   metadata          `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
	}
	service struct {
		Metadata metadata `yaml:"metadata"`
		Spec     struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	serviceMonitor struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	deployment struct {
		Spec struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Metadata metadata `yaml:"metadata"`
				Spec     podSpec  `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot   bool `yaml:"runAsNonRoot"`
			RunAsUser      int  `yaml:"runAsUser"`
			SeccompProfile struct {
				Type string `yaml:"type"`
			} `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
		Volumes    []volume    `yaml:"volumes"`
	}
	volume struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	}
	container struct {
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe   probe `yaml:"livenessProbe"`
		ReadinessProbe  probe `yaml:"readinessProbe"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
)

// source names the ConfigMap or Secret the volume holds.
func (v volume) source() string {
	switch {
	case v.ConfigMap != nil:
		return v.ConfigMap.Name
	case v.Secret != nil:
		return v.Secret.SecretName
	}
	return ""
}

// notApplied lists the manifests kustomization.yaml leaves out on purpose.
var notApplied = []string{"secret.yaml"} // example only: re-applying would overwrite the real secret

func manifest[T any](t *testing.T, name string) T {
	t.Helper()
	return decodeOne[T](t, filepath.Join(kubernetesDir, name))
}

// theContainer returns the Deployment's only container.
func theContainer(t *testing.T, d deployment) container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("deployment has %d containers, want 1", n)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestKustomizationAppliesEveryManifest(t *testing.T) {
	k := manifest[kustomization](t, "kustomization.yaml")
	entries, err := os.ReadDir(kubernetesDir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		if isYAML(e.Name()) && e.Name() != "kustomization.yaml" && !slices.Contains(notApplied, e.Name()) {
			want = append(want, e.Name())
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources = %v, want every manifest but %v: %v", got, notApplied, want)
	}
	for _, name := range append(want, notApplied...) {
		o := manifest[object](t, name)
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("%s: apiVersion, kind or metadata.name missing: %+v", name, o)
		}
	}
}

func TestDeploymentIsLockedDown(t *testing.T) {
	d := manifest[deployment](t, "deployment.yaml")
	pod, c := d.Spec.Template.Spec, theContainer(t, d)
	sc := c.SecurityContext
	checks := []struct {
		name string
		ok   bool
	}{
		{"one replica", d.Spec.Replicas == 1},
		{"runAsNonRoot", pod.SecurityContext.RunAsNonRoot},
		{"runAsUser 65532 (the image's nonroot user)", pod.SecurityContext.RunAsUser == 65532},
		{"seccomp RuntimeDefault", pod.SecurityContext.SeccompProfile.Type == "RuntimeDefault"},
		{"allowPrivilegeEscalation false", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{"readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem},
		{"drops ALL capabilities", slices.Equal(sc.Capabilities.Drop, []string{"ALL"})},
		{"liveness probe on /-/healthy", c.LivenessProbe.HTTPGet.Path == "/-/healthy"},
		{"readiness probe on /-/ready", c.ReadinessProbe.HTTPGet.Path == "/-/ready"},
		{"cpu and memory requests", c.Resources.Requests["cpu"] != "" && c.Resources.Requests["memory"] != ""},
		{"memory limit", c.Resources.Limits["memory"] != ""},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("deployment.yaml: want %s", check.name)
		}
	}
}

// TestManifestsFitTogether follows the references between the manifests:
// flag paths into mounts into volumes into the ConfigMap and Secret keys,
// and the port from the listen address through the Service to the
// ServiceMonitor.
func TestManifestsFitTogether(t *testing.T) {
	d := manifest[deployment](t, "deployment.yaml")
	cm := manifest[configMap](t, "configmap.yaml")
	sec := manifest[secret](t, "secret.yaml")
	svc := manifest[service](t, "service.yaml")
	sm := manifest[serviceMonitor](t, "servicemonitor.yaml")
	pod, c := d.Spec.Template.Spec, theContainer(t, d)

	// mountedKey resolves a file path to the volume and key behind it.
	mountedKey := func(path string) (volumeName, key string) {
		for _, m := range c.VolumeMounts {
			if rest, ok := strings.CutPrefix(path, m.MountPath+"/"); ok {
				return m.Name, rest
			}
		}
		return "", ""
	}
	for _, tc := range []struct {
		flag   string
		source string // the object name a volume must refer to
		keys   map[string]string
	}{
		{"--config.file", cm.Metadata.Name, cm.Data},
		{"--azure.client-secret-file", sec.Metadata.Name, sec.StringData},
	} {
		path, ok := flagValue(c.Args, tc.flag)
		if !ok {
			t.Errorf("deployment args lack %s", tc.flag)
			continue
		}
		volumeName, key := mountedKey(path)
		if _, ok := tc.keys[key]; !ok {
			t.Errorf("%s=%s: not a key of %s mounted in the container (volume %q, key %q)", tc.flag, path, tc.source, volumeName, key)
		}
		if !slices.ContainsFunc(pod.Volumes, func(v volume) bool { return v.Name == volumeName && v.source() == tc.source }) {
			t.Errorf("%s=%s: volume %q does not refer to %s", tc.flag, path, volumeName, tc.source)
		}
	}

	listen, _ := flagValue(c.Args, "--web.listen-address")
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("--web.listen-address=%q: %v", listen, err)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Errorf("container ports = %+v, want one named http on %s", c.Ports, port)
	}
	for _, p := range []probe{c.LivenessProbe, c.ReadinessProbe} {
		if p.HTTPGet.Port != "http" {
			t.Errorf("probe port = %q, want http", p.HTTPGet.Port)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != "http" {
		t.Errorf("service ports = %+v, want one with targetPort http", svc.Spec.Ports)
	}
	if !selects(svc.Spec.Selector, d.Spec.Template.Metadata.Labels) {
		t.Errorf("service selector %v does not select the pod labels %v", svc.Spec.Selector, d.Spec.Template.Metadata.Labels)
	}
	if !selects(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
		t.Errorf("servicemonitor selector %v does not select the service labels %v", sm.Spec.Selector.MatchLabels, svc.Metadata.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("servicemonitor endpoints = %+v, want /metrics on the service's port %q", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
}

// selects reports whether a non-empty label selector matches labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func TestConfigMapExampleParses(t *testing.T) {
	cm := manifest[configMap](t, "configmap.yaml")
	data, ok := cm.Data["config.yml"]
	if !ok {
		t.Fatal("configmap.yaml has no config.yml")
	}
	f, err := config.Parse([]byte(data))
	if err != nil {
		t.Fatalf("config.yml: %v", err)
	}
	if len(f.Tenants) == 0 {
		t.Error("config.yml lists no tenant")
	}
}
