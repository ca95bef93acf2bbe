package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Target is one query of one panel, with what is needed to run it the way
// Grafana would.
type Target struct {
	Dashboard     string // dashboard title
	DashboardUID  string
	Panel         string // panel title
	Row           string // title of the panel's row; "" before the first row
	PanelType     string // timeseries, stat, bargauge, piechart, geomap, table
	RefID         string
	Expr          string // with Grafana variables, e.g. $tenant
	Instant       bool   // evaluated once at the end of the range
	From          string // start of the time range, e.g. "now-30d" (a panel's timeFrom wins)
	To            string // end of the time range, e.g. "now"
	Interval      string // the panel's minimum step, e.g. "1d"; "" if unset
	MaxDataPoints float64
}

// CurrentValue reports whether the target belongs to a panel that shows
// current values (what a new user sees first, before any history).
func (t Target) CurrentValue() bool {
	switch t.PanelType {
	case "stat", "bargauge", "barchart", "piechart", "geomap", "table", "gauge":
		return true
	}
	return false
}

// String names the target for failure messages.
func (t Target) String() string {
	return fmt.Sprintf("%s / %s / %s", t.Dashboard, t.Panel, t.RefID)
}

// Targets lists every query of every panel of d, in layout order.
func Targets(d dashboard.Dashboard) ([]Target, error) {
	var targets []Target
	for _, rp := range rowPanels(d) {
		p := rp.panel
		for _, q := range p.Targets {
			pq, err := promQuery(q)
			if err != nil {
				return nil, fmt.Errorf("%s / %s: %w", deref(d.Title), deref(p.Title), err)
			}
			t := Target{
				Dashboard:    deref(d.Title),
				DashboardUID: deref(d.Uid),
				Panel:        deref(p.Title),
				Row:          rp.row,
				PanelType:    p.Type,
				RefID:        deref(pq.RefId),
				Expr:         pq.Expr,
				Instant:      pq.Instant != nil && *pq.Instant,
				Interval:     deref(p.Interval),
			}
			if d.Time != nil {
				t.From, t.To = d.Time.From, d.Time.To
			}
			if p.TimeFrom != nil {
				t.From, t.To = "now-"+*p.TimeFrom, "now"
			}
			if p.MaxDataPoints != nil {
				t.MaxDataPoints = *p.MaxDataPoints
			}
			targets = append(targets, t)
		}
	}
	return targets, nil
}

// AllTargets lists the targets of every generated dashboard.
func AllTargets() ([]Target, error) {
	files, err := All()
	if err != nil {
		return nil, err
	}
	var all []Target
	for _, f := range files {
		targets, err := Targets(f.Dashboard)
		if err != nil {
			return nil, err
		}
		all = append(all, targets...)
	}
	return all, nil
}

// promQuery unwraps a Prometheus query: a value when built, a pointer when
// decoded from JSON.
func promQuery(q variants.Dataquery) (prometheus.Dataquery, error) {
	switch q := q.(type) {
	case prometheus.Dataquery:
		return q, nil
	case *prometheus.Dataquery:
		return *q, nil
	}
	return prometheus.Dataquery{}, fmt.Errorf("target of type %T, want a Prometheus query", q)
}

// panels returns the dashboard's panels, those of collapsed rows included.
func panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, rp := range rowPanels(d) {
		out = append(out, rp.panel)
	}
	return out
}

// rowPanel is a panel and the title of its row.
type rowPanel struct {
	row   string
	panel dashboard.Panel
}

// rowPanels returns the dashboard's panels, those of collapsed rows
// included, each with its row: the collapsed row holding it, or else the
// last row above it.
func rowPanels(d dashboard.Dashboard) []rowPanel {
	var (
		out []rowPanel
		row string
	)
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			out = append(out, rowPanel{row, *p.Panel})
		case p.RowPanel != nil:
			row = deref(p.RowPanel.Title)
			for _, inner := range p.RowPanel.Panels {
				out = append(out, rowPanel{row, inner})
			}
		}
	}
	return out
}
