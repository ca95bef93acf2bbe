package logs

import (
	"maps"
	"slices"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// publish makes the state's rows, errors and figures what Rows and
// Collect see. The caller holds syncing (or is New).
func (s *Source) publish() {
	rows := s.buildRows()
	st := stats{signIns: s.signIns, signUps: s.signUps, lastOK: maps.Clone(s.lastOK), synced: s.synced,
		readErrors: maps.Clone(s.readErrors)}
	for _, p := range s.periods {
		if p.open() {
			st.openUsers += p.users.len()
		}
	}
	s.mu.Lock()
	s.rows, s.errs, s.stats = rows, s.syncErrs, st
	s.mu.Unlock()
}

// buildRows renders every report from the state.
func (s *Source) buildRows() map[insights.Report][]insights.Row {
	rows := map[insights.Report][]insights.Row{}
	keys := slices.SortedFunc(maps.Keys(s.periods), func(a, b periodKey) int { return a.start.Compare(b.start) })
	for _, k := range keys {
		p := s.periods[k]
		for _, name := range []string{insights.ActiveUsers, insights.TenantActiveUsers, insights.Authentications,
			insights.MFACompletions, insights.SignUps, insights.SignInInterrupts, insights.SignUpFunnel, insights.Requests} {
			r := insights.Report{Granularity: k.g, Name: name}
			rows[r] = p.rows(name, rows[r])
		}
	}
	if s.users != nil {
		r := insights.Report{Granularity: insights.Daily, Name: insights.UserCount}
		rows[r] = []insights.Row{{FactDate: insights.PeriodStart(insights.Daily, s.users.At), Count: s.users.Count}}
	}
	if s.inactive != nil && !s.inactive.Unlicensed {
		w := s.inactive.ByWindow
		daily := insights.Row{FactDate: insights.PeriodStart(insights.Daily, s.inactive.At),
			Inactive1Day: w["1d"], Inactive30Day: w["30d"], Inactive60Day: w["60d"], Inactive90Day: w["90d"]}
		monthly := daily
		monthly.FactDate, monthly.Inactive1Day, monthly.InactiveCalendarMonth = insights.PeriodStart(insights.Monthly, s.inactive.At), 0, w["calendar_month"]
		rows[insights.Report{Granularity: insights.Daily, Name: insights.InactiveUsers}] = []insights.Row{daily}
		rows[insights.Report{Granularity: insights.Monthly, Name: insights.InactiveUsers}] = []insights.Row{monthly}
	}
	if s.registrations != nil {
		r := insights.Report{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}
		for _, m := range slices.Sorted(maps.Keys(s.registrations.ByMethod)) {
			rows[r] = append(rows[r], insights.Row{FactDate: insights.PeriodStart(insights.Monthly, s.registrations.At),
				MFAType: m, Count: s.registrations.ByMethod[m]})
		}
	}
	return rows
}
