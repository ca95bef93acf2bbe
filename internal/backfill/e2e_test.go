package backfill_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

var wrote = regexp.MustCompile(`backfill: wrote (\d+) series, (\d+) samples`)

// TestBackfillIntoRealPrometheus is issue 3's proof: backfill --demo,
// promtool create-blocks-from openmetrics, a real Prometheus over those
// blocks that also scrapes serve --demo, and queries that return the
// simulator's rows for 30 days and 12 months with live data continuing
// the same series.
func TestBackfillIntoRealPrometheus(t *testing.T) {
	promtest.Require(t)
	bin := promtest.BuildExporter(t)
	// The reports' 30 days and 12 months: the demo on the userinsights
	// source (the logs source's backfill is what the dashboards' end-to-end
	// test loads).
	addr := promtest.StartExporter(t, bin, "serve", "--demo", "--insights.source=userinsights")

	dir := t.TempDir()
	file := filepath.Join(dir, "history.om")
	cmd := exec.CommandContext(t.Context(), bin, "backfill", "--demo", "--insights.source=userinsights", "--backfill.output="+file,
		"--backfill.label=job="+promtest.JobName, "--backfill.label=instance="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	backfillEnd := time.Now().UTC()
	m := wrote.FindSubmatch(out)
	if m == nil {
		t.Fatalf("backfill did not report what it wrote:\n%s", out)
	}
	series, _ := strconv.Atoi(string(m[1]))
	samples, _ := strconv.Atoi(string(m[2]))
	t.Logf("backfill wrote %d series, %d samples", series, samples)

	dataDir := filepath.Join(dir, "data")
	loaded := promtest.CreateBlocks(t, file, dataDir)
	if loaded != samples {
		t.Fatalf("promtool loaded %d samples, backfill wrote %d: promtool dropped some (out of order or duplicate)", loaded, samples)
	}

	prom := promtest.StartPrometheus(t, promtest.Options{DataDir: dataDir, Targets: []string{addr}, Retention: "400d", ScrapeInterval: "5s"})
	promtest.WaitFor(t, func() bool {
		r, err := prom.Query(t, `entra_insights_tenant_up{tenant="demo"} == 1`, time.Now())
		return err == nil && !r.Empty()
	}, 60*time.Second)
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)

	t.Run("30 daily values equal the simulator's rows", func(t *testing.T) {
		got := rangeValues(t, prom, `sum(last_over_time(entra_insights_daily_active_users{tenant="demo"}[1d] offset -1d))`,
			today.AddDate(0, 0, -29), today, 24*time.Hour)
		if len(got) != 30 {
			t.Fatalf("got %d daily values, want 30: %v", len(got), got)
		}
		for day, v := range got {
			if day.Equal(today) {
				continue // today is partial: checked against live data below
			}
			if want := simSum(insights.Daily, day, now); v != want {
				t.Errorf("%s: %v, want %v from the simulator's rows", day.Format(time.DateOnly), v, want)
			}
		}
		live := instant(t, prom, `sum(entra_insights_daily_active_users{tenant="demo"})`, now)
		if got[today] != live {
			t.Errorf("today's daily bar = %v, want the live value %v", got[today], live)
		}
	})

	t.Run("12 monthly values equal the simulator's rows", func(t *testing.T) {
		thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		got := map[time.Time]float64{}
		monthEnds := rangeValues(t, prom, `sum(last_over_time(entra_insights_monthly_active_users{tenant="demo"}[1d] offset -1d))`+
			` and on() (day_of_month(vector(time())) == days_in_month(vector(time())))`,
			thisMonth.AddDate(-12, 0, 0), today, 24*time.Hour)
		for day, v := range monthEnds {
			got[time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)] = v
		}
		if _, ok := got[thisMonth]; !ok { // the current month has not ended: its value is live
			got[thisMonth] = instant(t, prom, `sum(entra_insights_monthly_active_users{tenant="demo"})`, now)
		}
		if len(got) != 12 {
			t.Fatalf("got %d monthly values, want 12: %v", len(got), got)
		}
		for month, v := range got {
			if month.Equal(thisMonth) {
				continue // partial; equal to live by construction above
			}
			if want := simSum(insights.Monthly, month, now); v != want {
				t.Errorf("%s: %v, want %v from the simulator's rows", month.Format("2006-01"), v, want)
			}
		}
	})

	t.Run("live data continues the same series without a gap", func(t *testing.T) {
		// Backfilled samples are hourly; live ones every 5s. With a 1h
		// window every 5-minute step from 3 hours before the backfill
		// ended until now must see a value.
		start := backfillEnd.Add(-3 * time.Hour).Truncate(5 * time.Minute)
		expr := `count(last_over_time(entra_insights_period_start_timestamp_seconds{tenant="demo",granularity="daily"}[1h]))`
		got := rangeValues(t, prom, expr, start, now, 5*time.Minute)
		for ts := start; !ts.After(now); ts = ts.Add(5 * time.Minute) {
			if got[ts] != 1 {
				t.Errorf("%s: %v series, want exactly 1 (0 is a gap, 2 a seam of two series)", ts.Format(time.RFC3339), got[ts])
			}
		}
		before := labelSets(t, prom, `last_over_time(entra_insights_monthly_active_users{tenant="demo"}[1h])`, backfillEnd.Add(-time.Hour))
		after := labelSets(t, prom, `entra_insights_monthly_active_users{tenant="demo"}`, now)
		if !slices.Equal(before, after) {
			t.Errorf("backfilled and live series differ:\nbackfill: %v\nlive:     %v", before, after)
		}
		for _, counter := range []string{"prometheus_target_scrapes_sample_out_of_order_total", "prometheus_tsdb_out_of_order_samples_total"} {
			if v := instant(t, prom, "sum("+counter+") or vector(0)", now); v != 0 {
				t.Errorf("%s = %v, want 0", counter, v)
			}
		}
	})
}

