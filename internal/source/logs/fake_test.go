package logs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// fakeReader serves events as Graph does: newest first, in pages, only
// those already ingested (visible) and inside the retention.
type fakeReader struct {
	mu        sync.Mutex
	now       func() time.Time
	signIns   []fakeSignIn
	signUps   []insights.SignUp
	users     int64
	regs      []insights.Registration
	pageSize  int
	retention time.Duration
	// failAfter makes the SignIns read fail after that many pages (0 = never).
	failAfter  int
	requests   int
	unlicensed bool
	// refuseSelect makes SignIns refuse $select; selects records the sel
	// of every SignIns call.
	refuseSelect bool
	selects      []bool
	// minDate refuses a SignIns window that starts more than minDate ago,
	// as Graph's minimum-date check; refusedFrom records their starts.
	minDate     time.Duration
	refusedFrom []time.Time
	// regsPage is the page size of Registrations; afterRegsPage runs after
	// each of its pages; regsRequests counts them.
	regsPage      int
	afterRegsPage func()
	regsRequests  int
	// stallSignIns makes every SignIns read wait for its context's end, as
	// a log far behind takes all the time a refresh has; inactiveDelay is
	// the time each InactiveUsers request takes.
	stallSignIns  bool
	inactiveDelay time.Duration
}

type fakeSignIn struct {
	insights.SignIn
	visible time.Time // createdDateTime + ingestion latency
}

var errInjected = errors.New("injected failure")

func (f *fakeReader) SignIns(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignIn) error) error {
	if f.stallSignIns {
		<-ctx.Done()
		return fmt.Errorf("page 1: %w", ctx.Err())
	}
	f.mu.Lock()
	f.selects = append(f.selects, sel)
	if sel && f.refuseSelect {
		f.mu.Unlock()
		return fmt.Errorf("page 1: %w: %w", insights.ErrSelectRefused, errInjected)
	}
	if f.minDate > 0 && from.Before(f.now().Add(-f.minDate)) {
		f.refusedFrom = append(f.refusedFrom, from)
		f.mu.Unlock()
		return fmt.Errorf("page 1: %w: %w", insights.ErrFilterRefused,
			&insights.Error{Reason: insights.ReasonBadRequest, Status: 400, Err: errors.New("Invalid filter clause")})
	}
	now := f.now()
	var out []insights.SignIn
	for _, e := range f.signIns {
		if !e.Created.Before(from) && !e.Created.After(to) && !e.visible.After(now) &&
			(f.retention == 0 || !e.Created.Before(now.Add(-f.retention))) {
			out = append(out, e.SignIn)
		}
	}
	failAfter := f.failAfter
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b insights.SignIn) int { return b.Created.Compare(a.Created) })
	return f.pages(len(out), failAfter, func(i, j int) error { return page(out[i:j]) })
}

func (f *fakeReader) SignUps(ctx context.Context, from, to time.Time, _ bool, page func([]insights.SignUp) error) error {
	f.mu.Lock()
	var out []insights.SignUp
	for _, e := range f.signUps {
		if !e.Created.Before(from) && !e.Created.After(to) && !e.Created.After(f.now()) {
			out = append(out, e)
		}
	}
	f.mu.Unlock()
	return f.pages(len(out), 0, func(i, j int) error { return page(out[i:j]) })
}

func (f *fakeReader) pages(n, failAfter int, page func(i, j int) error) error {
	size := f.pageSize
	if size == 0 {
		size = 1000
	}
	for i, p := 0, 0; i < n || (n == 0 && p == 0); i, p = i+size, p+1 {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		if failAfter > 0 && p >= failAfter {
			return fmt.Errorf("page %d: %w", p+1, errInjected)
		}
		if err := page(i, min(i+size, n)); err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	return nil
}

func (f *fakeReader) UserCount(context.Context) (int64, error) { return f.users, nil }

// InactiveUsers counts the users without a successful sign-in after
// before; unlicensed makes it fail as a tenant without P1/P2.
func (f *fakeReader) InactiveUsers(ctx context.Context, before time.Time) (int64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(f.inactiveDelay):
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unlicensed {
		return 0, fmt.Errorf("users/$count: %w", insights.ErrUnlicensed)
	}
	last := map[string]time.Time{}
	for _, e := range f.signIns {
		if e.ErrorCode == 0 && e.Created.After(last[e.UserID]) {
			last[e.UserID] = e.Created
		}
	}
	var n int64
	for _, t := range last {
		if !t.After(before) {
			n++
		}
	}
	return n, nil
}

// Registrations serves the registrations regsPage at a time (all at once
// when 0), from the page whose link is "page:N"; after each page it calls
// afterRegsPage, which a test uses to end the refresh's context.
func (f *fakeReader) Registrations(ctx context.Context, from string, page func([]insights.Registration, string) error) error {
	size := f.regsPage
	if size == 0 {
		size = max(1, len(f.regs))
	}
	start := 0
	if from != "" {
		if _, err := fmt.Sscanf(from, "page:%d", &start); err != nil {
			return err
		}
	}
	for i := start * size; ; i += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(i+size, len(f.regs))
		next := ""
		if end < len(f.regs) {
			next = fmt.Sprintf("page:%d", end/size)
		}
		f.regsRequests++
		if err := page(f.regs[min(i, len(f.regs)):end], next); err != nil {
			return err
		}
		if f.afterRegsPage != nil {
			f.afterRegsPage()
		}
		if next == "" {
			return nil
		}
	}
}
