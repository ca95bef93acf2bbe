package logs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// The event logs (sign-ins, sign-ups) are read in windows of
// createdDateTime, each committed on its own:
//
//   - the frontier reads what is new: [watermark − Reread, watermark + span]
//     up to now, so events Graph ingests within Reread of happening are
//     counted in the refresh after they appear; it costs the pages of new
//     events plus Reread's, not the whole overlap;
//   - the late sweep re-reads [watermark − Overlap, watermark − Reread]
//     SweepEvery after the last one ended, window by window with a cursor
//     kept in the store, so an event Graph ingests late is counted by the
//     next sweep, within SweepEvery (plus the sweep's own reads) of
//     appearing, if it is still within Overlap of the watermark by then:
//     events up to about Overlap − SweepEvery − a sweep's duration late
//     (with the defaults about 2 hours on small tenants, 1 h 45 min at a
//     million sign-ins a day, where a sweep takes four or five
//     refreshes; docs/performance.md).
//
// A window's span adapts: it doubles while windows are empty (the days
// before a tenant's retention), shrinks to about targetEvents events when a
// window was large, and to what one refresh could read when a window ran
// out of time (a refresh's first window, or a sweep's, which only ever gets
// what the frontier leaves), so no window is too large to finish within a
// refresh.
// Events are deduplicated by id, so windows may overlap freely.

// Defaults of the window model.
const (
	// DefaultReread is the recent stretch every refresh reads again.
	DefaultReread = 5 * time.Minute
	// DefaultSweepEvery spaces the late sweeps.
	DefaultSweepEvery = time.Hour
	// minSpan is the shortest window a read shrinks to.
	minSpan = 5 * time.Minute
	// maxGrowth bounds the doubling of empty windows (Chunk << maxGrowth).
	maxGrowth = 6
	// targetEvents is what a window aims at: 20 pages of 1,000, about 40 s
	// of Graph's 5 requests per 10 s, and a few MB of events in memory.
	targetEvents = 20_000
	// floorFirstStep is how far a refused lower bound first moves forward;
	// each further refusal doubles the step.
	floorFirstStep = time.Hour
	// eventsRetryMost is the longest back-off of an event log whose query
	// Graph refused.
	eventsRetryMost = 6 * time.Hour
)

// $select answers remembered per event log (feed.Select).
const (
	selectUntried  = ""
	selectAccepted = "accepted"
	selectRefused  = "refused"
)

// readKind tells the frontier from the late sweep.
type readKind int

const (
	frontier readKind = iota
	sweep
)

func (k readKind) String() string {
	if k == sweep {
		return "sweep"
	}
	return "frontier"
}

// window is a range [from, to] of createdDateTime, both ends included as
// in Graph's filter.
type window struct {
	from, to time.Time
	kind     readKind
}

func (w window) String() string {
	return w.from.Format(time.RFC3339) + ".." + w.to.Format(time.RFC3339)
}

