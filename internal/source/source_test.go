package source

import (
	"slices"
	"testing"
	"time"
)

// TestRecordsArePointsUnlessGiven: a result without Records counts its
// points per period; one with Records counts those (Graph's rows).
func TestRecordsArePointsUnlessGiven(t *testing.T) {
	d1, d2 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	r := Result{Points: []Point{{Family: "a", Start: d1}, {Family: "b", Start: d1}, {Family: "a", Start: d2}}}
	if n := r.RecordsIn(d1); n != 2 {
		t.Errorf("records of %s: %d, want the 2 points", d1, n)
	}
	if got := r.Periods(); !slices.EqualFunc(got, []time.Time{d1, d2}, time.Time.Equal) {
		t.Errorf("periods %v, want %s and %s", got, d1, d2)
	}
	r.Records = map[time.Time]int{d1: 5, d2: 0}
	if n := r.RecordsIn(d1); n != 5 {
		t.Errorf("records of %s: %d, want the given 5", d1, n)
	}
	if got := r.Periods(); !slices.EqualFunc(got, []time.Time{d1}, time.Time.Equal) {
		t.Errorf("periods %v, want only %s (the other has no record)", got, d1)
	}
}

// TestSeeAppNewestNameWins: an id is noted without a name; the newest
// name wins, a tie keeps the first.
func TestSeeAppNewestNameWins(t *testing.T) {
	d1, d2 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	apps := map[string]App{}
	SeeApp(apps, "a", App{})
	if _, ok := apps["a"]; !ok {
		t.Fatal("an id without a name is not noted")
	}
	for _, a := range []App{{"old", d1}, {"new", d2}, {"older", d1}, {"tie", d2}, {"", d2}} {
		SeeApp(apps, "a", a)
	}
	if got := apps["a"].Name; got != "new" {
		t.Errorf("name %q, want the newest, first seen: new", got)
	}
}
