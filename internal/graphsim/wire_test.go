package graphsim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"
)

// msdocs is where Microsoft's published example responses are kept.
const msdocs = "../../graph/testdata/msdocs/"

// objectKeys returns the keys of a JSON object in their order, once each.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.200s", raw)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if k := tok.(string); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// exampleObjects returns the objects of the value of a doc example.
func exampleObjects(t *testing.T, file string) []map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(msdocs + file)
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Value []json.RawMessage }
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, v := range page.Value {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatal(err)
		}
		m["@keys"], _ = json.Marshal(objectKeys(t, v))
		out = append(out, m)
	}
	return out
}

func keysOf(t *testing.T, m map[string]json.RawMessage) []string {
	var keys []string
	if err := json.Unmarshal(m["@keys"], &keys); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestSignInObjectsAreFull: a sign-in carries every property of
// Microsoft's example, nested objects with the example's keys, in the
// order of signInProps; a page of 1,000 is megabytes.
func TestSignInObjectsAreFull(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	resp := get(t, s.Client(), signInsURL(s, ""), token)
	var p logPage
	if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Value) != DefaultLogPageSize {
		t.Fatalf("%d items: %v", len(p.Value), err)
	}
	if n := len(resp.body); n < 2_500_000 || n > 4_500_000 {
		t.Errorf("a page of 1,000 sign-ins is %d bytes, want 2.5–4.5 MB as on Graph", n)
	}
	example := exampleObjects(t, "signins-list.json")[0]
	props := signInProps()
	for _, k := range keysOf(t, example) {
		if !slices.Contains(props, k) {
			t.Errorf("property %s of Microsoft's example is not sent", k)
		}
	}
	nestedKeys := func(m map[string]json.RawMessage, name string) []string {
		v := m[name]
		if name == "authenticationDetails" {
			var list []json.RawMessage
			_ = json.Unmarshal(v, &list)
			v = list[0]
		}
		return objectKeys(t, v)
	}
	locations := 0
	for _, it := range p.Value {
		keys := slices.DeleteFunc(objectKeys(t, it), func(k string) bool { return k == "newProperty" })
		want := props
		if !slices.Contains(keys, "location") {
			want = slices.DeleteFunc(slices.Clone(props), func(k string) bool { return k == "location" })
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v,\nwant %v", keys, want)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(it, &m)
		for _, name := range []string{"status", "deviceDetail", "authenticationDetails"} {
			if got, w := nestedKeys(m, name), nestedKeys(example, name); !slices.Equal(got, w) {
				t.Fatalf("%s keys %v, example %v", name, got, w)
			}
		}
		if loc := m["location"]; len(loc) > 0 && loc[0] == '{' {
			locations++
			if got, w := objectKeys(t, loc), nestedKeys(example, "location"); !slices.Equal(got, w) {
				t.Fatalf("location keys %v, example %v", got, w)
			}
		}
	}
	if locations == 0 {
		t.Error("no location object")
	}
	for _, want := range []string{`"appliedConditionalAccessPolicies":[]`, `"appliedConditionalAccessPolicies":[{`,
		`"geoCoordinates":{}`, `"geoCoordinates":{"altitude":null,"latitude":`, `"networkLocationDetails":[]`,
		`"authenticationProcessingDetails":[{"key":`, `"homeTenantId":"` + s.TenantID + `"`} {
		if !bytes.Contains(resp.body, []byte(want)) {
			t.Errorf("no sign-in has %s", want)
		}
	}
}

// TestSignUpObjectsAreFull: sign-ups carry the example's properties in its
// order, and pages the tips annotation.
func TestSignUpObjectsAreFull(t *testing.T) {
	s := startPinned(t, Options{})
	token := getToken(t, s, s.TenantID)
	resp := get(t, s.Client(), s.GraphURL+"/auditLogs/signUps", token)
	var p struct {
		logPage
		Tips string `json:"@microsoft.graph.tips"`
	}
	if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Value) == 0 {
		t.Fatalf("%v: %.300s", err, resp.body)
	}
	if p.Tips != signUpsTip || objectKeys(t, resp.body)[1] != "@microsoft.graph.tips" {
		t.Errorf("tips %q", p.Tips)
	}
	example := exampleObjects(t, "signups-list.json")
	want := append(keysOf(t, example[1]), "fraudProtectionDetails") // example[0] has userId last
	for _, it := range p.Value {
		keys := slices.DeleteFunc(objectKeys(t, it), func(k string) bool { return k == "newProperty" })
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v,\nwant %v", keys, want)
		}
	}
	if !slices.Equal(want[:len(want)-1], signUpProps()[:len(want)-1]) {
		t.Errorf("signUpProps %v, example %v", signUpProps(), want)
	}
}

// TestFractionalSeconds: many createdDateTime values have six or seven
// fractional digits on the wire, and $filter compares them exactly.
func TestFractionalSeconds(t *testing.T) {
	evs := SignIns(DefaultTenantID, testNow(), Options{})
	var seven, six, whole int
	for _, e := range evs {
		switch ns := e.CreatedDateTime.Nanosecond(); {
		case ns == 0:
			whole++
		case ns%1000 == 0:
			six++
		default:
			seven++
		}
		if e.CreatedDateTime.Nanosecond()%100 != 0 {
			t.Fatalf("%s: finer than Graph's 100 ns", e.CreatedDateTime.Format(time.RFC3339Nano))
		}
	}
	n := len(evs)
	if seven < n/3 || six < n/10 || whole < n/10 {
		t.Errorf("of %d sign-ins: %d with 7 digits, %d with 6, %d whole", n, seven, six, whole)
	}

	s := startPinned(t, Options{NoMinDate: true})
	token := getToken(t, s, s.TenantID)
	page := get(t, s.Client(), signInsURL(s, "?$top=200"), token).body
	if !regexp.MustCompile(`"createdDateTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z"`).Match(page) ||
		!regexp.MustCompile(`"createdDateTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`).Match(page) {
		t.Errorf("no 7-digit or no whole-second createdDateTime on the wire")
	}
	served := s.SignInEvents(s.TenantID)
	i := slices.IndexFunc(served, func(e SignInEvent) bool { return e.CreatedDateTime.Nanosecond()%1000 != 0 })
	at := served[i].CreatedDateTime
	count := func(f string) (n int, ids []string) {
		items, _ := fetchLog(t, s.Client(), signInsURL(s, "?$filter="+url.QueryEscape(f)), token)
		for _, e := range decodeAll[SignInEvent](t, items) {
			ids = append(ids, e.ID)
		}
		return len(items), ids
	}
	if _, ids := count("createdDateTime eq " + at.Format(time.RFC3339Nano)); !slices.Contains(ids, served[i].ID) {
		t.Errorf("eq %s misses %s", at.Format(time.RFC3339Nano), served[i].ID)
	}
	day := "createdDateTime le " + testNow().Format(time.RFC3339) + " and createdDateTime ge "
	withIt, ids := count(day + at.Format(time.RFC3339Nano))
	without, _ := count(day + at.Add(graphTick).Format(time.RFC3339Nano))
	if !slices.Contains(ids, served[i].ID) || withIt <= without {
		t.Errorf("ge %s: %d events, 100 ns later %d", at.Format(time.RFC3339Nano), withIt, without)
	}
}
