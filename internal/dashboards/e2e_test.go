package dashboards

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

const (
	// scrapeInterval is how often the test's Prometheus servers scrape the
	// exporter and evaluate the rules.
	scrapeInterval = "15s"
	// dataTimeout bounds the wait for data: a minute-step health panel
	// needs two scrapes before its last whole minute.
	dataTimeout = 3 * time.Minute
	// replicaJob is the second scrape job of the exporter.
	replicaJob = "entra_insights_replica"
)

// TestEndToEnd runs every dashboard query and rule against real
// Prometheus servers fed by the demo exporter, once per source, as a user
// would set it up: one holds the backfilled history of `backfill --demo` and
// scrapes `serve --demo` live (with the rules loaded); another scrapes it
// live only, twice (as two jobs), for the current-value panels — what a new
// user sees first — and to check that a tenant exported twice counts once.
//
// Every panel must show data under the source that feeds it: under logs
// (the default source) every panel but those of the userinsights-only row;
// under userinsights every panel that reads no logs-only metric (see
// fedBy).
func TestEndToEnd(t *testing.T) {
	promtest.Require(t)
	if testing.Short() && os.Getenv(promtest.E2EEnv) != "required" {
		t.Skip("end-to-end test takes minutes; skipped with -short")
	}
	bin := promtest.BuildExporter(t)
	demos := []demo{startDemo(t, bin, "logs"), startDemo(t, bin, "userinsights")}
	deadline := time.Now().Add(dataTimeout)

	targets, err := AllTargets()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("metric names exist", func(t *testing.T) {
		scraped := map[string]map[string]bool{}
		for _, d := range demos {
			scraped[d.source] = exposedNames(t, d.exporter)
		}
		// A metric of rare events, such as the day's failed sign-up
		// steps, has no series until the first one happens: the
		// backfilled history shows that the source exports it.
		exported := func(d demo, name string) bool {
			if scraped[d.source][name] {
				return true
			}
			res, err := d.history.Query(t, "count(last_over_time("+name+"[400d]))", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return !res.Empty()
		}
		// check that the sources export what they should of names, and,
		// so that the lists of one source's metrics stay true, nothing
		// else.
		check := func(user string, names []string) {
			for _, name := range names {
				for _, d := range demos {
					switch want, got := exports(d.source, name), exported(d, name); {
					case want && !got:
						t.Errorf("%s uses %s, which the %s source does not export", user, name, d.source)
					case got && !want:
						t.Errorf("%s uses %s, listed as not from the %s source, which exports it", user, name, d.source)
					}
				}
			}
		}
		for _, tg := range targets {
			check(tg.String(), metricNames(t, tg.Expr))
		}
		for rule, selectors := range ruleSelectors(t) {
			for _, s := range selectors {
				check("rule "+rule, metricNames(t, s))
			}
		}
	})

	for _, d := range demos {
		t.Run(d.source, func(t *testing.T) {
			t.Run("tenant on the source", func(t *testing.T) {
				// tenant_up comes with the first refresh's data.
				info := tenantInfo + `{source="` + d.source + `"} and on (tenant) entra_insights_tenant_up`
				if !waitForData(t, deadline, func() (promtest.Result, error) { return d.live.Query(t, info, time.Now()) }) {
					t.Errorf("the demo exports no data for a tenant on the source: no %s", info)
				}
			})

			t.Run("dashboards with history", func(t *testing.T) {
				for _, tg := range targets {
					if fedBy(t, d.source, tg) {
						t.Run(tg.String(), func(t *testing.T) { runTarget(t, d.history, tg, deadline) })
					}
				}
			})

			t.Run("current values with live data only", func(t *testing.T) {
				for _, tg := range targets {
					if tg.CurrentValue() && fedBy(t, d.source, tg) {
						t.Run(tg.String(), func(t *testing.T) { runTarget(t, d.live, tg, deadline) })
					}
				}
			})

			t.Run("two jobs count once", func(t *testing.T) {
				for _, tg := range targets {
					if fedBy(t, d.source, tg) {
						t.Run(tg.String(), func(t *testing.T) {
							if absent := liveAbsent(t, d.live, tg); len(absent) > 0 {
								// The history test shows that the panel has data.
								t.Skipf("nothing to compare: no live series of %s (no such event in the current period yet, or not exported: see the other subtests)", absent)
							}
							compareJobs(t, d.live, tg, deadline)
						})
					}
				}
			})

			t.Run("rules", func(t *testing.T) {
				for _, r := range loadRules(t) {
					t.Run(r.Name(), func(t *testing.T) {
						// An alert need not fire, but it must evaluate...
						if _, err := d.history.Query(t, r.Expr, time.Now()); err != nil {
							t.Fatalf("%v\n%s", err, r.Expr)
						}
					})
				}
				// ...and everything it reads must have data, if the
				// source exports it.
				for rule, selectors := range ruleSelectors(t) {
					for _, s := range selectors {
						if !feeds(t, d.source, s) {
							continue
						}
						t.Run(rule+"/"+s, func(t *testing.T) {
							if !waitForData(t, deadline, func() (promtest.Result, error) { return d.history.Query(t, s, time.Now()) }) {
								t.Errorf("rule %s: %s has no data", rule, s)
							}
						})
					}
				}
			})
		})
	}
}

// demo is the demo exporter of one source and the Prometheus servers that
// scrape it.
type demo struct {
	source   string
	exporter string         // serve --demo
	history  *promtest.Prom // the backfill of backfill --demo, scraping the exporter, with the rules
	live     *promtest.Prom // scraping the exporter only, twice: as promtest.JobName and as replicaJob
}

// startDemo backfills and starts the demo of source (logs: the default,
// so without --insights.source) and its Prometheus servers.
func startDemo(t *testing.T, bin, source string) demo {
	t.Helper()
	var sourceFlag []string
	if source != "logs" {
		sourceFlag = []string{"--insights.source=" + source}
	}
	dir := t.TempDir()
	history := filepath.Join(dir, "backfill.om")
	wrote := backfill(t, bin, history, sourceFlag...)
	data := filepath.Join(dir, "data")
	if loaded := promtest.CreateBlocks(t, history, data); loaded != wrote {
		t.Errorf("%s: promtool loaded %d of the %d backfilled samples (out of order or duplicates are dropped)", source, loaded, wrote)
	}
	os.Remove(history) // hundreds of MB, no longer needed

	exporter := promtest.StartExporter(t, bin, append([]string{"serve", "--demo"}, sourceFlag...)...)
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	return demo{
		source:   source,
		exporter: exporter,
		history: promtest.StartPrometheus(t, promtest.Options{
			DataDir: data, Targets: []string{exporter}, Retention: "400d",
			ScrapeInterval: scrapeInterval, RuleFiles: []string{rules},
		}),
		// The second job scrapes the exporter as another instance
		// (localhost instead of 127.0.0.1): every series is there twice,
		// as with two replicas of one exporter.
		live: promtest.StartPrometheus(t, promtest.Options{
			Targets: []string{exporter}, ScrapeInterval: scrapeInterval,
			ExtraJobs: []promtest.Job{{Name: replicaJob, Targets: []string{strings.Replace(exporter, "127.0.0.1", "localhost", 1)}}},
		}),
	}
}

// backfill runs `backfill --demo` with args into file and returns the
// number of samples it says it wrote.
func backfill(t *testing.T, bin, file string, args ...string) int {
	t.Helper()
	args = append([]string{"backfill", "--demo", "--backfill.output=" + file}, args...)
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`wrote \d+ series, (\d+) samples`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("backfill did not report its sample count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// runTarget runs a target as Grafana would, now, and fails the test if the
// query errors, or returns no data before the deadline.
func runTarget(t *testing.T, p *promtest.Prom, tg Target, deadline time.Time) {
	expr := expand(tg.Expr)
	query := func() (promtest.Result, error) {
		now := time.Now()
		if tg.Instant {
			return p.Query(t, expr, now)
		}
		w, err := window(tg, now)
		if err != nil {
			t.Fatalf("%s: %v", tg, err)
		}
		return p.QueryRange(t, expr, w.start, w.end, w.step)
	}
	if !waitForData(t, deadline, query) {
		t.Errorf("%s returned no data:\n%s", tg, expr)
	}
}

// compareJobs runs tg with the job variable on each job alone, on both
// jobs (as Grafana sends two selected values) and on All, and fails unless
// reading both gives, at every time, a value between the two jobs' own
// values: a tenant exported twice counts once. Equality with one job is
// not the test: the jobs scrape at different moments, so after each
// refresh one of them shows the new value a little before the other, and
// a range query keeps that moment for as long as it is in its window. A
// double count would give the sum, outside the bounds. increase()
// extrapolates from each job's own scrape times, so counters are allowed
// a little slack, never the factor 2 of a double count. It retries until
// both jobs have data and the same series.
func compareJobs(t *testing.T, p *promtest.Prom, tg Target, deadline time.Time) {
	run := func(job string, now time.Time) promtest.Result {
		values := map[string]string{}
		if job != "" {
			values["job"] = job
		}
		expr := expandWith(tg.Expr, values)
		var (
			res promtest.Result
			err error
		)
		if tg.Instant {
			res, err = p.Query(t, expr, now)
		} else {
			w, werr := window(tg, now)
			if werr != nil {
				t.Fatalf("%s: %v", tg, werr)
			}
			res, err = p.QueryRange(t, expr, w.start, w.end, w.step)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", tg, err, expr)
		}
		return res
	}
	tolerance := 1e-9
	if strings.Contains(tg.Expr, "increase(") {
		tolerance = 0.25
	}
	var diff string
	for {
		now := time.Now() // one evaluation time: time() is in some queries
		first, second := run(promtest.JobName, now), run(replicaJob, now)
		diff = ""
		if first.Empty() || second.Empty() {
			diff = "no data for one of the jobs"
		}
		for _, job := range []string{"(" + promtest.JobName + "|" + replicaJob + ")", ""} {
			if d := boundsDiff(first, second, run(job, now), tolerance); d != "" && diff == "" {
				diff = "job " + cmp.Or(job, "All") + ": " + d
			}
		}
		if diff == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if diff != "" {
		t.Errorf("%s: reading both jobs is not reading one: %s\n%s", tg, diff, tg.Expr)
	}
}

// boundsDiff describes how got, read from both jobs, is not a reading of
// one job ("" if it is): it has the series of a and b (which must agree),
// a sample wherever either has one, and each value lies between theirs
// within a relative tolerance.
func boundsDiff(a, b, got promtest.Result, tolerance float64) string {
	type samples map[int64]float64
	index := func(r promtest.Result) map[string]samples {
		m := map[string]samples{}
		for _, s := range r.Series {
			byTime := samples{}
			for _, p := range s.Samples {
				byTime[p.T.UnixMilli()] = p.V
			}
			m[fmt.Sprint(s.Labels)] = byTime // fmt prints maps sorted by key
		}
		return m
	}
	ia, ib, ig := index(a), index(b), index(got)
	for key := range ia {
		if _, ok := ib[key]; !ok {
			return "series " + key + " only in the first job"
		}
	}
	if len(ia) != len(ib) {
		return fmt.Sprintf("the jobs have %d and %d series", len(ia), len(ib))
	}
	if len(ig) != len(ia) {
		return fmt.Sprintf("%d series, want %d", len(ig), len(ia))
	}
	for _, key := range slices.Sorted(maps.Keys(ia)) {
		gs, ok := ig[key]
		if !ok {
			return "no series " + key
		}
		for _, ms := range slices.Sorted(maps.Keys(gs)) {
			va, okA := ia[key][ms]
			vb, okB := ib[key][ms]
			switch {
			case !okA && !okB:
				return fmt.Sprintf("%s at %s: a sample neither job has", key, time.UnixMilli(ms).UTC().Format(time.RFC3339))
			case !okA:
				va = vb
			case !okB:
				vb = va
			}
			lo, hi := math.Min(va, vb), math.Max(va, vb)
			v := gs[ms]
			if v < lo-tolerance*math.Max(math.Abs(lo), 1) || v > hi+tolerance*math.Max(math.Abs(hi), 1) {
				return fmt.Sprintf("%s at %s: %v, want between %v and %v", key, time.UnixMilli(ms).UTC().Format(time.RFC3339), v, lo, hi)
			}
		}
		for i, job := range []samples{ia[key], ib[key]} {
			for _, ms := range slices.Sorted(maps.Keys(job)) {
				if _, ok := gs[ms]; !ok {
					return fmt.Sprintf("%s at %s: no sample, but job %d has one", key, time.UnixMilli(ms).UTC().Format(time.RFC3339), i+1)
				}
			}
		}
	}
	return ""
}

// liveAbsent returns the metrics tg reads that p, scraping the exporter
// live only, has had no series of in the last 10 minutes: a metric of rare
// events, such as the day's failed sign-up steps, has none until the first
// one happens.
func liveAbsent(t *testing.T, p *promtest.Prom, tg Target) []string {
	t.Helper()
	var absent []string
	for _, name := range metricNames(t, tg.Expr) {
		res, err := p.Query(t, "count(last_over_time("+name+"[10m]))", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Empty() {
			absent = append(absent, name)
		}
	}
	return absent
}

// waitForData polls query until it returns data (true) or the deadline
// passes (false). A query error fails the test at once.
func waitForData(t *testing.T, deadline time.Time, query func() (promtest.Result, error)) bool {
	t.Helper()
	for {
		res, err := query()
		if err != nil {
			t.Fatalf("query failed: %v", err)
		}
		if !res.Empty() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-t.Context().Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// exposedNames scrapes the exporter, once its first refresh is in, and
// returns its metric names.
func exposedNames(t *testing.T, addr string) map[string]bool {
	t.Helper()
	for deadline := time.Now().Add(dataTimeout); ; time.Sleep(200 * time.Millisecond) {
		names := scrapeNames(t, addr)
		if names["entra_insights_tenant_up"] || time.Now().After(deadline) {
			return names
		}
	}
}

// scrapeNames scrapes the exporter and returns its metric names.
func scrapeNames(t *testing.T, addr string) map[string]bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return promtest.SampleNames(string(body))
}

// metricNames returns the metric names an expression selects, except
// recorded series (level:metric:operation) and name-less selectors.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	p, err := promtest.ParsePromQL(expr)
	if err != nil {
		t.Fatalf("%v: %s", err, expr)
	}
	var names []string
	for _, s := range p.Selectors {
		if s.Metric != "" && !strings.Contains(s.Metric, ":") && !slices.Contains(names, s.Metric) {
			names = append(names, s.Metric)
		}
	}
	return names
}
