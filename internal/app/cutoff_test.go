package app

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/collector"
)

// deadConn is a ResponseWriter whose connection breaks after a few bytes,
// as when a scraper times out or goes away mid-answer.
type deadConn struct {
	header http.Header
	left   int
}

func (d *deadConn) Header() http.Header { return d.header }
func (d *deadConn) WriteHeader(int)     {}
func (d *deadConn) Write(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, syscall.EPIPE
	}
	d.left -= len(p)
	return len(p), nil
}

// TestCutOffScrapeCostsOneDebugLine: a scrape whose connection breaks
// mid-answer costs at most one debug line (was: one ERROR line per
// remaining family, 59 of them).
func TestCutOffScrapeCostsOneDebugLine(t *testing.T) {
	for _, encoding := range []string{"", "gzip"} {
		t.Run("encoding="+encoding, func(t *testing.T) {
			var logs bytes.Buffer
			rt := newTestRuntime(t, simRows(), collector.Config{})
			rt.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			h := rt.MetricsHandler(MetricsOptions{ExporterMetrics: true})
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if encoding != "" {
				req.Header.Set("Accept-Encoding", encoding)
			}
			w := &deadConn{header: http.Header{}, left: 100}
			h.ServeHTTP(w, req)
			// Uncompressed, promhttp sees the failure; compressed, the
			// compressor may hold it until its close, which promhttp does
			// not log: at most one line either way, never above debug.
			lines := strings.Count(logs.String(), "\n")
			if lines > 1 || (encoding == "" && lines != 1) || strings.Contains(logs.String(), "level=ERROR") ||
				strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("log of a cut-off scrape: %d lines, want one debug line (at most, compressed):\n%s", lines, logs.String())
			}
		})
	}
}
