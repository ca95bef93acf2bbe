package insights

import (
	"slices"
	"testing"
)

// TestSpecsAreConsistent checks the report catalog against itself: unique
// names, a wire schema for every report Graph serves, a wire property for
// every dimension.
func TestSpecsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("declared twice")
			}
			seen[s.Name] = true
			if len(s.Graph) == 0 && len(s.Logs) == 0 {
				t.Error("no source produces it")
			}
			if len(s.Graph) > 0 && (s.Entity == "" || len(s.Fields) == 0) {
				t.Errorf("served by Graph but has entity %q and %d fields", s.Entity, len(s.Fields))
			}
			for _, g := range s.Graph {
				names := map[string]bool{}
				for _, f := range s.FieldsAt(g) {
					kinds := 0
					for _, set := range []bool{f.Str != nil, f.Num != nil, f.Failures != nil} {
						if set {
							kinds++
						}
					}
					if kinds != 1 || names[f.Name] {
						t.Errorf("%s: field %q has %d kinds or is listed twice", g, f.Name, kinds)
					}
					names[f.Name] = true
				}
				for _, label := range s.Dimensions {
					if !carries(s.FieldsAt(g), label) {
						t.Errorf("%s: dimension %q has no wire property that reads it", g, label)
					}
				}
			}
		})
	}
}

// carries reports whether one of fields is the string property holding the
// dimension label of a row.
func carries(fields []Field, label string) bool {
	r := Row{AppID: "a", OS: "o", Country: "c", Language: "l", Browser: "b", AuthFlow: "f",
		IdentityProvider: "i", MFAMethod: "m", MFAType: "t"}
	want, ok := r.Dimension(label)
	return ok && slices.ContainsFunc(fields, func(f Field) bool { return f.Str != nil && f.Str(&r) == want })
}

func TestReportListsFollowTheSpecs(t *testing.T) {
	if n := len(AllReports()); n != 18 {
		t.Errorf("AllReports() has %d reports, want Graph's 18", n)
	}
	for _, r := range LogsReports() {
		if s, _ := SpecOf(r.Name); !slices.Contains(s.Logs, r.Granularity) {
			t.Errorf("LogsReports() lists %s, which its spec does not give the logs source", r)
		}
	}
	for _, r := range AllReports() {
		got, err := ParseReport(r.String())
		if err != nil || got != r {
			t.Errorf("ParseReport(%q) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseReport("daily/tenantActiveUsers"); err == nil {
		t.Error("ParseReport accepts tenantActiveUsers, whose family is activeUsers' (a config file lists that)")
	}
}
