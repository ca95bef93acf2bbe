package charttest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// stateLossLine is the start of the one line the chart fails with when the
// logs source would keep its state on an emptyDir unacknowledged.
const stateLossLine = "persistence.enabled=false with the logs source: every pod restart loses the exporter's state"

// failLine returns the message of a template's fail: Helm prefixes it with
// "execution error at (<template>:<line>:<col>): ".
func failLine(t *testing.T, err error) string {
	t.Helper()
	msg := err.Error()
	_, after, ok := strings.Cut(msg, "): ")
	if !ok || !strings.Contains(msg, "execution error at (") {
		t.Fatalf("not a template fail: %v", err)
	}
	return after
}

// TestPersistenceOffNeedsAcknowledgement: a logs tenant without
// persistence renders only when persistence.acceptStateLoss says so;
// otherwise the chart fails with one line that names both ways out.
func TestPersistenceOffNeedsAcknowledgement(t *testing.T) {
	for _, values := range []string{
		"persistence: {enabled: false}\n",
		"persistence: {enabled: false, acceptStateLoss: false}\n",
		// A logs tenant in config, though the flag's default is userinsights.
		"persistence: {enabled: false}\nexporter: {source: userinsights}\n" +
			"config: {tenants: [{tenant_id: contoso.onmicrosoft.com, source: logs}]}\n",
		// Config tenants without source: take exporter.source (logs).
		"persistence: {enabled: false}\nconfig: {tenants: [{tenant_id: contoso.onmicrosoft.com}]}\n",
		"persistence: {enabled: false}\nexistingConfigMap: tenants\n",
	} {
		_, err := render(t, []byte(values))
		if err == nil {
			t.Errorf("values rendered without the acknowledgement:\n%s", values)
			continue
		}
		line := failLine(t, err)
		if strings.ContainsAny(line, "\n\r") {
			t.Errorf("the failure is more than one line:\n%s", line)
		}
		for _, want := range []string{stateLossLine, "persistence.enabled=true", "persistence.acceptStateLoss=true"} {
			if !strings.Contains(line, want) {
				t.Errorf("values\n%sfail with %q, which lacks %q", values, line, want)
			}
		}
	}

	r := mustRender(t, []byte("persistence: {enabled: false, acceptStateLoss: true}\n"))
	pod, kind := podSpec(t, r)
	if kind != "Deployment" {
		t.Fatalf("persistence off renders a %s", kind)
	}
	if v := volume(pod, "data"); v == nil || v.EmptyDir == nil {
		t.Errorf("data volume %+v, want an emptyDir", v)
	}
	if h := headlessServices(r); len(h) != 0 {
		t.Errorf("a Deployment with the headless Service %s", h[0].Name)
	}
	for _, want := range []string{"installed as Deployment", "persistence.acceptStateLoss is set", "re-reads the retained logs"} {
		if !strings.Contains(r.Notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, r.Notes)
		}
	}
}

// TestUserinsightsIsStateless: with only userinsights tenants nothing needs
// a volume, whatever persistence says: a Deployment (which may have
// replicas), no claim, no headless Service, no acknowledgement needed.
func TestUserinsightsIsStateless(t *testing.T) {
	for _, values := range []string{
		"exporter: {source: userinsights}\n",
		"exporter: {source: userinsights}\npersistence: {enabled: false}\n",
		"exporter: {source: userinsights}\nreplicaCount: 3\n",
		"config: {tenants: [{tenant_id: contoso.onmicrosoft.com, source: userinsights}]}\npersistence: {enabled: false}\n",
	} {
		r, err := render(t, []byte(values))
		if err != nil {
			t.Errorf("values refused:\n%s%v", values, err)
			continue
		}
		if _, kind := podSpec(t, r); kind != "Deployment" {
			t.Errorf("values\n%srender a %s", values, kind)
		}
		if len(headlessServices(r)) != 0 {
			t.Errorf("values\n%srender a headless Service", values)
		}
		if strings.Contains(r.Notes, "acceptStateLoss") || strings.Contains(r.Notes, "PersistentVolumeClaim") {
			t.Errorf("values\n%sNOTES speak of the logs source's state:\n%s", values, r.Notes)
		}
	}
	// One logs tenant among userinsights ones brings the StatefulSet back.
	r := mustRender(t, []byte("exporter: {source: userinsights}\n"+
		"config: {tenants: [{tenant_id: contoso.onmicrosoft.com}, {tenant_id: fabrikam.onmicrosoft.com, source: logs}]}\n"))
	if s := only[appsv1.StatefulSet](t, r); len(s.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("a logs tenant in config: %d claim templates, want 1", len(s.Spec.VolumeClaimTemplates))
	}
}

// TestReplicasOfALogsTenantInConfig: the schema refuses replicas for
// exporter.source logs; a logs tenant in config is the chart's to refuse.
func TestReplicasOfALogsTenantInConfig(t *testing.T) {
	values := "exporter: {source: userinsights}\nreplicaCount: 2\n" +
		"config: {tenants: [{tenant_id: contoso.onmicrosoft.com, source: logs}]}\n"
	_, err := render(t, []byte(values))
	if err == nil {
		t.Fatalf("values accepted:\n%s", values)
	}
	if line := failLine(t, err); !strings.HasPrefix(line, "replicaCount=2 with a tenant on the logs source") || strings.Contains(line, "\n") {
		t.Errorf("fail %q, want one line naming replicaCount", line)
	}
}

// TestPersistenceExistingClaimAndClass: the claim template follows
// storageClass, size and accessModes; an existing claim replaces it.
func TestPersistenceExistingClaimAndClass(t *testing.T) {
	r := mustRender(t, []byte("persistence: {storageClass: fast, size: 5Gi, accessModes: [ReadWriteOncePod], annotations: {backup: daily}}\n"))
	s := only[appsv1.StatefulSet](t, r)
	pvc := s.Spec.VolumeClaimTemplates[0]
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "fast" || pvc.Spec.Resources.Requests.Storage().String() != "5Gi" ||
		len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != "ReadWriteOncePod" || pvc.Annotations["backup"] != "daily" {
		t.Errorf("claim template %+v", pvc)
	}
	r = mustRender(t, []byte("persistence: {existingClaim: state}\n"))
	s = only[appsv1.StatefulSet](t, r)
	if len(s.Spec.VolumeClaimTemplates) != 0 {
		t.Error("an existing claim and a claim template")
	}
	if v := volume(s.Spec.Template, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "state" {
		t.Errorf("data volume %+v, want the claim state", v)
	}
	if !strings.Contains(r.Notes, "PersistentVolumeClaim state.") {
		t.Errorf("NOTES do not name the existing claim:\n%s", r.Notes)
	}
}
