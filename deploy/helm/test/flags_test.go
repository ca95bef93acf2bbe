package charttest

import (
	"slices"
	"strings"
	"testing"
)

func exporterArgs(t *testing.T, values string) []string {
	t.Helper()
	pod, _ := podSpec(t, mustRender(t, []byte(values)))
	return pod.Spec.Containers[0].Args
}

func hasArgPrefix(args []string, prefix string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

// TestRefreshTimeoutAndMaxAge: refresh-timeout and max-age are passed only
// when set, so the exporter's defaults (min(2m, interval); 1h) apply; a 1m
// interval no longer renders a 2m timeout the exporter refuses.
func TestRefreshTimeoutAndMaxAge(t *testing.T) {
	args := exporterArgs(t, "exporter: {refreshInterval: 1m}\n")
	if !slices.Contains(args, "--insights.refresh-interval=1m") {
		t.Errorf("args %q lack --insights.refresh-interval=1m", args)
	}
	for _, flag := range []string{"--insights.refresh-timeout", "--insights.max-age"} {
		if hasArgPrefix(args, flag) {
			t.Errorf("args %q pass %s though it is not set", args, flag)
		}
	}
	args = exporterArgs(t, "exporter: {refreshInterval: 2h, refreshTimeout: 5m, maxAge: 3h}\n")
	for _, want := range []string{"--insights.refresh-interval=2h", "--insights.refresh-timeout=5m", "--insights.max-age=3h"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	for _, values := range []string{
		"exporter: {refreshTimeout: \"\", maxAge: \"\"}\n",
		"exporter: {maxAge: 90m}\n",
	} {
		if _, err := render(t, []byte(values)); err != nil {
			t.Errorf("values refused:\n%s\n%v", values, err)
		}
	}
	for _, c := range []struct{ values, mention string }{
		{"exporter: {maxAge: an hour}\n", "maxAge"},
		{"exporter: {maxAge: 1d}\n", "maxAge"},
		{"exporter: {refreshTimeout: two minutes}\n", "refreshTimeout"},
	} {
		_, err := render(t, []byte(c.values))
		if err == nil || !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("values\n%sgave %v, want a schema error naming %s", c.values, err, c.mention)
		}
	}
}
