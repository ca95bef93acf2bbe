package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// Each fault test injects a fault into a running exporter through the
// simulator's switches, over real HTTP and TLS, and checks what issue 5
// asks: the failure shows at once in report_up, refresh_errors_total and
// one log line with the cause and the fix; /metrics keeps answering fast
// with the last good data until --insights.max-age, then only the affected
// series go; the first refresh after the fault clears recovers; no
// goroutine is left behind. The cases run side by side, each with its own
// simulator and exporter, so the table takes about as long as one case.

// faultTarget is the report most faults hit; the other faultReports must
// not notice.
var faultTarget = insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}

var faultReports = []insights.Report{
	faultTarget,
	{Granularity: insights.Daily, Name: insights.UserCount},
	{Granularity: insights.Monthly, Name: insights.ActiveUsers},
	{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers},
}

const (
	faultInterval = 2 * time.Second // --insights.refresh-interval and --insights.refresh-timeout
	faultMaxAge   = 6 * time.Second // --insights.max-age: leaves a refresh or two failing with the old data
	// goroutineSlack is how many more goroutines than before the fault
	// an exporter may run after recovering: a connection more or less in
	// the pool (two each). A leak per refresh exceeds it within the
	// fault's three or more refreshes.
	goroutineSlack = 4
)

// sideBySide is how many fault cases run at once: all of them, but fewer
// under the race detector, whose slowdown would otherwise starve them.
const sideBySide = 30 / raceSlowdown

// faultEnv is one case's simulator and exporter.
type faultEnv struct {
	sim     *graphsim.Sim
	proxy   *switchProxy // between the exporter and Graph; nil unless the case needs it
	foreign *graphsim.ForeignServer
	in      *instance
}

// faultWindow is what happened between injecting and clearing a fault.
type faultWindow struct {
	from, to time.Time
	before   graphsim.Stats
	after    graphsim.Stats
	failures float64 // increase of refresh_errors_total{reason}
}

// graphRequests returns the Graph requests of the window to paths ending
// in one of reports' paths.
func (w faultWindow) graphRequests(reports []insights.Report) []graphsim.Request {
	var out []graphsim.Request
	for _, r := range w.after.Requests {
		if r.At.Before(w.from) || r.At.After(w.to) {
			continue
		}
		for _, rep := range reports {
			if strings.HasSuffix(r.Path, rep.Path()) {
				out = append(out, r)
			}
		}
	}
	return out
}

type faultCase struct {
	name   string
	proxy  bool // put a switchable TCP proxy in front of Graph
	inject func(t *testing.T, env *faultEnv)
	clear  func(t *testing.T, env *faultEnv) // default: clear the simulator's fault
	reason insights.Reason
	all    bool   // every report fails, not only faultTarget
	hint   string // the failure's log line must contain it
	// maxPerFailure bounds the Graph requests per failed report refresh
	// (no retry storm); 0 skips the check.
	maxPerFailure int
	check         func(t *testing.T, env *faultEnv, w faultWindow)
}

// targetFault injects f on faultTarget only.
func targetFault(f graphsim.Fault) func(*testing.T, *faultEnv) {
	return func(_ *testing.T, env *faultEnv) {
		f.Report = faultTarget.String()
		env.sim.SetFault(f)
	}
}

// everyFault injects f on every Graph request.
func everyFault(f graphsim.Fault) func(*testing.T, *faultEnv) {
	return func(_ *testing.T, env *faultEnv) { env.sim.SetFault(f) }
}

// tokenFault makes the token service fail and Graph reject the cached
// token, so the exporter must ask the failing token service.
func tokenFault(f graphsim.Fault) func(*testing.T, *faultEnv) {
	return func(_ *testing.T, env *faultEnv) {
		env.sim.SetFault(f)
		env.sim.RevokeTokens()
	}
}

