package logs

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// TestFamilyLabelsAreDimensions: every label a family of counters is keyed
// by is read from the events that family counts (its points carry it);
// the distinct-user tuple is read from a sign-in.
func TestFamilyLabelsAreDimensions(t *testing.T) {
	var signIn, signUp []string
	for _, d := range signInDimensions {
		signIn = append(signIn, d.label)
	}
	for _, d := range signUpDimensions {
		signUp = append(signUp, d.label)
	}
	families := []struct {
		name   string
		labels []string
		from   []string // the labels of the events it counts
	}{
		{"auth", authLabels, signIn},
		{"mfa", mfaLabels, signIn},
		{"interrupts", interruptLabels, signIn},
		{"requests", requestLabels, signIn}, // and sign-ups, whose country is unknown
		{"signUps", signUpLabels, signUp},
		{"signUpFailures", signUpFailLabels, signUp},
		{"tuple", tupleDims[:], signIn},
	}
	for _, f := range families {
		for _, label := range f.labels {
			if !slices.Contains(f.from, label) {
				t.Errorf("%s: label %q is no dimension of its events", f.name, label)
			}
		}
	}
}

// TestFamilyLabelsChange: a period stored before a family's labels changed
// reads with the labels of now: a label added since is unknown for its
// counters, the counters of a label dropped since fold together.
func TestFamilyLabelsChange(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	d := periodDoc{periodBase: periodBase{Granularity: insights.Daily, Start: start}}
	// auth written with a language label it no longer has, and without browser.
	d.Auth = familyDoc[*counts]{Labels: []string{"app_id", "os", "country", "language"}, Counters: []counter[*counts]{
		{K: "a" + keySep + "Windows" + keySep + "US" + keySep + "de", V: &counts{Attempts: 2, Successes: 1, Failures: map[string]int64{"50126": 1}}},
		{K: "a" + keySep + "Windows" + keySep + "US" + keySep + "en", V: &counts{Attempts: 3, Successes: 2, Failures: map[string]int64{"50126": 1}}},
	}}
	d.Requests = familyDoc[int64]{Labels: []string{"app_id"}, Counters: []counter[int64]{{K: "a", V: 5}}}
	p, err := periodFromDoc(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := values{{"app_id", "a"}, {"os", "Windows"}, {"country", "US"}}.key(authLabels) // browser unknown
	wantAuth := map[string]*counts{key: {Attempts: 5, Successes: 3, Failures: map[string]int64{"50126": 2}}}
	if !reflect.DeepEqual(p.auth, wantAuth) {
		t.Errorf("auth = %v, want %v", p.auth, wantAuth)
	}
	if want := map[string]int64{values{{"app_id", "a"}}.key(requestLabels): 5}; !reflect.DeepEqual(p.requests, want) {
		t.Errorf("requests = %v, want %v", p.requests, want)
	}
	// Written again, the period has the labels of now.
	if again := p.doc(); !slices.Equal(again.Auth.Labels, authLabels) || len(again.Auth.Counters) != 1 {
		t.Errorf("rewritten auth: %+v", again.Auth)
	}
}
