package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// start of the test data: events from 40 days before to the end.
var testEnd = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// population makes a deterministic tenant: users signing in to several
// apps, failures, MFA, late events, sign-ups.
func population(seed uint64, days int, lateFraction float64) ([]fakeSignIn, []insights.SignUp) {
	rng := rand.New(rand.NewPCG(seed, 1))
	apps := []string{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"}
	oss := []string{"Windows 10", "windows", "Ios 17", "Android", ""}
	countries := []string{"US", "de", "", "UK"}
	var signIns []fakeSignIn
	var signUps []insights.SignUp
	start := testEnd.Add(-time.Duration(days) * 24 * time.Hour)
	for t, i := start, 0; t.Before(testEnd); i++ {
		t = t.Add(time.Duration(rng.IntN(600)) * time.Second)
		user := fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.IntN(300), rng.IntN(3))
		e := insights.SignIn{
			ID: fmt.Sprintf("si-%06d", i), Created: t, UserID: user,
			AppID: apps[rng.IntN(len(apps))], AppName: "App", OS: oss[rng.IntN(len(oss))],
			Browser: "Edge", Country: countries[rng.IntN(len(countries))],
		}
		if rng.IntN(5) == 0 {
			e.ErrorCode = []int64{50126, 50053, 500121}[rng.IntN(3)]
		}
		if rng.IntN(3) == 0 {
			e.MFA, e.MFAMethod, e.MFASucceeded = true, []string{"Email OTP", "Text message"}[rng.IntN(2)], e.ErrorCode == 0
		}
		latency := time.Duration(1+rng.IntN(10)) * time.Minute
		if rng.Float64() < lateFraction {
			latency = time.Duration(60+rng.IntN(60)) * time.Minute
		}
		signIns = append(signIns, fakeSignIn{SignIn: e, visible: t.Add(latency)})
		if e.ErrorCode == 0 && rng.IntN(6) == 0 { // a "Keep me signed in" interrupt a second before
			k := e
			k.ID, k.Created, k.ErrorCode, k.MFA = e.ID+"-kmsi", t.Add(-time.Second), 50140, false
			signIns = append(signIns, fakeSignIn{SignIn: k, visible: t.Add(latency)})
		}
		if rng.IntN(8) == 0 {
			signUps = append(signUps, signUpFlow(rng, i, t, user, e.AppID)...)
		}
	}
	return signIns, signUps
}

// signUpFlow is one sign-up flow as Graph logs it, one event per stage
// with the flow's correlationId (auditlogroot-list-signups.md): completed,
// abandoned after a stage, or failed at one.
func signUpFlow(rng *rand.Rand, i int, t time.Time, user, app string) []insights.SignUp {
	idp := []string{"Email OTP", "Google"}[rng.IntN(2)]
	type step struct {
		stage string
		code  int64
	}
	steps := []step{{"credentialCollection", 0}, {"credentialValidation", 1002013}, {"credentialValidation", 0},
		{"attributeCollectionAndValidation", 0}, {"userCreation", 0}}
	switch rng.IntN(6) {
	case 0: // abandoned at the passcode prompt
		steps = steps[:2]
	case 1: // a wrong passcode, then abandoned
		steps = append(steps[:2], step{"credentialValidation", 50181})
	case 2: // a wrong passcode, then completed
		steps = append(steps[:2], append([]step{{"credentialValidation", 50182}}, steps[2:]...)...)
	case 3: // the user could not be created
		steps = append(steps[:4:4], step{"userCreation", 399279})
	}
	var out []insights.SignUp
	for k, st := range steps {
		e := insights.SignUp{ID: fmt.Sprintf("su-%06d-%d", i, k), Created: t.Add(time.Duration(k) * 7 * time.Second),
			AppID: app, AppName: "App", IdentityProvider: idp, Stage: st.stage, CorrelationID: fmt.Sprintf("flow-%06d", i),
			ErrorCode: st.code}
		if st.stage == "userCreation" && st.code == 0 {
			e.UserID = user
		}
		out = append(out, e)
	}
	return out
}

// oracle counts, by brute force, what the rows must say about the events
// that Graph had made visible by now and created since since.
type oracle map[string]int64

