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
	"sync"
	"sync/atomic"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
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
	// stable outlives every generation: build info and the counters a
	// reload must not reset. runtime is the exporter's own Go, process and
	// promhttp metrics, unless they are turned off.
	stable := prometheus.NewRegistry()
	stable.MustRegister(versioncollector.NewCollector(exporterName))
	var runtime *prometheus.Registry
	if !s.DisableExporterMetrics {
		runtime = prometheus.NewRegistry()
		runtime.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	sh, err := newShared(ctx, c, stable, logger)
	if err != nil {
		return err
	}
	defer sh.close()
	p, err := c.plan(sh.sim)
	if err != nil {
		return &settingError{err}
	}
	logger.Info("starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext(), "tenants", len(p.tenants))
	p.logCredentials(logger)
	srv := &server{ctx: ctx, shared: sh, cli: c, logger: logger, stable: stable, runtime: runtime}
	gen, err := sh.start(ctx, p)
	if err != nil {
		return &settingError{err}
	}
	srv.current.Store(gen)
	reloadCtx, stopReloads := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	defer func() {
		stopReloads()
		reloads.Wait() // a reload in flight ends before the last generation stops
		srv.current.Load().close()
	}()
	reloads.Go(func() { srv.reloadOnSignal(reloadCtx, hup) })

	handler, err := srv.routes(s)
	if err != nil {
		return err
	}
	listeners, err := listen(s.ListenAddress)
	if err != nil {
		return &settingError{err}
	}
	httpServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	srv.ready.Store(true) // config loaded and sockets open; never waits for Graph
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

// reloadOnSignal reloads the configuration on every signal from hup until
// ctx ends. A reload that fails keeps the running configuration, as
// POST /-/reload does.
func (srv *server) reloadOnSignal(ctx context.Context, hup reloadSignals) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			srv.logger.Info("SIGHUP: reloading the configuration")
			if err := srv.reloadConfig(ctx); err != nil && ctx.Err() == nil {
				srv.logger.Error("reload failed; keeping the running configuration", "trigger", "SIGHUP", "err", azconf.OneLine(err.Error()))
			}
		}
	}
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

// server holds what the HTTP handlers read: the stable and runtime
// registries and the current generation, swapped atomically by a reload.
type server struct {
	ctx     context.Context // serve's: a reloaded generation's loops end with it
	shared  *shared
	cli     *cli
	logger  *slog.Logger
	stable  *prometheus.Registry
	runtime *prometheus.Registry // nil with --web.disable-exporter-metrics
	current atomic.Pointer[generation]
	ready   atomic.Bool
	reload  sync.Mutex // one reload at a time
}

func (srv *server) routes(s *serveCmd) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(s.TelemetryPath, srv.metricsHandler(s.MaxRequests))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !srv.ready.Load() {
			http.Error(w, "Not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !s.EnableLifecycle:
			http.Error(w, "Lifecycle API is not enabled (--web.enable-lifecycle)", http.StatusForbidden)
		case r.Method != http.MethodPost && r.Method != http.MethodPut:
			http.Error(w, "Use POST or PUT", http.StatusMethodNotAllowed)
		default:
			if err := srv.reloadConfig(r.Context()); err != nil {
				srv.logger.Error("reload failed; keeping the running configuration", "trigger", "POST /-/reload", "err", azconf.OneLine(err.Error()))
				http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "Reloaded")
		}
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        exporterName,
		Description: "Microsoft Entra External ID user insights (Graph beta /reports/userInsights) as Prometheus metrics",
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

// reloadConfig builds a new generation from the re-read configuration,
// lets it finish its first refresh (so no series vanish meanwhile), swaps it
// in and stops the old one. On any error the running generation stays.
func (srv *server) reloadConfig(ctx context.Context) error {
	srv.reload.Lock()
	defer srv.reload.Unlock()
	p, err := srv.cli.plan(srv.shared.sim)
	if err != nil {
		return err
	}
	// The loops outlive the HTTP request that asked for the reload.
	gen, err := srv.shared.start(srv.ctx, p)
	if err != nil {
		srv.shared.forgetAllBut(srv.current.Load().plan)
		return err
	}
	if err := waitFirstRefresh(ctx, gen, p.collector.RefreshTimeout); err != nil {
		gen.close()
		srv.shared.forgetAllBut(srv.current.Load().plan)
		return err
	}
	old := srv.current.Swap(gen)
	old.close()
	srv.shared.forgetAllBut(p) // the removed tenants' counters go with them
	srv.logger.Info("configuration reloaded", "tenants", len(p.tenants))
	p.logCredentials(srv.logger)
	return nil
}

// waitFirstRefresh waits until every tenant of gen has finished a refresh,
// at most timeout (a refresh's own bound) or until ctx ends.
func waitFirstRefresh(ctx context.Context, gen *generation, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !gen.exporter.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the new configuration's first refresh did not finish: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
