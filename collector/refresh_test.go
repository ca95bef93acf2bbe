package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

func TestFailingReportKeepsDataUntilMaxAge(t *testing.T) {
	active, users := report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.UserCount)
	today := date(2026, 11, 27)
	src := newFakeSource(map[insights.Report][]insights.Row{
		active: {{FactDate: today, AppID: "a", OS: "iOS", Count: 4}, {FactDate: today, AppID: "a", OS: "IOS", Count: 1}},
		users:  {{FactDate: today, Count: 100}},
	})
	start := time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)
	clock := &fakeClock{now: start}
	cfg := Config{Reports: []insights.Report{active, users}, MaxAge: time.Hour}
	e, reg := newTestExporter(t, cfg, clock.Now, Tenant{Name: "t", TenantID: "tid", Source: src})
	forbidden := &insights.Error{Reason: insights.ReasonForbidden, Status: 403, Hint: "grant the permission"}

	const (
		activeSeries = `entra_insights_daily_active_users{app_id="a",os="iOS",tenant="t"}`
		activeUp     = `entra_insights_report_up{granularity="daily",report="activeUsers",tenant="t"}`
		activeRows   = `entra_insights_report_rows{granularity="daily",report="activeUsers",tenant="t"}`
		activeLast   = `entra_insights_report_last_success_timestamp_seconds{granularity="daily",report="activeUsers",tenant="t"}`
		usersSeries  = `entra_insights_daily_users{tenant="t"}`
		tenantUp     = `entra_insights_tenant_up{tenant="t"}`
		forbiddenErr = `entra_insights_refresh_errors_total{reason="forbidden",tenant="t"}`
	)
	steps := []struct {
		name    string
		advance time.Duration
		err     error
		want    map[string]float64
		absent  []string
	}{
		{name: "all good", want: map[string]float64{
			activeSeries: 5, activeUp: 1, activeRows: 2, activeLast: float64(start.Unix()), usersSeries: 100, tenantUp: 1, forbiddenErr: 0,
		}},
		{name: "failing keeps last good data", advance: 30 * time.Minute, err: forbidden, want: map[string]float64{
			activeSeries: 5, activeUp: 0, activeRows: 2, activeLast: float64(start.Unix()), usersSeries: 100, tenantUp: 0, forbiddenErr: 1,
		}},
		{name: "still failing within max age", advance: 30 * time.Minute, err: forbidden, want: map[string]float64{
			activeSeries: 5, activeUp: 0, forbiddenErr: 2,
		}},
		{name: "expired after max age", advance: time.Minute, err: forbidden, want: map[string]float64{
			activeUp: 0, activeLast: float64(start.Unix()), usersSeries: 100, tenantUp: 0, forbiddenErr: 3,
		}, absent: []string{activeSeries, activeRows}},
		{name: "recovered", advance: time.Minute, want: map[string]float64{
			activeSeries: 5, activeUp: 1, activeRows: 2, activeLast: float64(start.Add(62 * time.Minute).Unix()), tenantUp: 1, forbiddenErr: 3,
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Advance(s.advance)
			src.setErr(active, s.err)
			e.RefreshAll(t.Context())
			checkValues(t, gatherValues(t, reg), s.want, s.absent...)
		})
	}
}

