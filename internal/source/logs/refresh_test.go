package logs_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// simClient is a real Graph client of sim; graphURL and pool override the
// simulator's (a proxy in front of it); budget applies Graph's request
// budget (5 requests in 10 s per tenant).
func simClient(t *testing.T, sim *graphsim.Sim, graphURL string, pool *x509.CertPool, budget bool) *graph.Client {
	t.Helper()
	deps := graph.Deps{}
	if budget {
		deps.Limiters = transport.NewLimiters()
	}
	return graphsimtest.Client(t, sim, func(c *graph.Config) {
		c.TenantName, c.AuthMode, c.Cloud, c.DisableBudget = "t", azconf.AuthClientSecret, azconf.DefaultCloud, !budget
		if graphURL != "" {
			c.GraphURL = graphURL
		}
		if pool != nil {
			c.RootCAs = pool
		}
	}, deps)
}

func newSource(t *testing.T, r logs.Reader, now func() time.Time, logOut io.Writer, mod func(*logs.Options)) *logs.Source {
	t.Helper()
	if logOut == nil {
		logOut = io.Discard
	}
	catalog, err := collector.NewCatalog(collector.Config{Families: logs.Families()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := logs.Options{Tenant: "t", Label: "t", Reader: r, Store: st, Now: now,
		ActiveUserDims: logs.ActiveUserDims(catalog.Kept), Lookback: 7 * 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&opts)
	}
	src, err := logs.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// gauge returns the value of the metric name of g whose labels include
// labels, and whether there is one.
func gauge(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	return promtest.Find(promtest.Gather(t, g)[name], labels)
}

// TestLongCatchUpServedInSameRefresh: a first start that needs more
// requests than one refresh allows (Graph's budget, 5 requests in 10 s,
// and a 3 s refresh) must serve the sign-in windows it committed in that
// refresh: the sign-in reports up with rows, not every report failing on
// the expired deadline. The user counts, outside the reports' budget,
// come first and take none of it; the registrations come after the logs.
func TestLongCatchUpServedInSameRefresh(t *testing.T) {
	now := func() time.Time { return goldenNow }
	sim := graphsimtest.Start(t, graphsim.Options{Now: now})
	client := simClient(t, sim, "", nil, true)
	src := newSource(t, client, now, nil, func(o *logs.Options) { o.Chunk = time.Hour })
	reg := prometheus.NewPedanticRegistry()
	e, err := collector.New([]collector.Tenant{{Name: "t", TenantID: sim.TenantID, Cloud: "public", Source: src}}, collector.Config{Families: logs.Families(), RefreshTimeout: 3 * time.Second}, nil, reg, now)
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(e, src)
	e.RefreshAll(context.Background())

	// The counts first (outside the reports' budget), then the logs.
	var order []string
	for _, r := range sim.Stats().Requests {
		for _, read := range []string{"users/$count", "auditLogs/signIns"} {
			if strings.HasSuffix(r.Path, read) && !slices.Contains(order, read) {
				order = append(order, read)
			}
		}
	}
	if want := []string{"users/$count", "auditLogs/signIns"}; !slices.Equal(order, want) {
		t.Errorf("reads in the order %v, want %v", order, want)
	}
	for _, r := range []string{insights.Authentications, insights.ActiveUsers} {
		labels := map[string]string{"tenant": "t", "granularity": "daily", "report": r}
		if up, _ := gauge(t, reg, "entra_insights_report_up", labels); up != 1 {
			t.Errorf("report_up{report=%q} = %v after a refresh that committed sign-in windows, want 1", r, up)
		}
		// The figures are of days before the current as-of period
		// (today, the user count's), so report_rows says 0: ask the source.
		res := src.Result(insights.Report{Granularity: insights.Daily, Name: r})
		if res.Err != nil || len(res.Points) == 0 {
			t.Errorf("report %s: %d values, %v; want the committed windows' figures", r, len(res.Points), res.Err)
		}
	}
	since, _ := gauge(t, reg, "entra_insights_logs_read_since_timestamp_seconds", map[string]string{"feed": "signIns"})
	until, _ := gauge(t, reg, "entra_insights_logs_read_until_timestamp_seconds", map[string]string{"feed": "signIns"})
	if until <= since {
		t.Errorf("read until %v, since %v: no window committed", until, since)
	}
}

// TestStarvedRegistrationsGoFirst: registrations that a catching-up
// refresh left no time for (the budget spent on the sign-in logs) are read
// first in the next refresh, with the counts (in their third of the time, as the
// budget may be spent still), and need no back-off: the deadline was
// ours, not Graph's.
func TestStarvedRegistrationsGoFirst(t *testing.T) {
	now := func() time.Time { return goldenNow }
	sim := graphsimtest.Start(t, graphsim.Options{Now: now})
	src := newSource(t, simClient(t, sim, "", nil, true), now, nil, func(o *logs.Options) { o.Chunk = time.Hour })
	mfa := insights.Report{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}
	sync := func(timeout time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = src.Sync(ctx)
	}
	sync(3 * time.Second)
	if err := src.Result(mfa).Err; insights.ReasonOf(err) != insights.ReasonTimeout {
		t.Fatalf("first refresh: registrations %v; the test needs them starved by the logs' catch-up", err)
	}
	before := len(sim.Stats().Requests)
	sync(30 * time.Second) // the budget the first spent frees within 11 s: in the counts' third

	if err := src.Result(mfa).Err; err != nil { // read, or going on from the pages read (a large directory)
		t.Fatalf("second refresh: registrations %v; want them read first", err)
	}
	var order []string
	for _, r := range sim.Stats().Requests[before:] {
		for _, read := range []string{"userRegistrationDetails", "auditLogs/signIns"} {
			if strings.Contains(r.Path, read) && !slices.Contains(order, read) {
				order = append(order, read)
			}
		}
	}
	if len(order) == 0 || order[0] != "userRegistrationDetails" {
		t.Errorf("second refresh read %v, want the registrations first", order)
	}
}

// TestForbiddenRegistrationsBackOff: a 403 on userRegistrationDetails
// fails its report on every refresh but is asked again only after a
// back-off, not on every refresh.
func TestForbiddenRegistrationsBackOff(t *testing.T) {
	c := &clock{t: goldenNow}
	sim := graphsimtest.Start(t, graphsim.Options{Now: c.now})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: http.StatusForbidden, Report: "userRegistrationDetails"})
	src := newSource(t, simClient(t, sim, "", nil, false), c.now, nil, nil)
	mfa := insights.Report{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}
	asked := func() int {
		n := 0
		for _, r := range sim.Stats().Requests {
			if strings.Contains(r.Path, "userRegistrationDetails") {
				n++
			}
		}
		return n
	}
	for i := range 5 { // 5 refreshes, 10 minutes apart
		_ = src.Sync(context.Background())
		if err := src.Result(mfa).Err; insights.ReasonOf(err) != insights.ReasonForbidden {
			t.Errorf("refresh %d: registrations report: %v, want the 403", i, err)
		}
		c.add(10 * time.Minute)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(src)
	errorsOf := func() float64 {
		n, _ := gauge(t, reg, "entra_insights_logs_read_errors_total", map[string]string{"read": "registrations", "reason": "forbidden"})
		return n
	}
	if n := asked(); n != 1 {
		t.Errorf("userRegistrationDetails asked %d times in 5 refreshes after a 403, want 1", n)
	}
	if n := errorsOf(); n != 1 {
		t.Errorf("logs_read_errors_total{read=registrations,reason=forbidden} = %v after one failed attempt, want 1", n)
	}
	c.add(time.Hour)
	_ = src.Sync(context.Background())
	if n := asked(); n != 2 {
		t.Errorf("userRegistrationDetails asked %d times after the back-off, want 2", n)
	}
	if n := errorsOf(); n != 2 {
		t.Errorf("logs_read_errors_total{read=registrations,reason=forbidden} = %v after two failed attempts, want 2", n)
	}
}

// signInWindows returns the [ge, lt) of createdDateTime of each sign-in
// request's filter, in order.
func signInWindows(t *testing.T, sim *graphsim.Sim) [][2]time.Time {
	t.Helper()
	var out [][2]time.Time
	for _, r := range sim.Stats().Requests {
		if !strings.HasSuffix(r.Path, "auditLogs/signIns") {
			continue
		}
		q, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		var w [2]time.Time
		for _, part := range strings.Split(q.Get("$filter"), " and ") {
			f := strings.Fields(part)
			if len(f) != 3 || f[0] != "createdDateTime" {
				continue
			}
			at, err := time.Parse(time.RFC3339, f[2])
			if err != nil {
				t.Fatalf("filter %q: %v", q.Get("$filter"), err)
			}
			switch f[1] {
			case "ge":
				w[0] = at
			case "le":
				w[1] = at
			}
		}
		out = append(out, w)
	}
	return out
}

// TestTimedOutWindowShrinks: a window whose read cannot finish within a
// refresh is read half as long the next time (no page came), down to five
// minutes; once reads
// answer again the feed moves on.
func TestTimedOutWindowShrinks(t *testing.T) {
	now := func() time.Time { return goldenNow }
	sim := graphsimtest.Start(t, graphsim.Options{Now: now})
	src := newSource(t, simClient(t, sim, "", nil, false), now, nil, nil)
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultSlow, Delay: 5 * time.Second, Report: "signIns"})
	for range 7 {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		_ = src.Sync(ctx)
		cancel()
	}
	var lengths []time.Duration
	for _, w := range signInWindows(t, sim) {
		lengths = append(lengths, w[1].Sub(w[0]))
	}
	want := []time.Duration{24 * time.Hour, 12 * time.Hour, 6 * time.Hour, 3 * time.Hour, 90 * time.Minute, 45 * time.Minute,
		45 * time.Minute / 2}
	if len(lengths) != len(want) {
		t.Fatalf("sign-in windows asked %v, want %v", lengths, want)
	}
	for i := range want {
		if lengths[i] != want[i] {
			t.Fatalf("sign-in windows asked %v, want %v", lengths, want)
		}
	}
	sim.SetFault(graphsim.Fault{})
	_ = src.Sync(context.Background()) // the periodic reads that timed out above are still backing off
	if err := src.Result(insights.Report{Granularity: insights.Daily, Name: insights.Authentications}).Err; err != nil {
		t.Fatalf("sign-ins once Graph answers: %v", err)
	}
}