func oracleOf(events []fakeSignIn, signUps []insights.SignUp, since, now time.Time, dims []string) oracle {
	o := oracle{}
	distinct := map[string]map[string]bool{}
	for _, e := range events {
		if e.Created.Before(since) || !e.Created.Before(now) || e.visible.After(now) {
			continue
		}
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := insights.PeriodStart(g, e.Created).Format(time.DateOnly)
			if g == insights.Monthly {
				o[fmt.Sprintf("%s %s requests", g, p)]++
			}
			if e.ErrorCode == 50140 || e.ErrorCode == 1002013 {
				o[fmt.Sprintf("%s %s interrupt %d", g, p, e.ErrorCode)]++
				continue
			}
			result := "success"
			if e.ErrorCode != 0 {
				result = "failure"
			}
			o[fmt.Sprintf("%s %s auth %s %s", g, p, insights.Normalize("app_id", e.AppID), result)]++
			if e.MFA {
				o[fmt.Sprintf("%s %s mfa %s %v", g, p, insights.Normalize("mfa_method", e.MFAMethod), e.MFASucceeded)]++
			}
			if e.ErrorCode != 0 {
				continue
			}
			t := valuesOf(signInDimensions, &e.SignIn).tuple()
			var vals []string
			for _, d := range dims {
				vals = append(vals, t[map[string]int{"app_id": 0, "os": 1, "country": 2}[d]])
			}
			for _, k := range []string{fmt.Sprintf("%s %s users %s", g, p, strings.Join(vals, ",")), fmt.Sprintf("%s %s tenant", g, p)} {
				if distinct[k] == nil {
					distinct[k] = map[string]bool{}
				}
				distinct[k][e.UserID] = true
			}
		}
	}
	for k, users := range distinct {
		o[k] = int64(len(users))
	}
	stages := map[string]int{"credentialCollection": 0, "credentialValidation": 1, "attributeCollectionAndValidation": 2, "userCreation": 3}
	type flow struct {
		reached   [4]bool
		completed bool
	}
	flows := map[string]*flow{}
	for _, e := range signUps {
		if e.Created.Before(since) || !e.Created.Before(now) {
			continue
		}
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := insights.PeriodStart(g, e.Created).Format(time.DateOnly)
			if g == insights.Monthly {
				o[fmt.Sprintf("%s %s requests", g, p)]++
			}
			switch {
			case e.ErrorCode == 1002013:
			case e.ErrorCode != 0:
				o[fmt.Sprintf("%s %s signupfail %s %d", g, p, e.Stage, e.ErrorCode)]++
			case e.Stage == "userCreation":
				o[fmt.Sprintf("%s %s signups %s", g, p, insights.Normalize("identity_provider", e.IdentityProvider))]++
			}
			k := fmt.Sprintf("%s %s %s", g, p, e.CorrelationID)
			if flows[k] == nil {
				flows[k] = &flow{}
			}
			flows[k].reached[stages[e.Stage]] = true
			flows[k].completed = flows[k].completed || e.Stage == "userCreation" && e.ErrorCode == 0
		}
	}
	names := []string{"credentialCollection", "credentialValidation", "attributeCollectionAndValidation", "userCreation"}
	for k, f := range flows {
		gp := strings.Join(strings.Fields(k)[:2], " ")
		last := -1
		for i, r := range f.reached {
			if r {
				o[fmt.Sprintf("%s funnel %s reached", gp, names[i])]++
				last = i
			}
		}
		if !f.completed {
			o[fmt.Sprintf("%s funnel %s abandoned", gp, names[last])]++
		}
	}
	return o
}

// observed renders a source's points in the oracle's terms.
func observed(t *testing.T, s *Source, dims []string) oracle {
	t.Helper()
	o := oracle{}
	for _, r := range s.Reports() {
		res := s.Result(r)
		if res.Err != nil {
			t.Fatalf("report %s: %v", r, res.Err)
		}
		for _, pt := range res.Points {
			prefix := fmt.Sprintf("%s %s", r.Granularity, pt.Start.Format(time.DateOnly))
			switch pt.Family {
			case "authentications":
				if pt.Label("result") == "success" || pt.Value > 0 {
					o[fmt.Sprintf("%s auth %s %s", prefix, pt.Label("app_id"), pt.Label("result"))] += pt.Value
				}
			case "mfa_attempts":
				if result := pt.Label("result"); result == "success" || pt.Value > 0 {
					o[fmt.Sprintf("%s mfa %s %v", prefix, pt.Label("mfa_method"), result == "success")] += pt.Value
				}
			case "active_users":
				var vals []string
				for _, d := range dims {
					vals = append(vals, pt.Label(d))
				}
				o[fmt.Sprintf("%s users %s", prefix, strings.Join(vals, ","))] += pt.Value
			case "tenant_active_users":
				o[prefix+" tenant"] += pt.Value
			case "sign_ups":
				if pt.Value > 0 {
					o[fmt.Sprintf("%s signups %s", prefix, pt.Label("identity_provider"))] += pt.Value
				}
			case "sign_up_failures":
				o[fmt.Sprintf("%s signupfail %s %s", prefix, pt.Label("stage"), pt.Label("reason_code"))] += pt.Value
			case "sign_in_interrupts":
				o[fmt.Sprintf("%s interrupt %s", prefix, pt.Label("reason_code"))] += pt.Value
			case "sign_up_flows":
				o[fmt.Sprintf("%s funnel %s reached", prefix, pt.Label("stage"))] += pt.Value
			case "sign_up_abandoned_flows":
				o[fmt.Sprintf("%s funnel %s abandoned", prefix, pt.Label("stage"))] += pt.Value
			case "requests":
				o[prefix+" requests"] += pt.Value
			}
		}
	}
	return o
}