func TestRefreshErrorsByReason(t *testing.T) {
	tests := []struct {
		err  error
		want insights.Reason
	}{
		{&insights.Error{Reason: insights.ReasonThrottled, Status: 429}, insights.ReasonThrottled},
		{fmt.Errorf("fetch: %w", &insights.Error{Reason: insights.ReasonToken}), insights.ReasonToken},
		{fmt.Errorf("fetch: %w", context.DeadlineExceeded), insights.ReasonTimeout},
		{errors.New("connection reset"), insights.ReasonNetwork},
	}
	for _, tt := range tests {
		t.Run(string(tt.want), func(t *testing.T) {
			r := report(insights.Daily, insights.SignUps)
			src := newFakeSource(map[insights.Report][]insights.Row{})
			src.setErr(r, tt.err)
			var logs bytes.Buffer
			reg := prometheus.NewPedanticRegistry()
			e, err := New([]Tenant{{Name: "t", Source: src}, {Name: "ok", Source: newFakeSource(nil)}},
				withFamilies(Config{Reports: []insights.Report{r, report(insights.Daily, insights.UserCount)}}),
				slog.New(slog.NewJSONHandler(&logs, nil)), reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.RefreshAll(t.Context())
			e.RefreshAll(t.Context())
			got := gatherValues(t, reg)
			for _, reason := range insights.Reasons() {
				want := map[string]float64{"t": 0, "ok": 0}
				if reason == tt.want {
					want["t"] = 2 // two refreshes, one failure each
				}
				for tenant, w := range want {
					key := fmt.Sprintf(`entra_insights_refresh_errors_total{reason=%q,tenant=%q}`, reason, tenant)
					if v, ok := got[key]; !ok || v != w {
						t.Errorf("%s = %g (present %v), want %g", key, v, ok, w)
					}
				}
			}
			// The first failure in full, the second (a power of two) as a
			// short "still failing" line.
			var lines, still []string
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				switch {
				case strings.Contains(l, `"msg":"refresh failed"`):
					lines = append(lines, l)
				case strings.Contains(l, `"msg":"refresh still failing"`) && strings.Contains(l, `"failures":2`):
					still = append(still, l)
				}
			}
			if len(lines) != 1 || len(still) != 1 {
				t.Fatalf("got %d full and %d summary failure lines, want one of each:\n%s", len(lines), len(still), logs.String())
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]any{"tenant": "t", "reports": "daily/signUps", "reason": string(tt.want)} {
				if entry[k] != v {
					t.Errorf("log %s = %v, want %v", k, entry[k], v)
				}
			}
			for _, k := range []string{"status", "hint", "err"} {
				if _, ok := entry[k]; !ok {
					t.Errorf("log line lacks %q: %s", k, lines[0])
				}
			}
		})
	}
}

