package charttest

import (
	"strings"
	"testing"
)

// TestSchemaRequiresTenantID: a config tenant without tenant_id (or with an
// empty one) stops the exporter at start; the schema refuses it.
func TestSchemaRequiresTenantID(t *testing.T) {
	for _, values := range []string{
		"config: {tenants: [{name: contoso, client_id: 11111111-1111-1111-1111-111111111111}]}\n",
		"config: {tenants: [{name: contoso, tenant_id: \"\"}]}\n",
		"config: {tenants: [{tenant_id: contoso.onmicrosoft.com}, {name: fabrikam}]}\n",
	} {
		_, err := render(t, []byte(values))
		if err == nil {
			t.Errorf("values accepted:\n%s", values)
			continue
		}
		if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), "tenant_id") {
			t.Errorf("error does not come from the schema or does not name tenant_id:\n%v", err)
		}
	}
}
