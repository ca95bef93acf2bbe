package logs

import (
	"maps"
	"slices"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// Families are the families the logs source produces: those of the event
// logs' periods (aggregate.go) and those of its periodic reads
// (periodic.go).
func Families() []source.Family {
	var out []source.Family
	for _, f := range periodFamilies() {
		out = append(out, f.Family)
	}
	for _, f := range periodicFamilies() {
		out = append(out, f.Family)
	}
	return out
}

// publish makes the state's points, errors and figures what Result and
// Collect see. The caller holds syncing (or is New).
func (s *Source) publish() {
	results := s.buildResults()
	st := stats{signIns: s.signIns, signUps: s.signUps, lastOK: maps.Clone(s.lastOK), synced: s.synced,
		readErrors: maps.Clone(s.readErrors)}
	for _, p := range s.periods {
		if p.open() {
			st.openUsers += p.users.len()
		}
	}
	s.mu.Lock()
	s.results, s.errs, s.stats = results, s.syncErrs, st
	s.mu.Unlock()
}

// buildResults renders every report from the state: the points of its
// families in every period held (their count is report_rows), and the
// names of the applications they name.
func (s *Source) buildResults() map[insights.Report]source.Result {
	out := map[insights.Report]source.Result{}
	add := func(r insights.Report, family string, start time.Time, value int64, labels []source.Label, apps map[string]appName) {
		res := out[r]
		res.Points = append(res.Points, source.Point{Family: family, Start: start, Labels: labels, Value: value})
		for _, l := range labels {
			if a, ok := apps[l.Value]; ok && l.Name == "app_id" {
				if res.Apps == nil {
					res.Apps = map[string]source.App{}
				}
				// The period's start, not the event's time: the newest
				// period's name wins, as for Graph's rows.
				source.SeeApp(res.Apps, l.Value, source.App{Name: a.Name, Seen: start})
			}
		}
		out[r] = res
	}
	keys := slices.SortedFunc(maps.Keys(s.periods), func(a, b periodKey) int { return a.start.Compare(b.start) })
	for _, k := range keys {
		p := s.periods[k]
		for _, f := range periodFamilies() {
			if !f.In(k.g) {
				continue
			}
			r := insights.Report{Granularity: k.g, Name: f.Report}
			f.points(p, func(value int64, labels []source.Label) { add(r, f.Name, p.start, value, labels, p.apps) })
		}
	}
	for _, f := range periodicFamilies() {
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			if f.In(g) {
				r := insights.Report{Granularity: g, Name: f.Report}
				f.points(s, g, func(start time.Time, value int64, labels []source.Label) { add(r, f.Name, start, value, labels, nil) })
			}
		}
	}
	return out
}
