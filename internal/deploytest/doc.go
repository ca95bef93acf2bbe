// Package deploytest checks the deployment artefacts in deploy/kubernetes and
// deploy/compose against the exporter they deploy: its flags, its config
// parser, the Prometheus rules and the Grafana dashboards. It has no code of
// its own, only tests: go test ./internal/deploytest/
package deploytest
