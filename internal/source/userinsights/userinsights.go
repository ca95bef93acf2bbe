// Package userinsights is the userinsights source: it reads Graph's
// userInsights reports (beta /reports/userInsights), which Microsoft
// retired on 31 August 2026, for the tenants where Graph still answers.
package userinsights

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// Fetcher reads one report of the tenant (*graph.Client).
type Fetcher interface {
	Fetch(ctx context.Context, r insights.Report) ([]insights.Row, error)
}

// workers bounds the reports fetched at once: enough that a report stalled
// until the refresh deadline does not hold up the others, few enough to
// stay polite to Graph (the request budget paces them anyway).
const workers = 4

// RetiredHint is the fix for a retired userInsights API.
const RetiredHint = "use the logs source (--insights.source=logs, the default)"

// Source reads the userInsights reports of one tenant.
type Source struct {
	fetcher Fetcher
	logger  *slog.Logger
}

var _ source.Source = (*Source)(nil)

// New returns the source of the tenant f reads; logger gets the one line
// of a refresh that finds the API retired (nil discards).
func New(f Fetcher, logger *slog.Logger) *Source {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{fetcher: f, logger: logger}
}

// Name is insights.SourceUserInsights.
func (s *Source) Name() string { return insights.SourceUserInsights }

// Reports are Graph's userInsights reports.
func (s *Source) Reports() []insights.Report { return insights.AllReports() }

// Refresh fetches every report of want (FetchAll). A refresh in which
// every report is empty or not found is Microsoft's retirement of the API,
// not a quiet tenant: each report then fails as retired.
func (s *Source) Refresh(ctx context.Context, want []insights.Report) source.Results {
	results := FetchAll(ctx, s.fetcher, want)
	if ctx.Err() == nil && retired(results) {
		s.logger.Error("Microsoft retired User Insights on 31 August 2026: every userInsights report is empty or not found;" +
			" switch this tenant to the logs source (--insights.source=logs, or source: logs in the config file)")
		for r, res := range results {
			results[r] = source.Result{Err: &insights.Error{Reason: insights.ReasonRetired, Hint: RetiredHint, Err: res.Err}}
		}
	}
	return results
}

// FetchAll fetches every report of want from f, up to workers at once,
// and maps each into its families.
func FetchAll(ctx context.Context, f Fetcher, want []insights.Report) source.Results {
	results := make([]source.Result, len(want))
	var next atomic.Int64 // index of the next report to fetch
	var wg sync.WaitGroup
	for range min(workers, len(want)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(want); i = int(next.Add(1) - 1) {
				results[i] = fetch(ctx, f, want[i])
			}
		})
	}
	wg.Wait()
	out := make(source.Results, len(want))
	for i, r := range want {
		out[r] = results[i]
	}
	return out
}

// fetch reads one report, or fails at once when the refresh has already
// run out of time: a report that ignored its context must not stretch the
// refresh further.
func fetch(ctx context.Context, f Fetcher, r insights.Report) source.Result {
	if err := ctx.Err(); err != nil {
		return source.Result{Err: err}
	}
	rows, err := f.Fetch(ctx, r)
	if err != nil {
		return source.Result{Err: err}
	}
	return ResultOf(r, rows)
}

// retired reports whether a refresh found the API retired: every report
// empty (no row of any period), or failing as retired (404/410/400 resource not found), and at
// least one of them retired or all of them answered.
func retired(results source.Results) bool {
	for _, r := range results {
		if r.Err != nil && insights.ReasonOf(r.Err) != insights.ReasonRetired || r.Err == nil && len(r.Records) > 0 {
			return false
		}
	}
	return len(results) > 0
}