func TestFailureLogNamesStatusAndHint(t *testing.T) {
	r := report(insights.Daily, insights.SignUps)
	src := newFakeSource(nil)
	src.setErr(r, fmt.Errorf("get %s: %w", r.Path(), &insights.Error{
		Reason: insights.ReasonForbidden, Status: 403, Hint: "grant Insights-UserMetric.Read.All"}))
	var logs bytes.Buffer
	e, err := New([]Tenant{{Name: "t", Source: src}}, withFamilies(Config{Reports: []insights.Report{r}}),
		slog.New(slog.NewTextHandler(&logs, nil)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.RefreshAll(t.Context())
	for _, want := range []string{"level=ERROR", "tenant=t", "reports=daily/signUps", "reason=forbidden", "status=403",
		`hint="grant Insights-UserMetric.Read.All"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %q", logs.String(), want)
		}
	}
}

func TestEmptyReportAndDateGoingBack(t *testing.T) {
	active, signUps := report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.SignUps)
	src := newFakeSource(map[insights.Report][]insights.Row{
		active:  nil, // Graph answered with no rows
		signUps: {{FactDate: date(2026, 11, 27), AppID: "a", IdentityProvider: "Google", Count: 2}, {FactDate: date(2026, 11, 26), AppID: "a", IdentityProvider: "Google", Count: 9}},
	})
	e, reg := newTestExporter(t, Config{Reports: []insights.Report{active, signUps}}, nil, Tenant{Name: "t", Source: src})
	e.RefreshAll(t.Context())
	checkValues(t, gatherValues(t, reg), map[string]float64{
		`entra_insights_report_rows{granularity="daily",report="activeUsers",tenant="t"}`: 0,
		`entra_insights_report_up{granularity="daily",report="activeUsers",tenant="t"}`:   1,
		`entra_insights_daily_sign_ups{app_id="a",identity_provider="Google",tenant="t"}`: 2,
		`entra_insights_period_start_timestamp_seconds{granularity="daily",tenant="t"}`:   float64(date(2026, 11, 27).Unix()),
		`entra_insights_tenant_up{tenant="t"}`:                                            1,
	}, `entra_insights_daily_active_users{`, `entra_insights_period_start_timestamp_seconds{granularity="monthly",tenant="t"}`)

	// Graph withdraws the newest day: the as-of period follows the data.
	src.setRows(signUps, []insights.Row{{FactDate: date(2026, 11, 26), AppID: "a", IdentityProvider: "Google", Count: 9}})
	e.RefreshAll(t.Context())
	checkValues(t, gatherValues(t, reg), map[string]float64{
		`entra_insights_daily_sign_ups{app_id="a",identity_provider="Google",tenant="t"}`: 9,
		`entra_insights_period_start_timestamp_seconds{granularity="daily",tenant="t"}`:   float64(date(2026, 11, 26).Unix()),
	})
}

func TestBeforeFirstRefresh(t *testing.T) {
	e, reg := newTestExporter(t, Config{}, nil, Tenant{TenantID: "tid", Cloud: "public", Source: newFakeSource(nil)})
	if e.Ready() {
		t.Error("Ready before the first refresh")
	}
	got := gatherValues(t, reg)
	checkValues(t, got, map[string]float64{
		`entra_insights_tenant_info{cloud="public",source="unknown",tenant="tid",tenant_id="tid"}`: 1,
		`entra_insights_refresh_errors_total{reason="throttled",tenant="tid"}`:                     0,
	}, `entra_insights_tenant_up{`, `entra_insights_report_up{`)
	e.RefreshAll(t.Context())
	if !e.Ready() {
		t.Error("not Ready after a refresh")
	}
}

func TestNewRejects(t *testing.T) {
	src := newFakeSource(nil)
	tests := []struct {
		name    string
		tenants []Tenant
		cfg     Config
		want    string
	}{
		{"no tenants", nil, Config{}, "no tenants"},
		{"no name", []Tenant{{Source: src}}, Config{}, "neither name nor tenant id"},
		{"twice", []Tenant{{Name: "a", Source: src}, {TenantID: "a", Source: src}}, Config{}, `tenant "a": configured twice`},
		{"no source", []Tenant{{Name: "a"}}, Config{}, `tenant "a": no source`},
		{"bad utf-8", []Tenant{{Name: "a\xff", Source: src}}, Config{}, "invalid UTF-8"},
		{"bad config", []Tenant{{Name: "a", Source: src}}, Config{MaxAge: -1}, "max_age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.tenants, withFamilies(tt.cfg), nil, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reports := []insights.Report{report(insights.Daily, insights.ActiveUsers), report(insights.Daily, insights.SignUps)}
		var calls atomic.Int32
		slow := sourceFunc(func(ctx context.Context, r insights.Report) ([]insights.Row, error) {
			calls.Add(1)
			<-ctx.Done() // a stalled Graph
			return nil, fmt.Errorf("fetch %s: %w", r, ctx.Err())
		})
		e, reg := newTestExporter(t, Config{Reports: reports, RefreshTimeout: 30 * time.Second}, nil,
			Tenant{Name: "slow", Source: slow}, Tenant{Name: "fast", Source: newFakeSource(nil)})
		start := time.Now()
		e.RefreshAll(t.Context())
		if took := time.Since(start); took != 30*time.Second {
			t.Errorf("refresh took %v, want the 30s timeout", took)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("source called %d times, want 2: each report waits on its own", n)
		}
		checkValues(t, gatherValues(t, reg), map[string]float64{
			`entra_insights_refresh_errors_total{reason="timeout",tenant="slow"}`: 2,
			`entra_insights_tenant_up{tenant="slow"}`:                             0,
			`entra_insights_tenant_up{tenant="fast"}`:                             1,
		})
	})
}

// TestStalledReportDelaysNoOther checks that a report stalled until the
// refresh deadline does not fail the tenant's other reports, however many
// come after it.
func TestStalledReportDelaysNoOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stalled := report(insights.Daily, insights.ActiveUsers)
		source := sourceFunc(func(ctx context.Context, r insights.Report) ([]insights.Row, error) {
			if r == stalled {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			time.Sleep(3 * time.Second) // each of the others takes a while too: 45s one after another
			return []insights.Row{{FactDate: date(2026, 11, 27), Count: 1}}, nil
		})
		e, reg := newTestExporter(t, Config{RefreshTimeout: 30 * time.Second}, nil, Tenant{Name: "t", Source: source})
		e.RefreshAll(t.Context())
		got := gatherValues(t, reg)
		for _, r := range insights.DefaultReports() {
			if !slices.Contains(insights.AllReports(), r) {
				continue // logs only: a source that lists no reports reads Graph's
			}
			want := 1.0
			if r == stalled {
				want = 0
			}
			key := fmt.Sprintf(`entra_insights_report_up{granularity=%q,report=%q,tenant="t"}`, r.Granularity, r.Name)
			if got[key] != want {
				t.Errorf("%s = %v, want %v", key, got[key], want)
			}
		}
	})
}

// TestRefreshesDoNotOverlap checks that the loop and RefreshAll never
// refresh a tenant twice at once, and that a slow tenant delays no other.
func TestRefreshesDoNotOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu              sync.Mutex
			active, maxBoth int
			perTenant       = map[string]int{}
			maxPerTenant    = map[string]int{}
		)
		source := func(name string, d time.Duration) sourceFunc {
			return sourceFunc(func(ctx context.Context, _ insights.Report) ([]insights.Row, error) {
				mu.Lock()
				active++
				perTenant[name]++
				maxBoth = max(maxBoth, active)
				maxPerTenant[name] = max(maxPerTenant[name], perTenant[name])
				mu.Unlock()
				time.Sleep(d)
				mu.Lock()
				active--
				perTenant[name]--
				mu.Unlock()
				return nil, nil
			})
		}
		cfg := Config{Reports: []insights.Report{report(insights.Daily, insights.UserCount)}, RefreshInterval: time.Minute}
		e, reg := newTestExporter(t, cfg, nil,
			Tenant{Name: "slow", Source: source("slow", 50*time.Second)},
			Tenant{Name: "fast", Source: source("fast", time.Second)})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { e.RefreshAll(ctx) })
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := gatherValues(t, reg)[`entra_insights_tenant_up{tenant="fast"}`]; got != 1 {
			t.Errorf("fast tenant has no snapshot while the slow one refreshes")
		}
		wg.Wait()
		time.Sleep(5 * time.Minute)
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for name, n := range maxPerTenant {
			if n != 1 {
				t.Errorf("tenant %s: %d refreshes at once, want 1", name, n)
			}
		}
		if maxBoth != 2 {
			t.Errorf("at most %d fetches at once over both tenants, want 2 (tenants refresh independently)", maxBoth)
		}
	})
}

// TestRunSchedule checks the first refresh at once, tenants spread over the
// interval, and that Run returns on cancel with no goroutine left behind
// (synctest.Test fails if one is).
func TestRunSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Minute
		start := time.Now()
		var (
			mu    sync.Mutex
			times = map[string][]time.Duration{}
		)
		source := func(name string) sourceFunc {
			return sourceFunc(func(context.Context, insights.Report) ([]insights.Row, error) {
				mu.Lock()
				defer mu.Unlock()
				times[name] = append(times[name], time.Since(start))
				return nil, nil
			})
		}
		cfg := Config{Reports: []insights.Report{report(insights.Daily, insights.UserCount)}, RefreshInterval: interval}
		e, _ := newTestExporter(t, cfg, nil, Tenant{Name: "a", Source: source("a")}, Tenant{Name: "b", Source: source("b")})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		time.Sleep(55 * time.Minute)
		cancel()
		<-done
		// Each tenant: at 0, then at its phase ((i+1)/n of the interval),
		// then every interval plus up to a tenth of jitter.
		for name, phase := range map[string]time.Duration{"a": interval / 2, "b": interval} {
			got := times[name]
			if len(got) < 5 || got[0] != 0 || got[1] != phase {
				t.Fatalf("tenant %s refreshed at %v, want 0, %v, then every ~%v", name, got, phase, interval)
			}
			for i := 2; i < len(got); i++ {
				if d := got[i] - got[i-1]; d < interval || d > interval+interval/10 {
					t.Errorf("tenant %s: %v between refreshes %d and %d, want %v plus up to 10%%", name, d, i-1, i, interval)
				}
			}
		}
	})
}

// TestRepeatedFailureIsSummarised: a tenant failing for the same cause on
// ten refreshes logs it in full once, then a short line at the 2nd, 4th and
// 8th failure; its recovery is one line, and its first data one line.
func TestRepeatedFailureIsSummarised(t *testing.T) {
	r := report(insights.Daily, insights.SignUps)
	src := newFakeSource(map[insights.Report][]insights.Row{})
	src.setErr(r, &insights.Error{Reason: insights.ReasonForbidden, Status: 403, Hint: "grant it"})
	var logs bytes.Buffer
	e, err := New([]Tenant{{Name: "t", Source: src}}, withFamilies(Config{Reports: []insights.Report{r}}),
		slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewPedanticRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		e.RefreshAll(t.Context())
	}
	src.setErr(r, nil)
	e.RefreshAll(t.Context())
	e.RefreshAll(t.Context())
	count := func(msg string) int { return strings.Count(logs.String(), `msg="`+msg+`"`) }
	if full, still, recovered, first := count("refresh failed"), count("refresh still failing"), count("refresh recovered"),
		count("first data of the tenant arrived"); full != 1 || still != 3 || recovered != 1 || first != 1 {
		t.Errorf("log lines: %d full, %d still failing, %d recovered, %d first data; want 1, 3, 1, 1:\n%s",
			full, still, recovered, first, logs.String())
	}
	if n := strings.Count(logs.String(), "\n"); n != 6 {
		t.Errorf("%d log lines over 12 refreshes, want 6:\n%s", n, logs.String())
	}
}

// catchingUpSource counts its refreshes and says it is catching up for the
// first behind of them.
type catchingUpSource struct {
	mu      sync.Mutex
	fetches int
	behind  int
}

func (s *catchingUpSource) Fetch(context.Context, insights.Report) ([]insights.Row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	return nil, nil
}

func (s *catchingUpSource) Name() string               { return "" }
func (s *catchingUpSource) Reports() []insights.Report { return insights.AllReports() }
func (s *catchingUpSource) Refresh(ctx context.Context, want []insights.Report) source.Results {
	return userinsights.FetchAll(ctx, s, want)
}

func (s *catchingUpSource) CatchingUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches <= s.behind
}

// TestCatchingUpRefreshesSoon: a source catching up is refreshed again
// after catchUpPause, not a whole interval later; once caught up, every
// interval.
func TestCatchingUpRefreshesSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &catchingUpSource{behind: 3}
		cfg := Config{Reports: []insights.Report{report(insights.Daily, insights.UserCount)}, RefreshInterval: 5 * time.Minute}
		e, _ := newTestExporter(t, cfg, nil, Tenant{Name: "t", Source: src})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		time.Sleep(3*catchUpPause + time.Second) // the first refresh and three catch-up refreshes
		synctest.Wait()
		src.mu.Lock()
		got := src.fetches
		src.mu.Unlock()
		if got != 4 {
			t.Errorf("%d refreshes in the first %s of a catch-up, want 4", got, 3*catchUpPause+time.Second)
		}
		time.Sleep(5 * time.Minute) // caught up: the next one an interval (plus jitter) later
		synctest.Wait()
		src.mu.Lock()
		got = src.fetches
		src.mu.Unlock()
		if got != 4 && got != 5 {
			t.Errorf("%d refreshes after catching up, want at most one more per interval", got)
		}
		cancel()
		<-done
	})
}
