package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/app"
)

// TestLandingPageLinksWork: every link of the landing page answers 200,
// and none points to pprof, which is not served. internal/app tests
// /metrics itself.
func TestLandingPageLinksWork(t *testing.T) {
	rt, err := app.New(t.Context(), app.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	var ready atomic.Bool
	ready.Store(true)
	h, err := (&serveCmd{TelemetryPath: "/metrics"}).routes(rt, &ready)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	page := get("/").Body.String()
	if strings.Contains(page, "debug/pprof") {
		t.Errorf("the landing page links to pprof, which is not served")
	}
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 3 {
		t.Fatalf("%d links on the landing page:\n%s", len(links), page)
	}
	for _, l := range links {
		href := l[1]
		if strings.HasPrefix(href, "http") {
			continue // e.g. the project's home page
		}
		if !strings.HasPrefix(href, "/") {
			href = "/" + href
		}
		rec := get(href)
		if href == "/-/ready" && rec.Code == http.StatusServiceUnavailable && strings.Contains(rec.Body.String(), "first refresh") {
			continue // no refresh has run here: not ready yet, and saying why
		}
		if rec.Code != http.StatusOK {
			t.Errorf("landing page link %s: HTTP %d", l[1], rec.Code)
		}
	}
}
