package source

import (
	"slices"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Kind is what the values of a family count; it decides what a sum over
// its labels means.
type Kind string

// The kinds of family.
const (
	// Events are events of the period: a sum over labels is exact.
	Events Kind = "events"
	// Users are distinct users: a user with two label values counts in
	// each, so a sum over labels is an upper bound.
	Users Kind = "users"
	// Levels are a state read once (users in the tenant, registered
	// users): the period is that of the read.
	Levels Kind = "levels"
)

// Family declares one metric family a source produces: the collector
// exposes it as entra_insights_<granularity>_<Name> for the
// granularities of its report. Every source that produces a family of
// that name declares it alike but for Help and Dimensions
// (TestFamiliesFollowTheReports, internal/source/registry).
type Family struct {
	Name string
	// Source is the name of the source that declares it (set by the
	// registry).
	Source string
	// Report is the report it belongs to: the unit a config file lists and
	// chooses the dimensions of, and whose health the exporter reports.
	Report string
	// Only restricts it to one granularity of its report ("" = each the
	// source produces).
	Only insights.Granularity
	// Help says what a value is, true for the declaring source.
	Help string
	Kind Kind
	// Dimensions are the labels a config file may keep for it: its points
	// carry them (a point without one is unknown for it). They may differ
	// between sources of a family: a config may choose any source's.
	Dimensions []string
	// Defaults are the dimensions kept unless a config file chooses others.
	Defaults []string
	// Labels are the labels every series has whatever the configuration
	// (result, reason_code, window...).
	Labels []string
	// Whole says the family is of the whole tenant: it keeps no dimension
	// whatever the configuration of its report (tenant_active_users).
	Whole bool
}

// In reports whether f is produced at granularity g.
func (f Family) In(g insights.Granularity) bool { return f.Only == "" || f.Only == g }

// Agrees reports whether f and o declare the same family but for their
// help and dimensions.
func (f Family) Agrees(o Family) bool {
	return f.Name == o.Name && f.Report == o.Report && f.Only == o.Only && f.Kind == o.Kind &&
		slices.Equal(f.Defaults, o.Defaults) && slices.Equal(f.Labels, o.Labels) && f.Whole == o.Whole
}

// Label is one label of a point.
type Label struct{ Name, Value string }

// Point is one value of a family in one period. Its labels are Graph's
// values, not yet normalised: a dimension the point lacks is unknown.
type Point struct {
	Family string
	Start  time.Time // the period's start, 00:00 UTC
	Labels []Label
	Value  int64
}

// Label returns the point's value of label name, "" when it has none.
func (p *Point) Label(name string) string {
	for _, l := range p.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// App is what a source knows of an application id: its newest display
// name and when it was seen ("" when none).
type App struct {
	Name string
	Seen time.Time
}

// SeeApp notes application id with name, seen at seen, in apps: the
// newest name wins, and an id without a name is still noted. Ties keep
// the name noted first, so that the order of noting decides them.
func SeeApp(apps map[string]App, id string, a App) {
	seen, ok := apps[id]
	if !ok || a.Name != "" && (seen.Name == "" || a.Seen.After(seen.Seen)) {
		apps[id] = a
	}
}
