// Package source says what a source of one tenant's activity data is and
// what it hands the collector: the points of the families it declares
// (family.go), by report. Each source is a package under it (logs,
// userinsights); package registry lists them. A source never imports the
// collector; the collector turns families into metrics and knows no source.
package source

import (
	"context"
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
	// error; its rows are then of no use.
	Refresh(ctx context.Context, want []insights.Report) Results
}

// Results are the results of one refresh, by report.
type Results map[insights.Report]Result

// Result is one report's points, or the error that failed it.
type Result struct {
	// Points are the values of the report's families in every period the
	// source holds.
	Points []Point
	// Records counts, by period start, what the source holds of the
	// report: Graph's rows, or the logs' counters (report_rows).
	Records map[time.Time]int
	// Apps are the application ids the report saw, with their names.
	Apps map[string]App
	Err  error
}

// CatchingUp is a Source that has more to read than its last refresh
// could (a first start, or the end of an outage): the next refresh
// should come soon rather than a whole interval later.
type CatchingUp interface {
	CatchingUp() bool
}
