package graph

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
)

// Microsoft's published example responses (graph/testdata/msdocs, each
// named in its README) pass through the real client and the logs source:
// the shape Graph documents, not our simulator's, is what the numbers are
// made of.

// fixtureGraph serves the msdocs fixtures at the paths of the reads.
func fixtureGraph(t *testing.T) *fakeGraph {
	t.Helper()
	files := map[string]string{
		"/beta/auditLogs/signIns":                                     "signins-list.json",
		"/beta/auditLogs/signUps":                                     "signups-list.json",
		"/beta/reports/authenticationMethods/userRegistrationDetails": "userregistrationdetails-list.json",
		"/beta/users/$count":                                          "users-count.txt",
	}
	return newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		name, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(filepath.Join("testdata", "msdocs", name))
		if err != nil {
			t.Error(err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if strings.HasSuffix(name, ".txt") {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(strings.TrimSpace(string(body))))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// TestMicrosoftExamplesThroughTheClient: every documented example decodes,
// with the fields the logs source counts by.
func TestMicrosoftExamplesThroughTheClient(t *testing.T) {
	g := fixtureGraph(t)
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	ctx := t.Context()
	far := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var signIns []insights.SignIn
	if err := c.SignIns(ctx, far, time.Now(), false, func(p []insights.SignIn) error { signIns = append(signIns, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(signIns) != 1 || signIns[0].ErrorCode != 50126 || signIns[0].UserID == "" || signIns[0].AppID == "" {
		t.Errorf("signIns example: %+v, want one failed interactive sign-in (50126) with user and app", signIns)
	}
	var signUps []insights.SignUp
	if err := c.SignUps(ctx, far, time.Now(), false, func(p []insights.SignUp) error { signUps = append(signUps, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	stages := map[string]int64{}
	for _, e := range signUps {
		if e.CorrelationID != signUps[0].CorrelationID {
			t.Errorf("sign-up event %s of another flow %s", e.ID, e.CorrelationID)
		}
		stages[e.Stage] = e.ErrorCode
	}
	want := map[string]int64{"credentialCollection": 0, "credentialValidation": 1002013, "attributeCollectionAndValidation": 0, "userCreation": 0}
	if len(stages) != len(want) {
		t.Errorf("signUps example stages %v, want %v", stages, want)
	}
	for stage, code := range want {
		if got, ok := stages[stage]; !ok || got != code {
			t.Errorf("signUps example stage %s: code %d (present %v), want %d", stage, got, ok, code)
		}
	}
	regs := 0
	if err := c.Registrations(ctx, "", func(p []insights.Registration, _ string) error { regs += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if regs == 0 {
		t.Error("userRegistrationDetails example: no users")
	}
	if n, err := c.UserCount(ctx); err != nil || n <= 0 {
		t.Errorf("users/$count example: %d, %v", n, err)
	}
}

// TestMicrosoftSignUpExampleIsOneSignUp: the four events of Microsoft's
// sign-up example are one sign-up, no failure (1002013 is the passcode
// prompt, "not an actual error"), and a funnel of four stages.
func TestMicrosoftSignUpExampleIsOneSignUp(t *testing.T) {
	g := fixtureGraph(t)
	c := newTestClient(t, g.URL+"/beta", &fakeCredentials{}, transport.Options{})
	now := func() time.Time { return time.Date(2024, 10, 15, 2, 30, 0, 0, time.UTC) }
	src, err := logs.New(logs.Options{Tenant: "t", Label: "t", Reader: c, Now: now,
		ActiveUserDims: map[insights.Granularity][]string{insights.Daily: {"app_id"}, insights.Monthly: {"app_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = src.Sync(context.Background()) // the 2021 sign-in of the signIns example is outside every window
	signUps := src.Result(insights.Report{Granularity: insights.Daily, Name: insights.SignUps})
	if signUps.Err != nil {
		t.Fatal(signUps.Err)
	}
	sums := map[string]int64{}
	for _, p := range signUps.Points {
		sums[p.Family] += p.Value
	}
	if sums["sign_ups"] != 1 || sums["sign_up_failures"] != 0 {
		t.Errorf("Microsoft's sign-up example: %d sign-ups, %d failures; want 1 and 0", sums["sign_ups"], sums["sign_up_failures"])
	}
	funnel := src.Result(insights.Report{Granularity: insights.Daily, Name: insights.SignUpFunnel})
	if funnel.Err != nil {
		t.Fatal(funnel.Err)
	}
	stages := 0
	for _, p := range funnel.Points {
		want := int64(1) // reached
		if p.Family == "sign_up_abandoned_flows" {
			want = 0
		} else {
			stages++
		}
		if p.Value != want {
			t.Errorf("funnel stage %s: %s = %d, want %d", p.Label("stage"), p.Family, p.Value, want)
		}
	}
	if stages != 4 {
		t.Errorf("funnel has %d stages, want the example's 4", stages)
	}
}
