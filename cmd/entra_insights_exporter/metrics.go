package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // offers zstd besides gzip
	dto "github.com/prometheus/client_model/go"
)

// metricsHandler serves /metrics through promhttp, as node_exporter does:
// the stable registry (build info, the counters that survive reloads), the
// current generation's registry (the data, read from the last snapshot)
// and, unless turned off, the exporter's own runtime metrics. promhttp
// negotiates the format (text, OpenMetrics when asked, protobuf) and the
// compression (gzip, zstd), and checks the families for duplicates.
func (srv *server) metricsHandler(maxRequests int) http.Handler {
	// The generation goes first: Gatherers gathers in order, and a refresh
	// counts its errors and requests before it swaps the snapshot in, so
	// a scrape that shows a failed report also shows its counters.
	gatherers := prometheus.Gatherers{
		prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			return srv.current.Load().registry.Gather()
		}),
		srv.stable,
	}
	opts := promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A collector's error is logged and what could be gathered is
		// served: one bad family must not blank the whole scrape.
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            slog.NewLogLogger(srv.logger.Handler(), slog.LevelError),
		MaxRequestsInFlight: maxRequests,
		// Scrapes that arrive together share one gather of the snapshots
		// (nothing is kept after it, so nothing can be served stale).
		CoalesceGather: true,
	}
	if srv.runtime == nil {
		return promhttp.HandlerFor(gatherers, opts)
	}
	gatherers = append(gatherers, srv.runtime)
	opts.Registry = srv.runtime // promhttp_metric_handler_errors_total
	return promhttp.InstrumentMetricHandler(srv.runtime, promhttp.HandlerFor(gatherers, opts))
}
