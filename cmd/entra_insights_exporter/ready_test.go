package main

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// TestReadyMeansFirstRefreshDone: /-/ready answers 503, naming the tenant,
// until the tenant's first refresh has finished (here a slow one), then
// 200; entra_insights_tenant_has_data says the tenant has data.
func TestReadyMeansFirstRefreshDone(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultSlow, Delay: 3 * time.Second, Report: "signIns", Times: 1})
	in := start(t, append(logsArgs(t, sim), "--graph.rate-limit=0", "--insights.refresh-timeout=30s")...)
	body, err := getOK(noKeepAlive, in.url("/-/ready"))
	if err == nil || !strings.Contains(string(body), "contoso") {
		t.Errorf("/-/ready during the first refresh: %v %q, want 503 naming tenant contoso", err, body)
	}
	waitFor(t, 30*time.Second, "ready after the first refresh", func() bool {
		_, err := getOK(noKeepAlive, in.url("/-/ready"))
		return err == nil
	})
	in.waitScrape(t, 5*time.Second, "tenant_has_data 1", func(f map[string]*dto.MetricFamily) bool {
		return sumWhere(f, "entra_insights_tenant_has_data", map[string]string{"tenant": "contoso"}) == 1
	})
}
