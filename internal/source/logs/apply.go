package logs

import (
	"fmt"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// inWindow reports whether an event created at t belongs to window w; one
// that does not (a misbehaving response) is skipped: counting it would
// count it again on every refresh, as its id leaves the seen set at once.
func (s *Source) inWindow(name string, w window, id string, t time.Time, odd *int) bool {
	if w.contains(t) {
		return true
	}
	if *odd == 0 {
		s.opts.Logger.Warn("Graph returned events outside the window asked for; they are skipped",
			"feed", name, "window", w.String(), "id", id, "created", t)
	}
	*odd++
	s.feed(name).OutOfWindow++
	return false
}

// change collects what one round changed, for the store.
type change struct {
	seen    map[string]map[string]time.Time // feed → new ids → createdDateTime
	pruned  map[string][]string             // feed → ids out of the window
	users   map[*period]map[userKey]bool    // users whose tuples grew
	flows   map[*period]map[string]bool     // sign-up flows whose stages grew
	periods map[*period]bool                // periods whose counters changed
	closed  []*period
	dropped []*period
}

func newChange() *change {
	return &change{
		seen:  map[string]map[string]time.Time{feedSignIns: {}, feedSignUps: {}},
		users: map[*period]map[userKey]bool{}, periods: map[*period]bool{}, pruned: map[string][]string{},
		flows: map[*period]map[string]bool{},
	}
}

func (s *Source) period(g insights.Granularity, at time.Time) *period {
	start := insights.PeriodStart(g, at)
	k := periodKey{g, start}
	p, ok := s.periods[k]
	if !ok {
		p = newPeriod(g, start, s.opts.ActiveUserDims[g])
		s.periods[k] = p
	}
	return p
}

// fresh reports whether an event id is new, and records it.
func (s *Source) fresh(name, id string, created time.Time, c *change) bool {
	f := s.feed(name)
	_, seen := s.seen[name][id]
	if _, again := c.seen[name][id]; seen || again {
		f.Duplicates++
		return false
	}
	c.seen[name][id] = created
	f.Events++
	return true
}

// applySignIns counts the new sign-ins of window w and returns how many
// events of the window were read.
func (s *Source) applySignIns(events []insights.SignIn, w window, c *change) int {
	odd := 0
	defer func() { s.logOdd(feedSignIns, w, odd) }()
	for i := range events {
		e := &events[i]
		if !s.inWindow(feedSignIns, w, e.ID, e.Created, &odd) || !s.fresh(feedSignIns, e.ID, e.Created, c) {
			continue
		}
		v := valuesOf(signInDimensions, e)
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := s.period(g, e.Created)
			c.periods[p] = true
			if p.addSignIn(e, v) {
				if c.users[p] == nil {
					c.users[p] = map[userKey]bool{}
				}
				c.users[p][userKeyOf(e.UserID)] = true
			}
		}
	}
	return len(events) - odd
}

// applySignUps counts the new sign-ups of window w and returns how many
// events of the window were read.
func (s *Source) applySignUps(events []insights.SignUp, w window, c *change) int {
	odd := 0
	defer func() { s.logOdd(feedSignUps, w, odd) }()
	for i := range events {
		e := &events[i]
		if !s.inWindow(feedSignUps, w, e.ID, e.Created, &odd) || !s.fresh(feedSignUps, e.ID, e.Created, c) {
			continue
		}
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			p := s.period(g, e.Created)
			c.periods[p] = true
			if p.addSignUp(e) {
				if c.flows[p] == nil {
					c.flows[p] = map[string]bool{}
				}
				c.flows[p][e.CorrelationID] = true
			}
		}
	}
	return len(events) - odd
}

// logOdd says how many events of one read were outside its window.
func (s *Source) logOdd(name string, w window, odd int) {
	if odd > 1 {
		s.opts.Logger.Warn("events outside the window skipped", "feed", name, "window", w.String(), "events", odd)
	}
}

// advance moves feed name past window w. The frontier moves the
// watermark and the seen ids kept for the overlap; the sweep moves its
// cursor, and ends at the frontier's re-read.
func (s *Source) advance(name string, w window, now time.Time, c *change) {
	f := s.feed(name)
	for id, created := range c.seen[name] {
		s.seen[name][id] = created
	}
	if w.kind == sweep {
		f.Sweep = w.to
		if !w.to.Before(f.Watermark.Add(-s.opts.Reread)) {
			f.Sweep, f.SweptAt = time.Time{}, now
		}
		return
	}
	if f.Watermark.IsZero() { // the first window committed: where the feed's reads start
		f.Since, f.SeenSince, f.SweptAt = w.from, w.from, now
	}
	f.Watermark = w.to
	if keep := w.to.Add(-s.opts.Overlap); keep.After(f.SeenSince) {
		f.SeenSince = keep
	}
	for id, created := range s.seen[name] {
		if created.Before(f.SeenSince) {
			delete(s.seen[name], id)
			c.pruned[name] = append(c.pruned[name], id)
		}
	}
}

// commit writes one round in one transaction: the document, the periods
// and sets it changed. If the write fails, the state is reloaded from the
// store, so memory never holds what the store does not.
func (s *Source) commit(c *change) error {
	if s.opts.Store == nil {
		return nil
	}
	err := s.opts.Store.Update(s.opts.Tenant, s.claim, func(tx *store.Tx) error { return s.write(tx, c) })
	if err != nil {
		s.opts.Logger.Error("could not write the logs source's state; reloading the last committed state",
			"path", s.opts.Store.Path(), "err", err)
		if rerr := s.reload(); rerr != nil {
			return fmt.Errorf("write state: %w; reload: %w", err, rerr)
		}
		return fmt.Errorf("write state %s: %w", s.opts.Store.Path(), err)
	}
	return nil
}

// age closes the open periods that no read can reach any more (they ended
// before both event logs' watermark − overlap; a log never read does not
// hold the others back) and drops the periods past the ones kept.
func (s *Source) age(c *change) {
	now := s.signIns.Watermark
	if up := s.signUps.Watermark; now.IsZero() || !up.IsZero() && up.Before(now) {
		now = up
	}
	reach := now.Add(-s.opts.Overlap)
	oldestDay := insights.PeriodStart(insights.Daily, now).AddDate(0, 0, -keepDays)
	oldestMonth := insights.PeriodStart(insights.Monthly, now).AddDate(0, -keepMonths, 0)
	for k, p := range s.periods {
		if (k.g == insights.Daily && k.start.Before(oldestDay)) || (k.g == insights.Monthly && k.start.Before(oldestMonth)) {
			delete(s.periods, k)
			c.dropped = append(c.dropped, p)
			continue
		}
		if p.open() && !p.end().After(reach) {
			p.close()
			c.closed = append(c.closed, p)
		}
	}
}
