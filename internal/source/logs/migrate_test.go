package logs

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

var writeLayout2 = flag.Bool("write-layout2", false, "rewrite testdata/layout2.json from this code's state")

// layout2Fixture is a state written by the layout-2 code and the rows that
// code exported from it.
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
}

// encode writes d one entry a line, so the file reads and diffs well.
func (d stateDump) encode(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	object := func(name string, keys []string, value func(string) any) {
		fmt.Fprintf(&b, "%q: {\n", name)
		for i, k := range keys {
			v, err := json.Marshal(value(k))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "  %q: %s%s\n", k, v, map[bool]string{true: "", false: ","}[i == len(keys)-1])
		}
		b.WriteString("},\n")
	}
	b.WriteString("{\n\"doc\": ")
	b.Write(d.Doc)
	b.WriteString(",\n")
	object("periods", slices.Sorted(maps.Keys(d.Periods)), func(k string) any { return d.Periods[k] })
	object("sets", slices.Sorted(maps.Keys(d.Sets)), func(k string) any { return d.Sets[k] })
	b.WriteString("\"rows\": [\n")
	for i, r := range d.Rows {
		v, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %s%s\n", v, map[bool]string{true: "", false: ","}[i == len(d.Rows)-1])
	}
	b.WriteString("]\n}\n")
	return b.Bytes()
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

// rowsOf renders every row of s as its report and rowText, sorted (the
// source builds rows in map order).
func rowsOf(t *testing.T, s *Source) []string {
	t.Helper()
	var out []string
	for _, r := range s.Reports() {
		rows, err := s.Rows(r)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, row := range rows {
			out = append(out, r.String()+" "+rowText(row))
		}
	}
	slices.Sort(out)
	return out
}

// rowText is row's non-zero fields, name=value, in the order of Row.
func rowText(row insights.Row) string {
	var fields []string
	v := reflect.ValueOf(row)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() || f.Kind() == reflect.Slice && f.Len() == 0 {
			continue
		}
		value := fmt.Sprint(f.Interface())
		switch x := f.Interface().(type) {
		case time.Time:
			value = x.Format(time.DateOnly)
		case []insights.Failure:
			var fs []string
			for _, e := range x {
				fs = append(fs, fmt.Sprintf("%s/%s/%s:%d", e.ReasonCode, e.Stage, e.Reason, e.Count))
			}
			value = strings.Join(fs, ",")
		}
		fields = append(fields, v.Type().Field(i).Name+"="+value)
	}
	return strings.Join(fields, " ")
}

// layout2Source is how the fixture's state was made: a day of a
// population from 22:00 on 30 November, read at its end, so it holds
// closed periods (30 November and November, their distinct users and
// funnel kept as numbers) and open ones (1 December and December, their
// user and flow sets), every kind of counter, and the seen ids of the
// overlap window. Short app ids keep the file small.
func layout2Tenant() (*fakeReader, *clock) {
	events, signUps := population(11, 1, 0.05)
	const shift = -14 * time.Hour
	short := map[string]string{}
	for i := range events {
		if short[events[i].AppID] == "" {
			short[events[i].AppID] = fmt.Sprintf("app-%d", len(short)+1)
		}
		events[i].AppID = short[events[i].AppID]
		events[i].Created, events[i].visible = events[i].Created.Add(shift), events[i].visible.Add(shift)
	}
	for i := range signUps {
		signUps[i].AppID, signUps[i].Created = short[signUps[i].AppID], signUps[i].Created.Add(shift)
	}
	c := &clock{t: testEnd.Add(shift)}
	return &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300}, c
}

// TestWriteLayout2Fixture writes testdata/layout2.json with -write-layout2.
func TestWriteLayout2Fixture(t *testing.T) {
	if !*writeLayout2 {
		t.Skip("run with -write-layout2 to rewrite " + layout2Fixture)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	r, c := layout2Tenant()
	s := newTestSource(t, r, st, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := dumpState(t, st, "t1")
	d.Rows = rowsOf(t, s)
	if err := os.WriteFile(layout2Fixture, d.encode(t), 0o644); err != nil {
		t.Fatal(err)
	}
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
	return d
}

// TestLayout2StateLoads: a state written by the layout-2 code loads with
// the rows that code exported from it.
func TestLayout2StateLoads(t *testing.T) {
	d := readFixture(t)
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	restoreState(t, st, "t1", d)
	r, c := layout2Tenant()
	s := newTestSource(t, r, st, c)
	if got := rowsOf(t, s); !slices.Equal(got, d.Rows) {
		t.Fatalf("rows of the loaded layout-2 state differ from the ones it was written with")
	}
}
