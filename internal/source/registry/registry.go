// Package registry lists the sources, one entry each, with what the rest
// of the exporter needs to know of one: its name, what it produces, the
// permissions it needs, what it costs, its command-line flags, how to
// build it and which Graph reads the probe makes for it. The command line
// (its enum and each source's flags), the config file's checks, the app,
// the probe and backfill read this list; nothing outside a source and this
// file branches on a source's name.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// Spec is one source.
type Spec struct {
	Name string
	// Help is what --insights.source says of it.
	Help string
	// Permissions are the Graph application permissions it needs.
	Permissions []string
	// Reports are the reports it can produce.
	Reports func() []insights.Report
	// Families are the metric families it produces, declared by its
	// package next to the code that counts them.
	Families func() []source.Family
	// SteadyRequests is how many requests of Graph's reports budget one
	// refresh makes once caught up, with the reports configured.
	SteadyRequests func(configured []insights.Report) int
	// KeepsState says the source keeps state across restarts: New gets
	// the state file then (Deps.Store).
	KeepsState bool
	// Flags returns the source's command-line flags, unset, for the
	// command line to plug in and fill (nil: it has none). New and Probe
	// get the filled-in value.
	Flags func() Flags
	// New builds the source of one tenant.
	New func(Deps) (source.Source, error)
	// Probe makes each Graph read the source needs once, through the
	// probe's method of its reads (the probe command).
	Probe func(context.Context, Prober, ProbeArgs) ([]insights.ProbeResult, error)
}

// Flags are a source's command-line flags: a pointer to a struct with
// kong tags, each flag named after the source (--logs.lookback, read from
// ENTRA_INSIGHTS_LOGS_LOOKBACK too). Kong calls Validate after parsing;
// its error names the flag.
type Flags interface{ Validate() error }

// flagsOf returns a source's flags as its own type T; unset (the source's
// defaults) when there are none, as in a configuration not built from the
// command line (tests).
func flagsOf[T any](f Flags) (*T, error) {
	if f == nil {
		return new(T), nil
	}
	t, ok := any(f).(*T)
	if !ok {
		return nil, fmt.Errorf("flags of type %T, want %T", f, t)
	}
	return t, nil
}

// Client reads Graph for one tenant (*graph.Client).
type Client interface {
	logs.Reader
	userinsights.Fetcher
}

// Prober probes one tenant's Graph reads (*graph.Client), one method per
// source's set of reads: each gets a token, then makes each read once.
type Prober interface {
	ProbeLogs(ctx context.Context, now time.Time, lookback time.Duration) []insights.ProbeResult
	ProbeUserInsights(ctx context.Context, reports []insights.Report) []insights.ProbeResult
}

// ProbeArgs are what Probe may use.
type ProbeArgs struct {
	Now     time.Time         // the end of the event logs' windows
	Reports []insights.Report // the configured reports
	Flags   Flags             // the source's flags, as Deps.Flags
}

// Deps is what New may use.
type Deps struct {
	Client   Client
	Label    string       // the tenant label
	StoreKey string       // the tenant's key in the state file
	Store    *store.Store // nil: state in memory only (backfill, the demo)
	// Flags are the source's flags (Spec.Flags) as the command line
	// filled them in; nil: the source's defaults.
	Flags Flags
	// Kept returns the dimensions the catalog keeps of a family at a
	// granularity (collector.Catalog.Kept); nil: none.
	Kept   func(family string, g insights.Granularity) []string
	Logger *slog.Logger
}

// Sources returns every source, the default first.
func Sources() []Spec {
	return []Spec{
		{
			Name: insights.SourceLogs,
			Help: "the sign-in and sign-up logs",
			// Directory.Read.All: Graph's signIns list needs it with AuditLog.Read.All.
			Permissions:    []string{"AuditLog.Read.All", "Directory.Read.All"},
			Reports:        insights.LogsReports,
			Families:       logs.Families,
			SteadyRequests: func([]insights.Report) int { return 2 }, // the frontier of each event log
			KeepsState:     true,
			Flags:          func() Flags { return &logs.Flags{} },
			New: func(d Deps) (source.Source, error) {
				f, err := flagsOf[logs.Flags](d.Flags)
				if err != nil {
					return nil, fmt.Errorf("logs source: %w", err)
				}
				return logs.New(logs.Options{Tenant: d.StoreKey, Label: d.Label, Reader: d.Client, Store: d.Store,
					Lookback: time.Duration(f.Lookback), Overlap: time.Duration(f.Overlap),
					ActiveUserDims: logs.ActiveUserDims(d.Kept), Logger: d.Logger})
			},
			Probe: func(ctx context.Context, p Prober, a ProbeArgs) ([]insights.ProbeResult, error) {
				f, err := flagsOf[logs.Flags](a.Flags)
				if err != nil {
					return nil, fmt.Errorf("logs source: %w", err)
				}
				return p.ProbeLogs(ctx, a.Now, time.Duration(f.Lookback)), nil
			},
		},
		{
			Name:        insights.SourceUserInsights,
			Help:        "the userInsights reports Microsoft retired on 31 August 2026, for tenants where Graph still answers",
			Permissions: []string{"Insights-UserMetric.Read.All"},
			Reports:     insights.AllReports,
			Families:    userinsights.Families,
			SteadyRequests: func(configured []insights.Report) int { // one per report it produces
				return len(slices.DeleteFunc(slices.Clone(configured), func(r insights.Report) bool {
					return !slices.Contains(insights.AllReports(), r)
				}))
			},
			New: func(d Deps) (source.Source, error) { return userinsights.New(d.Client, d.Logger), nil },
			Probe: func(ctx context.Context, p Prober, a ProbeArgs) ([]insights.ProbeResult, error) {
				return p.ProbeUserInsights(ctx, a.Reports), nil
			},
		},
	}
}

// Names returns the names of the sources, the default first.
func Names() []string {
	var out []string
	for _, s := range Sources() {
		out = append(out, s.Name)
	}
	return out
}

// Lookup returns the source called name.
func Lookup(name string) (Spec, error) {
	for _, s := range Sources() {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("%q is not one of %s", name, strings.Join(Names(), ", "))
}

// Families returns the families of the sources named, or of every source
// when none is, each with its source's name: the collector's catalog.
func Families(names ...string) []source.Family {
	var out []source.Family
	for _, s := range Sources() {
		if len(names) > 0 && !slices.Contains(names, s.Name) {
			continue
		}
		for _, f := range s.Families() {
			f.Source = s.Name
			out = append(out, f)
		}
	}
	return out
}

// Help returns what --insights.source says of every source.
func Help() string {
	var parts []string
	for _, s := range Sources() {
		parts = append(parts, fmt.Sprintf("%s: %s, needs %s", s.Name, s.Help, strings.Join(s.Permissions, " and ")))
	}
	return strings.Join(parts, "; ")
}