// spacedAtLeast checks that retries of the target waited for Retry-After.
func spacedAtLeast(d time.Duration) func(*testing.T, *faultEnv, faultWindow) {
	return func(t *testing.T, _ *faultEnv, w faultWindow) {
		reqs := w.graphRequests([]insights.Report{faultTarget})
		if len(reqs) < 2 {
			t.Fatalf("%d requests to %s during the fault; want several", len(reqs), faultTarget)
		}
		for i := 1; i < len(reqs); i++ {
			// Arrival times jitter a little around the real wait.
			if gap := reqs[i].At.Sub(reqs[i-1].At); gap < d-50*time.Millisecond {
				t.Errorf("requests %d and %d to %s only %s apart; Retry-After asked for %s", i-1, i, faultTarget, gap, d)
			}
		}
	}
}

// tokenServicePerRefresh bounds the requests to the token service
// (metadata included) per failed refresh: azcore's own retries of one
// token fetch, never one fetch per report.
func tokenServicePerRefresh(n int) func(*testing.T, *faultEnv, faultWindow) {
	return func(t *testing.T, _ *faultEnv, w faultWindow) {
		got := w.after.TokenRequests + w.after.MetadataRequests - w.before.TokenRequests - w.before.MetadataRequests
		refreshes := w.failures / float64(len(faultReports))
		if float64(got) > float64(n)*(refreshes+1) {
			t.Errorf("%d token service requests for %v failed refreshes, want at most %d per refresh", got, refreshes, n)
		}
	}
}

