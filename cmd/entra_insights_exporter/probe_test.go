package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// probeArgs is the probe command against sim with the logs source, as
// serve's flags would point at it, without the request budget (the
// simulator does not throttle).
func probeArgs(t *testing.T, sim *graphsim.Sim) []string {
	t.Helper()
	return append([]string{"probe"}, setFlag(logsArgs(t, sim), "graph.rate-limit", "0")...)
}

// probeLine is one read's line of the probe's table.
type probeLine struct{ need, status, code, outcome, request string }

// columns splits the table's lines: tabwriter pads the columns with at
// least two spaces, and no cell holds two spaces in a row.
var columns = regexp.MustCompile(`\s{2,}`)

// probeLines parses the table of the probe's output by read.
func probeLines(t *testing.T, out string) map[string]probeLine {
	t.Helper()
	lines := map[string]probeLine{}
	for _, l := range strings.Split(out, "\n") {
		f := columns.Split(l, 6)
		if len(f) != 6 || f[0] == "READ" {
			continue
		}
		lines[f[0]] = probeLine{need: f[1], status: f[2], code: f[3], outcome: f[4], request: f[5]}
	}
	return lines
}

// checkNoSecret fails if output holds the client secret, an access token
// (the simulator's all start "graphsim.") or an Authorization header
// ("Authorization:", not Graph's code Authorization_RequestDenied).
func checkNoSecret(t *testing.T, output string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, graphsim.DefaultClientSecret, "graphsim.", "Bearer", "Authorization:") {
		if strings.Contains(output, s) {
			t.Errorf("the probe's output holds %q:\n%s", s, output)
		}
	}
}

// TestProbeCommandEveryReadWorks: against the simulator every read works,
// each has its line, and the command exits 0.
func TestProbeCommandEveryReadWorks(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{})
	code, out, errOut := runCLI(t, t.Context(), probeArgs(t, sim)...)
	if code != 0 {
		t.Fatalf("probe exited %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	lines := probeLines(t, out)
	for _, read := range []string{"signIns", "signUps", "userRegistrationDetails"} {
		if l := lines[read]; l.need != "required" || l.status != "200" || l.code != "-" || l.outcome != "used" {
			t.Errorf("%s: %+v", read, l)
		}
	}
	for _, read := range []string{"token", "signIns $select", "signUps $select", "signIns lookback", "users/$count", "inactive users"} {
		if _, ok := lines[read]; !ok {
			t.Errorf("no line for %s:\n%s", read, out)
		}
	}
	if !strings.Contains(out, "tenant contoso ("+sim.TenantID+"), source logs\n") ||
		!strings.Contains(out, "\n3 of 3 required reads work\n") || strings.Contains(out, issuesURL) {
		t.Errorf("header or closing line wrong:\n%s", out)
	}
	checkNoSecret(t, out+errOut)
}

// TestProbeCommandSelectOutcomeFollowsGraph: the $select lines say what
// Graph answered: 200 used with $select, 400 used without (the simulator
// may accept or refuse $select, as Graph may).
func TestProbeCommandSelectOutcomeFollowsGraph(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{})
	_, out, _ := runCLI(t, t.Context(), probeArgs(t, sim)...)
	for _, read := range []string{"signIns $select", "signUps $select"} {
		l := probeLines(t, out)[read]
		if !strings.Contains(l.request, "$select=id,") {
			t.Errorf("%s sends no $select: %q", read, l.request)
		}
		switch l.status {
		case "200":
			if l.outcome != "used with $select" {
				t.Errorf("%s answered 200: outcome %q", read, l.outcome)
			}
		case "400":
			if !strings.HasPrefix(l.outcome, "used without $select (Graph refused it: ") {
				t.Errorf("%s answered 400: outcome %q", read, l.outcome)
			}
		default:
			t.Errorf("%s: %+v, want status 200 or 400", read, l)
		}
	}
}

// TestProbeCommandForbiddenSignIns: a 403 on signIns fails the command
// with exit 1 and names the permissions to grant.
func TestProbeCommandForbiddenSignIns(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{})
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: 403, Report: "signIns"})
	code, out, errOut := runCLI(t, t.Context(), probeArgs(t, sim)...)
	if code != 1 {
		t.Fatalf("probe exited %d, want 1; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	l := probeLines(t, out)["signIns"]
	if l.status != "403" || l.code != "Authorization_RequestDenied" || !strings.Contains(l.outcome, "AuditLog.Read.All") {
		t.Errorf("signIns line: %+v", l)
	}
	if !strings.Contains(out, "\n2 of 3 required reads work\n") || !strings.Contains(out, issuesURL) {
		t.Errorf("closing lines wrong:\n%s", out)
	}
	checkNoSecret(t, out+errOut)
}

// TestProbeCommandTokenRefused: a wrong client secret is the token line,
// exit 1, and neither secret shows.
func TestProbeCommandTokenRefused(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{})
	const wrong = "not-the-secret-8d1f"
	args := setFlag(probeArgs(t, sim), "azure.client-secret-file", writeFile(t, t.TempDir(), "secret", wrong))
	code, out, errOut := runCLI(t, t.Context(), args...)
	if code != 1 {
		t.Fatalf("probe exited %d, want 1; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	l := probeLines(t, out)["token"]
	if l.status != "401" || l.code != "invalid_client" || !strings.HasPrefix(l.outcome, "refused: token service answered HTTP 401: invalid_client: AADSTS7000215") {
		t.Errorf("token line: %+v", l)
	}
	if s := probeLines(t, out)["signIns"]; s.outcome != "skipped: no token" {
		t.Errorf("signIns without a token: %+v", s)
	}
	if !strings.Contains(out, "\n0 of 3 required reads work\n") {
		t.Errorf("closing line wrong:\n%s", out)
	}
	checkNoSecret(t, out+errOut, wrong)
}

// TestProbeCommandDemoAndBadFlags: --demo works as with serve; a bad flag
// exits 2 as with the other commands.
func TestProbeCommandDemoAndBadFlags(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, t.Context(), "probe", "--demo")
	if code != 0 || !strings.Contains(out, "tenant demo (") || !strings.Contains(out, "3 of 3 required reads work") {
		t.Errorf("probe --demo exited %d; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoSecret(t, out+errOut)
	if code, _, errOut := runCLI(t, t.Context(), "probe", "--demo", "--graph.rate-limit=-1"); code != 2 {
		t.Errorf("probe with a bad flag exited %d, want 2; stderr:\n%s", code, errOut)
	}
}
