package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// The test harness. Every test drives the exporter through run(), the
// command's entry point, as main does: in-process with launch (start, for
// a server tests reach only over TLS), or in a child process with
// startChild when the test sends real signals, or synchronously with
// runCLI for a command that ends by itself. Both servers share one
// command line (serveArgs), one way to scrape and parse /metrics
// (endpoint), one poller (waitFor) and the accessors below it.
//
// Each in-process exporter's goroutines carry a pprof label, so a test
// can count exactly the goroutines one exporter owns while others run
// beside it.

// serveArgs is the command line of a test exporter. It listens on a
// port the kernel picks and logs (awaitListening): a port chosen before
// the start could be taken meanwhile by a test running beside it.
func serveArgs(t *testing.T, args []string) []string {
	t.Helper()
	return append([]string{"serve", "--web.listen-address=127.0.0.1:0"}, testDefaults(t, args)...)
}

// testDefaults adds to a test exporter's args what a test must not
// inherit from the real defaults: the state file in the package's
// directory, and the logs source for the tests written for the reports
// (the logs tests ask for it).
func testDefaults(t *testing.T, args []string) []string {
	t.Helper()
	args = slices.Clone(args)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--storage.path=") || a == "--demo" }) {
		args = append(args, "--storage.path="+filepath.Join(t.TempDir(), "state.db"))
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--insights.source=") || a == "--demo" }) {
		args = append(args, "--insights.source=userinsights")
	}
	return args
}

// runCLI runs the command in-process to its end and returns its exit
// code and output.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr, nil)
	return code, stdout.String(), stderr.String()
}

// endpoint is where an exporter under test listens: what the in-process
// and the child-process exporter share to be scraped.
type endpoint struct {
	addr  string
	label string // names the exporter in messages and labels its goroutines

	slowest atomic.Int64 // the slowest scrapeFast, in nanoseconds
}

// instance is a serve command running in-process under a pprof label.
type instance struct {
	endpoint
	stdout *promtest.LockedBuffer
	stderr *promtest.LockedBuffer
	done   chan int
	cancel context.CancelFunc
	hup    chan os.Signal // what main's SIGHUP handler delivers

	stopOnce sync.Once
	code     int
}

// launch runs `serve` with args and waits until it serves HTTP
// (/-/healthy; /-/ready waits for the first refreshes, which some tests
// hold up on purpose). It stops at test cleanup if the test did not, and
// the test fails unless it exited 0.
func launch(t *testing.T, args ...string) *instance {
	t.Helper()
	in := start(t, args...)
	waitFor(t, 30*time.Second, in.label+" serving", func() bool {
		in.checkRunning(t)
		_, err := getOK(noKeepAlive, in.url("/-/healthy"))
		return err == nil
	})
	return in
}

// start runs `serve` with args, its goroutines labelled, and returns once
// it listens. It stops at test cleanup if the test did not, and the test
// fails unless it exited 0.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	in := &instance{endpoint: endpoint{label: fmt.Sprintf("%s#%d", t.Name(), launches.Add(1))},
		stdout: &promtest.LockedBuffer{}, stderr: &promtest.LockedBuffer{}, done: make(chan int, 1), cancel: cancel, hup: make(chan os.Signal, 1)}
	args = serveArgs(t, args)
	pprof.Do(ctx, pprof.Labels(goroutineLabel, in.label), func(ctx context.Context) {
		go func() { in.done <- run(ctx, args, in.stdout, in.stderr, in.hup) }()
	})
	t.Cleanup(func() {
		if code := in.stop(t); code != 0 {
			t.Errorf("%s exited %d", in.label, code)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", in.label, in.stderr)
		}
	})
	in.addr = awaitListening(t, in.label, in.stderr, in.exited)
	if in.addr == "" {
		t.Fatalf("%s exited early with %d; stderr:\n%s", in.label, in.code, in.stderr)
	}
	return in
}

