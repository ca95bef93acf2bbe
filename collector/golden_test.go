package collector

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
	"github.com/entra-insights/entra_insights_exporter/internal/source/userinsights"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenNow is the pinned clock of the golden files.
func goldenNow() time.Time { return time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC) }

// simTenant is a tenant whose source is the simulator's data generator.
type simTenant struct {
	name, id string
	lag      bool // Graph withholds today's rows
}

func goldenTenants() []simTenant {
	return []simTenant{
		{name: "primary", id: "0b6f0a53-4f4e-4c0a-9d55-6a0e3c5b1a01"},
		{name: "lagged", id: "7c1d2e3f-8a9b-4c5d-8e7f-1a2b3c4d5e6f", lag: true},
	}
}

func simSource(st simTenant, now func() time.Time) source.Source {
	return userinsights.New(sourceFunc(func(_ context.Context, r insights.Report) ([]insights.Row, error) {
		return graphsim.Rows(st.id, r, now(), st.lag), nil
	}), nil)
}

// goldenExporter returns an exporter refreshed once over the simulator's
// data at the pinned clock, and the registry it and its counters are on.
func goldenExporter(t testing.TB, cfg Config) (*Exporter, *prometheus.Registry) {
	t.Helper()
	var tenants []Tenant
	for _, st := range goldenTenants() {
		tenants = append(tenants, Tenant{Name: st.name, TenantID: st.id, Cloud: "public", Source: simSource(st, goldenNow)})
	}
	if cfg.Families == nil { // the goldens are a userinsights exporter's
		cfg.Families = registry.Families(insights.SourceUserInsights)
	}
	e, reg := newTestExporter(t, cfg, goldenNow, tenants...)
	e.RefreshAll(t.Context())
	return e, reg
}

// everyReport is the config of the golden tests: all 18 reports, the
// deprecated ones too, so that every family is covered.
func everyReport() Config { return Config{Reports: insights.AllReports()} }

