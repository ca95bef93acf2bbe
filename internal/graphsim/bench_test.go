package graphsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// BenchmarkServePage measures one full page of daily activeUsers through
// the handler: auth, generation, paging and encoding, without the network.
func BenchmarkServePage(b *testing.B) {
	s := New(Options{Now: testNow})
	token := s.tokens.issue(s.opts.TenantID, time.Now().Add(time.Hour))
	u := "https://graph.test/beta" + insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}.Path()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// BenchmarkRowsAllReports is what a test pays to compute every expected
// value of one refresh.
func BenchmarkRowsAllReports(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range insights.AllReports() {
			_ = Rows(DefaultTenantID, r, testNow(), false)
		}
	}
}

// BenchmarkServeSignInsPage measures one page of 1000 sign-ins through the
// handler, the past days' events cached as in a paging run.
func BenchmarkServeSignInsPage(b *testing.B) {
	s := New(Options{Now: testNow})
	token := s.tokens.issue(s.opts.TenantID, time.Now().Add(time.Hour))
	u := "https://graph.test/beta/auditLogs/signIns?$filter=createdDateTime%20ge%202026-03-12T00:00:00Z"
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// BenchmarkSignIns is what a test pays for the oracle of 30 days.
func BenchmarkSignIns(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = SignIns(DefaultTenantID, testNow(), Options{LogRetention: MaxLogRetention})
	}
}
