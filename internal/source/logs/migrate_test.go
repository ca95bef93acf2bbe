package logs

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// layout2Fixture is a state written by the layout-2 code and the rows that
// code exported from it: TestWriteLayout2Fixture of commit 3248cd7 wrote
// it, from the state of layout2Tenant read at its clock.
const layout2Fixture = "testdata/layout2.json"

// stateDump is one tenant's state as the store holds it, in a file a
// reviewer can read: the document and the periods as JSON, the other sets
// (binary user keys, times) in hex.
type stateDump struct {
	Doc     json.RawMessage              `json:"doc"`
	Periods map[string]json.RawMessage   `json:"periods"`
	Sets    map[string]map[string]string `json:"sets"` // set → hex key → hex value
	// Rows are what the writing code exported from the state: the report
	// and each row's non-zero fields, sorted.
	Rows []string `json:"rows"`
	// Points are those rows as the families model gives them (pointText),
	// converted once from Rows when the model changed: the figures the
	// state must load with.
	Points []string `json:"points"`
}

// dumpState reads tenant's state from st.
func dumpState(t *testing.T, st *store.Store, tenant string) stateDump {
	t.Helper()
	d := stateDump{Periods: map[string]json.RawMessage{}, Sets: map[string]map[string]string{}}
	if err := st.View(tenant, func(tx *store.Tx) error {
		d.Doc = slices.Clone(tx.Doc())
		for _, set := range tx.Sets() {
			if err := tx.ForEach(set, func(k, v []byte) error {
				if set == periodsSet {
					d.Periods[string(k)] = slices.Clone(v)
					return nil
				}
				if d.Sets[set] == nil {
					d.Sets[set] = map[string]string{}
				}
				d.Sets[set][hex.EncodeToString(k)] = hex.EncodeToString(v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

// restoreState writes d as tenant's state into st.
func restoreState(t *testing.T, st *store.Store, tenant string, d stateDump) {
	t.Helper()
	claim, err := st.Claim(tenant, func(*store.Tx) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(tenant, claim, func(tx *store.Tx) error {
		if err := tx.SetDoc(d.Doc); err != nil {
			return err
		}
		for k, v := range d.Periods {
			if err := tx.Put(periodsSet, []byte(k), v); err != nil {
				return err
			}
		}
		for set, kv := range d.Sets {
			for k, v := range kv {
				key, err := hex.DecodeString(k)
				if err != nil {
					return err
				}
				value, err := hex.DecodeString(v)
				if err != nil {
					return err
				}
				if err := tx.Put(set, key, value); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// pointsOf renders every point of s as pointText, sorted (the source
// builds them in map order).
func pointsOf(t *testing.T, s *Source) []string {
	t.Helper()
	var out []string
	for _, r := range s.Reports() {
		res := s.Result(r)
		if res.Err != nil {
			t.Fatalf("%s: %v", r, res.Err)
		}
		for _, p := range res.Points {
			out = append(out, pointText(r, p))
		}
	}
	slices.Sort(out)
	return out
}

// pointText is p's report, family, period, labels (sorted, but for
// unknown values: a label added to a family after the fixture was written
// is unknown on the counters it holds, fromFamily) and value.
func pointText(r insights.Report, p source.Point) string {
	var labels []string
	for _, l := range p.Labels {
		if v := insights.Normalize(l.Name, l.Value); v != insights.UnknownValue {
			labels = append(labels, l.Name+"="+v)
		}
	}
	slices.Sort(labels)
	return strings.Join(slices.Concat([]string{r.String(), p.Family, p.Start.Format(time.DateOnly)}, labels,
		[]string{"=", fmt.Sprint(p.Value)}), " ")
}

// layout2Now is the clock of the fixture's state. TestWriteLayout2Fixture
// made it from a day of population(11, 1, 0.05) moved to end at 22:00 on
// 1 December, read then: it holds closed periods (30 November and
// November, their distinct users and funnel kept as numbers) and open ones
// (1 December and December, their user and flow sets), every kind of
// counter, and the seen ids of the overlap window.
var layout2Now = time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)

// layout2Reader serves no new events at layout2Now, so a refresh of the
// fixture's state changes none of its figures but writes it.
func layout2Reader() (*fakeReader, *clock) {
	c := &clock{t: layout2Now}
	return &fakeReader{now: c.now, users: 300}, c
}

func readFixture(t *testing.T) stateDump {
	t.Helper()
	data, err := os.ReadFile(layout2Fixture)
	if err != nil {
		t.Fatal(err)
	}
	var d stateDump
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	slices.Sort(d.Points)
	return d
}

// TestLayout2StateMigrates: a state written by the layout-2 code loads
// with the figures that code exported from it; the next commit writes it in
// layout 3, keeping the read positions and seen ids (a layout-2 state has
// nothing to re-read), and it loads again with the same rows.
func TestLayout2StateMigrates(t *testing.T) {
	d := readFixture(t)
	path := filepath.Join(t.TempDir(), "state.db")
	st := openStore(t, path)
	restoreState(t, st, "t1", d)
	r, c := layout2Reader()
	s := newTestSource(t, r, st, c)
	if got := pointsOf(t, s); !slices.Equal(got, d.Points) {
		t.Fatalf("figures of the loaded layout-2 state differ from the ones it was written with:\n%s", lineDiff(d.Points, got))
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := pointsOf(t, s); !slices.Equal(got, d.Points) {
		t.Fatalf("figures after the first refresh of the migrated state differ:\n%s", lineDiff(d.Points, got))
	}
	written := dumpState(t, st, "t1")
	checkLayout3(t, written)
	if !maps.Equal(written.Sets[seenSet(feedSignUps)], d.Sets[seenSet(feedSignUps)]) {
		t.Error("the seen sign-up ids changed: a layout-2 state has no sign-ups to read again")
	}
	st.Close()

	st = openStore(t, path)
	defer st.Close()
	s = newTestSource(t, r, st, c)
	if got := pointsOf(t, s); !slices.Equal(got, d.Points) {
		t.Fatalf("figures of the state rewritten in layout 3 differ:\n%s", lineDiff(d.Points, got))
	}
}

// TestLayout1StateMigrates: a layout-1 state (the fixture without what
// layout 2 added) loads with its sign-in figures; its sign-ups are dropped
// to be read again from the start (migrateSignUps), and the commit writes
// layout 3 without the seen sign-up ids.
func TestLayout1StateMigrates(t *testing.T) {
	d := readFixture(t)
	d.Doc = bytes.Replace(d.Doc, []byte(`"schema":2`), []byte(`"schema":1`), 1)
	for k, v := range d.Periods {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(v, &p); err != nil {
			t.Fatal(err)
		}
		for _, added := range []string{"signUpFailures", "interrupts", "requests", "funnel"} {
			delete(p, added)
		}
		var err error
		if d.Periods[k], err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	for set := range d.Sets {
		if strings.HasPrefix(set, "flows/") {
			delete(d.Sets, set)
		}
	}
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	restoreState(t, st, "t1", d)
	r, c := layout2Reader()
	s := newTestSource(t, r, st, c)
	signIns := slices.DeleteFunc(slices.Clone(d.Points), func(point string) bool {
		return !slices.ContainsFunc([]string{"/activeUsers ", "/authentications ", "/mfaCompletions ",
			"/inactiveUsers ", "/userCount "}, func(report string) bool { return strings.Contains(point, report) })
	})
	if got := pointsOf(t, s); !slices.Equal(got, signIns) {
		t.Fatalf("figures of the loaded layout-1 state differ from its sign-in figures:\n%s", lineDiff(signIns, got))
	}
	if s.signUps != (feed{}) {
		t.Errorf("the sign-ups feed goes on from %+v, want it read from the start", s.signUps)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	written := dumpState(t, st, "t1")
	checkLayout3(t, written)
	if seen := written.Sets[seenSet(feedSignUps)]; len(seen) != 0 {
		t.Errorf("%d seen sign-up ids kept: the sign-ups they count were dropped", len(seen))
	}
}

// checkLayout3 fails unless d is a state of layout 3.
func checkLayout3(t *testing.T, d stateDump) {
	t.Helper()
	doc, err := decodeDoc(d.Doc)
	if err != nil || doc.Schema != 3 {
		t.Fatalf("the state is not written in layout 3: %v, %s", err, d.Doc)
	}
	for k, v := range d.Periods {
		var p periodDoc
		if err := decodeStrict(v, &p); err != nil || !slices.Equal(p.Auth.Labels, authLabels) {
			t.Fatalf("period %s is not written in layout 3: %v, %s", k, err, v)
		}
	}
}

// lineDiff lists the lines only want or only got has.
func lineDiff(want, got []string) string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, "- "+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			out = append(out, "+ "+g)
		}
	}
	return strings.Join(out, "\n")
}
