package graphsim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// flows groups sign-up events by correlationId, each flow oldest first.
func flows(evs []SignUpEvent) map[string][]SignUpEvent {
	out := map[string][]SignUpEvent{}
	for _, e := range evs {
		out[e.CorrelationID] = append(out[e.CorrelationID], e)
	}
	for _, f := range out {
		slices.SortFunc(f, func(a, b SignUpEvent) int { return a.CreatedDateTime.Compare(b.CreatedDateTime) })
	}
	return out
}

// shape writes a flow as "stage:code" steps, e.g.
// "credentialCollection:0 credentialValidation:1002013 …".
func shape(f []SignUpEvent) string {
	var parts []string
	for _, e := range f {
		parts = append(parts, fmt.Sprintf("%s:%d", e.SignUpStage, e.Status.ErrorCode))
	}
	return strings.Join(parts, " ")
}

// TestSignUpFlows: every flow has the stages of Microsoft's example in
// order, seconds apart, with one app, provider and identifier; only a
// completed flow's userCreation carries a userId; local accounts get the
// passcode prompt, federated ones do not.
func TestSignUpFlows(t *testing.T) {
	evs := SignUps(DefaultTenantID, testNow(), month)
	all := flows(evs)
	cutoff := testNow().Add(-MaxLogRetention + maxFlowDuration) // flows cut by the retention
	order := map[string]int{StageCredentialCollection: 0, StageCredentialValidation: 1, StageAttributeCollection: 2, StageUserCreation: 3}
	kinds := map[string]int{}
	for id, f := range all {
		if f[0].CreatedDateTime.Before(cutoff) {
			continue
		}
		first, last := f[0], f[len(f)-1]
		if first.SignUpStage != StageCredentialCollection || first.AppDisplayName != "" || first.Status.ErrorCode != 0 {
			t.Fatalf("flow %s starts with %+v", id, first)
		}
		local := isLocal(first.SignUpIdentityProvider)
		for i, e := range f {
			if e.AppID != first.AppID || e.SignUpIdentityProvider != first.SignUpIdentityProvider ||
				e.SignUpIdentity != first.SignUpIdentity {
				t.Fatalf("flow %s mixes apps or identities: %s", id, shape(f))
			}
			if e.AppDisplayName == "" && i > 0 {
				t.Errorf("flow %s: %s without appDisplayName", id, e.SignUpStage)
			}
			if (e.UserID != "") != e.SignedUp() {
				t.Fatalf("flow %s: userId %q on %s:%d", id, e.UserID, e.SignUpStage, e.Status.ErrorCode)
			}
			if i == 0 {
				continue
			}
			gap := e.CreatedDateTime.Sub(f[i-1].CreatedDateTime)
			if gap < 300*time.Millisecond || gap > 90*time.Second || order[e.SignUpStage] < order[f[i-1].SignUpStage] {
				t.Fatalf("flow %s: %s after %s: %s", id, e.SignUpStage, gap, shape(f))
			}
		}
		if prompt := slices.ContainsFunc(f, func(e SignUpEvent) bool { return e.Interrupt() }); prompt != local && len(f) > 1 {
			t.Fatalf("flow %s (%s): passcode prompt %v: %s", id, first.SignUpIdentityProvider, prompt, shape(f))
		}
		failures := 0
		for _, e := range f {
			if e.Failed() {
				failures++
				if SignUpErrorCodes()[e.Status.ErrorCode] != e.SignUpStage || e.Status.FailureReason == "" {
					t.Fatalf("flow %s: %+v", id, e)
				}
			}
		}
		switch {
		case last.SignedUp() && failures == 0:
			kinds["completed"]++
		case last.SignedUp():
			kinds["retried"]++
		case last.Failed():
			kinds["failed"]++
		case failures > 0:
			t.Fatalf("flow %s failed in the middle and stopped: %s", id, shape(f))
		default:
			kinds["abandoned after "+last.SignUpStage]++
		}
	}
	completed := kinds["completed"] + kinds["retried"]
	abandoned := kinds["abandoned after "+StageCredentialCollection] + kinds["abandoned after "+StageCredentialValidation] +
		kinds["abandoned after "+StageAttributeCollection]
	if completed < 500 || kinds["retried"] < completed/20 || kinds["retried"] > completed/5 ||
		abandoned < completed/5 || abandoned > completed*2/5 || kinds["failed"] < completed/14 || kinds["failed"] > completed/6 {
		t.Errorf("flows %v", kinds)
	}
	t.Logf("flows %v", kinds)
	for _, stage := range []string{StageCredentialCollection, StageCredentialValidation, StageAttributeCollection} {
		if kinds["abandoned after "+stage] == 0 {
			t.Errorf("no flow abandoned after %s: %v", stage, kinds)
		}
	}
}

