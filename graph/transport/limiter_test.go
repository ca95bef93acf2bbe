package transport

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"testing/synctest"
	"time"
)

func TestStartLogDelay(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newStartLog(Limit{Requests: 3, Window: 10 * time.Second})
	for i, at := range []time.Duration{0, time.Second, 2 * time.Second} {
		if d := w.delay(t0.Add(at)); d != 0 {
			t.Fatalf("start %d: delay %v, want 0", i, d)
		}
		w.record(t0.Add(at))
	}
	tests := []struct {
		at   time.Duration
		want time.Duration
	}{
		{3 * time.Second, 7 * time.Second}, // the start at 0 s leaves at 10 s
		{9999 * time.Millisecond, time.Millisecond},
		{10 * time.Second, 0},
		{time.Hour, 0},
	}
	for _, tt := range tests {
		if got := w.delay(t0.Add(tt.at)); got != tt.want {
			t.Errorf("delay at %v = %v, want %v", tt.at, got, tt.want)
		}
	}
	w.record(t0.Add(10 * time.Second))
	if got, want := w.delay(t0.Add(10*time.Second)), time.Second; got != want {
		t.Errorf("after the fourth start: delay %v, want %v (the start at 1 s is now the oldest)", got, want)
	}
}

// startTimes runs n Waits one after another and returns when each began,
// relative to the start, in the synctest bubble's fake time.
func startTimes(t *testing.T, l *Limiters, n int, tenant, client string) []time.Duration {
	t.Helper()
	begin := time.Now()
	var got []time.Duration
	for range n {
		if err := l.Wait(t.Context(), BudgetReports, tenant, client); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		got = append(got, time.Since(begin))
	}
	return got
}

func TestLimitersPerTenant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiters()
		got := startTimes(t, l, 11, "tenant-a", "client")
		w := LimitWindow // Graph's 10 s and the margin
		want := []time.Duration{0, 0, 0, 0, 0, w, w, w, w, w, 2 * w}
		if !equalDurations(got, want) {
			t.Errorf("start times %v, want %v", got, want)
		}
		// Another tenant of the same client has its own 5 per 10 s.
		if got := startTimes(t, l, 5, "tenant-b", "client"); !equalDurations(got, make([]time.Duration, 5)) {
			t.Errorf("other tenant waited: %v", got)
		}
	})
}

func TestLimitersPerClientAcrossTenants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimitersWith(Limit{Requests: 2, Window: 10 * time.Second}, Limit{Requests: 3, Window: 10 * time.Second}, time.Now)
		begin := time.Now()
		for _, tenant := range []string{"a", "a", "b"} {
			if err := l.Wait(t.Context(), BudgetReports, tenant, "client"); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Wait(t.Context(), BudgetReports, "c", "client"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(begin); got != 10*time.Second {
			t.Errorf("fourth request of the client started after %v, want 10s (client budget of 3)", got)
		}
		if err := l.Wait(t.Context(), BudgetReports, "d", "other-client"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(begin); got != 10*time.Second {
			t.Errorf("another client waited until %v", got)
		}
	})
}

func TestLimitersWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimitersWith(Limit{Requests: 1, Window: time.Minute}, Limit{Requests: 10, Window: time.Minute}, time.Now)
		if err := l.Wait(t.Context(), BudgetReports, "t", "c"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		begin := time.Now()
		err := l.Wait(ctx, BudgetReports, "t", "c")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) != 5*time.Second {
			t.Fatalf("Wait = %v after %v, want deadline exceeded after 5s", err, time.Since(begin))
		}
		// The abandoned wait recorded nothing: the next start is one
		// window after the first.
		if err := l.Wait(t.Context(), BudgetReports, "t", "c"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(begin); got != time.Minute {
			t.Errorf("next start after %v, want 1m", got)
		}
	})
}

func TestNilLimitersDoNotWait(t *testing.T) {
	var l *Limiters
	for range 100 {
		if err := l.Wait(t.Context(), BudgetReports, "t", "c"); err != nil {
			t.Fatal(err)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBudgetsApart: the reports budget spent, a user count waits for
// nothing and a signInActivity read has its own 10 per minute.
func TestBudgetsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiters()
		startTimes(t, l, TenantRequests, "t", "c") // the reports budget spent
		begin := time.Now()
		for range 100 {
			if err := l.Wait(t.Context(), BudgetNone, "t", "c"); err != nil {
				t.Fatal(err)
			}
		}
		for range signInActivityLimit.Requests {
			if err := l.Wait(t.Context(), BudgetSignInActivity, "t", "c"); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(begin); d != 0 {
			t.Fatalf("reads outside the reports budget waited %v", d)
		}
		if err := l.Wait(t.Context(), BudgetSignInActivity, "t", "c"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d != signInActivityLimit.Window {
			t.Errorf("the 11th signInActivity read in a minute started after %v, want %v", d, signInActivityLimit.Window)
		}
	})
}

func TestBudgetOf(t *testing.T) {
	for raw, want := range map[string]Budget{
		"https://graph.microsoft.com/beta/auditLogs/signIns?$filter=createdDateTime%20ge%202026-12-01T00:00:00Z":                          BudgetReports,
		"https://graph.microsoft.com/beta/auditLogs/signUps":                                                                              BudgetReports,
		"https://graph.microsoft.com/beta/reports/authenticationMethods/userRegistrationDetails":                                          BudgetReports,
		"https://graph.microsoft.com/beta/reports/userInsights/daily/summary":                                                             BudgetReports,
		"https://graph.microsoft.com/beta/users/$count":                                                                                   BudgetNone,
		"https://graph.microsoft.com/beta/users/$count?$filter=signInActivity%2FlastSuccessfulSignInDateTime%20le%202026-12-01T00:00:00Z": BudgetSignInActivity,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := BudgetOf(u); got != want {
			t.Errorf("BudgetOf(%s) = %d, want %d", raw, got, want)
		}
	}
}
