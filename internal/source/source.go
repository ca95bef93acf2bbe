// Package source says what a source of one tenant's activity data is and
// what it hands the collector: the points of the families it declares
// (family.go), by report. Each source is a package under it (logs,
// userinsights); package registry lists them. A source never imports the
// collector; the collector turns families into metrics and knows no source.
package source

import (
	"context"
	"slices"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Source produces the reports of one tenant.
type Source interface {
	// Name is the source's name: its --insights.source value and its
	// source label.
	Name() string
	// Reports are the reports the source can produce; the others of the
	// catalog are absent for its tenants, not zero.
	Reports() []insights.Report
	// Refresh reads what is new within ctx and returns the result of every
	// report of want it produces. A report whose read failed carries the
	// error; its points are then of no use.
	Refresh(ctx context.Context, want []insights.Report) Results
}

// Results are the results of one refresh, by report.
type Results map[insights.Report]Result

// Result is one report's points, or the error that failed it.
type Result struct {
	// Points are the values of the report's families in every period the
	// source holds.
	Points []Point
	// Records counts, by period start, what the source read of the report
	// where that is not its points (Graph's rows: report_rows); nil means
	// its points.
	Records map[time.Time]int
	// Apps are the application ids the report saw beyond its points'
	// app_id labels, and the names of all (SeeApp).
	Apps map[string]App
	Err  error
}

// RecordsIn is how many records the result holds of the period starting
// at start: Records', else its points'.
func (r *Result) RecordsIn(start time.Time) int {
	if r.Records != nil {
		return r.Records[start]
	}
	n := 0
	for i := range r.Points {
		if r.Points[i].Start.Equal(start) {
			n++
		}
	}
	return n
}

// Periods are the starts of the periods the result holds records of.
func (r *Result) Periods() []time.Time {
	var out []time.Time
	if r.Records != nil {
		for p, n := range r.Records {
			if n > 0 {
				out = append(out, p)
			}
		}
		return out
	}
	for i := range r.Points {
		if !slices.ContainsFunc(out, r.Points[i].Start.Equal) {
			out = append(out, r.Points[i].Start)
		}
	}
	return out
}

// CatchingUp is a Source that has more to read than its last refresh
// could (a first start, or the end of an outage): the next refresh
// should come soon rather than a whole interval later.
type CatchingUp interface {
	CatchingUp() bool
}
