package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd" // offers zstd besides gzip
	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// Gatherer gathers what /metrics serves but the exporter's own runtime
// metrics.
func (rt *Runtime) Gatherer() prometheus.Gatherer { return rt.gatherers() }

// gatherers are the current generation's registry (the data, read from
// the last snapshot), then the stable one (build info, the counters that
// survive reloads). The generation goes first: Gatherers gathers in order,
// and a refresh counts its errors and requests before it swaps the
// snapshot in, so a scrape that shows a failed report also shows its
// counters. A slice, so MetricsHandler appends to it rather than nesting
// Gatherers, which would check and sort every family twice (a third more
// allocations per scrape).
func (rt *Runtime) gatherers() prometheus.Gatherers {
	return prometheus.Gatherers{
		prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			gen := rt.current.Load()
			if gen == nil { // not started: the stable metrics only
				return nil, nil
			}
			return gen.registry.Gather()
		}),
		rt.stable,
	}
}

// MetricsOptions are /metrics' settings.
type MetricsOptions struct {
	// MaxRequests bounds parallel scrapes; beyond it they get 503. 0: no limit.
	MaxRequests int
	// ExporterMetrics adds the exporter's own Go, process and promhttp
	// metrics (go_*, process_*, promhttp_*).
	ExporterMetrics bool
}

// MetricsHandler serves /metrics through promhttp, as node_exporter does:
// the runtime's gatherers and, when asked, the exporter's own runtime
// metrics. promhttp
// negotiates the format (text, OpenMetrics when asked, protobuf) and the
// compression (gzip, zstd), and checks the families for duplicates.
func (rt *Runtime) MetricsHandler(opts MetricsOptions) http.Handler {
	gatherers := rt.gatherers()
	handlerOpts := promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A collector's error is logged and what could be gathered is
		// served: one bad family must not blank the whole scrape.
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            &scrapeLog{logger: rt.logger},
		MaxRequestsInFlight: opts.MaxRequests,
		// Scrapes that arrive together share one gather of the snapshots
		// (nothing is kept after it, so nothing can be served stale).
		CoalesceGather: true,
	}
	if !opts.ExporterMetrics {
		return sendOnce(promhttp.HandlerFor(gatherers, handlerOpts))
	}
	// A registry of this handler's own: promhttp's counters count its
	// scrapes.
	self := prometheus.NewRegistry()
	self.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	gatherers = append(gatherers, self)
	handlerOpts.Registry = self // promhttp_metric_handler_errors_total
	return promhttp.InstrumentMetricHandler(self, sendOnce(promhttp.HandlerFor(gatherers, handlerOpts)))
}

// scrapeLog takes promhttp's messages. A family that could not be sent
// means the scraper went away (a timeout, a cut-off connection): that is
// the scraper's business, so one debug line, and no more for a second (a
// compressed answer fails again on every remaining family); anything else
// is an error.
type scrapeLog struct {
	logger *slog.Logger
	last   atomic.Int64 // UnixNano of the last "went away" line
}

func (l *scrapeLog) Println(v ...any) {
	msg := strings.TrimSpace(fmt.Sprintln(v...))
	if !strings.HasPrefix(msg, "error encoding and sending metric family") {
		l.logger.Error("serving /metrics", "err", msg)
		return
	}
	now := time.Now().UnixNano()
	if last := l.last.Load(); now-last < int64(time.Second) || !l.last.CompareAndSwap(last, now) {
		return
	}
	l.logger.Debug("a scrape ended before its answer was sent (the scraper went away)", "err", msg)
}

// sendOnce stops a scrape's writes at the first that fails: promhttp
// writes (and would log) every remaining family into a dead connection,
// one line each; after the first failure they are dropped silently.
func sendOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&stopOnFailure{ResponseWriter: w}, r)
	})
}

type stopOnFailure struct {
	http.ResponseWriter
	failed bool
}

func (w *stopOnFailure) Write(p []byte) (int, error) {
	if w.failed {
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.failed = err != nil
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *stopOnFailure) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReloadHandler is POST /-/reload: it reloads the configuration and
// answers once the new one has refreshed, or with the error, keeping the
// running one. Unless enabled (--web.enable-lifecycle) it refuses.
func (rt *Runtime) ReloadHandler(enabled bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !enabled:
			http.Error(w, "Lifecycle API is not enabled (--web.enable-lifecycle)", http.StatusForbidden)
		case r.Method != http.MethodPost && r.Method != http.MethodPut:
			http.Error(w, "Use POST or PUT", http.StatusMethodNotAllowed)
		default:
			if err := rt.Reload(r.Context()); err != nil {
				rt.logger.Error("reload failed; keeping the running configuration", "trigger", "POST /-/reload", "err", azconf.OneLine(err.Error()))
				http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "Reloaded")
		}
	})
}
