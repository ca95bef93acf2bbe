package dashboards

// grafana-dashboards/*.json and the copies of the Helm chart and the mixin
// are rewritten by -update.
//go:generate go test -run TestCommittedDashboardsAreGenerated|TestRulesAreCopied -update .
