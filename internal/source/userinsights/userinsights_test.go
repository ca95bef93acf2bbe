package userinsights

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// fetcher answers every report with rows or err.
type fetcher struct {
	rows map[insights.Report][]insights.Row
	err  error
}

func (f fetcher) Fetch(_ context.Context, r insights.Report) ([]insights.Row, error) {
	return f.rows[r], f.err
}

// TestRetirementVerdict: a refresh in which every report is empty or
// retired fails them all as retired, with one log line; one report with
// rows, another failure, or a refresh cut short is no verdict.
func TestRetirementVerdict(t *testing.T) {
	active := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	signUps := insights.Report{Granularity: insights.Daily, Name: insights.SignUps}
	want := []insights.Report{active, signUps}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name    string
		ctx     context.Context
		f       fetcher
		retired bool
	}{
		{"all empty", context.Background(), fetcher{}, true},
		{"all not found", context.Background(), fetcher{err: &insights.Error{Reason: insights.ReasonRetired, Status: 404}}, true},
		{"one with rows", context.Background(), fetcher{rows: map[insights.Report][]insights.Row{active: {{FactDate: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Count: 1}}}}, false},
		{"forbidden", context.Background(), fetcher{err: &insights.Error{Reason: insights.ReasonForbidden, Status: 403}}, false},
		{"cut short", canceled, fetcher{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			results := New(tt.f, slog.New(slog.NewTextHandler(&logs, nil))).Refresh(tt.ctx, want)
			if len(results) != len(want) {
				t.Fatalf("%d results, want %d", len(results), len(want))
			}
			for _, r := range want {
				if got := insights.ReasonOf(results[r].Err) == insights.ReasonRetired; got != tt.retired {
					t.Errorf("%s: %v, retired %v; want retired %v", r, results[r].Err, got, tt.retired)
				}
			}
			if n := strings.Count(logs.String(), "31 August 2026"); n != map[bool]int{true: 1}[tt.retired] {
				t.Errorf("%d retirement log lines:\n%s", n, logs.String())
			}
		})
	}
}
