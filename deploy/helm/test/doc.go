// Package charttest checks the Helm chart in ../entra-insights-exporter: it
// renders every ci/*-values.yaml scenario with the Helm SDK, decodes every
// object strictly into its Kubernetes or Prometheus Operator type, and
// checks what the chart promises (hardened pods, probes, byte-identical
// rules and dashboards, no secret in a ConfigMap, a schema that refuses bad
// values). It is its own Go module so that Helm and the Kubernetes API stay
// out of the exporter's go.mod: cd deploy/helm/test && go test ./...
package charttest
