package graphsim

import (
	"math"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// hash is a 64-bit FNV-1a state. Every pseudo-random choice of the data
// model is a hash of what it depends on, so the data needs no stored state
// and is the same for the same inputs in every process.
type hash uint64

const (
	hashOffset hash = 14695981039346656037
	hashPrime  hash = 1099511628211
)

func newHash(s string) hash { return hashOffset.str(s) }

// str mixes s and a terminator, so ("ab","c") and ("a","bc") differ.
func (h hash) str(s string) hash {
	for i := range len(s) {
		h = (h ^ hash(s[i])) * hashPrime
	}
	return (h ^ 0xff) * hashPrime
}

func (h hash) num(n int64) hash {
	for range 8 {
		h = (h ^ hash(n&0xff)) * hashPrime
		n >>= 8
	}
	return h
}

// unit maps h to [0, 1) after a splitmix64 finaliser, which spreads the
// weak low bits of FNV.
func (h hash) unit() float64 {
	x := uint64(h)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// pick returns an index in [0, n).
func (h hash) pick(n int) int { return int(h.unit() * float64(n)) }

const day = 24 * time.Hour

// period is one day or month of a report.
type period struct {
	start time.Time // 00:00 UTC of the day or of the 1st of the month
	end   time.Time // start of the next period
	index int64     // days (daily) or months (monthly) since the Unix epoch
	fill  float64   // share of the period elapsed at now: 1 for past periods
	scale float64   // weekday seasonality times growth
}

func startOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func startOfMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Window sizes, as the portal shows them.
const (
	dailyPeriods   = 30
	monthlyPeriods = 12
)

// periods returns the report periods at now, oldest first: 30 days ending
// today or 12 months ending with the current month. The newest is partial.
func periods(g insights.Granularity, now time.Time) []period {
	var ps []period
	if g == insights.Daily {
		today := startOfDay(now)
		for i := dailyPeriods - 1; i >= 0; i-- {
			start := today.AddDate(0, 0, -i)
			ps = append(ps, newPeriod(start, start.AddDate(0, 0, 1), start.Unix()/86400, now, weekdayFactor(start.Weekday())))
		}
		return ps
	}
	month := startOfMonth(now)
	for i := monthlyPeriods - 1; i >= 0; i-- {
		start := month.AddDate(0, -i, 0)
		index := int64(start.Year()-1970)*12 + int64(start.Month()-1)
		ps = append(ps, newPeriod(start, start.AddDate(0, 1, 0), index, now, 1))
	}
	return ps
}

func newPeriod(start, end time.Time, index int64, now time.Time, season float64) period {
	fill := 1.0
	if now.Before(end) {
		fill = float64(now.Sub(start)) / float64(end.Sub(start))
	}
	return period{start: start, end: end, index: index, fill: max(fill, 0), scale: season * growth(start)}
}

// weekdayFactor makes weekends quieter than weekdays.
func weekdayFactor(d time.Weekday) float64 {
	return [...]float64{
		time.Sunday: 0.5, time.Monday: 1.05, time.Tuesday: 1.1, time.Wednesday: 1.1,
		time.Thursday: 1.05, time.Friday: 0.9, time.Saturday: 0.55,
	}[d]
}

// growth is 3 % of the January 2024 level per month, linear, so the data
// grows visibly over a year without exploding over a decade. The fixed epoch
// keeps a past day's value unchanged as the clock moves on.
func growth(t time.Time) float64 {
	epoch := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	months := t.Sub(epoch).Hours() / 24 / 30.44
	return max(0.3, 1+0.03*months)
}

// weekend reports whether the period is a Saturday or Sunday.
func (p period) weekend() bool {
	d := p.start.Weekday()
	return d == time.Saturday || d == time.Sunday
}

// amount is one event count of one row: base, scaled by the tenant's size,
// the period's seasonality and growth, a jitter of ±25 % drawn from h and the
// period, and the share of the period elapsed. It never falls below 1, so a
// row that exists at 00:00 still shows.
func amount(p period, base float64, h hash) int64 {
	return countAt(rate(p, base, h), p.fill)
}

// rate is the count amount reaches at the end of p: base scaled and
// jittered, before the elapsed share.
func rate(p period, base float64, h hash) float64 {
	jitter := 0.75 + 0.5*h.num(p.index).unit()
	return base * p.scale * jitter
}

// countAt is the count of a rate c after the share fill of its period.
// The events of a stream are placed so that exactly countAt(c, f) of them
// are created by the share f of the day (see streamTimes).
func countAt(c, fill float64) int64 {
	return max(1, int64(math.Round(c*fill)))
}

// level is one gauge of one row (inactive or registered users): base with a
// jitter of ±10 %. Unlike amount it is not scaled by the elapsed share, since
// a gauge is a state, not a sum over the period; base carries the growth.
func level(p period, base float64, h hash) int64 {
	jitter := 0.9 + 0.2*h.num(p.index).unit()
	return max(1, int64(math.Round(base*jitter)))
}

// split divides total into parts proportional to weights, exactly, by the
// largest remainder; parts of zero weight stay zero.
func split(total int64, weights []float64) []int64 {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	parts := make([]int64, len(weights))
	if total <= 0 || sum == 0 {
		return parts
	}
	rest := total
	frac := make([]float64, len(weights))
	for i, w := range weights {
		exact := float64(total) * w / sum
		parts[i] = int64(exact)
		frac[i] = exact - float64(parts[i])
		rest -= parts[i]
	}
	for ; rest > 0; rest-- {
		best := 0
		for i := range frac {
			if frac[i] > frac[best] {
				best = i
			}
		}
		parts[best]++
		frac[best] = -1
	}
	return parts
}