func faultCases() []faultCase {
	status := func(code int, retryAfter string) graphsim.Fault {
		return graphsim.Fault{Kind: graphsim.FaultStatus, Status: code, RetryAfter: retryAfter}
	}
	retries := 1 + transport.DefaultMaxRetries
	const azcoreTries = 4 // azidentity's pipeline: a try and 3 retries
	return []faultCase{
		{name: "429 Retry-After integer", inject: targetFault(status(429, "1")), reason: insights.ReasonThrottled,
			hint: transport.HintThrottled, maxPerFailure: retries, check: spacedAtLeast(time.Second)},
		{name: "429 Retry-After fractional", inject: targetFault(status(429, "0.6")), reason: insights.ReasonThrottled,
			hint: transport.HintThrottled, maxPerFailure: retries, check: spacedAtLeast(600 * time.Millisecond)},
		{name: "429 Retry-After HTTP date", inject: func(t *testing.T, env *faultEnv) {
			// One fixed date: honoured while ahead, then in the past ("now").
			targetFault(status(429, time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat)))(t, env)
		}, reason: insights.ReasonThrottled, hint: transport.HintThrottled, maxPerFailure: retries},
		{name: "429 without Retry-After", inject: targetFault(status(429, "")), reason: insights.ReasonThrottled,
			hint: transport.HintThrottled, maxPerFailure: retries},
		{name: "throttle storm", inject: everyFault(status(429, "1")), all: true, reason: insights.ReasonThrottled,
			hint: transport.HintThrottled, maxPerFailure: retries},
		{name: "500", inject: targetFault(status(500, "")), reason: insights.ReasonServerError,
			hint: transport.HintServerError, maxPerFailure: 2},
		{name: "502", inject: targetFault(status(502, "")), reason: insights.ReasonServerError,
			hint: transport.HintServerError, maxPerFailure: 2},
		{name: "503", inject: targetFault(status(503, "")), reason: insights.ReasonServerError,
			hint: transport.HintServerError, maxPerFailure: retries},
		{name: "503 Retry-After", inject: targetFault(status(503, "1")), reason: insights.ReasonServerError,
			hint: transport.HintServerError, maxPerFailure: retries, check: spacedAtLeast(time.Second)},
		{name: "504", inject: targetFault(status(504, "")), reason: insights.ReasonServerError,
			hint: transport.HintServerError, maxPerFailure: retries},
		{name: "connection refused", proxy: true, all: true, reason: insights.ReasonNetwork, hint: transport.HintNetwork,
			inject: func(_ *testing.T, env *faultEnv) { env.proxy.refuse() },
			clear:  func(t *testing.T, env *faultEnv) { env.proxy.accept(t) }},
		{name: "connection reset mid-body", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultReset}),
			reason: insights.ReasonNetwork, hint: transport.HintNetwork, maxPerFailure: retries},
		{name: "stall mid-body (slowloris)", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultStall}),
			reason: insights.ReasonTimeout, hint: transport.HintTimeout, maxPerFailure: 1},
		{name: "stall before the headers", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultSlow, Delay: time.Hour}),
			reason: insights.ReasonTimeout, hint: transport.HintTimeout, maxPerFailure: 1},
		{name: "malformed JSON", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultMalformedJSON}),
			reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 1},
		{name: "truncated JSON", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultTruncatedJSON}),
			reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 1},
		{name: "wrong types", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultWrongTypes}),
			reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 1},
		{name: "oversized body", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultOversized, Size: 1 << 30}),
			reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 1},
		{name: "nextLink loop", inject: targetFault(graphsim.Fault{Kind: graphsim.FaultNextLinkLoop}),
			reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 2},
		{name: "nextLink to another host", reason: insights.ReasonBadResponse, hint: transport.HintBadResponse, maxPerFailure: 1,
			inject: func(t *testing.T, env *faultEnv) { targetFault(env.foreign.Fault())(t, env) },
			check: func(t *testing.T, env *faultEnv, _ faultWindow) {
				if n := env.foreign.Requests(); n != 0 {
					t.Errorf("the foreign host got %d requests (Authorization: %q); want none", n, env.foreign.Authorizations())
				}
			}},
		{name: "token endpoint down", all: true, reason: insights.ReasonTokenUnreachable, hint: "token service",
			inject: tokenFault(graphsim.Fault{Kind: graphsim.FaultTokenDown}), check: tokenServicePerRefresh(azcoreTries)},
		{name: "token endpoint 503", all: true, reason: insights.ReasonTokenUnreachable, hint: "token service",
			inject: tokenFault(graphsim.Fault{Kind: graphsim.FaultTokenDown, Status: 503}), check: tokenServicePerRefresh(azcoreTries)},
		{name: "token invalid_client", all: true, reason: insights.ReasonToken,
			hint:   "invalid_client: the client secret or certificate is wrong or expired",
			inject: tokenFault(graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "invalid_client"}), check: tokenServicePerRefresh(azcoreTries)},
		{name: "token secret expired", all: true, reason: insights.ReasonToken,
			hint:   "invalid_client: the client secret has expired",
			inject: tokenFault(graphsim.Fault{Kind: graphsim.FaultTokenError, TokenError: "AADSTS7000222"}), check: tokenServicePerRefresh(azcoreTries)},
		{name: "401 persists after a new token", all: true, reason: insights.ReasonUnauthorized, hint: transport.HintUnauthorized,
			inject: everyFault(status(401, "")), maxPerFailure: 2, check: func(t *testing.T, _ *faultEnv, w faultWindow) {
				if n := w.after.TokenRequests - w.before.TokenRequests; n != 1 {
					t.Errorf("%d token requests while Graph refused every token, want 1 (one new token, then a clear failure)", n)
				}
			}},
		{name: "403 missing permission", reason: insights.ReasonForbidden, hint: "Insights-UserMetric.Read.All",
			inject: targetFault(status(403, "")), maxPerFailure: 1},
	}
}

// TestFaults runs every fault case side by side. Not parallel: some thirty
// exporters refreshing every 2 s already fill the CPU, and each case bounds
// scrape latency (1 s) and when a failure and a recovery show.
func TestFaults(t *testing.T) {
	cases := faultCases()
	runSideBySide(t, len(cases), func(i int) string { return cases[i].name },
		func(t *testing.T, i int) { runFaultCase(t, cases[i]) })
}

// runSideBySide runs n subtests, sideBySide at a time. t.Run may be called
// from several goroutines and, unlike t.Parallel, does not wait for
// -parallel slots.
func runSideBySide(t *testing.T, n int, name func(int) string, run func(*testing.T, int)) {
	var wg sync.WaitGroup
	sides := make(chan struct{}, sideBySide)
	for i := range n {
		wg.Go(func() {
			sides <- struct{}{}
			defer func() { <-sides }()
			t.Run(name(i), func(t *testing.T) { run(t, i) })
		})
	}
	wg.Wait()
}

