package logs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The logs source's own metrics: how far each feed has been read, since
// when, and how many events it counted. Events and duplicates are kept in
// the state, so they survive restarts and reloads.
var (
	watermarkDesc = prometheus.NewDesc("entra_insights_logs_read_until_timestamp_seconds",
		"End of the newest window of the activity log read and committed; far behind now means the source is catching up.",
		[]string{"tenant", "feed"}, nil)
	lagDesc = prometheus.NewDesc("entra_insights_logs_lag_seconds",
		"How far behind now the activity log has been read and committed (now minus read_until): a few minutes when"+
			" keeping up, large while a first start or an outage is caught up; growing means the feed falls behind.",
		[]string{"tenant", "feed"}, nil)
	sinceDesc = prometheus.NewDesc("entra_insights_logs_read_since_timestamp_seconds",
		"Where the first read of the activity log started: periods that began before it are incomplete (a month's distinct users cover only the retained logs).",
		[]string{"tenant", "feed"}, nil)
	eventsDesc = prometheus.NewDesc("entra_insights_logs_events_total",
		"Events of the activity log counted, ever (deduplicated by id).",
		[]string{"tenant", "feed"}, nil)
	duplicatesDesc = prometheus.NewDesc("entra_insights_logs_duplicate_events_total",
		"Events read again in the overlap window and skipped as already counted.",
		[]string{"tenant", "feed"}, nil)
	outOfWindowDesc = prometheus.NewDesc("entra_insights_logs_out_of_window_events_total",
		"Events Graph returned outside the time window asked for (a misbehaving response), skipped and not counted.",
		[]string{"tenant", "feed"}, nil)
	readUpDesc = prometheus.NewDesc("entra_insights_logs_read_up",
		"Whether the last attempt of each read of the logs source succeeded (1) or failed (0): signIns, signUps, users"+
			" (users/$count), registrations (userRegistrationDetails), inactive (signInActivity); a periodic read between"+
			" its attempts keeps its last outcome. Absent before the first refresh.",
		[]string{"tenant", "read"}, nil)
	readLastOKDesc = prometheus.NewDesc("entra_insights_logs_read_last_success_timestamp_seconds",
		"Time of the last successful attempt of each read of the logs source. Absent until its first success.",
		[]string{"tenant", "read"}, nil)
	openUsersDesc = prometheus.NewDesc("entra_insights_logs_open_period_users",
		"Distinct users held (as ids) for the periods still open; what the memory of the logs source grows with.",
		[]string{"tenant"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Source) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readUpDesc, readLastOKDesc, watermarkDesc, lagDesc, sinceDesc, eventsDesc, duplicatesDesc, outOfWindowDesc, openUsersDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Source) Collect(ch chan<- prometheus.Metric) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	label := s.opts.Label
	st := s.stats
	now := s.opts.Now()
	for name, f := range map[string]*feed{feedSignIns: &st.signIns, feedSignUps: &st.signUps} {
		if f.Watermark.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(watermarkDesc, prometheus.GaugeValue, float64(f.Watermark.Unix()), label, name)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, max(0, now.Sub(f.Watermark).Seconds()), label, name)
		ch <- prometheus.MustNewConstMetric(sinceDesc, prometheus.GaugeValue, float64(f.Since.Unix()), label, name)
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(f.Events), label, name)
		ch <- prometheus.MustNewConstMetric(duplicatesDesc, prometheus.CounterValue, float64(f.Duplicates), label, name)
		ch <- prometheus.MustNewConstMetric(outOfWindowDesc, prometheus.CounterValue, float64(f.OutOfWindow), label, name)
	}
	if st.synced {
		for _, name := range reads() {
			up := 1.0
			if s.errs[name] != nil {
				up = 0
			}
			ch <- prometheus.MustNewConstMetric(readUpDesc, prometheus.GaugeValue, up, label, name)
			if at, ok := st.lastOK[name]; ok {
				ch <- prometheus.MustNewConstMetric(readLastOKDesc, prometheus.GaugeValue, float64(at.Unix()), label, name)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(openUsersDesc, prometheus.GaugeValue, float64(st.openUsers), label)
}
