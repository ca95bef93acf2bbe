package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// TestBudgetKeepsGraphFromThrottling runs two tenants with the default
// --graph.rate-limit against a simulator that throttles like Graph (more
// than 5 report requests per tenant in 10 s get a 429): the client-side
// budget keeps each tenant under the limit, so Graph never throttles, and
// the tenants' budgets do not hold each other up.
// Not parallel: the budget check allows 100 ms of arrival jitter within
// a 10 s window, and the test that both tenants are up within 25 s; a
// test beside it on the CPU would blur both.
func TestBudgetKeepsGraphFromThrottling(t *testing.T) {
	const second = "0a1b2c3d-0000-4000-8000-00000000b0d9"
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000,
		Throttle: true, Tenants: []string{second}})
	var reports []string
	for _, r := range insights.AllReports()[:10] { // 10 reports: two 10 s windows per tenant
		reports = append(reports, r.String())
	}
	config := writeFile(t, t.TempDir(), "budget.yml", fmt.Sprintf("tenants:\n  - {name: first, tenant_id: %s}\n  - {name: second, tenant_id: %s}\nreports: [%s]\n",
		sim.TenantID, second, strings.Join(reports, ", ")))
	began := time.Now()
	in := launch(t, append(simArgs(t, sim, ""), "--config.file="+config, "--insights.refresh-interval=10m")...)
	f := in.waitUp(t, 2)
	took := time.Since(began)

	stats := sim.Stats()
	if stats.Throttled != 0 {
		t.Errorf("the simulator throttled %d requests; the budget should have kept every tenant under 5 per 10 s", stats.Throttled)
	}
	if got := sumWhere(f, "entra_insights_graph_throttled_total", nil); got != 0 {
		t.Errorf("graph_throttled_total = %v, want 0", got)
	}
	byTenant := map[string][]graphsim.Request{}
	for _, r := range stats.Requests {
		byTenant[r.Tenant] = append(byTenant[r.Tenant], r)
	}
	for tenant, reqs := range byTenant {
		if len(reqs) != len(reports) {
			t.Errorf("tenant %s: %d Graph requests, want %d (one page per report)", tenant, len(reqs), len(reports))
		}
		checkBudget(t, reqs)
	}
	if len(byTenant) != 2 {
		t.Errorf("requests of %d tenants, want 2", len(byTenant))
	}
	// 10 requests at 5 per 10 s take one window; both tenants at once,
	// not one after the other (which would take three).
	if took > 25*time.Second {
		t.Errorf("both tenants were up after %s; their budgets should run side by side (about 10 s)", took)
	}
	t.Logf("two tenants × %d reports under the default budget: all up after %s, 0 throttled", len(reports), took.Round(100*time.Millisecond))
}
