package logs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// retry is the back-off of a periodic read after a failure.
type retry struct {
	err  error     // the last failure; nil after a success
	at   time.Time // when it failed
	wait time.Duration
}

// waiting reports whether the read failed and its back-off has not passed.
func (r *retry) waiting(now time.Time) bool { return r.err != nil && now.Sub(r.at) < r.wait }

// failed records a failure: the first waits first, each further one twice
// as long as the one before, up to most.
func (r *retry) failed(now time.Time, err error, first, most time.Duration) {
	if r.err == nil {
		r.wait = first
	} else {
		r.wait = max(first, min(2*r.wait, most))
	}
	r.err, r.at = err, now
}

// syncCounts reads the user count, and the inactive users when due
// (spaced out after a failure); it returns the reads that changed the
// state.
func (s *Source) syncCounts(ctx context.Context, now time.Time) []string {
	var read []string
	if s.readUsers(ctx, now) {
		read = append(read, feedUsers)
	}
	switch {
	case s.inactiveRetry.waiting(now):
		s.syncErrs[feedInactive], s.carried[feedInactive] = s.inactiveRetry.err, true
	case s.inactiveRetry.err != nil || s.inactive.due(now):
		if s.readInactive(ctx, now) {
			read = append(read, feedInactive)
		}
	}
	return read
}

// syncRegistrations reads the registrations when due, or goes on with an
// unfinished read (spaced out after a failure); it returns the reads that
// changed the state.
func (s *Source) syncRegistrations(ctx context.Context, now time.Time) []string {
	switch {
	case s.regRetry.waiting(now):
		s.syncErrs[feedRegistrations], s.carried[feedRegistrations] = s.regRetry.err, true
	case s.regPartial != nil || s.regRetry.err != nil || s.registrations == nil ||
		now.Sub(s.registrations.At) >= s.opts.RegistrationsEvery:
		if s.readRegistrations(ctx, now) {
			return []string{feedRegistrations}
		}
	}
	return nil
}

// commitPeriodic commits what the periodic reads changed; a failed commit
// fails each of them.
func (s *Source) commitPeriodic(read []string) {
	if len(read) == 0 {
		return
	}
	if err := s.commit(newChange()); err != nil {
		for _, name := range read {
			s.syncErrs[name] = err
		}
	}
}

// attempted reports whether read name was made in the Sync at now: the
// event logs and the user count every time; the periodic ones when their
// last result is from now.
func (s *Source) attempted(name string, now time.Time) bool {
	switch name {
	case feedRegistrations:
		return s.registrations != nil && s.registrations.At.Equal(now)
	case feedInactive:
		return s.inactive != nil && s.inactive.At.Equal(now)
	}
	return true
}

// failedPeriodic records a periodic read's failure and its back-off.
func (s *Source) failedPeriodic(r *retry, now time.Time, err error) {
	first := retryFirst
	if insights.ReasonOf(err) == insights.ReasonForbidden || errors.Is(err, insights.ErrUnlicensed) {
		first = retryForbiddenFirst
	}
	r.failed(now, err, first, max(first, s.opts.RegistrationsEvery))
}

// readUsers reads users/$count; it reports whether the state changed.
func (s *Source) readUsers(ctx context.Context, now time.Time) bool {
	n, err := s.opts.Reader.UserCount(ctx)
	if err != nil {
		s.syncErrs[feedUsers] = fmt.Errorf("users/$count: %w", err)
		return false
	}
	s.users = &sample{At: now, Count: n}
	return true
}

// readRegistrations reads userRegistrationDetails; it reports whether the
// state changed. A read that runs out of time after some pages keeps them
// (in memory) and goes on from the next page at the next refresh, so a
// directory too large for one refresh is still read whole; a resumed read
// whose page link Graph no longer takes starts over.
func (s *Source) readRegistrations(ctx context.Context, now time.Time) bool {
	p := s.regPartial
	if p == nil {
		p = &regProgress{byMethod: map[string]int64{}}
	}
	resumed, before := p.next != "", p.pages
	s.regStarved = false
	err := s.opts.Reader.Registrations(ctx, p.next, func(page []insights.Registration, next string) error {
		for _, r := range page {
			for _, m := range slices.Compact(slices.Sorted(slices.Values(r.MethodsRegistered))) {
				p.byMethod[insights.Normalize("mfa_type", m)]++
			}
		}
		p.next, p.pages = next, p.pages+1
		return nil
	})
	switch {
	case err == nil:
		s.regPartial, s.regRetry = nil, retry{}
		s.registrations = &registrations{At: now, ByMethod: p.byMethod}
		return true
	case ctx.Err() != nil && p.pages == before:
		// Our own deadline before a page, not Graph: no back-off, and the
		// next refresh reads them first (regStarved). A read begun goes on
		// from where it was.
		s.regStarved = true
		if resumed {
			s.regPartial = p
			return false
		}
		s.syncErrs[feedRegistrations] = fmt.Errorf("userRegistrationDetails: no time left in this refresh: %w", err)
		return false
	case ctx.Err() != nil && p.next != "":
		s.regPartial = p
		s.opts.Logger.Debug("userRegistrationDetails is larger than one refresh can read; the next refresh goes on",
			"pages_read", p.pages)
		return false
	}
	s.regPartial = nil
	err = fmt.Errorf("userRegistrationDetails: %w", err)
	if resumed && insights.ReasonOf(err) == insights.ReasonBadRequest {
		s.opts.Logger.Info("Graph no longer takes the page link of the unfinished read of userRegistrationDetails; it starts over", "err", err)
	}
	s.syncErrs[feedRegistrations] = err
	s.failedPeriodic(&s.regRetry, now, err)
	return false
}

