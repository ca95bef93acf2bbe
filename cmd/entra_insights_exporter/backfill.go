package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/app"
	"github.com/entra-insights/entra_insights_exporter/internal/backfill"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

type backfillCmd struct {
	Output             string        `name:"backfill.output" default:"-" placeholder:"FILE" help:"Where to write the OpenMetrics text; - is stdout."`
	Step               time.Duration `name:"backfill.step" default:"1h" help:"Spacing of the written samples. Smaller steps grow the output fast: a year of a large tenant at 1m is ~100 GB of text."`
	Start              string        `name:"backfill.start" placeholder:"TIME" help:"Write nothing before this time (RFC 3339 or YYYY-MM-DD; default: all Graph returns)."`
	End                string        `name:"backfill.end" placeholder:"TIME" help:"Write nothing at or after this time, where live data begins (RFC 3339 or YYYY-MM-DD; default: now)."`
	Tenants            []string      `name:"backfill.tenant" placeholder:"NAME" help:"Only this tenant (its tenant label value); repeatable. Default: all."`
	Reports            []string      `name:"backfill.report" placeholder:"REPORT" help:"Only this report, e.g. daily/activeUsers; repeatable. Default: every configured report."`
	RemoteWriteURL     string        `name:"backfill.remote-write-url" placeholder:"URL" help:"Send the samples to this Prometheus remote-write endpoint instead of --backfill.output (Prometheus with --web.enable-remote-write-receiver and an out-of-order window of at least 13 months, Mimir, Thanos Receive, VictoriaMetrics)."`
	RemoteWriteHeaders []string      `name:"backfill.remote-write-header" placeholder:"NAME=VALUE" help:"HTTP header for the remote-write requests, e.g. X-Scope-OrgID=team; repeatable. Prefer ENTRA_INSIGHTS_BACKFILL_REMOTE_WRITE_HEADER for credentials."`
	Labels             []string      `name:"backfill.label" placeholder:"NAME=VALUE" help:"Add this label to every series; repeatable. Set the job and instance labels Prometheus attaches to its scrapes of the exporter (e.g. job=entra_insights, instance=exporter:9945), so history and live data are the same series."`
}

// Validate checks the backfill flags; kong prints the error as one line.
func (b *backfillCmd) Validate() error {
	if b.Step < time.Second {
		return fmt.Errorf("--backfill.step: %s is shorter than 1s", b.Step)
	}
	start, err := parseTime(b.Start)
	if err != nil {
		return fmt.Errorf("--backfill.start: %w", err)
	}
	end, err := parseTime(b.End)
	if err != nil {
		return fmt.Errorf("--backfill.end: %w", err)
	}
	if !start.IsZero() && !end.IsZero() && !start.Before(end) {
		return errors.New("--backfill.start: must be before --backfill.end")
	}
	for _, r := range b.Reports {
		if _, err := insights.ParseReport(r); err != nil {
			return fmt.Errorf("--backfill.report: %w", err)
		}
	}
	if _, err = b.extraLabels(); err != nil {
		return err
	}
	if err := validURL("--backfill.remote-write-url", b.RemoteWriteURL); err != nil {
		return err
	}
	_, err = b.headers()
	return err
}

// headers parses --backfill.remote-write-header.
func (b *backfillCmd) headers() (map[string]string, error) {
	headers := map[string]string{}
	for _, kv := range b.RemoteWriteHeaders {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.ContainsAny(name, " :\r\n") {
			return nil, errors.New("--backfill.remote-write-header: want NAME=VALUE")
		}
		headers[name] = value
	}
	return headers, nil
}

// extraLabels parses --backfill.label; backfill.Write checks the names.
func (b *backfillCmd) extraLabels() ([]collector.Label, error) {
	var labels []collector.Label
	for _, kv := range b.Labels {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--backfill.label: %q is not NAME=VALUE", kv)
		}
		labels = append(labels, collector.Label{Name: name, Value: value})
	}
	return labels, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}

