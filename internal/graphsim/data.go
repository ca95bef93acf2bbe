package graphsim

import (
	"slices"
	"strconv"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// fact is one served row and how it goes over the wire.
type fact struct {
	id        string
	row       insights.Row
	nulls     []string // JSON names sent as null; their Row fields are zero
	extra     bool     // carries an unknown property, "newDimension":"x"
	odataType bool     // carries "@odata.type"
}

// isNull reports whether the JSON property name is sent as null.
func (f *fact) isNull(name string) bool { return slices.Contains(f.nulls, name) }

// Rows returns exactly the rows the simulator serves for report r of tenant
// tenantID at time now, in the order served, with the quirks applied as they
// go over the wire: mixed-case os, "" and "UK" countries, monthly dates not
// on the 1st, date gaps. A null value is zero here, as a decoder sees it.
// With lag, today's daily rows are withheld. The result depends on nothing
// else, so tests compute expected metric values from it. Unknown reports
// have no rows.
func Rows(tenantID string, r insights.Report, now time.Time, lag bool) []insights.Row {
	facts := generate(tenantID, r, now, lag)
	rows := make([]insights.Row, len(facts))
	for i := range facts {
		rows[i] = facts[i].row
	}
	return rows
}

// gen builds the facts of one report.
type gen struct {
	t        tenant
	segs     []segment // the tenant's segments, computed once
	daily    bool
	now      time.Time
	today    time.Time
	renameAt time.Time // the renamed app has its new name from this day on
	facts    []fact
	plans    map[int64][]mfaRow // mfaPlan's memo, per day index
	// monthDays is days' memo, per month index.
	monthDays map[int64][]period
	// dayEvents, when set, returns a day's sign-ins from a cache.
	dayEvents func(d time.Time) []SignInEvent
}

// generate returns the facts of report r, ids assigned in order.
func generate(tenantID string, r insights.Report, now time.Time, lag bool) []fact {
	build := builder(r)
	if build == nil {
		return nil
	}
	g := newGen(tenantID, now, r.Granularity == insights.Daily)
	ps := periods(r.Granularity, now)
	g.facts = make([]fact, 0, len(ps)*len(g.segs)) // room for the largest reports
	for _, p := range ps {
		if lag && g.daily && p.start.Equal(g.today) {
			continue
		}
		build(&g, p)
	}
	for i := range g.facts {
		g.facts[i].id = strconv.Itoa(i + 1)
	}
	return g.facts
}

// newGen returns a generator of tenantID's data at now.
func newGen(tenantID string, now time.Time, daily bool) gen {
	today := startOfDay(now)
	t := newTenant(tenantID)
	return gen{
		t:        t,
		segs:     t.segments(),
		daily:    daily,
		now:      now,
		today:    today,
		renameAt: today.AddDate(0, 0, -10),
	}
}

// builder returns the function that adds report r's rows of one period,
// or nil for a report Graph does not have.
func builder(r insights.Report) func(*gen, period) {
	if !slices.Contains(insights.AllReports(), r) {
		return nil
	}
	return builders()[r.Name]
}

// add appends a fact dated at the start of p unless its row has a date.
func (g *gen) add(p period, f fact) {
	if f.row.FactDate.IsZero() {
		f.row.FactDate = p.start
	}
	g.facts = append(g.facts, f)
}

// size scales a daily base count to the tenant, and to a month by
// perMonth, the ratio of a month's count to a day's.
func (g *gen) size(base, perMonth float64) float64 {
	if g.daily {
		return base * g.t.scale
	}
	return base * perMonth * g.t.scale
}

// idle reports whether the segment has no activity in p: the admin portal
// is not used on weekends, which gives daily reports gaps per dimension.
func (g *gen) idle(p period, s segment) bool {
	return g.daily && g.idleDay(p, s)
}

// idleDay is idle for a day, whatever the report's granularity.
func (g *gen) idleDay(day period, s segment) bool {
	return day.weekend() && s.app == len(g.t.apps)-1
}

// appName is the name the app had in p: the renamed app has its old name in
// periods that ended before the rename.
func (g *gen) appName(a app, p period) string {
	if a.oldName != "" && !p.end.After(g.renameAt) {
		return a.oldName
	}
	return a.name
}

// Base daily counts of the model, per unit of tenant scale and app weight.
// They keep 30 days of sign-in events of the largest tenant under about
// 60 000 (see events.go).
const (
	baseActive     = 90  // daily active users
	baseSignIns    = 190 // single-factor sign-in attempts
	baseMFA        = 30  // MFA sign-in attempts
	baseSignUps    = 6
	perMonthActive = 12 // a month's active users per day's
)

// active is the active users of a segment, shared by activeUsers and summary.
func (g *gen) active(p period, s segment) int64 {
	return amount(p, g.size(baseActive, perMonthActive)*g.t.weight(s), s.key.str("active"))
}

// activeRate is the daily active users of a segment at the end of day,
// before the share of the day elapsed is applied: the events' bound.
func (g *gen) activeRate(day period, s segment) float64 {
	return rate(day, baseActive*g.t.scale*g.t.weight(s), s.key.str("active"))
}

// signIns is the authentication attempts and successes of a segment, shared
// by authentications and summary: a day's, or the sum of the month's days.
func (g *gen) signIns(p period, s segment) (attempts, successes int64) {
	c := g.authCounts(p, s)
	return c.attempts, c.successes
}

// users is the number of users in the tenant at the end of p, or at now
// for the current period: it only grows.
func (g *gen) users(p period) float64 {
	at := p.start.Add(time.Duration(p.fill * float64(p.end.Sub(p.start))))
	days := at.Sub(time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	return g.t.scale * (1600 + 8*max(days, 0))
}