// startFaultEnv starts a simulator with a pinned data clock and an
// exporter reading faultReports from it with short intervals, optionally
// through a switchProxy, and waits for the first full refresh.
func startFaultEnv(t *testing.T, proxy bool) (*faultEnv, map[string]*dto.MetricFamily) {
	t.Helper()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	env := &faultEnv{sim: sim, foreign: graphsimtest.NewForeignServer(t, sim)}
	graphURL := sim.GraphURL
	if proxy {
		env.proxy = newSwitchProxy(t, strings.TrimPrefix(sim.URL, "https://"))
		graphURL = "https://" + env.proxy.addr + "/beta"
	}
	env.in = launch(t, append(simArgs(t, sim, graphURL),
		"--graph.rate-limit=0",
		"--insights.refresh-interval="+faultInterval.String(),
		"--insights.refresh-timeout="+faultInterval.String(),
		"--insights.max-age="+faultMaxAge.String(),
		"--config.file="+reportsConfig(t, faultReports),
	)...)
	// No latency bound yet: the cases all start at once and share the CPU.
	good := env.in.waitUp(t, 1)
	for _, r := range faultReports {
		if len(seriesOf(t, good, []insights.Report{r})) == 0 {
			t.Fatalf("no series of %s before the fault; the test would prove nothing", r)
		}
	}
	return env, good
}

