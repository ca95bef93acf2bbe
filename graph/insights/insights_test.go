package insights

import "testing"

// TestDimension: every dimension of the catalog is read from a row, other
// names are not.
func TestDimension(t *testing.T) {
	labels := map[string]bool{"mfa_type": true} // mfaRegisteredUsers' rows carry it, as no config choice
	for _, s := range Specs() {
		for _, label := range s.Dimensions {
			labels[label] = true
		}
	}
	r := Row{AppID: "app_id", OS: "os", Country: "country", Language: "language", Browser: "browser", AuthFlow: "auth_flow",
		IdentityProvider: "identity_provider", MFAMethod: "mfa_method", MFAType: "mfa_type"}
	for label := range labels {
		if got, ok := r.Dimension(label); !ok || got != label {
			t.Errorf("Dimension(%q) = %q, %v; want its field", label, got, ok)
		}
	}
	if _, ok := r.Dimension("reason_code"); ok {
		t.Error("Dimension(reason_code) reads a name that is no dimension")
	}
}