// regProgress is an unfinished read of userRegistrationDetails: the counts
// of the pages read and the link of the next page.
type regProgress struct {
	byMethod map[string]int64
	next     string
	pages    int
}

// inactiveWindows are the inactivity windows read: a day, and 30, 60 and
// 90 days; the calendar month's is read from the month's start.
func inactiveWindows() map[string]time.Duration {
	return map[string]time.Duration{"1d": 24 * time.Hour, "30d": 30 * 24 * time.Hour, "60d": 60 * 24 * time.Hour, "90d": 90 * 24 * time.Hour}
}

// readInactive counts the inactive users of every window; it reports
// whether the state changed. Without the licence the metrics are absent,
// and one log line says why.
func (s *Source) readInactive(ctx context.Context, now time.Time) bool {
	byWindow := map[string]int64{}
	befores := map[string]time.Time{"calendar_month": insights.PeriodStart(insights.Monthly, now)}
	for w, d := range inactiveWindows() {
		befores[w] = now.Add(-d)
	}
	for _, w := range slices.Sorted(maps.Keys(befores)) {
		n, err := s.opts.Reader.InactiveUsers(ctx, befores[w])
		if errors.Is(err, insights.ErrUnlicensed) {
			if s.inactive == nil || !s.inactive.Unlicensed {
				s.opts.Logger.Warn("inactive users are not exported: they need users' signInActivity, which needs an"+
					" Entra ID P1 or P2 licence in this tenant; trying again in a day", "err", err)
			}
			s.inactiveRetry = retry{}
			s.inactive = &inactive{At: now, Unlicensed: true}
			return true
		}
		if err != nil {
			err = fmt.Errorf("inactive users: %w", err)
			s.syncErrs[feedInactive] = err
			s.failedPeriodic(&s.inactiveRetry, now, err)
			return false
		}
		byWindow[w] = n
	}
	s.inactiveRetry = retry{}
	s.inactive = &inactive{At: now, ByWindow: byWindow}
	return true
}

// periodicFamily is a family of a periodic read: its declaration, and
// how the state gives its points at granularity g (in the period of the
// read).
type periodicFamily struct {
	source.Family
	points func(s *Source, g insights.Granularity, emit func(start time.Time, value int64, labels []source.Label))
}

// periodicFamilies are the families of the periodic reads.
func periodicFamilies() []periodicFamily {
	return []periodicFamily{
		{source.Family{Name: "inactive_users", Report: insights.InactiveUsers, Kind: source.Users, Labels: []string{"window"},
			Help: "Users whose last successful sign-in (signInActivity, needs Entra ID P1/P2) is older than the window" +
				" (1d or calendar_month, 30d, 60d, 90d); users who never signed in are not counted."},
			func(s *Source, g insights.Granularity, emit func(time.Time, int64, []source.Label)) {
				if s.inactive == nil || s.inactive.Unlicensed {
					return
				}
				first := "1d"
				if g == insights.Monthly {
					first = "calendar_month"
				}
				for _, w := range []string{first, "30d", "60d", "90d"} {
					emit(insights.PeriodStart(g, s.inactive.At), s.inactive.ByWindow[w], []source.Label{{Name: "window", Value: w}})
				}
			}},
		{source.Family{Name: "mfa_registered_users", Report: insights.MFARegisteredUsers, Only: insights.Monthly, Kind: source.Levels,
			Labels: []string{"mfa_type"},
			Help: "Users registered for a multifactor authentication method (userRegistrationDetails.methodsRegistered);" +
				" a user registered for several is counted once per method."},
			func(s *Source, g insights.Granularity, emit func(time.Time, int64, []source.Label)) {
				if s.registrations == nil {
					return
				}
				for _, m := range slices.Sorted(maps.Keys(s.registrations.ByMethod)) {
					emit(insights.PeriodStart(g, s.registrations.At), s.registrations.ByMethod[m], []source.Label{{Name: "mfa_type", Value: m}})
				}
			}},
		{source.Family{Name: "users", Report: insights.UserCount, Only: insights.Daily, Kind: source.Levels,
			Help: "Users in the tenant (users/$count, exact)."},
			func(s *Source, g insights.Granularity, emit func(time.Time, int64, []source.Label)) {
				if s.users != nil {
					emit(insights.PeriodStart(g, s.users.At), s.users.Count, nil)
				}
			}},
	}
}
