package dashboards

import (
	"slices"
	"strings"
)

// The PromQL building blocks. The data are gauges that hold Graph's value
// for the current as-of day or month (the day's or month's count so far),
// changing only when the exporter refreshes; there are no sample
// timestamps. So:
//
//   - history comes from *_over_time functions (Prometheus forgets a series
//     five minutes after its last sample), never from rate() on a gauge;
//   - a day's value is its last sample (the count grows during the day);
//   - Grafana aligns a range query's start and end down to a multiple of the
//     step, so with a 1-day step every point sits at 00:00 UTC and the last
//     one is today 00:00: a point must look forward over its day (negative
//     offset), or today would be missing and every bar a day late;
//   - PromQL has no month step: monthly panels use a day step and keep the
//     points on a month's last day, plus the last day with data (the month
//     so far).
//
// Backfilled samples never sit on a period boundary, and a day's last
// sample is the same whether the range is closed (Prometheus 2) or
// left-open (Prometheus 3), so both give the same answer. Current-value
// panels read the gauges as they are: backfilled series end where live data
// begins, more than the 5-minute lookback before any later query.
//
// Every query reads each series once: copies that differ only in the
// configured dedupe labels (instance and job by default) are the same
// tenant's data from two replicas, two scrape jobs, or a backfill and a
// scrape, so max without (…) folds them before anything adds up. Counts
// only grow within their period and timestamps only move forward, so the
// largest copy is the newest.

const (
	tenantMatcher = `tenant=~"$tenant"`
	appMatcher    = `app_id=~"$app"`
	periodStart   = "entra_insights_period_start_timestamp_seconds"
	appInfo       = "entra_insights_app_info"
	tenantInfo    = "entra_insights_tenant_info"
)

// gen builds the queries of one configuration.
type gen struct {
	scope       []string // the selector's matchers, trimmed
	dedupe      string   // "instance, job"
	jobVariable bool     // the scope uses $job
}

func newGen(c Config) (gen, error) {
	if err := c.validate(); err != nil {
		return gen{}, err
	}
	g := gen{dedupe: strings.Join(c.DedupeLabels, ", "), jobVariable: c.jobVariable()}
	for _, m := range c.matchers() {
		g.scope = append(g.scope, strings.TrimSpace(m))
	}
	return g, nil
}

// sel selects metric for the selected tenants within the configured
// scope, with extra matchers.
func (g gen) sel(metric string, matchers ...string) string {
	return metric + g.braces(append([]string{tenantMatcher}, matchers...)...)
}

// braces is the label matchers {…} of the scope and matchers; "" if
// there are none.
func (g gen) braces(matchers ...string) string {
	all := append(slices.Clone(g.scope), matchers...)
	if len(all) == 0 {
		return ""
	}
	return "{" + strings.Join(all, ", ") + "}"
}

// once folds the copies of each series of expr into one.
func (g gen) once(expr string) string {
	return "max without (" + g.dedupe + ") (" + expr + ")"
}

// latest is the current value of each series of metric, once.
func (g gen) latest(metric string, matchers ...string) string {
	return g.once(g.sel(metric, matchers...))
}

// increase is how much the counter grew over window, once per series.
func (g gen) increase(counter, window string) string {
	return g.once("increase(" + g.sel(counter) + "[" + window + "])")
}

// day evaluated at 00:00 UTC gives the last value of selector during that
// day, today's included.
//
// A series can be there twice: backfilled without the scrape's target
// labels and scraped live with them, both during the day the backfill ended
// (and the month, for monthly metrics). Counts only grow within their
// period, so the larger of the two is the day's value; once keeps it, and
// so does not double today's bar.
func (g gen) day(selector string) string {
	return g.once("last_over_time(" + selector + "[1d] offset -1d)")
}

// sum adds up expr over every label but by (comma-separated, may be empty).
func sum(by, expr string) string {
	if by == "" {
		return "sum(" + expr + ")"
	}
	return "sum by (" + by + ") (" + expr + ")"
}

// monthEnds keeps the daily points of expr that show a whole month — those
// on a month's last day — and the last day with data (the month so far:
// nothing follows it). The guard is the monthly period gauge, which exists
// whenever the exporter has monthly data.
func (g gen) monthEnds(expr string) string {
	guard := g.sel(periodStart, `granularity="monthly"`)
	return "(" + expr + ") and on () (day_of_month() == days_in_month() or absent_over_time(" + guard + "[1d] offset -2d))"
}

// withAppName adds the app_name label to expr, which must keep tenant and
// app_id. For history, the name is the one shown during the point's day.
// topk picks one name if an app was renamed within that day, so the join
// never fails on a duplicate.
func (g gen) withAppName(expr string, history bool) string {
	info := g.sel(appInfo)
	if history {
		info = g.day(info)
	}
	return expr + " * on (tenant, app_id) group_left (app_name) topk by (tenant, app_id) (1, " + info + ")"
}

// ratio divides the sum of the selector with extra matchers by its sum
// over all of them, e.g. the share of successes.
func (g gen) ratio(metric string, part string, matchers ...string) string {
	return sum("", g.latest(metric, append(slices.Clone(matchers), part)...)) + " / " + sum("", g.latest(metric, matchers...))
}

// dayRatio is ratio for each day of a daily panel.
func (g gen) dayRatio(metric string, part string, matchers ...string) string {
	return sum("", g.day(g.sel(metric, append(slices.Clone(matchers), part)...))) + " / " + sum("", g.day(g.sel(metric, matchers...)))
}

// asOf is the start of the as-of period in milliseconds, as Grafana's time
// units expect.
func (g gen) asOf(granularity string) string {
	return g.latest(periodStart, `granularity="`+granularity+`"`) + " * 1000"
}