// TestOutOfWindowEventsSkipped: a response with an event created before
// the window asked for (a misbehaving Graph) does not count it, on any
// refresh, and counts it in out_of_window_events_total.
func TestOutOfWindowEventsSkipped(t *testing.T) {
	c := &clock{t: goldenNow}
	sim := graphsimtest.Start(t, graphsim.Options{Now: c.now})
	target, _ := url.Parse(sim.URL)
	odd := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) // 3 days back: inside the lookback, before every window below
	var inject atomic.Bool
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the simulator's nextLinks point at the proxy
			r.Out.Header.Del("Accept-Encoding")
		},
		Transport: sim.Client().Transport,
		ModifyResponse: func(resp *http.Response) error {
			if !inject.Load() || !strings.HasSuffix(resp.Request.URL.Path, "auditLogs/signIns") || resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			var page map[string]any
			if err := d.Decode(&page); err != nil {
				return err
			}
			if events, _ := page["value"].([]any); len(events) > 0 {
				e := map[string]any{}
				for k, v := range events[0].(map[string]any) {
					e[k] = v
				}
				e["id"] = "odd-" + strconv.FormatInt(time.Now().UnixNano(), 10) // new on every read
				e["createdDateTime"] = odd.Format(time.RFC3339)
				page["value"] = append(events, e)
			}
			if body, err = json.Marshal(page); err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	front := httptest.NewTLSServer(proxy)
	t.Cleanup(front.Close)
	pool := sim.CertPool.Clone()
	pool.AddCert(front.Certificate())
	var logOut promtest.LockedBuffer
	src := newSource(t, simClient(t, sim, front.URL+"/beta", pool, false), c.now, &logOut, nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(src)
	attempts := func() int64 {
		res := src.Result(insights.Report{Granularity: insights.Daily, Name: insights.Authentications})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		var n int64
		for _, p := range res.Points {
			if p.Family == "authentications" && p.Start.Equal(odd.Truncate(24*time.Hour)) {
				n += p.Value
			}
		}
		return n
	}
	if err := src.Sync(context.Background()); err != nil { // caught up, honest answers
		t.Fatal(err)
	}
	before := attempts()
	inject.Store(true)
	for range 3 {
		c.add(10 * time.Minute)
		if err := src.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := attempts(); got != before {
		t.Errorf("sign-ins of %s: %d after 3 refreshes with an out-of-window event, want %d", odd.Format(time.DateOnly), got, before)
	}
	if n, _ := gauge(t, reg, "entra_insights_logs_out_of_window_events_total", map[string]string{"feed": "signIns"}); n != 3 {
		t.Errorf("out_of_window_events_total{feed=signIns} = %v, want 3", n)
	}
	if n := strings.Count(logOut.String(), "outside the window"); n != 3 {
		t.Errorf("%d log lines about events outside the window, want one per read (3):\n%s", n, logOut.String())
	}
}

// TestFailedFirstReadMovesNothing: when the very first read of a feed
// fails, the next refresh starts from its own lookback, without a false
// "events were never read" warning, and read_since is that start.
func TestFailedFirstReadMovesNothing(t *testing.T) {
	c := &clock{t: goldenNow}
	sim := graphsimtest.Start(t, graphsim.Options{Now: c.now})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: http.StatusForbidden, Report: "signIns", Times: 1})
	var logOut promtest.LockedBuffer
	src := newSource(t, simClient(t, sim, "", nil, false), c.now, &logOut, nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(src)
	if err := src.Sync(context.Background()); err == nil {
		t.Fatal("Sync with a failing first read: no error")
	}
	c.add(time.Hour)
	for range 2 {
		if err := src.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.add(10 * time.Minute)
	}
	if strings.Contains(logOut.String(), "never read") {
		t.Errorf("a false warning about events never read:\n%s", logOut.String())
	}
	since, _ := gauge(t, reg, "entra_insights_logs_read_since_timestamp_seconds", map[string]string{"feed": "signIns"})
	// The lookback's edge rounded up to the hour, so it is never refused
	// for the seconds a request takes.
	if want := goldenNow.Add(time.Hour - 7*24*time.Hour).Truncate(time.Hour).Add(time.Hour); since != float64(want.Unix()) {
		t.Errorf("read_since %v, want %v (the first committed read's start)", time.Unix(int64(since), 0).UTC(), want)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
