package registry

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
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
// own, with what the probe hands it.
func TestEverySourceProbesItsOwnReads(t *testing.T) {
	args := ProbeArgs{Now: time.Now(), Lookback: 48 * time.Hour, Reports: insights.DefaultReports()}
	want := map[string]string{
		insights.SourceLogs:         "logs 48h0m0s",
		insights.SourceUserInsights: "userinsights " + strconv.Itoa(len(args.Reports)),
	}
	for _, spec := range Sources() {
		p := &recordingProber{}
		results := spec.Probe(t.Context(), p, args)
		if len(p.calls) != 1 || p.calls[0] != want[spec.Name] || len(results) != 1 || results[0].Read != spec.Name {
			t.Errorf("%s probes %v and returns %+v, want %q and its results", spec.Name, p.calls, results, want[spec.Name])
		}
	}
}