// Run reads every report of each tenant once and writes their history. A
// SIGHUP (a closed terminal) ends it, as it would without a handler: only
// serve reloads on it.
func (b *backfillCmd) Run(ctx context.Context, c *cli, logger *slog.Logger, std streams, hup reloadSignals) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-hup:
			cancel(errors.New("SIGHUP"))
		case <-ctx.Done():
		}
	}()
	rt, err := app.New(ctx, c.config(), logger)
	if err != nil {
		return err
	}
	defer rt.Close()
	p, err := rt.Plan()
	if err != nil {
		return &settingError{err}
	}
	if err := b.narrow(p); err != nil {
		return &settingError{err}
	}
	catalog, err := collector.NewCatalog(p.Collector)
	if err != nil {
		return &settingError{fmt.Errorf("config.file: %w", err)}
	}
	start, _ := parseTime(b.Start) // validated
	end, _ := parseTime(b.End)
	now := time.Now().UTC() // before the fetch: the newest rows are as of now
	if end.IsZero() {
		end = now
	}

	var tenants []backfill.TenantData
	for _, pt := range p.Tenants {
		t, err := fetchTenant(ctx, rt, pt, catalog, std.err)
		if err != nil {
			return err
		}
		tenants = append(tenants, t)
	}

	labels, _ := b.extraLabels() // validated
	opts := backfill.Options{Step: b.Step, Start: start, End: end, Now: now, Labels: labels}
	if b.RemoteWriteURL != "" {
		headers, _ := b.headers() // validated
		rw := backfill.RemoteWrite{URL: b.RemoteWriteURL, Headers: headers, Client: &http.Client{Timeout: time.Minute}}
		stats, err := backfill.Send(ctx, rw, catalog, tenants, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(std.err, "backfill: wrote %d series, %d samples to %s\n", stats.Series, stats.Samples, b.RemoteWriteURL)
		return nil
	}
	out, closeOut, err := b.output(std.out)
	if err != nil {
		return err
	}
	stats, err := backfill.Write(out, catalog, tenants, opts)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(std.err, "backfill: wrote %d series, %d samples to %s\n", stats.Series, stats.Samples, b.Output)
	return nil
}

// narrow applies --backfill.tenant and --backfill.report to the plan.
func (b *backfillCmd) narrow(p *app.Plan) error {
	if len(b.Tenants) > 0 {
		var kept []app.Tenant
		for _, t := range p.Tenants {
			if slices.Contains(b.Tenants, t.Name()) {
				kept = append(kept, t)
			}
		}
		if len(kept) != len(b.Tenants) {
			return fmt.Errorf("--backfill.tenant: %v names a tenant that is not configured", b.Tenants)
		}
		p.Tenants = kept
		p.Collector.Sources = p.Sources() // the help of the sources backfilled
	}
	if len(b.Reports) > 0 {
		p.Collector.Reports = nil
		for _, s := range b.Reports {
			r, _ := insights.ParseReport(s) // validated
			p.Collector.Reports = append(p.Collector.Reports, r)
		}
	}
	return nil
}

// fetchTenant reads every report of one tenant once, through the same
// client and source serve uses (a logs source reads the retained logs into
// memory, leaving serve's state file alone). Any failed report fails the
// backfill: a partial history would look like real gaps.
func fetchTenant(ctx context.Context, rt *app.Runtime, pt app.Tenant, catalog *collector.Catalog, progress io.Writer) (backfill.TenantData, error) {
	cfg := pt.Graph
	tenant, err := rt.InMemoryTenant(pt, catalog)
	if err != nil {
		return backfill.TenantData{}, &settingError{err}
	}
	fmt.Fprintf(progress, "backfill: tenant %s: reading its %s source\n", cfg.TenantName, tenant.Source.Name())
	reports := catalog.ReportsOf(tenant.Source)
	results := tenant.Source.Refresh(ctx, reports) // the call of every refresh
	held := map[insights.Report]source.Result{}
	for i, r := range reports {
		res, ok := results[r]
		if !ok {
			res.Err = fmt.Errorf("the %s source returned nothing for it", tenant.Source.Name())
		}
		if res.Err != nil {
			return backfill.TenantData{}, fmt.Errorf("tenant %s: report %s: %w (%s)", cfg.TenantName, r, res.Err, insights.HintOf(res.Err))
		}
		held[r] = res
		records := 0
		for _, p := range res.Periods() {
			records += res.RecordsIn(p)
		}
		fmt.Fprintf(progress, "backfill: tenant %s: %d/%d %s: %d records\n", cfg.TenantName, i+1, len(reports), r, records)
	}
	return backfill.TenantData{Tenant: tenant, Results: held}, nil
}

func (b *backfillCmd) output(stdout io.Writer) (io.Writer, func() error, error) {
	if b.Output == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(b.Output)
	if err != nil {
		return nil, nil, &settingError{fmt.Errorf("--backfill.output: %w", err)}
	}
	return f, f.Close, nil
}
