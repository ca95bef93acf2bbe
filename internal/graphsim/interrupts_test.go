package graphsim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInterruptCodes(t *testing.T) {
	if got := InterruptCodes(); !slices.Equal(got, []int{1002013, 50140}) {
		t.Errorf("InterruptCodes %v", got)
	}
	for code, want := range map[int]bool{1002013: true, 50140: true, 0: false, 50126: false, 50181: false, 500121: false, 50058: false} {
		if IsInterrupt(code) != want {
			t.Errorf("IsInterrupt(%d) = %v", code, !want)
		}
	}
	for code := range ErrorCodeReasons() {
		if IsInterrupt(code) {
			t.Errorf("interrupt %d counted as a failure reason", code)
		}
	}
}

// TestKeepMeSignedInInterrupts: a share of the successful browser
// sign-ins is preceded by a 50140 event with its own id, the same
// correlationId, user and app, a second or so earlier; no other 50140.
func TestKeepMeSignedInInterrupts(t *testing.T) {
	evs := SignIns(DefaultTenantID, testNow(), month)
	byCorrelation := map[string][]SignInEvent{}
	for _, e := range evs {
		byCorrelation[e.CorrelationID] = append(byCorrelation[e.CorrelationID], e)
	}
	var browserSuccesses, interrupts, mfa int
	for _, e := range evs {
		switch {
		case e.Status.ErrorCode == 0 && e.ClientAppUsed == "Browser":
			browserSuccesses++
		case e.Interrupt():
			interrupts++
			if e.AuthenticationRequirement == "multiFactorAuthentication" {
				mfa++
			}
			group := byCorrelation[e.CorrelationID]
			i := slices.IndexFunc(group, func(x SignInEvent) bool { return x.Status.ErrorCode == 0 })
			if len(group) != 2 || i < 0 {
				t.Fatalf("interrupt %s: %d events with its correlationId, success at %d", e.ID, len(group), i)
			}
			s := group[i]
			gap := s.CreatedDateTime.Sub(e.CreatedDateTime)
			if s.ID == e.ID || s.UserID != e.UserID || s.AppID != e.AppID || gap < 500*time.Millisecond || gap > 3*time.Second ||
				e.CreatedDateTime.Format(time.DateOnly) != s.CreatedDateTime.Format(time.DateOnly) {
				t.Fatalf("interrupt %+v\nbefore %+v", e, s)
			}
			if !strings.Contains(e.Status.FailureReason, "Keep me signed in") {
				t.Errorf("failureReason %q", e.Status.FailureReason)
			}
		}
	}
	share := float64(interrupts) / float64(browserSuccesses)
	if share < 0.25 || share > 0.35 || mfa == 0 {
		t.Errorf("%d interrupts for %d successful browser sign-ins (%.2f), %d after MFA", interrupts, browserSuccesses, share, mfa)
	}
}

// TestInterruptsServed: the interrupts are on the wire, in order, and the
// other sign-ins are those of the reports (TestSignInsAgreeWithAuthentications).
func TestInterruptsServed(t *testing.T) {
	s := startPinned(t, Options{LogPageSize: 1000})
	token := getToken(t, s, s.TenantID)
	items, _ := fetchLog(t, s.Client(), signInsURL(s, ""), token)
	got := decodeAll[SignInEvent](t, items)
	n := 0
	for i, e := range got {
		if e.Status.ErrorCode == CodeKeepMeSignedIn {
			n++
		}
		if i > 0 && e.CreatedDateTime.After(got[i-1].CreatedDateTime) {
			t.Fatalf("sign-in %d newer than the one before", i)
		}
	}
	if n == 0 {
		t.Error("no 50140 sign-in served")
	}
}
