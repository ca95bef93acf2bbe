package graph

import (
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

func TestConfigResolve(t *testing.T) {
	tests := []struct {
		name                              string
		cfg                               Config
		wantAuthority, wantGraph, wantScp string
		wantCustom                        bool
		wantErr                           string
	}{
		{name: "public by default", cfg: Config{},
			wantAuthority: "https://login.microsoftonline.com/", wantGraph: "https://graph.microsoft.com/beta",
			wantScp: "https://graph.microsoft.com/.default"},
		{name: "us government", cfg: Config{Cloud: "usgov"},
			wantAuthority: "https://login.microsoftonline.us/", wantGraph: "https://graph.microsoft.us/beta",
			wantScp: "https://graph.microsoft.us/.default"},
		{name: "dod", cfg: Config{Cloud: "usgovdod"},
			wantAuthority: "https://login.microsoftonline.us/", wantGraph: "https://dod-graph.microsoft.us/beta",
			wantScp: "https://dod-graph.microsoft.us/.default"},
		{name: "china", cfg: Config{Cloud: "china"},
			wantAuthority: "https://login.chinacloudapi.cn/", wantGraph: "https://microsoftgraph.chinacloudapi.cn/beta",
			wantScp: "https://microsoftgraph.chinacloudapi.cn/.default"},
		{name: "graph url override keeps the cloud's scope",
			cfg:           Config{GraphURL: "https://127.0.0.1:8443/beta/"},
			wantAuthority: "https://login.microsoftonline.com/", wantGraph: "https://127.0.0.1:8443/beta",
			wantScp: "https://graph.microsoft.com/.default"},
		{name: "overrides", cfg: Config{AuthorityHost: "https://127.0.0.1:9443", Scope: "api://x/.default"},
			wantAuthority: "https://127.0.0.1:9443/", wantGraph: "https://graph.microsoft.com/beta",
			wantScp: "api://x/.default", wantCustom: true},
		{name: "unknown cloud", cfg: Config{Cloud: "mars"}, wantErr: `unknown cloud "mars"`},
		{name: "plain http authority", cfg: Config{AuthorityHost: "http://login.example/"}, wantErr: "want an https URL"},
		{name: "graph url with query", cfg: Config{GraphURL: "https://graph.example/beta?x=1"}, wantErr: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := tt.cfg.resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.authorityHost != tt.wantAuthority || ep.graphURL.String() != tt.wantGraph || ep.scope != tt.wantScp || ep.customAuthor != tt.wantCustom {
				t.Errorf("got %s %s %s %v", ep.authorityHost, ep.graphURL, ep.scope, ep.customAuthor)
			}
		})
	}
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	deps := Deps{Limiters: transport.NewLimiters()}
	base := Config{TenantID: "contoso.onmicrosoft.com", ClientID: "c", ClientSecret: "s"}
	tests := []struct {
		name    string
		edit    func(*Config)
		deps    *Deps
		wantErr string
	}{
		{"auto without a secret names the modes", func(c *Config) { c.ClientSecret = "" }, nil, "AZURE_FEDERATED_TOKEN_FILE (workload identity)"},
		{"unknown mode", func(c *Config) { c.AuthMode = "magic" }, nil, `unknown auth mode "magic"`},
		{"missing tenant", func(c *Config) { c.TenantID = "" }, nil, "tenant id: missing"},
		{"bad tenant id", func(c *Config) { c.TenantID = "../evil" }, nil, "neither a GUID nor a domain"},
		{"missing client id", func(c *Config) { c.ClientID = "" }, nil, "--azure.client-id: missing"},
		{"certificate mode without a file", func(c *Config) { c.AuthMode = azconf.AuthClientCertificate }, nil, "client-certificate needs"},
		{"missing secret file", func(c *Config) { c.ClientSecretFile = "/nonexistent/secret" }, nil, "read credential file"},
		{"unreadable CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, nil, "read CA file"},
		{"foreign plain-http graph url", func(c *Config) { c.GraphURL = "http://graph.example/beta" }, nil, "loopback"},
		{"no limiters", func(*Config) {}, &Deps{}, "request budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			d := deps
			if tt.deps != nil {
				d = *tt.deps
			}
			_, err := NewClient(cfg, d)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewClient error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := NewClient(base, deps); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