// TestGolden compares every metric family with its golden file
// testdata/<family>.prom, and the whole exposition with testdata/all.prom
// (which `promtool check metrics` also reads). Run with -update to rewrite
// them after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	e, reg := goldenExporter(t, everyReport())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	// Every family the exporter describes must be in the exposition: the
	// simulator fills every report.
	logsOnly := map[string]bool{}
	all, _ := Families(withFamilies(everyReport()))
	for _, f := range all {
		logsOnly[f.Name] = f.Report != "" && !slices.Contains(f.Sources, insights.SourceUserInsights)
	}
	for _, want := range describedNames(e) {
		if !slices.Contains(names, want) && !logsOnly[want] {
			t.Errorf("family %s described but not exposed", want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".prom")
			if *update {
				writeGolden(t, reg, path, name)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			defer f.Close()
			if name == "entra_insights_refresh_errors_total" {
				err = testutil.GatherAndCompare(reg, f, name)
			} else {
				err = testutil.CollectAndCompare(e, f, name)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		path := filepath.Join("testdata", "all.prom")
		if *update {
			writeGolden(t, reg, path)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := testutil.GatherAndCompare(reg, f); err != nil {
			t.Error(err)
		}
	})
}

func describedNames(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var names []string
	for d := range ch {
		// Desc has no name accessor; its String() quotes fqName.
		s := d.String()
		start := strings.Index(s, `fqName: "`) + len(`fqName: "`)
		names = append(names, s[start:start+strings.Index(s[start:], `"`)])
	}
	return names
}

// writeGolden writes the families of g named names (all when none) in the
// text format.
func writeGolden(t *testing.T, g prometheus.Gatherer, path string, names ...string) {
	t.Helper()
	text, _ := promtest.Text(t, g, func(name string) bool { return len(names) == 0 || slices.Contains(names, name) })
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLint(t *testing.T) {
	e, reg := goldenExporter(t, everyReport())
	problems, err := testutil.CollectAndLint(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	problems, err = testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// TestGoldenValuesByHand recomputes a few exposed values straight from the
// simulator's rows, without the catalog, so the golden files are not only
// checked against themselves.
func TestGoldenValuesByHand(t *testing.T) {
	_, reg := goldenExporter(t, everyReport())
	got := gatherValues(t, reg)
	now := goldenNow()
	today := date(2026, 11, 27)
	for _, st := range goldenTenants() {
		rowsOf := func(g insights.Granularity, name string) []insights.Row {
			return graphsim.Rows(st.id, report(g, name), now, st.lag)
		}
		// The as-of day: the newest factDate of any daily report.
		var asOfDay time.Time
		for _, r := range insights.AllReports() {
			for _, row := range graphsim.Rows(st.id, r, now, st.lag) {
				if r.Granularity == insights.Daily && row.FactDate.After(asOfDay) {
					asOfDay = row.FactDate
				}
			}
		}
		wantDay := today
		if st.lag {
			wantDay = today.AddDate(0, 0, -1)
		}
		if !asOfDay.Equal(wantDay) {
			t.Fatalf("%s: simulator's newest day %v, want %v", st.name, asOfDay, wantDay)
		}
		onDay := func(row insights.Row) bool { return row.FactDate.Equal(asOfDay) }

		// Successful authentications of one app on Windows, summed over
		// every spelling of the app id and every country, browser, ...
		auths := rowsOf(insights.Daily, insights.Authentications)
		var appID string
		var successes, failures int64
		for _, row := range auths {
			if onDay(row) && strings.EqualFold(row.OS, "windows") && appID == "" {
				appID = strings.ToLower(row.AppID)
			}
		}
		for _, row := range auths {
			if onDay(row) && strings.EqualFold(row.OS, "windows") && strings.EqualFold(row.AppID, appID) {
				successes += row.Successes
				failures += max(row.Attempts-row.Successes, 0)
			}
		}
		// Every user of the tenant on that day, over every language.
		var users int64
		for _, row := range rowsOf(insights.Daily, insights.UserCount) {
			if onDay(row) {
				users += row.Count
			}
		}
		// Monthly MFA failures by reason, summed over methods.
		monthly := date(2026, 11, 1)
		mfaFailures := map[string]int64{}
		for _, row := range rowsOf(insights.Monthly, insights.MFACompletions) {
			if row.FactDate.Year() == monthly.Year() && row.FactDate.Month() == monthly.Month() && row.MFAMethod == "Sms" {
				for _, f := range row.Failures {
					mfaFailures[f.ReasonCode] += f.Count
				}
			}
		}
		if appID == "" || successes == 0 || users == 0 || len(mfaFailures) == 0 {
			t.Fatalf("%s: fixture lacks data: app %q, successes %d, users %d, mfa failures %v", st.name, appID, successes, users, mfaFailures)
		}
		want := map[string]float64{
			fmt.Sprintf(`entra_insights_daily_authentications{app_id=%q,os="Windows",result="success",tenant=%q}`, appID, st.name): float64(successes),
			fmt.Sprintf(`entra_insights_daily_authentications{app_id=%q,os="Windows",result="failure",tenant=%q}`, appID, st.name): float64(failures),
			fmt.Sprintf(`entra_insights_daily_users{tenant=%q}`, st.name):                                                          float64(users),
			fmt.Sprintf(`entra_insights_period_start_timestamp_seconds{granularity="daily",tenant=%q}`, st.name):                   float64(asOfDay.Unix()),
			fmt.Sprintf(`entra_insights_period_start_timestamp_seconds{granularity="monthly",tenant=%q}`, st.name):                 float64(monthly.Unix()),
		}
		for reason, n := range mfaFailures {
			want[fmt.Sprintf(`entra_insights_monthly_mfa_failures{mfa_method="Sms",reason_code=%q,tenant=%q}`, reason, st.name)] = float64(n)
		}
		checkValues(t, got, want)
	}
}

// TestGoldenAppInfo checks exactly one app_info series per app id of the
// data, with the newest name of a renamed app.
func TestGoldenAppInfo(t *testing.T) {
	_, reg := goldenExporter(t, everyReport())
	got := gatherValues(t, reg)
	for _, st := range goldenTenants() {
		ids := map[string]bool{}
		for _, r := range insights.AllReports() {
			spec, _ := insights.SpecOf(r.Name)
			hasAppLabel := slices.Contains(spec.Dimensions, "app_id")
			for _, row := range graphsim.Rows(st.id, r, goldenNow(), st.lag) {
				if hasAppLabel || row.AppID != "" {
					ids[strings.ToLower(row.AppID)] = true
				}
			}
		}
		perApp := map[string][]string{}
		for k := range got {
			if strings.HasPrefix(k, "entra_insights_app_info{") && strings.Contains(k, fmt.Sprintf("tenant=%q", st.name)) {
				id := k[strings.Index(k, `app_id="`)+len(`app_id="`):]
				id = id[:strings.Index(id, `"`)]
				perApp[id] = append(perApp[id], k)
			}
		}
		if len(perApp) != len(ids) {
			t.Errorf("%s: app_info for %d apps, the data has %d", st.name, len(perApp), len(ids))
		}
		for id, series := range perApp {
			if len(series) != 1 {
				t.Errorf("%s: app %s has %d app_info series: %v", st.name, id, len(series), series)
			}
			if strings.Contains(series[0], "Rewards") {
				t.Errorf("%s: renamed app shows its old name: %s", st.name, series[0])
			}
		}
	}
}

// TestNamesPassPromtool checks the naming rules of `promtool check metrics`
// (Prometheus 2.42), which are stricter than client_golang's linter: no
// metric type anywhere in a name and no suffix of histogram or summary series.
func TestNamesPassPromtool(t *testing.T) {
	e, _ := goldenExporter(t, everyReport())
	for _, name := range append(describedNames(e), "entra_insights_refresh_errors_total") {
		for _, typ := range []string{"counter", "gauge", "histogram", "summary", "untyped"} {
			if strings.Contains(name, "_"+typ+"_") || strings.HasSuffix(name, "_"+typ) {
				t.Errorf("%s: name contains the type %q", name, typ)
			}
		}
		for _, suffix := range []string{"_count", "_sum", "_bucket"} {
			if strings.HasSuffix(name, suffix) {
				t.Errorf("%s: name ends in %s", name, suffix)
			}
		}
	}
}

// TestFamiliesMatchExposition checks that Families, the source of the
// README's catalog, lists exactly the families exposed, with their types,
// help and labels.
func TestFamiliesMatchExposition(t *testing.T) {
	_, reg := goldenExporter(t, everyReport())
	exposed, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	cfg := everyReport()
	cfg.Families = registry.Families(insights.SourceUserInsights) // as the golden exporter's
	families, err := Families(cfg)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]Family{}
	for _, f := range families {
		listed[f.Name] = f
	}
	if len(listed) != len(exposed) {
		t.Errorf("Families lists %d families, %d exposed", len(listed), len(exposed))
	}
	for _, mf := range exposed {
		f, ok := listed[mf.GetName()]
		if !ok {
			t.Errorf("%s exposed but not listed", mf.GetName())
			continue
		}
		var labels []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		if f.Type != strings.ToLower(mf.GetType().String()) || f.Help != mf.GetHelp() || !slices.Equal(f.Labels, labels) {
			t.Errorf("%s: listed as %s %v %q, exposed as %s %v %q", f.Name, f.Type, f.Labels, f.Help,
				mf.GetType(), labels, mf.GetHelp())
		}
	}
	auth := listed["entra_insights_monthly_authentications"]
	if auth.Report != "monthly/authentications" || !slices.Equal(auth.Optional, []string{"app_id", "os", "browser", "auth_flow", "identity_provider", "language"}) {
		t.Errorf("monthly authentications: report %q optional %v", auth.Report, auth.Optional)
	}
}
