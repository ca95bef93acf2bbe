package graphsim

import (
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// This file holds the per-day counts that both the reports and the
// activity-log events derive from. A monthly count is the sum of its days,
// so the monthly reports agree with the events of their days.

// days returns the days of p that have data at the data clock: p itself
// when daily, else the month's days up to today (today partial).
func (g *gen) days(p period) []period {
	if g.daily {
		return []period{p}
	}
	if out, ok := g.monthDays[p.index]; ok {
		return out
	}
	var out []period
	for d := p.start; d.Before(p.end) && !d.After(g.today); d = d.AddDate(0, 0, 1) {
		out = append(out, g.day(d))
	}
	if g.monthDays == nil {
		g.monthDays = map[int64][]period{}
	}
	g.monthDays[p.index] = out
	return out
}

// day returns the daily period starting at d, as the daily reports see it.
func (g *gen) day(d time.Time) period {
	return newPeriod(d, d.AddDate(0, 0, 1), d.Unix()/86400, g.now, weekdayFactor(d.Weekday()))
}

// mfaRow is the MFA sign-ins of one (app, method) on one day: they happen
// on one segment of the app (one os, so one country) and are a part of its
// authentications.
type mfaRow struct {
	seg       int // index in gen.segs
	method    string
	key       hash
	c         float64 // the rate of the base stream of attempts
	rate      float64 // its success share
	phase     float64 // of its successes (see successesOf)
	attempts  int64
	successes int64
	failed    int64 // attempts − successes; SpikeFactor times the base on the spike day
	spike     bool
}

// mfaPlan returns the MFA rows of a day, memoised per gen.
func (g *gen) mfaPlan(day period) []mfaRow {
	if rows, ok := g.plans[day.index]; ok {
		return rows
	}
	spike := day.start.Equal(g.today.AddDate(0, 0, -SpikeDaysAgo))
	var rows []mfaRow
	for ai, a := range g.t.apps {
		for _, method := range a.mfa {
			key := g.t.seed.str(a.name).str(method)
			si := g.segIndex(ai, a.oses[key.str("os").pick(len(a.oses))])
			if g.idleDay(day, g.segs[si]) {
				continue
			}
			c := rate(day, baseMFA*g.t.scale*a.weight/float64(len(a.mfa)), key)
			m := mfaRow{seg: si, method: method, key: key, c: c, rate: 0.7 + 0.2*key.str("rate").unit(),
				phase: key.str("phase").unit(), spike: spike}
			base := countAt(c, day.fill)
			m.successes = successesOf(base, m.rate, m.phase)
			m.failed = base - m.successes
			if spike {
				m.failed *= SpikeFactor
			}
			m.attempts = m.successes + m.failed
			rows = append(rows, m)
		}
	}
	if g.plans == nil {
		g.plans = map[int64][]mfaRow{}
	}
	g.plans[day.index] = rows
	return rows
}

// segIndex returns the index of the segment of app ai on os o.
func (g *gen) segIndex(ai int, o osKind) int {
	for i, s := range g.segs {
		if s.app == ai && s.os == o {
			return i
		}
	}
	panic("graphsim: no segment for the app's os") // the model's invariant
}

// singleStream is a segment's single-factor sign-ins of one day: its rate,
// success share and phase.
func (g *gen) singleStream(day period, s segment) (c, successRate, phase float64) {
	return rate(day, baseSignIns*g.t.scale*g.t.weight(s), s.key.str("auth")), 0.82 + 0.12*s.key.str("rate").unit(),
		s.key.str("phase").unit()
}

// successesOf is the successes among the first n attempts of a stream
// with success share r and phase in [0, 1): it grows by at most one per
// attempt, so attempt k succeeds when successesOf(k+1) > successesOf(k).
// The phase decides whether a stream's first attempt succeeds, so early
// in the day some rows have a success and some a failure.
func successesOf(n int64, r, phase float64) int64 {
	return int64(float64(n)*r + phase)
}

// authCount is the authentications of one segment in one period.
type authCount struct {
	attempts, successes int64
	reasons             []int64 // failures per authFailureReasons index
}

// incompleteReason is the index of "incomplete" in authFailureReasons: the
// reason of failed MFA sign-ins.
const incompleteReason = 1

// authCounts sums the segment's single-factor and MFA sign-ins over the
// days of p. Failed single-factor sign-ins take their reasons in turn
// (apportion); every failed MFA sign-in is "incomplete".
func (g *gen) authCounts(p period, s segment) authCount {
	out := authCount{reasons: make([]int64, len(authFailureReasons()))}
	si := g.segIndex(s.app, s.os)
	weights := reasonShares(authFailureReasons())
	sum := sumOf(weights)
	counts := make([]int64, len(weights))
	for _, day := range g.days(p) {
		if g.idleDay(day, s) {
			continue
		}
		c, r, ph := g.singleStream(day, s)
		n := countAt(c, day.fill)
		ok := successesOf(n, r, ph)
		out.attempts += n
		out.successes += ok
		clear(counts)
		for j := range n - ok {
			counts[nextReason(j, counts, weights, sum, reasonKey(s, day))]++
		}
		for i, k := range counts {
			out.reasons[i] += k
		}
		for _, m := range g.mfaPlan(day) {
			if m.seg == si {
				out.attempts += m.attempts
				out.successes += m.successes
				out.reasons[incompleteReason] += m.failed
			}
		}
	}
	return out
}

// reasonShares returns the weights of reasons.
func reasonShares(reasons []reasonWeight) []float64 {
	w := make([]float64, len(reasons))
	for i, r := range reasons {
		w[i] = r.weight
	}
	return w
}

// reasonKey is the key of the reason sequence of a segment's
// single-factor failures on day.
func reasonKey(s segment, day period) hash { return s.key.str("reasons").num(day.index) }

// apportion counts the reasons of n failures taken in turn by nextReason.
func apportion(n int64, weights []float64, key hash) []int64 {
	counts := make([]int64, len(weights))
	sum := sumOf(weights)
	for j := range n {
		counts[nextReason(j, counts, weights, sum, key)]++
	}
	return counts
}

// nextReason is the reason of failure j (0-based) given the counts of the
// ones before: the one furthest behind its share, plus a head start in
// [0, 1) per reason drawn from key. Every prefix of the sequence is thus
// split in proportion (within one or two), so today's failures keep their
// reasons as more of them happen, and the few failures of a small row
// have varied reasons rather than always the commonest.
func nextReason(j int64, counts []int64, weights []float64, sum float64, key hash) int {
	best, deficit := 0, -1e300
	for i, w := range weights {
		if d := w/sum*float64(j+1) - float64(counts[i]) + key.num(int64(i)).unit(); d > deficit {
			best, deficit = i, d
		}
	}
	return best
}

// reasonList turns counts per reason into Graph's failure list, leaving
// out the reasons without failures.
func reasonList(counts []int64, reasons []reasonWeight) []insights.Failure {
	var out []insights.Failure
	for i, n := range counts {
		if n > 0 {
			out = append(out, insights.Failure{ReasonCode: reasons[i].code, Reason: reasons[i].text, Count: n})
		}
	}
	return out
}

func sumOf(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum
}
