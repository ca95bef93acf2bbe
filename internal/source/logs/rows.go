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
// families in every period held, the points per period (report_rows) and
// the applications they name.
func (s *Source) buildResults() map[insights.Report]source.Result {
	out := map[insights.Report]source.Result{}
	add := func(r insights.Report, f source.Family, start time.Time, value int64, labels []source.Label, apps map[string]appName) {
		res, ok := out[r]
		if !ok {
			res = source.Result{Records: map[time.Time]int{}, Apps: map[string]source.App{}}
		}
		res.Points = append(res.Points, source.Point{Family: f.Name, Start: start, Labels: labels, Value: value})
		res.Records[start]++
		for _, l := range labels {
			if l.Name == "app_id" {
				seeApp(res.Apps, l.Value, apps[l.Value], start)
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
			f.points(p, func(value int64, labels []source.Label) { add(r, f.Family, p.start, value, labels, p.apps) })
		}
	}
	for _, f := range periodicFamilies() {
		for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
			if f.In(g) {
				r := insights.Report{Granularity: g, Name: f.Report}
				f.points(s, g, func(start time.Time, value int64, labels []source.Label) { add(r, f.Family, start, value, labels, nil) })
			}
		}
	}
	return out
}

// seeApp notes application id, seen in the period starting at start with
// the name the period saw last: the newest period's name wins.
func seeApp(apps map[string]source.App, id string, name appName, start time.Time) {
	id = insights.Normalize("app_id", id)
	a, ok := apps[id]
	if !ok || name.Name != "" && (a.Name == "" || start.After(a.Seen)) {
		if name.Name != "" {
			a = source.App{Name: name.Name, Seen: start}
		}
		apps[id] = a
	}
}
