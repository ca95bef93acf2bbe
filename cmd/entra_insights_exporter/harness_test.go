package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// The reliability tests (faults, load, security, shutdown) run the serve
// command in-process like startExporter, but each instance's goroutines
// carry a pprof label, so a test can count exactly the goroutines one
// exporter owns while others run beside it, and each instance can be
// stopped in the middle of a test.

// instance is a serve command running in-process under a pprof label.
type instance struct {
	addr   string
	label  string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan int
	cancel context.CancelFunc
	hup    chan os.Signal // what main's SIGHUP handler delivers

	stopOnce sync.Once
	code     int

	slowest atomic.Int64 // the slowest scrapeFast, in nanoseconds
}

// launch runs `serve` with args, its goroutines labelled label, and waits
// until /-/ready answers over plain HTTP. It stops at test cleanup if the
// test did not.
func launch(t *testing.T, label string, args ...string) *instance {
	t.Helper()
	in := start(t, label, args...)
	in.waitReady(t, noKeepAlive, "http://"+in.addr+"/-/ready")
	return in
}

// start runs `serve` with args, its goroutines labelled label, and
// returns once it listens. A port that another test took between freeAddr
// and the exporter's listen is tried again with another.
func start(t *testing.T, label string, args ...string) *instance {
	t.Helper()
	for attempt := 1; ; attempt++ {
		in := spawn(t, label, args)
		exited, code := in.waitListening(t)
		if !exited {
			t.Cleanup(func() {
				if code := in.stop(t); code != 0 {
					t.Errorf("%s exited %d", label, code)
				}
				if t.Failed() {
					t.Logf("%s log:\n%s", label, in.stderr)
				}
			})
			return in
		}
		if !strings.Contains(in.stderr.String(), "address already in use") || attempt == 3 {
			t.Fatalf("%s exited early with %d; stderr:\n%s", label, code, in.stderr)
		}
	}
}

// spawn runs `serve` with args on a free port, its goroutines labelled.
func spawn(t *testing.T, label string, args []string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	in := &instance{addr: freeAddr(t), label: label, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1), cancel: cancel, hup: make(chan os.Signal, 1)}
	args = append([]string{"serve", "--web.listen-address=" + in.addr}, testDefaults(t, args)...)
	pprof.Do(ctx, pprof.Labels(goroutineLabel, label), func(ctx context.Context) {
		go func() { in.done <- run(ctx, args, in.stdout, in.stderr, in.hup) }()
	})
	return in
}

// testDefaults adds to a test exporter's args what a test must not
// inherit from the real defaults: the state file in the package's
// directory, and the logs source for the tests written for the reports
// (the logs tests ask for it).
func testDefaults(t *testing.T, args []string) []string {
	t.Helper()
	args = slices.Clone(args)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--storage.path=") }) {
		args = append(args, "--storage.path="+filepath.Join(t.TempDir(), "state.db"))
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--insights.source=") || a == "--demo" }) {
		args = append(args, "--insights.source=userinsights")
	}
	return args
}

// waitListening waits until the instance logs that it listens, or exits.
func (in *instance) waitListening(t *testing.T) (exited bool, code int) {
	t.Helper()
	listening := fmt.Sprintf(`msg="Listening on" address=%s`, in.addr)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(in.stderr.String(), listening) {
		select {
		case code := <-in.done:
			in.stopOnce.Do(func() { in.code = code })
			return true, code
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			in.stop(t)
			t.Fatalf("%s does not listen after 30s; stderr:\n%s", in.label, in.stderr)
		}
	}
	return false, 0
}

// waitReady waits until GET url with client answers 200.
func (in *instance) waitReady(t *testing.T, client *http.Client, url string) {
	t.Helper()
	waitFor(t, 30*time.Second, func() bool {
		select {
		case code := <-in.done:
			in.stopOnce.Do(func() { in.code = code })
			t.Fatalf("%s exited early with %d; stderr:\n%s", in.label, code, in.stderr)
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// checkReady fails the test unless /-/ready answers 200: readiness never
// depends on Graph, so Prometheus keeps scraping the error metrics.
func (in *instance) checkReady(t *testing.T) {
	t.Helper()
	resp, err := noKeepAlive.Get("http://" + in.addr + "/-/ready")
	if err != nil {
		t.Fatalf("/-/ready: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/-/ready: %s during a Graph or token outage, want 200", resp.Status)
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

// noKeepAlive is the scrapers' client: one connection per request, so no
// idle server connection stays behind to blur goroutine counts.
var noKeepAlive = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// scrapeTimed fetches and parses /metrics and returns how long it took.
func (in *instance) scrapeTimed(t *testing.T) (map[string]*dto.MetricFamily, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := noKeepAlive.Get("http://" + in.addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", in.label, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s %v", in.label, resp.Status, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics of %s: %v", in.label, err)
	}
	return families, took
}

// scrapeBound is how fast /metrics must answer, whatever Graph does; the
// race detector's slowdown widens it.
const scrapeBound = raceSlowdown * time.Second

// scrapeFast scrapes and fails the test if /metrics took scrapeBound or more.
func (in *instance) scrapeFast(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	families, took := in.scrapeTimed(t)
	if took > time.Duration(in.slowest.Load()) {
		in.slowest.Store(int64(took))
	}
	if took >= scrapeBound {
		t.Errorf("/metrics of %s took %s, want < %s", in.label, took, scrapeBound)
	}
	return families
}

// waitScrape scrapes until ok holds and returns those families.
func (in *instance) waitScrape(t *testing.T, timeout time.Duration, what string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		families := in.scrapeFast(t)
		if ok(families) {
			return families
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
		if !ok || (reports != nil && !containsReport(reports, r)) {
			continue
		}
		for _, m := range f.Metric {
			out[seriesKey(name, m)] = m.GetGauge().GetValue()
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
	families, err := collector.Families(collector.Config{})
	if err != nil {
		return nil, err
	}
	out := map[string]insights.Report{}
	for _, f := range families {
		if f.Report != "" {
			// These tests read the reports: there tenant_active_users is
			// the sum of activeUsers.
			r, err := insights.ParseReport(strings.Replace(f.Report, insights.TenantActiveUsers, insights.ActiveUsers, 1))
			if err != nil {
				return nil, err
			}
			out[f.Name] = r
		}
	}
	return out, nil
})

func containsReport(reports []insights.Report, r insights.Report) bool {
	for _, x := range reports {
		if x == r {
			return true
		}
	}
	return false
}

func seriesKey(name string, m *dto.Metric) string {
	pairs := make([]string, 0, len(m.Label))
	for _, l := range m.Label {
		pairs = append(pairs, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

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
	names := make([]string, len(reports))
	for i, r := range reports {
		names[i] = r.String()
	}
	return writeFile(t, t.TempDir(), "config.yml", "reports: ["+strings.Join(names, ", ")+"]\n")
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

// switchProxy forwards TCP connections to a target until refuse closes
// its listener (and every connection): then connecting is refused, until
// accept listens on the same port again.
type switchProxy struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	p := &switchProxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.refuse()
		p.wg.Wait()
	})
	return p
}

func (p *switchProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

func (p *switchProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // refused meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// refuse stops listening and cuts every forwarded connection.
func (p *switchProxy) refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// accept listens on the proxy's port again. While it was closed, a
// short-lived outgoing connection may have used the port as its local
// one; that passes within moments.
func (p *switchProxy) accept(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen again on %s: %v", p.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
