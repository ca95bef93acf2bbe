package main

import (
	"strings"
	"testing"
)

// Not parallel: its cases set the environment.
func TestBadSettingsFailWithOneLineNamingTheFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		flag string
	}{
		{"duration", []string{"--insights.refresh-interval=abc"}, nil, "--insights.refresh-interval"},
		{"storage with demo", []string{"--demo", "--storage.path=/tmp/state.db"}, nil, "--storage.path"},
		{"lookback past Graph's retention", []string{"--logs.lookback=1y"}, nil, "--logs.lookback"},
		{"interval too short", []string{"--insights.refresh-interval=100ms"}, nil, "--insights.refresh-interval"},
		{"rate limit", []string{"--graph.rate-limit=-1"}, nil, "--graph.rate-limit"},
		{"timeout longer than interval", []string{"--insights.refresh-timeout=10m"}, nil, "--insights.refresh-timeout"},
		{"timeout negative", []string{"--insights.refresh-timeout=-1s"}, nil, "--insights.refresh-timeout"},
		{"federated token file", []string{"--azure.federated-token-file=/nonexistent/token"}, nil, "--azure.federated-token-file"},
		{"federated token file from env", nil, map[string]string{"AZURE_FEDERATED_TOKEN_FILE": "/nonexistent/token"}, "--azure.federated-token-file"},
		{"max age shorter than interval", []string{"--insights.max-age=1m"}, nil, "--insights.max-age"},
		{"listen address", []string{"--web.listen-address=nope"}, nil, "--web.listen-address"},
		{"telemetry path short", []string{"--web.telemetry-path=/m", "--web.listen-address=nope"}, nil, "--web.listen-address"},
		{"telemetry path", []string{"--web.telemetry-path=/-/metrics"}, nil, "--web.telemetry-path"},
		{"graph url scheme", []string{"--graph.url=ftp://graph.example/beta"}, nil, "--graph.url"},
		{"graph url plain http", []string{"--graph.url=http://graph.microsoft.com/beta"}, nil, "--graph.url"},
		{"authority plain http", []string{"--azure.authority-host=http://127.0.0.1:1/"}, nil, "--azure.authority-host"},
		{"tenant id", []string{"--azure.tenant-id=not a tenant"}, nil, "--azure.tenant-id"},
		{"tenant id from env", nil, map[string]string{"AZURE_TENANT_ID": "bad/tenant"}, "--azure.tenant-id"},
		{"client id", []string{"--azure.client-id=abc"}, nil, "--azure.client-id"},
		{"cloud", []string{"--azure.cloud=mars"}, nil, "--azure.cloud"},
		{"auth mode", []string{"--azure.auth-mode=password"}, nil, "--azure.auth-mode"},
		{"log level", []string{"--log.level=loud"}, nil, "--log.level"},
		{"config file", []string{"--config.file=/nonexistent/config.yml"}, nil, "--config.file"},
		{"secret file", []string{"--azure.client-secret-file=/nonexistent/secret"}, nil, "--azure.client-secret-file"},
		{"ca file", []string{"--graph.ca-file=/nonexistent/ca.pem"}, nil, "--graph.ca-file"},
		{"web config", []string{"--web.config.file=/nonexistent/web.yml"}, nil, "--web.config.file"},
		{"env duration", nil, map[string]string{"ENTRA_INSIGHTS_INSIGHTS_MAX_AGE": "soon"}, "--insights.max-age"},
		{"missing tenant", []string{"--web.listen-address=127.0.0.1:0"}, nil, "--azure.tenant-id"},
		{"no credential", []string{"--web.listen-address=127.0.0.1:0", "--azure.tenant-id=contoso.onmicrosoft.com",
			"--azure.client-id=11111111-2222-3333-4444-555555555555"}, nil, "--azure.auth-mode"},
		{"unknown flag", []string{"--no-such-flag"}, nil, "--no-such-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAzureEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(t, t.Context(), tc.args...)
			if code == 0 {
				t.Fatalf("exit code 0, want non-zero; stderr:\n%s", stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.flag) {
				t.Errorf("stderr = %q, want one line naming %s", stderr, tc.flag)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, t.Context(), "--version")
	if code != 0 || !strings.Contains(stdout, exporterName) {
		t.Errorf("--version: code %d, stdout %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, t.Context(), "--help")
	if code != 0 || !strings.Contains(stdout, "--insights.refresh-interval") || !strings.Contains(stdout, "ENTRA_INSIGHTS_INSIGHTS_REFRESH_INTERVAL") {
		t.Errorf("--help: code %d, stdout lacks flags or env vars:\n%s", code, stdout)
	}
}
