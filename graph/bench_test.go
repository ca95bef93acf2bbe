package graph_test

import (
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// BenchmarkFetchTenant refreshes every report of a simulated tenant and
// reports the Graph requests one refresh costs, which must be exactly the
// pages the data needs: no retries, no re-reads.
func BenchmarkFetchTenant(b *testing.B) {
	sim, c, _ := simClient(b, nil)
	wantRequests := 0
	for _, r := range insights.AllReports() {
		wantRequests += pagesNeeded(len(graphsim.Rows(sim.TenantID, r, fixedNow(), false)))
	}
	sim.ResetStats()
	for b.Loop() {
		for _, r := range insights.AllReports() {
			if _, err := c.Fetch(b.Context(), r); err != nil {
				b.Fatal(err)
			}
		}
	}
	perRefresh := float64(sim.Stats().GraphRequests) / float64(b.N)
	b.ReportMetric(perRefresh, "requests/refresh")
	if perRefresh != float64(wantRequests) {
		b.Errorf("%v Graph requests per refresh, want %d (the pages needed)", perRefresh, wantRequests)
	}
}
