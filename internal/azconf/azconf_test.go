package azconf

import (
	"strings"
	"testing"
)

const guid = "11111111-2222-3333-4444-555555555555"

func TestResolveAutoFollowsAzidentityOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        Credentials
		want     string
		wantFrom string
	}{
		{"secret file first", Credentials{ClientID: guid, ClientSecretFile: "s", ClientSecret: "x", ClientCertificateFile: "c", FederatedTokenFile: "f"}, AuthClientSecret, "client secret file"},
		{"secret before certificate", Credentials{ClientID: guid, ClientSecret: "x", ClientCertificateFile: "c", FederatedTokenFile: "f"}, AuthClientSecret, EnvClientSecret},
		{"certificate before workload identity", Credentials{ClientID: guid, ClientCertificateFile: "c", FederatedTokenFile: "f"}, AuthClientCertificate, "certificate"},
		{"workload identity last", Credentials{ClientID: guid, FederatedTokenFile: "f"}, AuthWorkloadIdentity, "federated token"},
		{"empty mode is auto", Credentials{Mode: "", ClientID: guid, FederatedTokenFile: "f"}, AuthWorkloadIdentity, "auto"},
		{"explicit mode wins", Credentials{Mode: AuthWorkloadIdentity, ClientID: guid, ClientSecret: "x", FederatedTokenFile: "f"}, AuthWorkloadIdentity, "--azure.auth-mode=workload-identity"},
		{"managed identity needs nothing", Credentials{Mode: AuthManagedIdentity}, AuthManagedIdentity, ""},
		{"default needs nothing", Credentials{Mode: AuthDefault}, AuthDefault, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != tc.want || !strings.Contains(got.From, tc.wantFrom) {
				t.Errorf("Resolve = %+v, want mode %s from %q", got, tc.want, tc.wantFrom)
			}
		})
	}
}

func TestResolveNamesTheMissingSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Credentials
		want string
	}{
		{"auto with nothing", Credentials{ClientID: guid}, "--azure.auth-mode: auto found no credential: set AZURE_CLIENT_SECRET"},
		{"auto names workload identity", Credentials{ClientID: guid}, EnvFederatedTokenFile},
		{"unknown mode", Credentials{Mode: "password"}, `--azure.auth-mode: unknown auth mode "password"`},
		{"secret mode without secret", Credentials{Mode: AuthClientSecret, ClientID: guid}, "client-secret needs"},
		{"certificate mode without file", Credentials{Mode: AuthClientCertificate, ClientID: guid, ClientSecret: "x"}, "client-certificate needs"},
		{"workload identity without token file", Credentials{Mode: AuthWorkloadIdentity, ClientID: guid}, "workload-identity needs"},
		{"no client id", Credentials{ClientSecret: "x"}, "--azure.client-id: missing"},
		{"no client id for workload identity", Credentials{FederatedTokenFile: "f"}, "--azure.client-id: missing; workload-identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Resolve()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Resolve error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestClouds(t *testing.T) {
	if got := strings.Join(Clouds(), ","); got != "public,usgov,usgovdod,china" {
		t.Errorf("Clouds() = %s", got)
	}
	c, err := LookupCloud("")
	if err != nil || c.Name != DefaultCloud || c.GraphHost != "https://graph.microsoft.com" {
		t.Errorf("LookupCloud(\"\") = %+v, %v", c, err)
	}
	if _, err := LookupCloud("mars"); err == nil || !strings.Contains(err.Error(), "public, usgov") {
		t.Errorf("LookupCloud(mars) error %v, want the list", err)
	}
	for _, name := range Clouds() {
		c, err := LookupCloud(name)
		if err != nil || !strings.HasPrefix(c.AuthorityHost, "https://") || !strings.HasSuffix(c.AuthorityHost, "/") {
			t.Errorf("cloud %s: %+v %v", name, c, err)
		}
	}
}

func TestValidTenantID(t *testing.T) {
	for _, ok := range []string{guid, "contoso.onmicrosoft.com", "woodgrove.ciamlogin.com"} {
		if err := ValidTenantID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "contoso", "../etc", "a b.com", "x.com/evil"} {
		if ValidTenantID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if ValidClientID("abc") == nil || ValidClientID(guid) != nil {
		t.Errorf("ValidClientID accepts or refuses the wrong ids")
	}
}

func TestValidAuthMode(t *testing.T) {
	for _, m := range append(AuthModes(), "") {
		if err := ValidAuthMode(m); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
	if ValidAuthMode("Auto") == nil {
		t.Errorf("auth modes are case-sensitive, as the flag's enum is")
	}
}

func TestReadableFile(t *testing.T) {
	if ReadableFile("") != nil || ReadableFile(t.TempDir()) == nil || ReadableFile("/nonexistent/x") == nil {
		t.Errorf("ReadableFile accepts or refuses the wrong paths")
	}
}
