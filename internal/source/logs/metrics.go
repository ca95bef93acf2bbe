package logs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// HealthMetric is one of the logs source's own metrics, declared once: its desc
// and what the README's catalog says of it come from here.
type HealthMetric struct {
	Name, Type, Help string
	Labels           []string
}

func (f HealthMetric) desc() *prometheus.Desc {
	return prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
}

// The logs source's own metrics: how far each feed has been read, since
// when, how many events it counted, and how each read fares. Events and
// duplicates are kept in the state, so they survive restarts and reloads.
var (
	watermarkFamily = HealthMetric{"entra_insights_logs_read_until_timestamp_seconds", "gauge",
		"End of the newest window of the activity log read and committed; far behind now means the source is catching up.",
		[]string{"tenant", "feed"}}
	lagFamily = HealthMetric{"entra_insights_logs_lag_seconds", "gauge",
		"How far behind now the activity log has been read and committed (now minus read_until): a few minutes when" +
			" keeping up, large while a first start or an outage is caught up; growing means the feed falls behind.",
		[]string{"tenant", "feed"}}
	sinceFamily = HealthMetric{"entra_insights_logs_read_since_timestamp_seconds", "gauge",
		"Where the first read of the activity log started: periods that began before it are incomplete (a month's distinct users cover only the retained logs).",
		[]string{"tenant", "feed"}}
	eventsFamily = HealthMetric{"entra_insights_logs_events_total", "counter",
		"Events of the activity log counted, ever (deduplicated by id).",
		[]string{"tenant", "feed"}}
	duplicatesFamily = HealthMetric{"entra_insights_logs_duplicate_events_total", "counter",
		"Events read again in the overlap window and skipped as already counted.",
		[]string{"tenant", "feed"}}
	outOfWindowFamily = HealthMetric{"entra_insights_logs_out_of_window_events_total", "counter",
		"Events Graph returned outside the time window asked for (a misbehaving response), skipped and not counted.",
		[]string{"tenant", "feed"}}
	readUpFamily = HealthMetric{"entra_insights_logs_read_up", "gauge",
		"Whether the last attempt of each read of the logs source succeeded (1) or failed (0): signIns, signUps, users" +
			" (users/$count), registrations (userRegistrationDetails), inactive (signInActivity); a periodic read between" +
			" its attempts keeps its last outcome. Absent before the first refresh.",
		[]string{"tenant", "read"}}
	readErrorsFamily = HealthMetric{"entra_insights_logs_read_errors_total", "counter",
		"Failed attempts of each read of the logs source, by reason: one per read and refresh (a read backing off after" +
			" a failure is not attempted until the back-off ends). Absent until the read's first failure.",
		[]string{"tenant", "read", "reason"}}
	readLastOKFamily = HealthMetric{"entra_insights_logs_read_last_success_timestamp_seconds", "gauge",
		"Time of the last successful attempt of each read of the logs source. Absent until its first success.",
		[]string{"tenant", "read"}}
	openUsersFamily = HealthMetric{"entra_insights_logs_open_period_users", "gauge",
		"Distinct users held (as ids) for the periods still open; what the memory of the logs source grows with.",
		[]string{"tenant"}}
)

// HealthMetrics returns the logs source's own metrics: its reads' health.
func HealthMetrics() []HealthMetric {
	return []HealthMetric{readUpFamily, readErrorsFamily, readLastOKFamily, watermarkFamily, lagFamily, sinceFamily, eventsFamily,
		duplicatesFamily, outOfWindowFamily, openUsersFamily}
}

// The descs Collect sends, made once.
var (
	watermarkDesc   = watermarkFamily.desc()
	lagDesc         = lagFamily.desc()
	sinceDesc       = sinceFamily.desc()
	eventsDesc      = eventsFamily.desc()
	duplicatesDesc  = duplicatesFamily.desc()
	outOfWindowDesc = outOfWindowFamily.desc()
	readUpDesc      = readUpFamily.desc()
	readErrorsDesc  = readErrorsFamily.desc()
	readLastOKDesc  = readLastOKFamily.desc()
	openUsersDesc   = openUsersFamily.desc()
)

// Describe implements prometheus.Collector.
func (s *Source) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range HealthMetrics() {
		ch <- f.desc()
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
	for k, n := range st.readErrors {
		ch <- prometheus.MustNewConstMetric(readErrorsDesc, prometheus.CounterValue, float64(n), label, k.read, string(k.reason))
	}
	ch <- prometheus.MustNewConstMetric(openUsersDesc, prometheus.GaugeValue, float64(st.openUsers), label)
}
