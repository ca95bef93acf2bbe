package charttest

import (
	"strings"
	"testing"
)

// TestNotesSayThePodCrashLoops: without a credential or a tenant the
// exporter exits at start (code 2, one line naming the setting), so NOTES
// must say the pod restarts and point at kubectl logs, not promise
// tenant_up 0 from failing refreshes.
func TestNotesSayThePodCrashLoops(t *testing.T) {
	r := mustRender(t, scenarios(t)["default"])
	for _, want := range []string{
		"No credential is configured",
		"auto found no credential",
		"No tenant is configured",
		"--azure.tenant-id: missing",
		"kubectl -n " + namespace + " logs",
		"restart",
	} {
		if !strings.Contains(r.Notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, r.Notes)
		}
	}
	for _, wrong := range []string{`reason="token"`, "tenant_up 0", "every refresh fails"} {
		if strings.Contains(r.Notes, wrong) {
			t.Errorf("NOTES still say %q, but the exporter exits at start:\n%s", wrong, r.Notes)
		}
	}
}

// TestNotesTenantWarningOnlyWithoutTenant: the tenant warning shows when
// neither azure.tenantId, config tenants, an existing ConfigMap nor an
// injected AZURE_TENANT_ID can name one, and only then.
func TestNotesTenantWarningOnlyWithoutTenant(t *testing.T) {
	for name, values := range scenarios(t) {
		r := mustRender(t, values)
		if got, want := strings.Contains(r.Notes, "No tenant is configured"), name == "default"; got != want {
			t.Errorf("scenario %s: tenant warning %v, want %v:\n%s", name, got, want, r.Notes)
		}
	}
	for _, values := range []string{
		"azure: {tenantId: contoso.onmicrosoft.com}\n",
		"config: {tenants: [{tenant_id: contoso.onmicrosoft.com}]}\n",
		"existingConfigMap: tenants\n",
		"azure: {workloadIdentity: {enabled: true}, clientId: 11111111-1111-1111-1111-111111111111}\n",
		"extraEnv: [{name: AZURE_TENANT_ID, value: contoso.onmicrosoft.com}]\n",
	} {
		if r := mustRender(t, []byte(values)); strings.Contains(r.Notes, "No tenant is configured") {
			t.Errorf("values\n%swarn of a missing tenant:\n%s", values, r.Notes)
		}
	}
}
