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

const (
	tenantMatcher = `tenant=~"$tenant"`
	appMatcher    = `app_id=~"$app"`
	periodStart   = "entra_insights_period_start_timestamp_seconds"
	appInfo       = "entra_insights_app_info"
)

// sel selects metric for the selected tenants, with extra matchers.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(append([]string{tenantMatcher}, matchers...), ", ") + "}"
}

// day evaluated at 00:00 UTC gives the last value of selector during that
// day, today's included.
//
// A series can be there twice: backfilled without the scrape's target
// labels and scraped live with them, both during the day the backfill ended
// (and the month, for monthly metrics). Counts only grow within their
// period, so the larger of the two is the day's value; max without
// (instance, job) keeps it, and so does not double today's bar.
func day(selector string) string {
	return "max without (instance, job) (last_over_time(" + selector + "[1d] offset -1d))"
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
func monthEnds(expr string) string {
	guard := sel(periodStart, `granularity="monthly"`)
	return "(" + expr + ") and on () (day_of_month() == days_in_month() or absent_over_time(" + guard + "[1d] offset -2d))"
}

// withAppName adds the app_name label to expr, which must keep tenant and
// app_id. For history, the name is the one shown during the point's day.
// topk picks one name if an app was renamed within that day, so the join
// never fails on a duplicate.
func withAppName(expr string, history bool) string {
	info := sel(appInfo)
	if history {
		info = day(info)
	}
	return expr + " * on (tenant, app_id) group_left (app_name) topk by (tenant, app_id) (1, " + info + ")"
}

// ratio divides the sum of the selector with extra matchers by its sum
// over all of them, e.g. the share of successes.
func ratio(metric string, part string, matchers ...string) string {
	return sum("", sel(metric, append(slices.Clone(matchers), part)...)) + " / " + sum("", sel(metric, matchers...))
}

// dayRatio is ratio for each day of a daily panel.
func dayRatio(metric string, part string, matchers ...string) string {
	return sum("", day(sel(metric, append(slices.Clone(matchers), part)...))) + " / " + sum("", day(sel(metric, matchers...)))
}

// asOf is the start of the as-of period in milliseconds, as Grafana's time
// units expect.
func asOf(granularity string) string {
	return sel(periodStart, `granularity="`+granularity+`"`) + " * 1000"
}
