package charttest

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func imdsEgress(np *networkingv1.NetworkPolicy) bool {
	for _, e := range np.Spec.Egress {
		var to, port bool
		for _, peer := range e.To {
			if peer.IPBlock != nil && peer.IPBlock.CIDR == "169.254.169.254/32" {
				to = true
			}
		}
		for _, p := range e.Ports {
			if p.Port != nil && p.Port.String() == "80" && p.Protocol != nil && *p.Protocol == "TCP" {
				port = true
			}
		}
		if to && port && len(e.To) == 1 && len(e.Ports) == 1 {
			return true
		}
	}
	return false
}

// TestNetworkPolicyIMDS: managed identity (auth mode managed-identity, or
// default, whose chain ends in it) gets its token from IMDS at
// 169.254.169.254:80; the policy lets that out, and only for those modes.
func TestNetworkPolicyIMDS(t *testing.T) {
	const np = "networkPolicy: {enabled: true}\n"
	for _, c := range []struct {
		values string
		want   bool
	}{
		{"azure: {tenantId: contoso.onmicrosoft.com, authMode: managed-identity}\n", true},
		{"azure: {tenantId: contoso.onmicrosoft.com, authMode: default}\n", true},
		{"config: {tenants: [{tenant_id: contoso.onmicrosoft.com}, {tenant_id: fabrikam.onmicrosoft.com, auth_mode: managed-identity}]}\n", true},
		{"config: {tenants: [{tenant_id: contoso.onmicrosoft.com, auth_mode: default}]}\n", true},
		{"azure: {tenantId: contoso.onmicrosoft.com, authMode: managed-identity}\nnetworkPolicy: {enabled: true, egress: {httpsTo: [{ipBlock: {cidr: 10.0.0.0/8}}]}}\n", true},
		{"azure: {tenantId: contoso.onmicrosoft.com, clientId: 11111111-1111-1111-1111-111111111111, existingSecret: creds}\n", false},
		{"azure: {tenantId: contoso.onmicrosoft.com, authMode: client-secret}\n", false},
		{"azure: {tenantId: 00000000-0000-0000-0000-000000000000, workloadIdentity: {enabled: true, clientId: 11111111-1111-1111-1111-111111111111}}\n", false},
	} {
		values := np + c.values
		if strings.Contains(c.values, "networkPolicy:") {
			values = c.values
		}
		r := mustRender(t, []byte(values))
		if got := imdsEgress(only[networkingv1.NetworkPolicy](t, r)); got != c.want {
			t.Errorf("values\n%sIMDS egress %v, want %v", values, got, c.want)
		}
	}
	r := mustRender(t, []byte("azure: {authMode: managed-identity}\nnetworkPolicy: {enabled: true, egress: {enabled: false}}\n"))
	if e := only[networkingv1.NetworkPolicy](t, r).Spec.Egress; len(e) != 0 {
		t.Errorf("egress disabled, but rules %+v", e)
	}
}
