package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

const guid = "11111111-2222-3333-4444-555555555555"

func TestParseValid(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(`
tenants:
  - name: contoso
    tenant_id: contoso.onmicrosoft.com
    client_id: ` + guid + `
    client_secret_file: ` + secret + `
  - tenant_id: ` + guid + `
    cloud: usgov
reports: [daily/activeUsers, monthly/requests]
dimensions:
  activeUsers: [app_id, country]
  monthly/requests: [country]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Tenants[1].LabelName(); got != guid {
		t.Errorf("label name without name = %q, want the tenant id", got)
	}
	reports, _ := f.ReportList()
	if len(reports) != 2 || reports[1] != (insights.Report{Granularity: insights.Monthly, Name: insights.Requests}) {
		t.Errorf("reports = %v", reports)
	}
	dims, _ := f.DimensionMap()
	if len(dims) != 3 { // activeUsers expands to daily and monthly
		t.Errorf("dimensions = %v, want 3 reports", dims)
	}
	if got := dims[insights.Report{Granularity: insights.Monthly, Name: insights.ActiveUsers}]; strings.Join(got, ",") != "app_id,country" {
		t.Errorf("monthly/activeUsers dims = %v", got)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":       {"tenant: []", `unknown key "tenant" at the top level`},
		"bad tenant id":     {"tenants: [{tenant_id: 'not a tenant'}]", "tenants[0].tenant_id:"},
		"missing tenant":    {"tenants: [{name: x}]", "tenants[0].tenant_id: missing"},
		"bad client id":     {"tenants: [{tenant_id: " + guid + ", client_id: abc}]", "tenants[0].client_id:"},
		"bad auth mode":     {"tenants: [{tenant_id: " + guid + ", auth_mode: password}]", "tenants[0].auth_mode:"},
		"bad cloud":         {"tenants: [{tenant_id: " + guid + ", cloud: mars}]", "tenants[0].cloud:"},
		"missing file":      {"tenants: [{tenant_id: " + guid + ", client_secret_file: /nonexistent/x}]", "tenants[0].client_secret_file:"},
		"both secrets":      {"tenants: [{tenant_id: " + guid + ", client_secret_file: a, client_certificate_file: b}]", "mutually exclusive"},
		"duplicate name":    {"tenants: [{tenant_id: " + guid + "}, {tenant_id: " + guid + "}]", "tenants[1].name: tenant"},
		"bad report":        {"reports: [daily/requests]", "reports[0]: unknown report"},
		"duplicate report":  {"reports: [daily/summary, daily/summary]", "reports[1]"},
		"bad dimension key": {"dimensions: {daily/nope: [os]}", `dimensions: "daily/nope"`},
		"twice":             {"dimensions: {activeUsers: [os], daily/activeUsers: [os]}", "configured twice"},
		"not yaml":          {"tenants: [", "parse:"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	f, err := Parse(nil)
	if err != nil || len(f.Tenants) != 0 {
		t.Fatalf("Parse(nil) = %v, %v", f, err)
	}
}

// FuzzParse checks that no input makes Parse panic or return a multi-line
// error, and that whatever it accepts is internally consistent.
func FuzzParse(f *testing.F) {
	f.Add([]byte("tenants: [{tenant_id: " + guid + ", name: a}]\nreports: [daily/summary]\ndimensions: {summary: [os]}"))
	f.Add([]byte("dimensions: {activeUsers: [app_id, country]}"))
	f.Add([]byte("tenants: [{tenant_id: contoso.onmicrosoft.com, cloud: china, auth_mode: default}]"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if _, err := file.ReportList(); err != nil {
			t.Fatalf("accepted file has bad reports: %v", err)
		}
		for _, tn := range file.Tenants {
			if azconf.ValidTenantID(tn.TenantID) != nil {
				t.Fatalf("accepted bad tenant id %q", tn.TenantID)
			}
		}
	})
}

// TestKeyErrorsInTheFilesWords: a misspelt key is named with where it sits
// and the nearest valid key; no Go type name reaches the user.
func TestKeyErrorsInTheFilesWords(t *testing.T) {
	for file, want := range map[string]string{
		"tenants:\n  - {name: a, tenant_idd: x.onmicrosoft.com}\n": `line 2: unknown key "tenant_idd" in a tenant (did you mean "tenant_id"?)`,
		"tenant:\n  - {name: a}\n":                                 `line 1: unknown key "tenant" at the top level (did you mean "tenants"?)`,
		"tenants: {name: a}\n":                                     "a list of tenants",
	} {
		_, err := Parse([]byte(file))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "config.") {
			t.Errorf("%q: %v, want %q and no Go type", file, err, want)
		}
	}
}
