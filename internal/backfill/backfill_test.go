package backfill

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

var now = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

func simTenant(t testing.TB, at time.Time, lag bool) TenantData {
	t.Helper()
	results := map[insights.Report]source.Result{}
	for _, r := range insights.AllReports() {
		results[r] = userinsights.ResultOf(r, graphsim.Rows(graphsim.DefaultTenantID, r, at, lag))
	}
	return TenantData{Tenant: collector.Tenant{Name: "demo", TenantID: graphsim.DefaultTenantID, Cloud: "public"}, Results: results}
}

type sample struct {
	series string
	value  float64
	at     time.Time
}

// parse reads the OpenMetrics text back, checking its framing.
func parse(t *testing.T, text string) []sample {
	t.Helper()
	if !strings.HasSuffix(text, "# EOF\n") {
		t.Fatalf("output does not end with # EOF")
	}
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		j := strings.LastIndexByte(line[:i], ' ')
		ts, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad timestamp in %q", line)
		}
		v, err := strconv.ParseFloat(line[j+1:i], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		out = append(out, sample{series: line[:j], value: v, at: time.UnixMilli(int64(ts * 1000)).UTC()})
	}
	return out
}

func write(t *testing.T, tenants []TenantData, opts Options) (string, Stats) {
	t.Helper()
	catalog, err := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	stats, err := Write(&buf, catalog, tenants, opts)
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), stats
}

func TestPlacementAndOrder(t *testing.T) {
	text, stats := write(t, []TenantData{simTenant(t, now, false)}, Options{Step: time.Hour, End: now, Now: now})
	samples := parse(t, text)
	if len(samples) != stats.Samples || stats.Samples == 0 {
		t.Fatalf("parsed %d samples, Write reported %d", len(samples), stats.Samples)
	}
	last := map[string]time.Time{}
	seriesSeen := map[string]bool{}
	for _, s := range samples {
		if !s.at.Before(now) {
			t.Fatalf("sample at %s is not before End %s", s.at, now)
		}
		if s.at.Minute() != 30 || s.at.Second() != 0 {
			t.Fatalf("sample at %s is not at (k+½)·1h from a period start", s.at)
		}
		if prev, ok := last[s.series]; ok && !s.at.After(prev) {
			t.Fatalf("%s: samples out of order (%s after %s)", s.series, s.at, prev)
		}
		last[s.series] = s.at
		seriesSeen[s.series] = true
	}
	if len(seriesSeen) != stats.Series {
		t.Errorf("%d series in the output, Write reported %d", len(seriesSeen), stats.Series)
	}
	// Families are contiguous: a name never reappears after another family.
	seenFamily := map[string]bool{}
	prevName := ""
	for _, s := range samples {
		name := s.series
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		if name != prevName && seenFamily[name] {
			t.Fatalf("family %s is not contiguous", name)
		}
		seenFamily[name], prevName = true, name
	}
}

// TestValuesMirrorServe checks that at any time in a period's window the
// backfilled value equals what serve exposes for that period.
func TestValuesMirrorServe(t *testing.T) {
	tenant := simTenant(t, now, false)
	text, _ := write(t, []TenantData{tenant}, Options{Step: time.Hour, End: now, Now: now})
	samples := parse(t, text)
	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) // no lag: shown during that very day
	want := map[string]float64{}
	for _, s := range catalog.Series("demo", insights.Daily, day, tenant.Results) {
		want[s.Name+renderLabels(s.Labels)] = s.Value
	}
	if len(want) == 0 {
		t.Fatal("no series for the day")
	}
	at := day.Add(12*time.Hour + 30*time.Minute)
	got := map[string]float64{}
	for _, s := range samples {
		if s.at.Equal(at) && strings.HasPrefix(s.series, "entra_insights_daily_") || s.at.Equal(at) && strings.HasPrefix(s.series, "entra_insights_period_start") && strings.Contains(s.series, `"daily"`) {
			got[s.series] = s.value
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s at %s = %v, want %v", k, at, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d daily series at %s, want %d", len(got), at, len(want))
	}
}

