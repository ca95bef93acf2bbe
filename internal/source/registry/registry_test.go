package registry

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// nopClient answers nothing; building a source must not call it.
type nopClient struct{}

func (nopClient) SignIns(context.Context, time.Time, time.Time, bool, func([]insights.SignIn) error) error {
	return nil
}
func (nopClient) SignUps(context.Context, time.Time, time.Time, bool, func([]insights.SignUp) error) error {
	return nil
}
func (nopClient) UserCount(context.Context) (int64, error)                { return 0, nil }
func (nopClient) InactiveUsers(context.Context, time.Time) (int64, error) { return 0, nil }
func (nopClient) Registrations(context.Context, string, func([]insights.Registration, string) error) error {
	return nil
}
func (nopClient) Fetch(context.Context, insights.Report) ([]insights.Row, error) { return nil, nil }

// TestEverySourceBuilds: each entry builds a source whose name and reports
// are the entry's, and says what it needs.
func TestEverySourceBuilds(t *testing.T) {
	for _, spec := range Sources() {
		src, err := spec.New(Deps{Client: nopClient{}, Label: "t", StoreKey: "t/id"})
		if err != nil {
			t.Fatalf("%s: %v", spec.Name, err)
		}
		if src.Name() != spec.Name || !slices.Equal(src.Reports(), spec.Reports()) {
			t.Errorf("%s builds a source named %q with reports %v, want the entry's", spec.Name, src.Name(), src.Reports())
		}
		if spec.Help == "" || len(spec.Permissions) == 0 || len(spec.Reports()) == 0 {
			t.Errorf("%s: help %q, permissions %v, %d reports: every source says what it is, needs and produces",
				spec.Name, spec.Help, spec.Permissions, len(spec.Reports()))
		}
		if spec.SteadyRequests(insights.DefaultReports()) <= 0 {
			t.Errorf("%s: no request in a steady refresh", spec.Name)
		}
	}
	if got := Names(); len(got) == 0 || got[0] != insights.SourceLogs {
		t.Errorf("sources %v, want the logs source first (the default)", got)
	}
}

func TestLookupNamesTheSources(t *testing.T) {
	if _, err := Lookup("kql"); err == nil || !strings.Contains(err.Error(), strings.Join(Names(), ", ")) {
		t.Errorf("Lookup of an unknown source: %v, want an error naming the sources", err)
	}
	if spec, err := Lookup(insights.SourceUserInsights); err != nil || spec.Name != insights.SourceUserInsights {
		t.Errorf("Lookup(%q) = %q, %v", insights.SourceUserInsights, spec.Name, err)
	}
}

// TestFamiliesFollowTheReports checks each source's families against the
// report catalog and each other: a family belongs to a declared report the
// source produces, each report a source produces gives a family, the
// dimensions a family keeps by default are among those it declares, its
// own labels are none of them, and two sources' families of one name agree
// (the collector refuses them otherwise).
func TestFamiliesFollowTheReports(t *testing.T) {
	byName := map[string]source.Family{}
	for _, spec := range Sources() {
		fed := map[insights.Report]bool{}
		for _, f := range spec.Families() {
			_, ok := insights.SpecOf(f.Report)
			if !ok {
				t.Errorf("%s: %s belongs to %q, which the catalog does not declare", spec.Name, f.Name, f.Report)
				continue
			}
			for _, d := range f.Defaults {
				if !slices.Contains(f.Dimensions, d) {
					t.Errorf("%s: %s keeps %q by default, not one of its dimensions %v", spec.Name, f.Name, d, f.Dimensions)
				}
			}
			for _, l := range f.Labels { // a label twice on a series panics the collector's refresh
				if slices.Contains(f.Dimensions, l) || l == "tenant" {
					t.Errorf("%s: %s sets label %q, which is also a dimension or the tenant's", spec.Name, f.Name, l)
				}
			}
			produced := false
			for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
				r := insights.Report{Granularity: g, Name: f.Report}
				if f.In(g) && slices.Contains(spec.Reports(), r) {
					produced, fed[r] = true, true
				}
			}
			if !produced {
				t.Errorf("%s: %s belongs to %s at no granularity the source produces", spec.Name, f.Name, f.Report)
			}
			if f.Help == "" || f.Kind == "" {
				t.Errorf("%s: %s has help %q and kind %q", spec.Name, f.Name, f.Help, f.Kind)
			}
			f.Source = spec.Name
			if seen, ok := byName[f.Name+string(f.Only)]; ok && seen.Source != f.Source && !seen.Agrees(f) {
				t.Errorf("%s: %s is declared unlike the %s source's: %+v, %+v", spec.Name, f.Name, seen.Source, f, seen)
			}
			byName[f.Name+string(f.Only)] = f
		}
		for _, r := range spec.Reports() {
			if !fed[r] {
				t.Errorf("%s: report %s gives no family", spec.Name, r)
			}
		}
	}
}

