// Package promtest runs end-to-end tests against real components: the
// exporter binary, Debian's prometheus and promtool. It builds and starts
// processes on free loopback ports, stops them when the test ends, and
// talks to Prometheus' HTTP API with plain net/http. It also holds the one
// way tests read and write the exposition (exposition.go): parsing a
// /metrics body, encoding what a registry gathers, and finding series.
//
// Tests call Require first: without prometheus or promtool in PATH they
// skip, unless ENTRA_INSIGHTS_E2E=required (set by .ci/run) turns the skip
// into a failure.
package promtest

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// E2EEnv is the environment variable that makes missing tools a failure.
const E2EEnv = "ENTRA_INSIGHTS_E2E"

// Require skips the test when prometheus or promtool is not installed, or
// fails it when E2EEnv is "required".
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "end-to-end test needs %v in PATH (Debian: apt-get install prometheus)"
	if os.Getenv(E2EEnv) == "required" {
		t.Fatalf(msg+"; %s=required", missing, E2EEnv)
	}
	t.Skipf(msg+"; set %s=required to fail instead of skipping", missing, E2EEnv)
}

// WaitFor polls cond until it returns true and fails the test if that does
// not happen within timeout.
func WaitFor(t testing.TB, cond func() bool, timeout time.Duration) {
	t.Helper()
	if !poll(t, cond, timeout) {
		t.Fatalf("condition not met within %v", timeout)
	}
}

// poll calls cond every pollInterval until it is true (returns true), the
// timeout passes or the test's context ends (returns false).
func poll(t testing.TB, cond func() bool, timeout time.Duration) bool {
	const pollInterval = 200 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-t.Context().Done():
			return false
		case <-time.After(pollInterval):
		}
	}
}
