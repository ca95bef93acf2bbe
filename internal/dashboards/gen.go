package dashboards

// grafana-dashboards/*.json and the Helm chart's copies are rewritten by -update.
//go:generate go test -run TestCommittedDashboardsAreGenerated|TestChartRulesAreCopied -update .