// simSum is the simulator's total of activeUsers counts for one period.
func simSum(g insights.Granularity, period, now time.Time) float64 {
	var sum int64
	for _, row := range graphsim.Rows(graphsim.DefaultTenantID, insights.Report{Granularity: g, Name: insights.ActiveUsers}, now, false) {
		d := row.FactDate
		start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		if g == insights.Monthly {
			start = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		if start.Equal(period) {
			sum += row.Count
		}
	}
	return float64(sum)
}

// rangeValues runs a range query that returns at most one series and maps
// each step's time to its value.
func rangeValues(t *testing.T, prom *promtest.Prom, expr string, start, end time.Time, step time.Duration) map[time.Time]float64 {
	t.Helper()
	r, err := prom.QueryRange(t, expr, start, end, step)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if len(r.Series) > 1 {
		t.Fatalf("%s: %d series, want at most 1", expr, len(r.Series))
	}
	out := map[time.Time]float64{}
	for _, s := range r.Series {
		for _, p := range s.Samples {
			out[p.T.UTC()] = p.V
		}
	}
	return out
}

func instant(t *testing.T, prom *promtest.Prom, expr string, at time.Time) float64 {
	t.Helper()
	r, err := prom.Query(t, expr, at)
	if err != nil || len(r.Series) != 1 || len(r.Series[0].Samples) != 1 {
		t.Fatalf("%s at %s: want one value, got %+v, %v", expr, at, r, err)
	}
	return r.Series[0].Samples[0].V
}

// labelSets returns the sorted label sets of an instant query's series.
func labelSets(t *testing.T, prom *promtest.Prom, expr string, at time.Time) []string {
	t.Helper()
	r, err := prom.Query(t, expr, at)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var sets []string
	for _, s := range r.Series {
		var kv []string
		for k, v := range s.Labels {
			if k != "__name__" {
				kv = append(kv, fmt.Sprintf("%s=%q", k, v))
			}
		}
		slices.Sort(kv)
		sets = append(sets, strings.Join(kv, ","))
	}
	slices.Sort(sets)
	return sets
}
