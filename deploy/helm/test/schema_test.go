package charttest

import (
	"strings"
	"testing"
)

// TestSchemaRejectsBadValues: values.schema.json refuses what would deploy
// a broken or unsafe exporter, with an error naming the setting.
func TestSchemaRejectsBadValues(t *testing.T) {
	for _, c := range []struct {
		name, values, mention string
	}{
		{"two replicas of the logs source", "replicaCount: 2\n", "replicaCount"},
		{"unknown top-level key", "replicas: 1\n", "replicas"},
		{"unknown nested key", "persistence: {enable: true}\n", "enable"},
		{"bad source", "exporter: {source: graph}\n", "source"},
		{"bad tenant source", "config: {tenants: [{tenant_id: contoso.onmicrosoft.com, source: graph}]}\n", "source"},
		{"inline client secret in config", "config: {tenants: [{tenant_id: contoso.onmicrosoft.com, client_secret: hunter2}]}\n", "client_secret"},
		{"unknown config key", "config: {tenant: []}\n", "tenant"},
		{"bad auth mode", "azure: {authMode: password}\n", "authMode"},
		{"bad client id", "azure: {clientId: not-a-guid}\n", "clientId"},
		{"workload identity and a secret", "azure: {existingSecret: creds, clientId: 11111111-1111-1111-1111-111111111111, workloadIdentity: {enabled: true}}\n", "existingSecret"},
		{"workload identity without client id", "azure: {workloadIdentity: {enabled: true}}\n", "clientId"},
		{"config and existing ConfigMap", "existingConfigMap: tenants\nconfig: {tenants: [{tenant_id: contoso.onmicrosoft.com}]}\n", "config"},
		{"bad secret mode", "azure: {secretMode: volume}\n", "secretMode"},
		{"bad refresh interval", "exporter: {refreshInterval: 5 minutes}\n", "refreshInterval"},
		{"bad lookback", "exporter: {logsLookback: a month}\n", "logsLookback"},
		{"bad port", "service: {port: 70000}\n", "port"},
		{"bad digest", "image: {digest: latest}\n", "digest"},
		{"zero replicas", "replicaCount: 0\n", "replicaCount"},
		{"bad dashboard label value", "dashboards: {labels: {grafana_dashboard: 1}}\n", "grafana_dashboard"},
		{"extra arg that is no flag", "exporter: {extraArgs: [demo]}\n", "extraArgs"},
		{"acknowledgement not a boolean", "persistence: {enabled: false, acceptStateLoss: \"yes\"}\n", "acceptStateLoss"},
		{"startup probe not an object", "startupProbe: /-/ready\n", "startupProbe"},
		{"revision history as text", "revisionHistoryLimit: ten\n", "revisionHistoryLimit"},
		{"negative revision history", "revisionHistoryLimit: -1\n", "revisionHistoryLimit"},
		{"init containers as a map", "initContainers: {name: restore, image: busybox}\n", "initContainers"},
		{"init container without a name", "initContainers: [{image: busybox}]\n", "initContainers"},
		{"extra containers as a string", "extraContainers: proxy\n", "extraContainers"},
		{"extra container without an image", "extraContainers: [{name: proxy}]\n", "extraContainers"},
		{"extra objects as a map", "extraObjects: {kind: ConfigMap}\n", "extraObjects"},
		{"extra object a number", "extraObjects: [1]\n", "extraObjects"},
		{"honorLabels as text", "serviceMonitor: {honorLabels: \"yes\"}\n", "honorLabels"},
		{"targetLabels as a string", "serviceMonitor: {targetLabels: team}\n", "targetLabels"},
		{"targetLabels of maps", "serviceMonitor: {targetLabels: [{team: identity}]}\n", "targetLabels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, []byte(c.values))
			if err == nil {
				t.Fatalf("values accepted:\n%s", c.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error does not come from the schema or does not name %s:\n%v", c.mention, err)
			}
		})
	}
}

// TestSchemaAcceptsGoodValues guards the other side: the schema is not so
// strict that ordinary settings fail.
func TestSchemaAcceptsGoodValues(t *testing.T) {
	for _, values := range []string{
		"exporter: {source: userinsights}\nreplicaCount: 3\n",
		"image: {tag: v1.2.3, digest: sha256:" + strings.Repeat("a", 64) + "}\n",
		"azure: {workloadIdentity: {enabled: true}, clientId: 11111111-1111-1111-1111-111111111111}\n",
		"config: {tenants: [{name: a, tenant_id: 22222222-2222-2222-2222-222222222222, cloud: usgov, auth_mode: client-certificate, client_certificate_file: /etc/cert/a.pem}], reports: [daily/activeUsers], dimensions: {activeUsers: [app_id]}}\n",
		"exporter: {extraArgs: [--graph.rate-limit=3], logsLookback: 2w}\nserviceMonitor: {enabled: true, scrapeTimeout: 30s}\n",
		"livenessProbe: {exec: {command: [/bin/true]}}\nwebConfig: {existingSecret: web, tls: true}\n",
		"exporter: {source: userinsights}\nreplicaCount: 2\npersistence: {enabled: true}\n",
		"startupProbe: {enabled: false}\nrevisionHistoryLimit: 0\n",
		"persistence: {enabled: false, acceptStateLoss: true}\n",
	} {
		if _, err := render(t, []byte(values)); err != nil {
			t.Errorf("values refused:\n%s\n%v", values, err)
		}
	}
}