// recordingProber answers each set of reads with one line naming it.
type recordingProber struct{ calls []string }

func (p *recordingProber) ProbeLogs(_ context.Context, _ time.Time, lookback time.Duration) []insights.ProbeResult {
	p.calls = append(p.calls, "logs "+lookback.String())
	return []insights.ProbeResult{{Read: "logs"}}
}

func (p *recordingProber) ProbeUserInsights(_ context.Context, reports []insights.Report) []insights.ProbeResult {
	p.calls = append(p.calls, "userinsights "+strconv.Itoa(len(reports)))
	return []insights.ProbeResult{{Read: "userinsights"}}
}

// TestEverySourceProbesItsOwnReads: each entry makes one set of reads, its
// own, with what the probe hands it: the logs source's lookback is its
// flag's default.
func TestEverySourceProbesItsOwnReads(t *testing.T) {
	reports := insights.DefaultReports()
	want := map[string]string{
		insights.SourceLogs:         "logs 168h0m0s",
		insights.SourceUserInsights: "userinsights " + strconv.Itoa(len(reports)),
	}
	for _, spec := range Sources() {
		p := &recordingProber{}
		results, err := spec.Probe(t.Context(), p, ProbeArgs{Now: time.Now(), Reports: reports, Flags: defaultFlags(t, spec)})
		if err != nil || len(p.calls) != 1 || p.calls[0] != want[spec.Name] || len(results) != 1 || results[0].Read != spec.Name {
			t.Errorf("%s probes %v and returns %+v, %v; want %q and its results", spec.Name, p.calls, results, err, want[spec.Name])
		}
	}
}

// defaultFlags returns spec's flags as the command line fills them in
// without arguments; nil for a source without flags.
func defaultFlags(t *testing.T, spec Spec) Flags {
	t.Helper()
	if spec.Flags == nil {
		return nil
	}
	f := spec.Flags()
	parser, err := kong.New(f, kong.Exit(func(code int) { t.Fatalf("%s: kong exited with %d", spec.Name, code) }))
	if err != nil {
		t.Fatalf("%s: its flags are not a kong struct: %v", spec.Name, err)
	}
	if _, err := parser.Parse(nil); err != nil { // Parse validates too
		t.Fatalf("%s: its flags' defaults do not parse and validate: %v", spec.Name, err)
	}
	for _, flag := range parser.Model.Flags {
		if flag.Name != "help" && !strings.HasPrefix(flag.Name, spec.Name+".") {
			t.Errorf("%s: flag --%s is not named after its source (--%s.…)", spec.Name, flag.Name, spec.Name)
		}
	}
	return f
}

// otherFlags are flags of no source.
type otherFlags struct{}

func (*otherFlags) Validate() error { return nil }

// TestEverySourcesFlagsParse: each source's flags parse with their
// defaults and validate (defaultFlags), are named after it, and build the
// source; another type of flags is refused, not taken for the defaults.
func TestEverySourcesFlagsParse(t *testing.T) {
	for _, spec := range Sources() {
		f := defaultFlags(t, spec)
		if f == nil {
			continue
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%s: the defaults do not validate: %v", spec.Name, err)
		}
		if _, err := spec.New(Deps{Client: nopClient{}, Label: "t", StoreKey: "t/id", Flags: f}); err != nil {
			t.Errorf("%s with its default flags: %v", spec.Name, err)
		}
		if _, err := spec.New(Deps{Client: nopClient{}, Label: "t", StoreKey: "t/id", Flags: &otherFlags{}}); err == nil {
			t.Errorf("%s builds with flags of another type", spec.Name)
		}
		if _, err := spec.Probe(t.Context(), &recordingProber{}, ProbeArgs{Flags: &otherFlags{}}); err == nil {
			t.Errorf("%s probes with flags of another type", spec.Name)
		}
	}
}