// dropMonthlyUsers removes the monthly distinct users from each oracle:
// the tests compare daily dimensions, and monthly users are counted by
// others.
func dropMonthlyUsers(oracles ...oracle) {
	for _, o := range oracles {
		for k := range o {
			if strings.HasPrefix(k, "monthly") && strings.Contains(k, " users ") {
				delete(o, k)
			}
		}
	}
}

func diff(want, got oracle) string {
	var out []string
	for k := range maps.Keys(want) {
		if want[k] != got[k] {
			out = append(out, fmt.Sprintf("%s: got %d, want %d", k, got[k], want[k]))
		}
	}
	for k := range maps.Keys(got) {
		if _, ok := want[k]; !ok && got[k] != 0 {
			out = append(out, fmt.Sprintf("%s: got %d, want none", k, got[k]))
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

var testDims = map[insights.Granularity][]string{insights.Daily: {"app_id", "os"}, insights.Monthly: {"app_id"}}

func newTestSource(t *testing.T, r Reader, st *store.Store, c *clock) *Source {
	t.Helper()
	s, err := New(Options{Tenant: "t1", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims,
		Lookback: 30 * 24 * time.Hour, Overlap: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestIncrementalExact runs a source over 34 days of events with
// refreshes every 10 minutes for the last 2 days (first start reading
// back 30 days), late events included, and checks every number against
// the brute-force count, daily and monthly, and that steady state re-reads
// only the overlap.
func TestIncrementalExact(t *testing.T) {
	events, signUps := population(1, 34, 0.05)
	c := &clock{t: testEnd.Add(-48 * time.Hour)}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, pageSize: 50}
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	s := newTestSource(t, r, st, c)
	since := c.now().Add(-30 * 24 * time.Hour)
	for ; !c.now().After(testEnd); c.add(10 * time.Minute) {
		if err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	c.add(-10 * time.Minute)
	want := oracleOf(events, signUps, since, c.now(), testDims[insights.Daily])
	got := observed(t, s, testDims[insights.Daily])
	// Monthly user rows are projected on app_id only: compare them apart.
	for k := range want {
		if strings.HasPrefix(k, "monthly") && strings.Contains(k, " users ") {
			delete(want, k)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "monthly") && strings.Contains(k, " users ") {
			delete(got, k)
		}
	}
	if d := diff(want, got); d != "" {
		t.Fatalf("rows differ from the events:\n%s", d)
	}
	monthlyWant := oracleOf(events, signUps, since, c.now(), testDims[insights.Monthly])
	monthlyGot := observed(t, s, testDims[insights.Monthly])
	for k, v := range monthlyWant {
		if strings.HasPrefix(k, "monthly") && strings.Contains(k, " users ") && monthlyGot[k] != v {
			t.Errorf("%s: got %d, want %d", k, monthlyGot[k], v)
		}
	}
	if s.signIns.Duplicates == 0 {
		t.Error("no event was read twice: the overlap window is not re-read")
	}
}

// TestRestartsLoseAndDuplicateNothing restarts the source (a new process:
// the store closed and opened again) every few refreshes, and fails reads
// in the middle of a window (between pages), which must commit nothing of
// that window. The result must equal the never-restarted count.
func TestRestartsLoseAndDuplicateNothing(t *testing.T) {
	events, signUps := population(2, 33, 0.05)
	c := &clock{t: testEnd.Add(-24 * time.Hour)}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, pageSize: 20}
	path := filepath.Join(t.TempDir(), "state.db")
	since := c.now().Add(-30 * 24 * time.Hour)
	st := openStore(t, path)
	s := newTestSource(t, r, st, c)
	for i := 0; !c.now().After(testEnd); i++ {
		switch i % 5 {
		case 1: // a read failing after 2 pages: nothing of that window lands
			r.failAfter, r.pageSize = 2, 1
			err := s.Sync(context.Background())
			r.failAfter, r.pageSize = 0, 20
			if i == 1 && !errors.Is(err, errInjected) {
				t.Fatalf("Sync with a failing page: %v, want the injected failure", err)
			}
		case 3: // restart
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = openStore(t, path)
			s = newTestSource(t, r, st, c)
		}
		if err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.add(20 * time.Minute)
	}
	defer st.Close()
	c.add(-20 * time.Minute)
	want := oracleOf(events, signUps, since, c.now(), testDims[insights.Daily])
	got := observed(t, s, testDims[insights.Daily])
	dropMonthlyUsers(want, got) // monthly users are counted by other dimensions
	if d := diff(want, got); d != "" {
		t.Fatalf("after restarts and failed reads, rows differ from the events:\n%s", d)
	}
}

// TestRetentionSevenDays: a tenant whose logs keep 7 days; the first start
// asks for 30 and gets what there is, the days before have no rows.
func TestRetentionSevenDays(t *testing.T) {
	events, signUps := population(3, 20, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300, retention: 7 * 24 * time.Hour}
	s := newTestSource(t, r, nil, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := s.Result(insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	oldest := testEnd.Add(-7 * 24 * time.Hour)
	days := map[time.Time]bool{}
	for _, pt := range res.Points {
		if pt.Family != "tenant_active_users" {
			continue
		}
		if pt.Start.Before(insights.PeriodStart(insights.Daily, oldest)) {
			t.Errorf("a value for %s, before the retention", pt.Start)
		}
		days[pt.Start] = true
	}
	if len(days) != 8 { // 7 full days back and today's partial one
		t.Errorf("rows for %d days, want 8", len(days))
	}
	want := oracleOf(events, signUps, oldest, testEnd, testDims[insights.Monthly])
	got := observed(t, s, testDims[insights.Monthly])
	k := "monthly 2026-12-01 tenant"
	if got[k] != want[k] || got[k] == 0 {
		t.Errorf("%s: got %d, want %d from the retained logs", k, got[k], want[k])
	}
}

// TestNewerClaimStopsOlderSource: during a reload the new configuration's
// source claims the state; the old one can no longer write.
func TestNewerClaimStopsOlderSource(t *testing.T) {
	events, signUps := population(4, 3, 0)
	c := &clock{t: testEnd.Add(-time.Hour)}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 5}
	st := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	old := newTestSource(t, r, st, c)
	if err := old.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	newer := newTestSource(t, r, st, c)
	c.add(10 * time.Minute)
	if err := old.Sync(context.Background()); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("old source's Sync after a newer claim: %v, want ErrSuperseded", err)
	}
	if err := newer.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedStateFailsAtStart: a document that does not decode, or sets
// that disagree with it, fail New with the path; the file is untouched.
func TestDamagedStateFailsAtStart(t *testing.T) {
	events, signUps := population(5, 2, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 5}
	path := filepath.Join(t.TempDir(), "state.db")
	st := openStore(t, path)
	s := newTestSource(t, r, st, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Damage the document of one period.
	if _, err := st.Claim("t1", func(*store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	claim, _ := st.Claim("t1", func(*store.Tx) error { return nil })
	if err := st.Update("t1", claim, func(tx *store.Tx) error {
		return tx.Put(periodsSet, []byte("daily/2026-12-02"), []byte(`{"g":"daily","start":"2026-12-02T00:00:00Z","auth":{"labels":["app_id"],"counters":[{"k":"a","v":{"a":1,"s":2}}]}}`))
	}); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Tenant: "t1", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "inconsistent counts") {
		t.Fatalf("New on a damaged state: %v, want an error naming %s and the damage", err, path)
	}
	// The damage stays for the operator to see: nothing was reset.
	_ = st.View("t1", func(tx *store.Tx) error {
		found := false
		_ = tx.ForEach(periodsSet, func(k, v []byte) error {
			found = found || strings.Contains(string(v), `"s":2`)
			return nil
		})
		if !found {
			t.Error("the damaged period was reset")
		}
		return nil
	})
	st.Close()
}

// FuzzDecodeState: no stored bytes make the decoders panic; what decodes
// re-encodes to something that decodes again.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"schema":1,"signIns":{"since":"2026-11-01T00:00:00Z","watermark":"2026-11-02T00:00:00Z","seenSince":"2026-11-01T21:00:00Z","events":3,"duplicates":1},"signUps":{"since":"0001-01-01T00:00:00Z","watermark":"0001-01-01T00:00:00Z","seenSince":"0001-01-01T00:00:00Z","events":0,"duplicates":0}}`))
	f.Add([]byte(`{"g":"daily","start":"2026-12-02T00:00:00Z","auth":[{"k":{"App":"a","OS":"Windows","Country":"US","Browser":"Edge"},"a":3,"s":2,"f":{"50126":1}}],"closed":true,"active":{"a":1},"tenantActive":1,"activeDims":["app_id"]}`))
	f.Add([]byte(`{"g":"monthly","start":"2026-12-01T00:00:00Z","signUps":[{"k":{"App":"a","IdentityProvider":"Google"},"a":1,"s":1}]}`))
	f.Add([]byte(`{"g":"daily","start":"2026-12-02T00:00:00Z","auth":{"labels":["app_id","os"],"counters":[{"k":"a\u001fWindows","v":{"a":3,"s":2,"f":{"50126":1}}}]},` +
		`"interrupts":{"labels":["app_id","reason_code"],"counters":[{"k":"a\u001f50140","v":2}]},"closed":true,"active":{"a":1},"tenantActive":1,"activeDims":["app_id"]}`))
	f.Add([]byte("a\x1fb\x1fc\x1ed\x1fe\x1ff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := decodeDoc(data); err == nil {
			if _, err := json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
		for _, layout := range []int{2, docSchema} {
			p, err := decodePeriod(data, layout, testDims)
			if err != nil {
				continue
			}
			again, err := json.Marshal(p.doc())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodePeriod(again, docSchema, testDims); err != nil {
				t.Fatalf("re-encoded period of layout %d does not decode: %v\n%s", layout, err, again)
			}
			for _, f := range periodFamilies() {
				f.points(p, func(int64, []source.Label) {})
			}
		}
		if ts, err := decodeTuples(data); err == nil {
			if got, err := decodeTuples(encodeTuples(ts)); err != nil || len(got) != len(ts) {
				t.Fatalf("tuples do not round-trip: %v", err)
			}
		}
	})
}

// TestInactiveUsers: with the licence, inactive users per window from the
// users' last successful sign-in; without it, absent (no rows, no error)
// and said once in the log.
func TestInactiveUsers(t *testing.T) {
	events, signUps := population(8, 40, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events, signUps: signUps, users: 300}
	s := newTestSource(t, r, nil, c)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	daily := insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsers}
	res := s.Result(daily)
	if res.Err != nil || len(res.Points) != 4 {
		t.Fatalf("inactive users: %v, %d values; want one per window", res.Err, len(res.Points))
	}
	byWindow := map[string]int64{}
	for _, pt := range res.Points {
		byWindow[pt.Label("window")] = pt.Value
	}
	want30, _ := r.InactiveUsers(context.Background(), testEnd.Add(-30*24*time.Hour))
	if byWindow["30d"] != want30 || byWindow["1d"] < byWindow["30d"] {
		t.Errorf("inactive: %v, want 30d = %d and 1d >= 30d", byWindow, want30)
	}

	var logs strings.Builder
	unlicensed := &fakeReader{now: c.now, signIns: events, users: 300, unlicensed: true}
	s, err := New(Options{Tenant: "t2", Reader: unlicensed, Now: c.now, ActiveUserDims: testDims,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.add(time.Hour)
	}
	if res := s.Result(daily); res.Err != nil || len(res.Points) != 0 {
		t.Errorf("unlicensed inactive users: %v, %d values; want none and no error", res.Err, len(res.Points))
	}
	if n := strings.Count(logs.String(), "P1 or P2"); n != 1 {
		t.Errorf("%d log lines about the licence, want 1:\n%s", n, logs.String())
	}
}

// TestEveryLogsReportHasAFeed checks the source against the report
// catalog: each report the catalog gives the logs source is built from a
// feed, and no other report is.
func TestEveryLogsReportHasAFeed(t *testing.T) {
	for _, s := range insights.Specs() {
		if _, ok := feedOf(s.Name); ok != (len(s.Logs) > 0) {
			t.Errorf("%s: feed %v, catalog gives it to the logs source %v", s.Name, ok, len(s.Logs) > 0)
		}
	}
}
