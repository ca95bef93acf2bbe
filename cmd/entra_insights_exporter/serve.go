package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/entra-insights/entra_insights_exporter/internal/app"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// shutdownTimeout bounds how long in-flight scrapes may take after SIGTERM.
const shutdownTimeout = 10 * time.Second

type serveCmd struct {
	ListenAddress   []string `name:"web.listen-address" default:":9945" help:"Addresses to listen on for HTTP requests (repeatable)."`
	WebConfigFile   string   `name:"web.config.file" placeholder:"PATH" help:"exporter-toolkit web configuration file enabling TLS and/or basic authentication."`
	TelemetryPath   string   `name:"web.telemetry-path" default:"/metrics" help:"Path under which to expose metrics."`
	EnableLifecycle bool     `name:"web.enable-lifecycle" help:"Enable POST /-/reload, which re-reads --config.file."`
	MaxRequests     int      `name:"web.max-requests" default:"0" help:"Maximum number of parallel scrape requests, beyond which scrapes get 503; 0 means no limit (a scrape only encodes the last snapshot)."`

	DisableExporterMetrics bool `name:"web.disable-exporter-metrics" help:"Leave out the exporter's own Go runtime, process and promhttp metrics (go_*, process_*, promhttp_*)."`
}

// reloadSignals delivers SIGHUP: each one reloads the configuration like
// POST /-/reload. main owns the signal; tests send on their own channel.
type reloadSignals <-chan os.Signal

// Validate checks the serve flags; kong prints the error as one line.
func (s *serveCmd) Validate() error {
	if err := web.Validate(s.WebConfigFile); err != nil {
		return fmt.Errorf("--web.config.file: %s", azconf.OneLine(err.Error()))
	}
	if !strings.HasPrefix(s.TelemetryPath, "/") || s.TelemetryPath == "/" || strings.HasPrefix(s.TelemetryPath, "/-/") {
		return fmt.Errorf("--web.telemetry-path: %q must start with / and not be / or under /-/", s.TelemetryPath)
	}
	if s.MaxRequests < 0 {
		return fmt.Errorf("--web.max-requests: %d is negative", s.MaxRequests)
	}
	for _, addr := range s.ListenAddress {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("--web.listen-address: %w", err)
		}
	}
	return nil
}

// Run serves /metrics until ctx ends, refreshing the reports in the
// background, and reloads the configuration on each signal from hup.
func (s *serveCmd) Run(ctx context.Context, c *cli, logger *slog.Logger, hup reloadSignals) error {
	rt, err := app.New(ctx, c.config(), logger)
	if err != nil {
		return err
	}
	defer rt.Close() // after the HTTP server's shutdown: a reload it let finish ends first
	p, err := rt.Plan()
	if err != nil {
		return &settingError{err}
	}
	if err := rt.Start(p); err != nil {
		return &settingError{err}
	}
	rt.ReloadOnSignals(hup)

	var ready atomic.Bool
	handler, err := s.routes(rt, &ready)
	if err != nil {
		return err
	}
	listeners, err := listen(s.ListenAddress)
	if err != nil {
		return &settingError{err}
	}
	httpServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ready.Store(true) // config loaded and sockets open; /-/ready then waits for the first refreshes
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- web.ServeMultiple(listeners, httpServer, &web.FlagConfig{
			WebListenAddresses: &s.ListenAddress,
			WebSystemdSocket:   new(bool),
			WebConfigFile:      &s.WebConfigFile,
		}, logger)
	}()
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}

func listen(addrs []string) ([]net.Listener, error) {
	var listeners []net.Listener
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return nil, fmt.Errorf("--web.listen-address: %w", err)
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

// routes are the HTTP endpoints: /metrics and /-/reload are the runtime's,
// health, readiness (ready once every tenant finished its first refresh) and the landing page
// the server's.
func (s *serveCmd) routes(rt *app.Runtime, ready *atomic.Bool) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(s.TelemetryPath, rt.MetricsHandler(app.MetricsOptions{
		MaxRequests: s.MaxRequests, ExporterMetrics: !s.DisableExporterMetrics,
	}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "Not ready", http.StatusServiceUnavailable)
			return
		}
		// Ready once every tenant has finished its first refresh, with data
		// or not: one broken tenant never holds the pod unready for ever
		// (entra_insights_tenant_has_data says which have data).
		if pending := rt.Pending(); len(pending) > 0 {
			http.Error(w, "Not ready: waiting for the first refresh of tenant "+strings.Join(pending, ", "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.Handle("/-/reload", rt.ReloadHandler(s.EnableLifecycle))
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        exporterName,
		Description: "Microsoft Entra External ID application user activity as Prometheus metrics",
		Version:     version.Info(),
		Profiling:   "false", // no /debug/pprof is served: no links to it
		Links: []web.LandingLinks{
			{Address: s.TelemetryPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	mux.Handle("/", landing)
	return mux, nil
}