// TestSignUpFlowsAsTheExample: a straight local sign-up is the example's
// four events; the documented codes all occur.
func TestSignUpFlowsAsTheExample(t *testing.T) {
	shapes := map[string]int{}
	codes := map[int]int{}
	for _, f := range flows(SignUps(DefaultTenantID, testNow(), month)) {
		shapes[f[0].SignUpIdentityProvider+" "+shape(f)]++
		for _, e := range f {
			codes[e.Status.ErrorCode]++
		}
	}
	example := "credentialCollection:0 credentialValidation:1002013 attributeCollectionAndValidation:0 userCreation:0"
	federated := "credentialCollection:0 attributeCollectionAndValidation:0 userCreation:0"
	for _, want := range []string{"Email OTP " + example, "Email Password " + example, "Google " + federated,
		"Email OTP credentialCollection:0 credentialValidation:1002013 credentialValidation:50182 credentialValidation:1002013 attributeCollectionAndValidation:0 userCreation:0",
		"Google credentialCollection:0 attributeCollectionAndValidation:1002027 attributeCollectionAndValidation:0 userCreation:0",
		"Email Password credentialCollection:0 credentialValidation:1002013 credentialValidation:50181",
		"Google credentialCollection:0 attributeCollectionAndValidation:0 userCreation:399279"} {
		if shapes[want] == 0 {
			t.Errorf("no flow %q", want)
		}
	}
	for code := range SignUpErrorCodes() {
		if codes[code] == 0 {
			t.Errorf("no event with code %d", code)
		}
	}
	for code := range codes {
		if _, ok := SignUpErrorCodes()[code]; !ok && code != 0 {
			t.Errorf("undocumented sign-up code %d", code)
		}
	}
}

// TestSignUpFlowsGrowWithTheClock: an event once served never changes,
// a flow under way shows its first stages, and near midnight the next
// day's first flows begin.
func TestSignUpFlowsGrowWithTheClock(t *testing.T) {
	partial := 0
	for i := range 24 {
		now := testNow().Add(time.Duration(i) * 53 * time.Minute)
		later := now.Add(10 * time.Minute)
		byID := map[string]SignUpEvent{}
		for _, e := range SignUps(DefaultTenantID, later, Options{}) {
			byID[e.ID] = e
		}
		earlier := SignUps(DefaultTenantID, now, Options{})
		for _, e := range earlier {
			if e.CreatedDateTime.Before(later.Add(-DefaultLogRetention)) {
				continue // out of the log by then
			}
			if l, ok := byID[e.ID]; !ok || fmt.Sprint(l) != fmt.Sprint(e) {
				t.Fatalf("at %s: %+v changed or gone ten minutes later: %+v", now, e, l)
			}
		}
		if e := earlier[0]; e.CreatedDateTime.After(now) {
			t.Errorf("at %s: sign-up event created at %s", now, e.CreatedDateTime)
		}
	}
	// A flow under way shows the stages it has passed.
	for _, f := range flows(SignUps(DefaultTenantID, testNow(), Options{})) {
		if len(f) < 3 || f[0].CreatedDateTime.Before(testNow().Add(-6*day)) || partial > 20 {
			continue
		}
		partial++
		now := f[1].CreatedDateTime
		got := flows(SignUps(DefaultTenantID, now, Options{}))[f[0].CorrelationID]
		if shape(got) != shape(f[:2]) {
			t.Fatalf("at %s: flow %s, want %s", now, shape(got), shape(f[:2]))
		}
	}
	if partial == 0 {
		t.Error("no flow of three steps or more")
	}
	// At 23:59 the first flows of tomorrow (their sign-up at 00:00) begin.
	now := time.Date(2026, 3, 18, 23, 59, 30, 0, time.UTC)
	var tomorrow int
	for _, e := range SignUps(DefaultTenantID, now.Add(2*time.Minute), Options{}) {
		if e.SignedUp() && e.CreatedDateTime.Equal(time.Date(2026, 3, 19, 0, 0, 0, 0, time.UTC)) {
			for _, x := range SignUps(DefaultTenantID, now, Options{}) {
				if x.CorrelationID == e.CorrelationID {
					tomorrow++
				}
			}
		}
	}
	if tomorrow == 0 {
		t.Error("no flow ending at midnight begun by 23:59:30")
	}
}

// TestSignUpsNewestFirst: just after midnight, when the first flows of the
// day began the day before, the log is still newest first, ties by id,
// as served and as returned.
func TestSignUpsNewestFirst(t *testing.T) {
	now := time.Date(2026, 3, 19, 0, 1, 0, 0, time.UTC)
	s := startPinned(t, Options{Now: func() time.Time { return now }, LogLatencyMax: -1, LogPageSize: 50})
	token := getToken(t, s, s.TenantID)
	items, _ := fetchLog(t, s.Client(), s.GraphURL+"/auditLogs/signUps", token)
	served := decodeAll[SignUpEvent](t, items)
	oracle := SignUps(s.TenantID, now, Options{LogLatencyMax: -1})
	if len(served) != len(oracle) || len(served) == 0 {
		t.Fatalf("%d served, oracle %d", len(served), len(oracle))
	}
	crossed := false
	for i := range served {
		if served[i].ID != oracle[i].ID {
			t.Fatalf("event %d: served %s, oracle %s", i, served[i].ID, oracle[i].ID)
		}
		if i > 0 && newerFirst(&served[i-1], &served[i]) > 0 {
			t.Fatalf("event %d out of order", i)
		}
	}
	for _, f := range flows(oracle) {
		if f[0].CreatedDateTime.Day() != f[len(f)-1].CreatedDateTime.Day() {
			crossed = true
		}
	}
	if !crossed {
		t.Error("no flow across midnight")
	}
}
