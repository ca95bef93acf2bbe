package main

// The custom /metrics cache this exporter had before promhttp; kept for
// one commit only, as the baseline of BenchmarkMetrics.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// metricsHandler serves /metrics. The data changes only when a refresh
// swaps a snapshot, so its encoding is kept per generation, snapshot
// version and format, and a scrape encodes only the small self-metrics
// (Go, process, request counters) afresh.
type metricsHandler struct {
	stable  prometheus.Gatherer
	current func() *generation
	logger  *slog.Logger
	limit   chan struct{} // nil: no limit on parallel scrapes

	mu    sync.Mutex
	cache map[string]encodedData // by format
}

type encodedData struct {
	gen     *generation
	version uint64
	body    []byte
}

func newMetricsHandler(stable prometheus.Gatherer, current func() *generation, maxRequests int, logger *slog.Logger) *metricsHandler {
	h := &metricsHandler{stable: stable, current: current, logger: logger, cache: map[string]encodedData{}}
	if maxRequests > 0 {
		h.limit = make(chan struct{}, maxRequests)
	}
	return h
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.limit != nil {
		select {
		case h.limit <- struct{}{}:
			defer func() { <-h.limit }()
		default:
			http.Error(w, "Limit of concurrent requests reached, try again later.", http.StatusServiceUnavailable)
			return
		}
	}
	format := expfmt.Negotiate(r.Header)
	data, err := h.data(format)
	if err != nil {
		h.logger.Error("encode the data metrics", "err", err)
		http.Error(w, "An error has occurred while serving metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	self, err := h.stable.Gather()
	if err != nil { // partial results still come back; say so, serve them
		h.logger.Error("gather the exporter's own metrics", "err", err)
	}

	header := w.Header()
	header.Set("Content-Type", string(format))
	var out io.Writer = w
	if gzipAccepted(r) {
		header.Set("Content-Encoding", "gzip")
		header.Add("Vary", "Accept-Encoding")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level never fails
		defer gz.Close()
		out = gz
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range self {
		if err := enc.Encode(mf); err != nil {
			h.logger.Debug("write /metrics", "err", err) // the scraper went away
			return
		}
	}
	if _, err := out.Write(data); err != nil {
		return
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		_ = closer.Close() // OpenMetrics' "# EOF"
	}
}

// data returns the current generation's metrics encoded in format, from the
// cache while no snapshot has been swapped since.
func (h *metricsHandler) data(format expfmt.Format) ([]byte, error) {
	gen := h.current()
	version := gen.exporter.Version()
	h.mu.Lock()
	cached, ok := h.cache[string(format)]
	h.mu.Unlock()
	if ok && cached.gen == gen && cached.version == version {
		return cached.body, nil
	}
	families, err := gen.registry.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format) // not closed: more follows it
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encode %s: %w", mf.GetName(), err)
		}
	}
	h.mu.Lock()
	h.cache[string(format)] = encodedData{gen: gen, version: version, body: buf.Bytes()}
	h.mu.Unlock()
	return buf.Bytes(), nil
}

func gzipAccepted(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); enc == "gzip" {
			return true
		}
	}
	return false
}