func (w window) contains(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// oldest is the earliest instant a read of f may ask for: the lookback,
// rounded up to the hour so a bound at the edge of the tenant's retention
// is not refused by the seconds a request takes, and never before a bound
// Graph refused.
func (s *Source) oldest(f *feed, now time.Time) time.Time {
	edge := now.Add(-s.opts.Lookback)
	o := edge.Truncate(time.Hour)
	if o.Before(edge) {
		o = o.Add(time.Hour)
	}
	return latest(o, f.Floor)
}

// next returns feed name's next window: the frontier while it is behind
// now, else the late sweep when one is due. lost is set when the exporter
// was down longer than the lookback: the events in between can no longer
// be read. It changes nothing but a finished sweep's mark.
func (s *Source) next(name string, now time.Time) (w window, lost, ok bool) {
	f := s.feed(name)
	oldest := s.oldest(f, now)
	if f.Watermark.IsZero() { // never read: the first window starts at the lookback
		w = window{from: oldest, to: oldest.Add(s.spanOf(name, frontier)), kind: frontier}
		w.to = earliest(w.to, now)
		return w, false, w.from.Before(now)
	}
	if f.Watermark.Before(now) {
		base := f.Watermark
		if base.Before(oldest) {
			base, lost = oldest, true
		}
		// Not before SeenSince: older ids are no longer in the seen set.
		w = window{from: latest(f.Watermark.Add(-s.opts.Reread), f.SeenSince, oldest), kind: frontier}
		w.to = earliest(base.Add(s.spanOf(name, frontier)), now)
		return w, lost, true
	}
	if f.Sweep.IsZero() && now.Sub(f.SweptAt) < s.opts.SweepEvery {
		return window{}, false, false
	}
	end := f.Watermark.Add(-s.opts.Reread)
	from := latest(f.Sweep, f.Watermark.Add(-s.opts.Overlap), f.SeenSince, oldest)
	if !from.Before(end) {
		f.Sweep, f.SweptAt = time.Time{}, now
		return window{}, false, false
	}
	w = window{from: from, to: earliest(from.Add(s.spanOf(name, sweep)), end), kind: sweep}
	return w, false, true
}

// spanKey names the span of one kind of read of a feed.
func spanKey(name string, kind readKind) string { return name + "/" + kind.String() }

// spanOf is the length of the next window of that kind of feed name.
func (s *Source) spanOf(name string, kind readKind) time.Duration {
	if d := s.span[spanKey(name, kind)]; d > 0 {
		return d
	}
	return s.opts.Chunk
}

// resize sets the next span after window w was read with n events: empty,
// it doubles (up to Chunk << maxGrowth); large, it shrinks to about
// targetEvents; otherwise it is at most Chunk.
func (s *Source) resize(name string, w window, n int) {
	key := spanKey(name, w.kind)
	span := s.spanOf(name, w.kind)
	switch {
	case n == 0:
		span = min(2*span, s.opts.Chunk<<maxGrowth)
	case n > targetEvents:
		span = max(minSpan, time.Duration(float64(w.to.Sub(w.from))*targetEvents/float64(n)))
	default:
		span = min(span, s.opts.Chunk)
	}
	s.span[key] = span
}

// shrink sets the next span after window w ran out of time: to three
// quarters of what the refresh did read (Graph sends newest first, so the
// pages read cover (oldestRead, w.to]), or half of w when no page came.
func (s *Source) shrink(name string, w window, oldestRead time.Time) {
	key := spanKey(name, w.kind)
	span := w.to.Sub(w.from) / 2
	if !oldestRead.IsZero() {
		span = w.to.Sub(oldestRead) * 3 / 4
	}
	s.span[key] = max(min(minSpan, s.opts.Chunk), min(span, s.spanOf(name, w.kind)))
	s.opts.Logger.Info("a window of the activity log was too large to read within one refresh; the next one is shorter",
		"feed", name, "read", w.kind.String(), "window", w.String(), "next_span", s.span[key])
}

// syncEvents reads both event logs window by window, committing each round
// (one window of each log that has one due) in one transaction, until
// neither has a window due or ctx ends. Having committed a round, a
// timeout is not a failure: the next refresh goes on from there. behind
// says ctx ended with windows still to read.
func (s *Source) syncEvents(ctx context.Context, now time.Time) (signInsErr, signUpsErr error, behind bool) {
	errs := map[string]error{}
	for _, name := range []string{feedSignIns, feedSignUps} {
		if r := s.eventsRetry[name]; r.waiting(now) {
			errs[name], s.carried[name] = r.err, true
		}
	}
	for round := 0; ; round++ {
		c := newChange()
		progress := false
		for _, name := range []string{feedSignIns, feedSignUps} {
			if errs[name] != nil {
				continue
			}
			w, lost, ok := s.next(name, now)
			if !ok {
				continue
			}
			if lost {
				s.opts.Logger.Warn("events were never read: the exporter was down for longer than --logs.lookback (or Graph's retention)",
					"feed", name, "lost_until", w.from)
			}
			err := s.readWindow(ctx, name, w, now, c)
			if err == nil {
				progress = true
				continue
			}
			if s.moveFloor(name, w, now, err) {
				progress = true
				continue
			}
			errs[name] = s.readError(ctx, name, w, round, now, err)
		}
		if !progress {
			return errs[feedSignIns], errs[feedSignUps], ctx.Err() != nil
		}
		s.age(c) // after both logs' windows: a period closes only once neither can reach it
		if err := s.commit(c); err != nil {
			return errors.Join(errs[feedSignIns], err), errors.Join(errs[feedSignUps], err), false
		}
	}
}

// readWindow reads window w of feed name and applies it to the state and
// c. $select is sent until Graph refuses it; then the window is read again
// without it, at once, so a refusal costs no data.
func (s *Source) readWindow(ctx context.Context, name string, w window, now time.Time, c *change) error {
	f := s.feed(name)
	sel := f.Select != selectRefused
	n, oldestRead, err := s.readEvents(ctx, name, w, sel, c)
	if sel && errors.Is(err, insights.ErrSelectRefused) {
		f.Select = selectRefused
		s.opts.Logger.Warn("Graph refused $select on this log; reading whole events from now on (more bytes, the same numbers)",
			"feed", name, "err", err)
		n, oldestRead, err = s.readEvents(ctx, name, w, false, c)
	}
	if err != nil {
		return &readFailure{err: err, oldestRead: oldestRead}
	}
	if sel && f.Select == selectUntried {
		f.Select = selectAccepted
		s.opts.Logger.Debug("Graph accepts $select on this log", "feed", name)
	}
	s.eventsRetry[name] = retry{}
	s.resize(name, w, n)
	s.advance(name, w, now, c)
	return nil
}

// readFailure is a failed read with the oldest createdDateTime among the
// events it did get (zero when none).
type readFailure struct {
	err        error
	oldestRead time.Time
}

func (e *readFailure) Error() string { return e.err.Error() }
func (e *readFailure) Unwrap() error { return e.err }

// readEvents reads window w of feed name and applies its events; it
// returns how many events of the window Graph sent, and on failure the
// oldest createdDateTime it did get. Nothing is applied unless the whole
// window was read.
func (s *Source) readEvents(ctx context.Context, name string, w window, sel bool, c *change) (int, time.Time, error) {
	if name == feedSignIns {
		events, oldest, err := collect(func(page func([]insights.SignIn) error) error {
			return s.opts.Reader.SignIns(ctx, w.from, w.to, sel, page)
		}, func(e *insights.SignIn) time.Time { return e.Created })
		if err != nil {
			return 0, oldest, err
		}
		return s.applySignIns(events, w, c), oldest, nil
	}
	events, oldest, err := collect(func(page func([]insights.SignUp) error) error {
		return s.opts.Reader.SignUps(ctx, w.from, w.to, sel, page)
	}, func(e *insights.SignUp) time.Time { return e.Created })
	if err != nil {
		return 0, oldest, err
	}
	return s.applySignUps(events, w, c), oldest, nil
}

// collect gathers the events of a read page by page, with the oldest
// createdDateTime among them (zero when none), which a failed read reports.
func collect[E any](read func(page func([]E) error) error, created func(*E) time.Time) ([]E, time.Time, error) {
	var events []E
	var oldest time.Time
	err := read(func(page []E) error {
		for i := range page {
			if t := created(&page[i]); oldest.IsZero() || t.Before(oldest) {
				oldest = t
			}
		}
		events = append(events, page...)
		return nil
	})
	return events, oldest, err
}

// moveFloor handles Graph's refusal of a window's lower bound ("Invalid
// filter clause" on a bound at least an hour back, as Graph answers a date
// before the earliest it keeps): the feed's reads start later from now on,
// by a step that doubles with every refusal. It reports whether it moved.
func (s *Source) moveFloor(name string, w window, now time.Time, err error) bool {
	if !errors.Is(err, insights.ErrFilterRefused) || now.Sub(w.from) <= floorFirstStep {
		return false
	}
	f := s.feed(name)
	step := max(floorFirstStep, s.floorStep[name])
	floor := earliest(w.from.Add(step), now.Add(-floorFirstStep))
	if !floor.After(w.from) {
		return false
	}
	f.Floor = floor
	s.floorStep[name] = 2 * step
	s.opts.Logger.Warn("Graph refused the window's start, probably before the earliest date it keeps; reading from later on",
		"feed", name, "refused_from", w.from, "reads_from", floor, "err", err)
	return true
}

// readError is the error of a failed read. After a committed round, a
// deadline only means the feed is catching up. A first window that ran out
// of time had the whole refresh: the next one is shorter. So is a late
// sweep's: a sweep runs only once the frontier is caught up, so it is
// never a refresh's first read and always gets what the frontier leaves;
// kept whole, a sweep window larger than that would be asked for again on
// every refresh, never end, and never count a late event. A query Graph
// refused is not sent again before a back-off, so it is never repeated
// unchanged on every refresh.
func (s *Source) readError(ctx context.Context, name string, w window, round int, now time.Time, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) { // shutdown or reload: nothing to learn
		return fmt.Errorf("%s %s %s: %w", name, w.kind, w, err)
	}
	timedOut := ctx.Err() != nil || insights.ReasonOf(err) == insights.ReasonTimeout
	if timedOut && (round == 0 || w.kind == sweep) {
		var rf *readFailure
		oldestRead := time.Time{}
		if errors.As(err, &rf) {
			oldestRead = rf.oldestRead
		}
		s.shrink(name, w, oldestRead)
	}
	if round > 0 && ctx.Err() != nil {
		s.opts.Logger.Debug("catching up with the activity log; the next refresh goes on", "feed", name, "read", w.kind.String(), "from", w.from)
		return nil
	}
	err = fmt.Errorf("%s %s %s: %w", name, w.kind, w, err)
	if insights.ReasonOf(err) == insights.ReasonBadRequest {
		r := s.eventsRetry[name]
		r.failed(now, err, retryFirst, eventsRetryMost)
		s.eventsRetry[name] = r
		s.opts.Logger.Warn("Graph refused the read of this log; not asking again before the back-off ends",
			"feed", name, "retry_in", r.wait, "err", err)
	}
	return err
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
