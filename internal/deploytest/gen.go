package deploytest

// deploy/kubernetes/prometheusrule.yaml is rewritten by -update.
//go:generate go test -run TestPrometheusRuleIsGenerated -update .