func runFaultCase(t *testing.T, tc faultCase) {
	env, good := startFaultEnv(t, tc.proxy)
	sim, in := env.sim, env.in
	label := in.label
	goodSeries := seriesOf(t, good, nil)
	affected, unaffected := []insights.Report{faultTarget}, faultReports[1:]
	if tc.all {
		affected, unaffected = faultReports, []insights.Report{} // not nil: seriesOf reads nil as all
	}
	baseline := quietGoroutines(label, faultInterval+500*time.Millisecond)
	errorsOf := func(f map[string]*dto.MetricFamily) float64 {
		return sumWhere(f, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": string(tc.reason)})
	}
	w := faultWindow{from: time.Now(), before: sim.Stats()}
	in.slowest.Store(0)
	errorsBefore := errorsOf(good)

	tc.inject(t, env)

	// Visible at once: report_up, refresh_errors_total and the log.
	failing := in.waitScrape(t, 2*faultInterval+2*time.Second, "failure visible in report_up", func(f map[string]*dto.MetricFamily) bool {
		for _, r := range affected {
			if sumWhere(f, "entra_insights_report_up", reportLabels("contoso", r)) != 0 {
				return false
			}
		}
		return true
	})
	detected := time.Since(w.from)
	if got := errorsOf(failing); !(got > errorsBefore) {
		t.Errorf("refresh_errors_total{reason=%q} = %v, want > %v", tc.reason, got, errorsBefore)
	}
	lines := logLines(in.stderr.String(), `msg="refresh failed"`, "reports="+faultTarget.String(), "reason="+string(tc.reason))
	if len(lines) == 0 {
		t.Errorf("no log line `refresh failed` with reason=%s for %s", tc.reason, faultTarget)
	} else {
		if !strings.Contains(lines[0], "hint=") || !strings.Contains(lines[0], tc.hint) {
			t.Errorf("log line lacks the hint %q:\n%s", tc.hint, lines[0])
		}
		t.Logf("log: %s", lines[0])
	}
	// Until max-age after its last success, a failing report keeps its
	// last good values; then its series go. Unaffected ones never change.
	held := map[insights.Report]bool{}
	expired := failing
	for f := failing; ; f = in.scrapeFast(t) {
		expired = f
		in.checkReady(t)
		checkHeldOrExpired(t, f, goodSeries, affected, unaffected, held)
		if len(seriesOf(t, f, affected)) == 0 {
			break
		}
		if time.Since(w.from) > faultMaxAge+4*faultInterval+2*time.Second {
			t.Fatalf("affected series still there %s after the fault began (max-age %s)", time.Since(w.from), faultMaxAge)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, r := range affected {
		if !held[r] {
			t.Errorf("never saw %s failing with its last good data", r)
		}
		if present(expired, "entra_insights_report_rows", reportLabels("contoso", r)) {
			t.Errorf("report_rows of %s still present after max-age", r)
		}
		if !present(expired, "entra_insights_report_last_success_timestamp_seconds", reportLabels("contoso", r)) {
			t.Errorf("report_last_success_timestamp_seconds of %s gone; it should say when the data was last good", r)
		}
	}
	w.failures = errorsOf(expired) - errorsBefore

	// Recovery on the first refresh after the fault clears.
	w.to, w.after = time.Now(), sim.Stats()
	if tc.clear != nil {
		tc.clear(t, env)
	} else {
		sim.SetFault(graphsim.Fault{})
	}
	cleared := time.Now()
	in.waitScrape(t, 2*faultInterval+time.Second, "recovery", func(f map[string]*dto.MetricFamily) bool {
		return sumWhere(f, "entra_insights_tenant_up", map[string]string{"tenant": "contoso"}) == 1 &&
			diffSeries(seriesOf(t, f, nil), goodSeries) == ""
	})
	recovered := time.Since(cleared)

	if tc.maxPerFailure > 0 {
		reqs := len(w.graphRequests(affected))
		if limit := float64(tc.maxPerFailure) * (w.failures + 1); float64(reqs) > limit {
			t.Errorf("%d Graph requests for %v report failures; want at most %d per failure (no retry storm)", reqs, w.failures, tc.maxPerFailure)
		}
	}
	if tc.check != nil {
		tc.check(t, env, w)
	}

	if n := settleGoroutines(label, baseline+goroutineSlack, 5*time.Second); n > baseline+goroutineSlack {
		t.Errorf("%d goroutines after recovery, %d before the fault: a leak\n%s", n, baseline, goroutineDump(label))
	}
	if code := in.stop(t); code != 0 {
		t.Errorf("exit code %d after cancel, want 0", code)
	}
	if env.proxy != nil {
		env.proxy.refuse()
	}
	sim.Close()
	if n := settleGoroutines(label, 0, 5*time.Second); n != 0 {
		t.Errorf("%d goroutines left after the exporter stopped\n%s", n, goroutineDump(label))
	}
	t.Logf("failure visible %s after the fault began; recovered %s after it cleared; slowest scrape %s; %v failures, %d Graph requests, %d token requests",
		detected.Round(time.Millisecond), recovered.Round(time.Millisecond), time.Duration(in.slowest.Load()).Round(time.Millisecond), w.failures,
		w.after.GraphRequests-w.before.GraphRequests, w.after.TokenRequests-w.before.TokenRequests)
}

// checkHeldOrExpired checks one scrape during a fault: each unaffected
// report is up with its good values; each affected report either still
// serves exactly its good values or has none, and then only after max-age
// since its last success. held records the affected reports seen failing
// with their values.
func checkHeldOrExpired(t *testing.T, f map[string]*dto.MetricFamily, good map[string]float64,
	affected, unaffected []insights.Report, held map[insights.Report]bool) {
	t.Helper()
	scraped := time.Now()
	for _, r := range unaffected {
		if got := sumWhere(f, "entra_insights_report_up", reportLabels("contoso", r)); got != 1 {
			t.Errorf("report_up of unaffected %s = %v, want 1", r, got)
		}
		if d := diffSeries(seriesOf(t, f, []insights.Report{r}), onlyReport(t, good, r)); d != "" {
			t.Errorf("unaffected %s changed: %s", r, d)
		}
	}
	for _, r := range affected {
		got := seriesOf(t, f, []insights.Report{r})
		if len(got) > 0 {
			if d := diffSeries(got, onlyReport(t, good, r)); d != "" {
				t.Errorf("%s serves other values than its last good ones: %s", r, d)
			}
			held[r] = held[r] || sumWhere(f, "entra_insights_report_up", reportLabels("contoso", r)) == 0
			continue
		}
		last := sumWhere(f, "entra_insights_report_last_success_timestamp_seconds", reportLabels("contoso", r))
		if age := scraped.Sub(time.UnixMilli(int64(last * 1e3))); age <= faultMaxAge {
			t.Errorf("%s lost its series %s after its last success, before max-age %s", r, age, faultMaxAge)
		}
	}
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
