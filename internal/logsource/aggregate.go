package logsource

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// The keys of the event counters: normalised label values, so rows that a
// label would fold together are one counter (and one distinct-user set).
type (
	authKey   struct{ App, OS, Country, Browser string }
	mfaKey    struct{ App, Method, OS, Country string }
	signUpKey struct{ App, IdentityProvider string }
)

// counts are the event counters of one key: attempts, successes and the
// failures by error code.
type counts struct {
	Attempts  int64            `json:"a"`
	Successes int64            `json:"s"`
	Failures  map[string]int64 `json:"f,omitempty"` // status.errorCode → events
}

func (c *counts) add(succeeded bool, errorCode int64) {
	c.Attempts++
	if succeeded {
		c.Successes++
		return
	}
	if c.Failures == nil {
		c.Failures = map[string]int64{}
	}
	c.Failures[strconv.FormatInt(errorCode, 10)]++
}

// row is base with c's attempts, successes and failures.
func (c *counts) row(base insights.Row) insights.Row {
	base.Attempts, base.Successes, base.Failures = c.Attempts, c.Successes, c.failures()
	return base
}

// failures returns c's failures in a fixed order.
func (c *counts) failures() []insights.Failure {
	out := make([]insights.Failure, 0, len(c.Failures))
	for _, code := range slices.Sorted(maps.Keys(c.Failures)) {
		out = append(out, insights.Failure{ReasonCode: code, Count: c.Failures[code]})
	}
	return out
}

// appName is the newest display name seen of an application.
type appName struct {
	Name string    `json:"n"`
	Seen time.Time `json:"t"`
}

// period is what the logs source knows of one day or month.
type period struct {
	g     insights.Granularity
	start time.Time
	auth  map[authKey]*counts
	mfa   map[mfaKey]*counts
	signU map[signUpKey]*counts
	apps  map[string]appName
	// users is the distinct-user set while the period is open; when it
	// closes only its numbers stay, in active and tenantActive.
	users        *userSet
	active       map[string]int64 // projected tuple → distinct users (closed periods)
	tenantActive int64            // closed periods
	activeDims   []string         // the projection of active (closed periods)
}

func newPeriod(g insights.Granularity, start time.Time, dims []string) *period {
	return &period{
		g: g, start: start,
		auth: map[authKey]*counts{}, mfa: map[mfaKey]*counts{}, signU: map[signUpKey]*counts{},
		apps: map[string]appName{}, users: newUserSet(dims),
	}
}

// end is the first instant after the period.
func (p *period) end() time.Time {
	if p.g == insights.Monthly {
		return p.start.AddDate(0, 1, 0)
	}
	return p.start.AddDate(0, 0, 1)
}

func (p *period) open() bool { return p.users != nil }

// close keeps the period's distinct-user numbers and drops its user set.
func (p *period) close() {
	if !p.open() {
		return
	}
	p.active, p.tenantActive, p.activeDims = p.users.counts(), p.users.len(), p.users.dims
	p.users = nil
}

func (p *period) seeApp(id, name string, at time.Time) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	if a, ok := p.apps[id]; !ok || !at.Before(a.Seen) {
		p.apps[id] = appName{Name: name, Seen: at}
	}
}

// addSignIn counts one sign-in; it returns the user's key and whether the
// user's set of tuples grew (so the store must write it).
func (p *period) addSignIn(e *insights.SignIn, t tuple) bool {
	app := t[0]
	p.seeApp(app, e.AppName, e.Created)
	get(p.auth, authKey{App: app, OS: t[1], Country: t[2], Browser: collector.Normalize("browser", e.Browser)}).
		add(e.ErrorCode == 0, e.ErrorCode)
	if e.MFA {
		get(p.mfa, mfaKey{App: app, Method: collector.Normalize("mfa_method", e.MFAMethod), OS: t[1], Country: t[2]}).
			add(e.MFASucceeded, e.ErrorCode)
	}
	if e.ErrorCode != 0 || !p.open() {
		return false
	}
	return p.users.add(userKeyOf(e.UserID), t)
}

func (p *period) addSignUp(e *insights.SignUp) {
	app := collector.Normalize("app_id", e.AppID)
	p.seeApp(app, e.AppName, e.Created)
	get(p.signU, signUpKey{App: app, IdentityProvider: collector.Normalize("identity_provider", e.IdentityProvider)}).
		add(e.ErrorCode == 0, e.ErrorCode)
}

func get[K comparable](m map[K]*counts, k K) *counts {
	c, ok := m[k]
	if !ok {
		c = &counts{}
		m[k] = c
	}
	return c
}

// tuple is the dimensions a distinct user is counted by: app_id, os,
// country, normalised.
type tuple [3]string

// tupleDims names the positions of a tuple.
var tupleDims = [3]string{"app_id", "os", "country"}

func signInTuple(e *insights.SignIn) tuple {
	return tuple{collector.Normalize("app_id", e.AppID), collector.Normalize("os", e.OS), collector.Normalize("country", e.Country)}
}

// rows appends the period's rows of report name.
func (p *period) rows(name string, out []insights.Row) []insights.Row {
	base := insights.Row{FactDate: p.start}
	switch name {
	case insights.Authentications:
		for k, c := range p.auth {
			r := c.row(base)
			r.AppID, r.AppName, r.OS, r.Country, r.Browser = k.App, p.apps[k.App].Name, k.OS, k.Country, k.Browser
			out = append(out, r)
		}
	case insights.MFACompletions:
		for k, c := range p.mfa {
			r := c.row(base)
			r.AppID, r.AppName, r.MFAMethod, r.OS, r.Country = k.App, p.apps[k.App].Name, k.Method, k.OS, k.Country
			out = append(out, r)
		}
	case insights.SignUps:
		for k, c := range p.signU {
			r := base
			r.AppID, r.AppName, r.IdentityProvider = k.App, p.apps[k.App].Name, k.IdentityProvider
			r.Count, r.Failures = c.Successes, c.failures()
			out = append(out, r)
		}
	case insights.ActiveUsers:
		active, dims := p.active, p.activeDims
		if p.open() {
			active, dims = p.users.counts(), p.users.dims
		}
		for key, n := range active {
			r := base
			for i, v := range splitKey(key, len(dims)) {
				setDimension(&r, dims[i], v)
			}
			r.AppName = p.apps[r.AppID].Name
			r.Count = n
			out = append(out, r)
		}
	case insights.TenantActiveUsers:
		r := base
		r.Count = p.tenantActive
		if p.open() {
			r.Count = p.users.len()
		}
		if r.Count > 0 {
			out = append(out, r)
		}
	}
	return out
}

func setDimension(r *insights.Row, label, v string) {
	switch label {
	case "app_id":
		r.AppID = v
	case "os":
		r.OS = v
	case "country":
		r.Country = v
	}
}