// TestLagShiftsWindows: with Graph lagging a day, the newest day's values
// are shown during today, like live.
func TestLagShiftsWindows(t *testing.T) {
	tenant := simTenant(t, now, true) // newest daily factDate = yesterday
	text, _ := write(t, []TenantData{tenant}, Options{Step: time.Hour, End: now, Now: now})
	yesterday := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	todayNoon := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	found := false
	for _, s := range parse(t, text) {
		if s.at.Equal(todayNoon) && strings.HasPrefix(s.series, `entra_insights_period_start_timestamp_seconds{granularity="daily"`) {
			found = true
			if s.value != float64(yesterday.Unix()) {
				t.Errorf("period start shown today = %v, want yesterday %v", s.value, yesterday.Unix())
			}
		}
	}
	if !found {
		t.Error("no daily period_start sample today")
	}
}

func TestDeterministicAndBounded(t *testing.T) {
	tenants := []TenantData{simTenant(t, now, false)}
	start := now.Add(-48 * time.Hour)
	a, sa := write(t, tenants, Options{Step: 6 * time.Hour, Start: start, End: now, Now: now})
	b, _ := write(t, tenants, Options{Step: 6 * time.Hour, Start: start, End: now, Now: now})
	if a != b {
		t.Fatal("two runs over the same data differ")
	}
	for _, s := range parse(t, a) {
		if s.at.Before(start) {
			t.Fatalf("sample at %s before Start %s", s.at, start)
		}
	}
	if sa.Samples == 0 {
		t.Fatal("nothing written in the last 48h")
	}
}

// TestEndInThePastKeepsPlacement: an earlier --backfill.end only cuts the
// output; the values stay on their days.
func TestEndInThePastKeepsPlacement(t *testing.T) {
	tenant := simTenant(t, now, false)
	end := now.AddDate(0, 0, -5)
	text, _ := write(t, []TenantData{tenant}, Options{Step: time.Hour, End: end, Now: now})
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	at := day.Add(10*time.Hour + 30*time.Minute)
	for _, s := range parse(t, text) {
		if !s.at.Before(end) {
			t.Fatalf("sample at %s is not before End %s", s.at, end)
		}
		if s.at.Equal(at) && strings.HasPrefix(s.series, `entra_insights_period_start_timestamp_seconds{granularity="daily"`) && s.value != float64(day.Unix()) {
			t.Errorf("at %s the daily period is %v, want %v (the same day)", at, s.value, day.Unix())
		}
	}
}

func TestRejectsBadStep(t *testing.T) {
	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	if _, err := Write(&bytes.Buffer{}, catalog, nil, Options{End: now, Now: now}); err == nil {
		t.Fatal("zero step accepted")
	}
}

func BenchmarkWriteYearHourly(b *testing.B) {
	tenants := []TenantData{simTenant(b, now, false)}
	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	var stats Stats
	for b.Loop() {
		var err error
		stats, err = Write(discard{}, catalog, tenants, Options{Step: time.Hour, End: now, Now: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(stats.Samples), "samples/op")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestExtraLabels(t *testing.T) {
	labels := []collector.Label{{Name: "job", Value: "entra_insights"}, {Name: "instance", Value: "exporter:9945"}}
	text, _ := write(t, []TenantData{simTenant(t, now, false)}, Options{Step: 6 * time.Hour, End: now, Now: now, Labels: labels})
	for _, s := range parse(t, text) {
		if !strings.Contains(s.series, `instance="exporter:9945",`) || !strings.Contains(s.series, `job="entra_insights"`) {
			t.Fatalf("series %s lacks the extra labels (or they are not sorted in)", s.series)
		}
	}
	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	for _, bad := range [][]collector.Label{{{Name: "tenant", Value: "x"}}, {{Name: "bad-name", Value: "x"}}, {{Name: "__name__", Value: "x"}}} {
		if _, err := Write(&bytes.Buffer{}, catalog, []TenantData{simTenant(t, now, false)}, Options{Step: time.Hour, End: now, Now: now, Labels: bad}); err == nil {
			t.Errorf("label %v accepted", bad)
		}
	}
}

// TestPeriodsOfPointsOnly: a source that gives no Records (the logs) has
// the periods of its points backfilled.
func TestPeriodsOfPointsOnly(t *testing.T) {
	d1, d2 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	daily := insights.Report{Granularity: insights.Daily, Name: insights.Authentications}
	results := map[insights.Report]source.Result{daily: {Points: []source.Point{
		{Family: "authentications", Start: d2, Value: 1}, {Family: "authentications", Start: d1, Value: 2},
		{Family: "authentication_failures", Start: d2, Value: 3},
	}}}
	if got := periods(insights.Daily, results); !slices.EqualFunc(got, []time.Time{d1, d2}, time.Time.Equal) {
		t.Errorf("periods %v, want %s and %s", got, d1, d2)
	}
}