// launches numbers the exporters a test run starts, so that each has a
// label of its own.
var launches atomic.Int64

// listeningOn is the line exporter-toolkit logs once it listens.
var listeningOn = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// awaitListening waits until log says where the exporter labelled label
// listens, and returns that address; "" if exited reports first that the
// exporter has ended.
func awaitListening(t *testing.T, label string, log *promtest.LockedBuffer, exited func() bool) string {
	t.Helper()
	var addr string
	waitFor(t, 30*time.Second, label+" listening", func() bool {
		if m := listeningOn.FindStringSubmatch(log.String()); m != nil {
			addr = m[1]
			return true
		}
		return exited()
	})
	return addr
}

// exited reports whether the instance has ended, its code in in.code.
func (in *instance) exited() bool {
	select {
	case code := <-in.done:
		in.stopOnce.Do(func() { in.code = code })
		return true
	default:
		return false
	}
}

// checkRunning fails the test at once if the instance has exited.
func (in *instance) checkRunning(t *testing.T) {
	t.Helper()
	if in.exited() {
		t.Fatalf("%s exited early with %d; stderr:\n%s", in.label, in.code, in.stderr)
	}
}

// stop cancels the instance (what SIGTERM does in main) and returns its
// exit code; it fails the test if the exporter does not end within
// stopTimeout. Later calls return the first result.
func (in *instance) stop(t *testing.T) int {
	t.Helper()
	in.stopOnce.Do(func() {
		in.cancel()
		select {
		case in.code = <-in.done:
		case <-time.After(stopTimeout):
			in.code = -1
			t.Errorf("%s did not stop within %s after cancel", in.label, stopTimeout)
		}
	})
	return in.code
}

// stopTimeout bounds a graceful shutdown (issue 5: a bounded time).
const stopTimeout = 15 * time.Second

// runMainEnv makes the test binary run main() instead of the tests, so a
// test can start the real command in a child process and signal it.
const runMainEnv = "ENTRA_INSIGHTS_TEST_RUN_MAIN"

// child is the real command (this test binary running main) in a child
// process: for the tests that send it signals, and for those that give
// it credentials in its environment, which t.Setenv would give to every
// test running beside them.
type child struct {
	endpoint
	cmd    *exec.Cmd
	stdout *promtest.LockedBuffer
	stderr *promtest.LockedBuffer
	exited chan struct{} // closed when the process has ended, with err
	err    error
}

// startChild starts `serve` with args in a child process and returns
// once it listens; spawnChild does not wait.
func startChild(t *testing.T, env map[string]string, args ...string) *child {
	t.Helper()
	c := spawnChild(t, env, args...)
	c.addr = awaitListening(t, c.label, c.stderr, func() bool { return !c.running() })
	if c.addr == "" {
		t.Fatalf("%s exited early: %v; stderr:\n%s", c.label, c.err, c.stderr)
	}
	return c
}

// spawnChild starts `serve` with args in a child process and returns at
// once, before it listens (so c.addr is unset). At test cleanup it gets
// SIGTERM if still running, and the test fails unless it exits 0 within
// stopTimeout. The child's environment is the test's with none of
// azidentity's variables but those in env.
func spawnChild(t *testing.T, env map[string]string, args ...string) *child {
	t.Helper()
	c := &child{endpoint: endpoint{label: fmt.Sprintf("%s#%d (child)", t.Name(), launches.Add(1))},
		stdout: &promtest.LockedBuffer{}, stderr: &promtest.LockedBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], serveArgs(t, args)...)
	c.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	for _, k := range azureEnv {
		c.cmd.Env = append(c.cmd.Env, k+"=") // the last value of a key wins
	}
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		if c.running() {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.exited:
				if c.err != nil {
					t.Errorf("%s ended with %v after SIGTERM, want exit 0", c.label, c.err)
				}
			case <-time.After(stopTimeout):
				t.Errorf("%s did not stop within %s of SIGTERM", c.label, stopTimeout)
				_ = c.cmd.Process.Kill()
				<-c.exited
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", c.label, c.stderr)
		}
	})
	return c
}

