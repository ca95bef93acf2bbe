package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/app"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// issuesURL is where the probe's output belongs when a read fails.
const issuesURL = "https://github.com/entra-insights/entra_insights_exporter/issues"

// probeCmd makes each Graph read of every configured tenant once and
// prints what Graph answered: what only a real tenant can tell (graph
// package, probe.go). It has no flags of its own: it reads serve's.
type probeCmd struct{}

// errProbeFailed ends the command with exit code 1 once the tables are
// printed.
type errProbeFailed struct{ tenants int }

func (e errProbeFailed) Error() string {
	return "tenants with a required Graph read that does not work: " + strconv.Itoa(e.tenants) + " (see the probe's output)"
}

// Run probes each tenant of the configuration, as serve would read it,
// and prints one table per tenant on standard output.
func (p *probeCmd) Run(ctx context.Context, c *cli, logger *slog.Logger, std streams) error {
	rt, err := app.New(ctx, c.config(), logger)
	if err != nil {
		return err
	}
	defer rt.Close()
	plan, err := rt.Plan()
	if err != nil {
		return &settingError{err}
	}
	catalog, err := collector.NewCatalog(plan.Collector)
	if err != nil {
		return &settingError{fmt.Errorf("config.file: %w", err)}
	}
	limiters := c.limiters()
	now := time.Now().UTC()
	fmt.Fprintf(std.out, "%s probe, version %s, at %s\n", exporterName, version.Version, now.Format(time.RFC3339))
	failing := 0
	for _, t := range plan.Tenants {
		client, err := graph.NewClient(t.Graph, graph.Deps{Limiters: limiters, Logger: logger})
		if err != nil {
			return &settingError{fmt.Errorf("tenant %s: %w", t.Name(), err)}
		}
		spec, err := registry.Lookup(t.Source)
		if err != nil {
			return &settingError{fmt.Errorf("tenant %s: source: %w", t.Name(), err)}
		}
		results, err := probeTenant(ctx, spec, client, registry.ProbeArgs{
			Now: now, Reports: catalog.Reports(), Flags: c.sourceFlags[spec.Name],
		}, plan.Collector.RefreshTimeout)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.Name(), err)
		}
		if !writeProbe(std.out, t, results) {
			failing++
		}
	}
	if failing > 0 {
		fmt.Fprintf(std.out, "\npaste this output into a bug report: %s\n", issuesURL)
		return errProbeFailed{tenants: failing}
	}
	return nil
}

// limiters is the request budget serve would apply; nil when
// --graph.rate-limit is 0.
func (c *cli) limiters() *transport.Limiters {
	if c.Graph.RateLimit == 0 {
		return nil
	}
	return transport.NewLimitersWith(
		transport.Limit{Requests: c.Graph.RateLimit, Window: transport.LimitWindow},
		transport.Limit{Requests: transport.ClientRequests, Window: transport.LimitWindow},
		time.Now)
}

// probeTenant probes one tenant within timeout, the bound serve gives one
// refresh: a read that runs out of it would in serve too.
func probeTenant(ctx context.Context, spec registry.Spec, client *graph.Client, args registry.ProbeArgs, timeout time.Duration) ([]insights.ProbeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return spec.Probe(ctx, client, args)
}

// writeProbe prints one tenant's table and its closing line, and reports
// whether every required read works.
func writeProbe(w io.Writer, t app.Tenant, results []insights.ProbeResult) bool {
	fmt.Fprintf(w, "\ntenant %s (%s), source %s\n", t.Name(), t.Graph.TenantID, t.Source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "READ\tNEED\tSTATUS\tCODE\tOUTCOME\tREQUEST")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Read, need(r), statusCell(r.Status), cell(r.Code), r.Outcome, r.Request)
	}
	_ = tw.Flush() // w is the command's output: nothing to do about a failed write
	required, working, ok := tally(results)
	fmt.Fprintf(w, "%d of %d required reads work\n", working, required)
	return ok
}

// tally counts the required reads and those that work (the token is not a
// read), and reports whether everything required works, the token included.
func tally(results []insights.ProbeResult) (required, working int, ok bool) {
	ok = true
	for _, r := range results {
		if !r.Required {
			continue
		}
		ok = ok && r.OK
		if r.Read == insights.ProbeToken {
			continue
		}
		required++
		if r.OK {
			working++
		}
	}
	return required, working, ok
}

func need(r insights.ProbeResult) string {
	if r.Required {
		return "required"
	}
	return "optional"
}

// statusCell writes an HTTP status, "-" for none.
func statusCell(status int) string {
	if status == 0 {
		return "-"
	}
	return strconv.Itoa(status)
}

// cell writes s, "-" for empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
