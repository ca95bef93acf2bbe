package insights

import (
	"reflect"
	"testing"
)

// TestSetDimension: every dimension of the catalog can be set on a row and
// reads back alone, other names are refused and change nothing.
func TestSetDimension(t *testing.T) {
	labels := map[string]bool{"mfa_type": true} // mfaRegisteredUsers' rows carry it, as no config choice
	for _, s := range Specs() {
		for _, label := range s.Dimensions {
			labels[label] = true
		}
	}
	for label := range labels {
		var r Row
		if !r.SetDimension(label, "v") {
			t.Errorf("SetDimension(%q) refused", label)
			continue
		}
		for other := range labels {
			got, ok := r.Dimension(other)
			if want := map[bool]string{true: "v"}[other == label]; !ok || got != want {
				t.Errorf("after SetDimension(%q): Dimension(%q) = %q, %v; want %q", label, other, got, ok, want)
			}
		}
	}
	var r Row
	if r.SetDimension("reason_code", "v") || !reflect.DeepEqual(r, Row{}) {
		t.Error("SetDimension(reason_code) accepted a name that is no dimension")
	}
}