// azureEnv are azidentity's variables, which the exporter reads too.
var azureEnv = []string{azconf.EnvTenantID, azconf.EnvClientID, azconf.EnvClientSecret, azconf.EnvCertificatePath,
	azconf.EnvCertificatePassword, azconf.EnvFederatedTokenFile, azconf.EnvAuthorityHost}

// clearAzureEnv unsets azidentity's variables for the test, so what the
// machine has does not leak into it. The test cannot be parallel.
func clearAzureEnv(t *testing.T) {
	t.Helper()
	for _, k := range azureEnv {
		t.Setenv(k, "")
	}
}

// signal sends sig to the child.
func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, c.label, err)
	}
}

// wait waits at most timeout for the child to end and returns how it
// ended (nil for exit 0); the test fails if it does not end.
func (c *child) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-c.exited:
		return c.err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s; stderr:\n%s", c.label, timeout, c.stderr)
		return nil
	}
}

// running reports whether the child has not ended yet.
func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// waitFor polls ok until it holds and fails the test, naming what it
// waited for, if it does not within timeout. It polls every 100 ms: many
// tests poll by scraping, the fault tests some thirty exporters at once.
func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	began := time.Now()
	for !ok() {
		if time.Since(began) > timeout {
			t.Fatalf("waited %s for %s, in vain", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noKeepAlive is the scrapers' client: one connection per request, so no
// idle server connection stays behind to blur goroutine counts.
var noKeepAlive = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func (e *endpoint) url(path string) string { return "http://" + e.addr + path }

// scrapeWith fetches url with client and parses the text exposition.
func scrapeWith(client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	body, err := getOK(client, url)
	if err != nil {
		return nil, err
	}
	families, err := promtest.ParseText(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return families, nil
}

// getOK fetches url with client and returns the body of a 200 answer.
func getOK(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return body, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}

// tryScrape fetches and parses /metrics and says how long it took.
func (e *endpoint) tryScrape() (map[string]*dto.MetricFamily, time.Duration, error) {
	began := time.Now()
	families, err := scrapeWith(noKeepAlive, e.url("/metrics"))
	return families, time.Since(began), err
}

// scrape fetches and parses /metrics; it fails the test if it cannot.
func (e *endpoint) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	families, _, err := e.tryScrape()
	if err != nil {
		t.Fatalf("scrape %s: %v", e.label, err)
	}
	return families
}

// scrapeBound is how fast /metrics must answer, whatever Graph does; the
// race detector's slowdown widens it.
const scrapeBound = raceSlowdown * time.Second

// scrapeFast scrapes and fails the test if /metrics took scrapeBound or more.
func (e *endpoint) scrapeFast(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	families, took, err := e.tryScrape()
	if err != nil {
		t.Fatalf("scrape %s: %v", e.label, err)
	}
	if took > time.Duration(e.slowest.Load()) {
		e.slowest.Store(int64(took))
	}
	if took >= scrapeBound {
		t.Errorf("/metrics of %s took %s, want < %s", e.label, took, scrapeBound)
	}
	return families
}

// waitScrape scrapes fast (scrapeFast) until ok holds and returns those
// families.
func (e *endpoint) waitScrape(t *testing.T, timeout time.Duration, what string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	var families map[string]*dto.MetricFamily
	waitFor(t, timeout, what+" on "+e.label, func() bool {
		families = e.scrapeFast(t)
		return ok(families)
	})
	return families
}

// upTimeout bounds a first refresh: the whole catalog, or many tenants
// starting at once, on a shared CPU.
const upTimeout = raceSlowdown * time.Minute

// waitUp waits until tenants tenants are up (tenant_up), with no latency
// bound on the scrapes (the first refreshes share the CPU with them) and
// while the endpoint does not answer yet, and returns that scrape.
func (e *endpoint) waitUp(t *testing.T, tenants int) map[string]*dto.MetricFamily {
	t.Helper()
	var families map[string]*dto.MetricFamily
	waitFor(t, upTimeout, fmt.Sprintf("%d tenant(s) up on %s", tenants, e.label), func() bool {
		f, _, err := e.tryScrape()
		families = f
		return err == nil && sumWhere(f, "entra_insights_tenant_up", nil) == float64(tenants)
	})
	return families
}

// checkReady fails the test unless /-/ready answers 200: readiness never
// depends on Graph, so Prometheus keeps scraping the error metrics.
func (e *endpoint) checkReady(t *testing.T) {
	t.Helper()
	if _, err := getOK(noKeepAlive, e.url("/-/ready")); err != nil {
		t.Errorf("/-/ready during a Graph or token outage: %v, want 200", err)
	}
}

// logLines returns the lines of log that contain every one of parts.
func logLines(log string, parts ...string) []string {
	var out []string
	for line := range strings.Lines(log) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// Goroutines of one in-process exporter.

const goroutineLabel = "exporter"

// goroutines counts the live goroutines labelled label.
func goroutines(label string) int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1) // writing to a buffer does not fail
	want := fmt.Sprintf("%q:%q", goroutineLabel, label)
	total := 0
	var count int
	for line := range strings.Lines(buf.String()) {
		if n, _, ok := strings.Cut(line, " @ "); ok {
			count, _ = strconv.Atoi(n)
			continue
		}
		if strings.HasPrefix(line, "# labels: ") && strings.Contains(line, want) {
			total += count
		}
	}
	return total
}

// quietGoroutines returns the fewest goroutines of label seen over d: the
// count between refreshes, when no request is in flight.
func quietGoroutines(label string, d time.Duration) int {
	least := goroutines(label)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		least = min(least, goroutines(label))
	}
	return least
}

// settleGoroutines waits until at most limit goroutines of label are left
// and returns the last count.
func settleGoroutines(label string, limit int, timeout time.Duration) int {
	n := goroutines(label)
	for deadline := time.Now().Add(timeout); n > limit && time.Now().Before(deadline); n = goroutines(label) {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// goroutineDump returns the stacks of label's goroutines.
func goroutineDump(label string) string {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	var out strings.Builder
	for group := range strings.SplitSeq(buf.String(), "\n\n") {
		if strings.Contains(group, `"`+goroutineLabel+`":"`+label+`"`) {
			out.WriteString(group + "\n\n")
		}
	}
	return out.String()
}

// Command lines against the simulator.

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// simArgs are the flags that point a single-tenant exporter at sim with a
// client secret from a file: nothing in the environment, so tests may
// run side by side.
func simArgs(t *testing.T, sim *graphsim.Sim, graphURL string) []string {
	t.Helper()
	dir := t.TempDir()
	caFile, err := sim.WriteCAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if graphURL == "" {
		graphURL = sim.GraphURL
	}
	return []string{
		"--azure.tenant-id=" + sim.TenantID,
		"--azure.tenant-name=contoso",
		"--azure.client-id=" + sim.ClientID,
		"--azure.client-secret-file=" + writeFile(t, dir, "secret", sim.ClientSecret+"\n"),
		"--azure.authority-host=" + sim.AuthorityHost,
		"--graph.url=" + graphURL,
		"--graph.ca-file=" + caFile,
		// The tests written for the reports read them; logsArgs switches to
		// the logs source.
		"--insights.source=userinsights",
		"--storage.path=" + filepath.Join(dir, "state.db"),
	}
}

// logsArgs is simArgs for the logs source.
func logsArgs(t *testing.T, sim *graphsim.Sim) []string {
	t.Helper()
	return setFlag(simArgs(t, sim, ""), "insights.source", "logs")
}

// reportsConfig writes a config file that reads only reports.
func reportsConfig(t *testing.T, reports []insights.Report) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "config.yml", reportsLine(reports))
}

// reportsLine is the config file's line that reads only reports.
func reportsLine(reports []insights.Report) string {
	names := make([]string, len(reports))
	for i, r := range reports {
		names[i] = r.String()
	}
	return "reports: [" + strings.Join(names, ", ") + "]\n"
}

// setFlag returns args with --flag set to value, replacing any earlier value.
func setFlag(args []string, flag, value string) []string {
	out := make([]string, 0, len(args)+1)
	for _, a := range args {
		if !strings.HasPrefix(a, "--"+flag+"=") {
			out = append(out, a)
		}
	}
	return append(out, "--"+flag+"="+value)
}

// Reading the families of a scrape.

// sumWhere sums the values of family name's series whose labels include
// want; NaN if there is no such family.
func sumWhere(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := families[name]
	if f == nil {
		return math.NaN()
	}
	return promtest.Sum(f, want)
}

// countWhere counts family name's series whose labels include want.
func countWhere(families map[string]*dto.MetricFamily, name string, want map[string]string) int {
	n := 0
	if f := families[name]; f != nil {
		for _, m := range f.Metric {
			if promtest.HasLabels(m, want) {
				n++
			}
		}
	}
	return n
}

// present reports whether family name has a series with labels.
func present(families map[string]*dto.MetricFamily, name string, labels map[string]string) bool {
	return countWhere(families, name, labels) > 0
}

// labelNames returns the label names of a family's first series.
func labelNames(f *dto.MetricFamily) string {
	if f == nil || len(f.Metric) == 0 {
		return ""
	}
	var names []string
	for _, lp := range f.Metric[0].Label {
		names = append(names, lp.GetName())
	}
	return strings.Join(names, ",")
}

// reportLabels are the labels of a report's health series.
func reportLabels(tenant string, r insights.Report) map[string]string {
	return map[string]string{"tenant": tenant, "granularity": string(r.Granularity), "report": r.Name}
}

// seriesOf maps "name{labels}" to the value of every series of the data
// metrics of reports (all data metrics when reports is nil).
func seriesOf(t *testing.T, families map[string]*dto.MetricFamily, reports []insights.Report) map[string]float64 {
	t.Helper()
	owner := dataMetricReports(t)
	out := map[string]float64{}
	for name, f := range families {
		r, ok := owner[name]
		if !ok || (reports != nil && !slices.Contains(reports, r)) {
			continue
		}
		for _, m := range f.Metric {
			out[promtest.Key(name, m)] = m.GetGauge().GetValue()
		}
	}
	return out
}

// onlyReport returns the series of all that belong to report r.
func onlyReport(t *testing.T, all map[string]float64, r insights.Report) map[string]float64 {
	t.Helper()
	owner := dataMetricReports(t)
	out := map[string]float64{}
	for k, v := range all {
		name, _, _ := strings.Cut(k, "{")
		if owner[name] == r {
			out[k] = v
		}
	}
	return out
}

// dataMetricReports maps every data metric to its report.
func dataMetricReports(t *testing.T) map[string]insights.Report {
	t.Helper()
	owner, err := metricReports()
	if err != nil {
		t.Fatal(err)
	}
	return owner
}

// metricReports is the catalog's metric → report map, computed once.
var metricReports = sync.OnceValues(func() (map[string]insights.Report, error) {
	families, err := collector.Families(collector.Config{Reports: insights.AllReports(),
		Families: registry.Families(insights.SourceUserInsights)})
	if err != nil {
		return nil, err
	}
	out := map[string]insights.Report{}
	for _, f := range families {
		if f.Report != "" {
			r, err := insights.ParseReport(f.Report)
			if err != nil {
				return nil, err
			}
			out[f.Name] = r
		}
	}
	return out, nil
})

// diffSeries describes how got differs from want, "" if not at all.
func diffSeries(got, want map[string]float64) string {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("… %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}
