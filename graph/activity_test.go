package graph_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// activityClient is a client of a simulator with small log pages, so every
// read pages.
func activityClient(t *testing.T, opts graphsim.Options) (*graphsim.Sim, *graph.Client) {
	t.Helper()
	opts.Now, opts.LogPageSize = fixedNow, 97
	sim := graphsimtest.Start(t, opts)
	return sim, graphsimtest.Client(t, sim, nil, graph.Deps{Metrics: transport.NewMetrics(prometheus.NewRegistry())})
}

// TestSignInsAndSignUpsFromSimulator: every visible event of a window, once,
// with the fields mapped as the logs source needs them (nulls as empty,
// the MFA method and result of the last authentication step).
func TestSignInsAndSignUpsFromSimulator(t *testing.T) {
	sim, c := activityClient(t, graphsim.Options{})
	to := fixedNow()
	from := to.Add(-48 * time.Hour)
	want := map[string]graphsim.SignInEvent{}
	for _, e := range graphsim.SignIns(sim.TenantID, to, graphsim.Options{LogPageSize: 97}) {
		if !e.CreatedDateTime.Before(from) && e.CreatedDateTime.Before(to) && !e.VisibleAt.After(to) {
			want[e.ID] = e
		}
	}
	got := map[string]insights.SignIn{}
	pages := 0
	if err := c.SignIns(t.Context(), from, to, false, func(page []insights.SignIn) error {
		pages++
		for _, e := range page {
			if _, dup := got[e.ID]; dup {
				t.Errorf("sign-in %s read twice", e.ID)
			}
			got[e.ID] = e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) < 200 || len(got) != len(want) || pages < 3 {
		t.Fatalf("read %d sign-ins in %d pages, the simulator has %d", len(got), pages, len(want))
	}
	mfa := 0
	for id, w := range want {
		g := got[id]
		if g.UserID != w.UserID || g.AppID != w.AppID || g.OS != w.DeviceDetail.OperatingSystem ||
			g.Country != w.Location.CountryOrRegion || g.ErrorCode != int64(w.Status.ErrorCode) || !g.Created.Equal(w.CreatedDateTime) {
			t.Fatalf("sign-in %s: got %+v, want %+v", id, g, w)
		}
		if w.AuthenticationRequirement == "multiFactorAuthentication" {
			mfa++
			last := w.AuthenticationDetails[len(w.AuthenticationDetails)-1]
			if !g.MFA || g.MFAMethod != last.AuthenticationMethod || g.MFASucceeded != last.Succeeded {
				t.Fatalf("MFA sign-in %s: got %+v, want method %q succeeded %v", id, g, last.AuthenticationMethod, last.Succeeded)
			}
		}
	}
	if mfa == 0 {
		t.Error("no MFA sign-in in the window; the test would not notice a broken mapping")
	}
	signUps := 0
	if err := c.SignUps(t.Context(), from, to, false, func(page []insights.SignUp) error { signUps += len(page); return nil }); err != nil {
		t.Fatal(err)
	}
	if signUps == 0 {
		t.Error("no sign-ups read")
	}
}

// TestUserCountsFromSimulator: users/$count with ConsistencyLevel, and the
// signInActivity filter with and without the licence.
func TestUserCountsFromSimulator(t *testing.T) {
	sim, c := activityClient(t, graphsim.Options{})
	n, err := c.UserCount(t.Context())
	if err != nil || n != graphsim.UserCount(sim.TenantID, fixedNow()) || n == 0 {
		t.Fatalf("UserCount = %d, %v; want %d", n, err, graphsim.UserCount(sim.TenantID, fixedNow()))
	}
	inactive, err := c.InactiveUsers(t.Context(), fixedNow().Add(-30*24*time.Hour))
	if err != nil || inactive <= 0 || inactive > n {
		t.Fatalf("InactiveUsers = %d, %v; want between 1 and %d", inactive, err, n)
	}
	_, unlicensed := activityClient(t, graphsim.Options{SignInActivityUnlicensed: true})
	if _, err := unlicensed.InactiveUsers(t.Context(), fixedNow()); !errors.Is(err, insights.ErrUnlicensed) {
		t.Fatalf("InactiveUsers without the licence: %v, want ErrUnlicensed", err)
	}
	regs := 0
	if err := c.Registrations(t.Context(), "", func(page []insights.Registration, _ string) error { regs += len(page); return nil }); err != nil || regs == 0 {
		t.Fatalf("Registrations: %d users, %v", regs, err)
	}
}

// TestActivityForbiddenNamesItsPermissions: a 403 on an activity read
// names the logs source's permissions, not the retired API's.
func TestActivityForbiddenNamesItsPermissions(t *testing.T) {
	sim, c := activityClient(t, graphsim.Options{})
	from := fixedNow().Add(-time.Hour)
	reads := map[string]func() error{
		"signIns": func() error {
			return c.SignIns(t.Context(), from, fixedNow(), false, func([]insights.SignIn) error { return nil })
		},
		"signUps": func() error {
			return c.SignUps(t.Context(), from, fixedNow(), false, func([]insights.SignUp) error { return nil })
		},
		"users/$count": func() error { _, err := c.UserCount(t.Context()); return err },
		"userRegistrationDetails": func() error {
			return c.Registrations(t.Context(), "", func([]insights.Registration, string) error { return nil })
		},
	}
	for resource, read := range reads {
		sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: 403, Report: resource})
		err := read()
		var ie *insights.Error
		if !errors.As(err, &ie) || ie.Reason != insights.ReasonForbidden || ie.Hint != graph.HintForbiddenActivity {
			t.Errorf("%s with 403: %v (hint %q), want reason forbidden and the activity hint", resource, err, hintOf(ie))
		}
	}
}

func hintOf(e *insights.Error) string {
	if e == nil {
		return ""
	}
	return e.Hint
}
