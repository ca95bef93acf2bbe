package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file computes what Grafana sends to Prometheus for a target, so the
// tests can run the dashboards' queries as Grafana would.

// expand substitutes the dashboard variables of expr with their default
// "All" selection, whose value is the variables' allValue. Grafana's own
// $__ variables are not used by the dashboards (the lint test checks it).
func expand(expr string) string {
	return expandWith(expr, nil)
}

// expandWith is expand with the given values for some variables, e.g. a
// regex of the selected jobs for "job".
func expandWith(expr string, values map[string]string) string {
	var pairs []string
	for _, name := range []string{"job", "tenant", "app"} {
		v, ok := values[name]
		if !ok {
			v = ".*"
		}
		pairs = append(pairs, "$"+name, v)
	}
	return strings.NewReplacer(pairs...).Replace(expr)
}

// queryWindow is the time range and step of a range query.
type queryWindow struct {
	start, end time.Time
	step       time.Duration
}

// window computes the range query Grafana sends for t at now: the range
// from t.From to t.To, stepped by the panel's interval, with start and end
// aligned down to a multiple of the step (in UTC, the dashboards' time
// zone). The lint test checks that range/maxDataPoints stays below the
// interval, so Grafana's step is the interval itself.
func window(t Target, now time.Time) (queryWindow, error) {
	from, err := relativeTime(t.From, now)
	if err != nil {
		return queryWindow{}, err
	}
	to, err := relativeTime(t.To, now)
	if err != nil {
		return queryWindow{}, err
	}
	step, err := grafanaDuration(t.Interval)
	if err != nil {
		return queryWindow{}, fmt.Errorf("interval: %w", err)
	}
	align := func(t time.Time) time.Time {
		return time.UnixMilli(t.UnixMilli() - t.UnixMilli()%step.Milliseconds()).UTC()
	}
	return queryWindow{start: align(from), end: align(to), step: step}, nil
}

var relativePattern = regexp.MustCompile(`^now(?:-(\d+)([smhdwMy]))?$`)

// relativeTime resolves Grafana's "now" and "now-<n><unit>". Months and
// years are calendar units, as in Grafana.
func relativeTime(s string, now time.Time) (time.Time, error) {
	m := relativePattern.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("unsupported relative time %q", s)
	}
	if m[1] == "" {
		return now, nil
	}
	n, _ := strconv.Atoi(m[1])
	switch m[2] {
	case "M":
		return now.AddDate(0, -n, 0), nil
	case "y":
		return now.AddDate(-n, 0, 0), nil
	}
	d, err := grafanaDuration(m[1] + m[2])
	return now.Add(-d), err
}

var durationPattern = regexp.MustCompile(`^(\d+)([smhdw])$`)

// grafanaDuration parses an interval such as "15s", "1m" or "1d".
func grafanaDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("unsupported interval %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
	}[m[2]]
	return time.Duration(n) * unit, nil
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 15, 13, 45, 30, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name   string
		target Target
		want   queryWindow
	}{
		{
			name:   "30 days by day: aligned to 00:00 UTC, ending today",
			target: Target{From: "now-30d", To: "now", Interval: "1d"},
			want: queryWindow{
				start: time.Date(2026, 2, 13, 0, 0, 0, 0, time.UTC),
				end:   time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC),
				step:  day,
			},
		},
		{
			name:   "a calendar year",
			target: Target{From: "now-1y", To: "now", Interval: "1d"},
			want: queryWindow{
				start: time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC),
				end:   time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC),
				step:  day,
			},
		},
		{
			name:   "6 hours by minute",
			target: Target{From: "now-6h", To: "now", Interval: "1m"},
			want: queryWindow{
				start: time.Date(2026, 3, 15, 7, 45, 0, 0, time.UTC),
				end:   time.Date(2026, 3, 15, 13, 45, 0, 0, time.UTC),
				step:  time.Minute,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := window(tt.target, now)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("window = %v .. %v step %v, want %v .. %v step %v",
					got.start, got.end, got.step, tt.want.start, tt.want.end, tt.want.step)
			}
		})
	}
}

func TestWindowRejects(t *testing.T) {
	now := time.Now()
	for _, target := range []Target{
		{From: "now-30d", To: "now"},                    // no interval
		{From: "now-30d", To: "now", Interval: "1M"},    // months are not fixed steps
		{From: "now/d", To: "now", Interval: "1d"},      // rounding is not supported
		{From: "2026-01-01", To: "now", Interval: "1d"}, // absolute
	} {
		if _, err := window(target, now); err == nil {
			t.Errorf("window(%+v) succeeded, want an error", target)
		}
	}
}

func TestExpand(t *testing.T) {
	got := expand(`m{job=~"$job", tenant=~"$tenant", app_id=~"$app"}`)
	if want := `m{job=~".*", tenant=~".*", app_id=~".*"}`; got != want {
		t.Errorf("expand = %s, want %s", got, want)
	}
	got = expandWith(`m{job=~"$job", tenant=~"$tenant"}`, map[string]string{"job": "a"})
	if want := `m{job=~"a", tenant=~".*"}`; got != want {
		t.Errorf("expandWith = %s, want %s", got, want)
	}
}
