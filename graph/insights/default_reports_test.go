package insights

import (
	"slices"
	"testing"
)

// TestDefaultReportsLeaveOutTheDeprecatedReport: the defaults are every
// report a source produces but the deprecated one.
func TestDefaultReportsLeaveOutTheDeprecatedReport(t *testing.T) {
	defaults := DefaultReports()
	var want []Report
	for _, r := range KnownReports() {
		if r.Name != InactiveUsersByApplication {
			want = append(want, r)
		}
	}
	if !slices.Equal(defaults, want) {
		t.Errorf("DefaultReports() = %v, want %v", defaults, want)
	}
	if len(defaults) != len(KnownReports())-2 {
		t.Errorf("DefaultReports() has %d reports, want the %d of KnownReports() but 2", len(defaults), len(KnownReports()))
	}
	for _, name := range []string{SignInInterrupts, SignUpFunnel} { // logs only, read by default
		if !slices.Contains(defaults, Report{Granularity: Daily, Name: name}) {
			t.Errorf("DefaultReports() lacks daily/%s", name)
		}
	}
	for _, s := range []string{"daily/inactiveUsersByApplication", "monthly/inactiveUsersByApplication"} {
		r, err := ParseReport(s)
		if err != nil {
			t.Errorf("ParseReport(%q): %v; a config file must still be able to ask for it", s, err)
		}
		if slices.Contains(defaults, r) {
			t.Errorf("DefaultReports() contains %s", r)
		}
	}
}

func TestReasonsEndWithRetired(t *testing.T) {
	reasons := Reasons()
	if reasons[len(reasons)-1] != ReasonRetired || ReasonRetired != "retired" {
		t.Errorf("Reasons() = %v, want retired last", reasons)
	}
	seen := map[Reason]bool{}
	for _, r := range reasons {
		if seen[r] {
			t.Errorf("Reasons() lists %s twice", r)
		}
		seen[r] = true
	}
}
