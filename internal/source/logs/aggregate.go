package logs

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
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

// period is what the logs source knows of one day or month. Its counters
// are keyed by the normalised values of their family's labels
// (dimensions.go), so rows that a label would fold together are one
// counter.
type period struct {
	g     insights.Granularity
	start time.Time
	auth  map[string]*counts // authLabels
	mfa   map[string]*counts // mfaLabels
	signU map[string]*counts // signUpLabels; completed sign-ups: Attempts = Successes
	// signUpFail counts the failed steps of sign-up flows, interrupts
	// excluded; interrupts the sign-ins with an interrupt code; requests
	// every sign-in and sign-up event, interrupts included.
	signUpFail map[string]int64 // signUpFailLabels
	interrupts map[string]int64 // interruptLabels
	requests   map[string]int64 // requestLabels
	apps       map[string]appName
	// flows is the stages each sign-up flow (correlationId) reached while
	// the period is open; when it closes only the funnel's numbers stay.
	flows  map[string]flowMask
	funnel map[string]funnelCount
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
		auth: map[string]*counts{}, mfa: map[string]*counts{}, signU: map[string]*counts{},
		signUpFail: map[string]int64{}, interrupts: map[string]int64{}, requests: map[string]int64{},
		apps: map[string]appName{}, users: newUserSet(dims), flows: map[string]flowMask{},
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
	p.funnel = funnelOf(p.flows)
	p.users, p.flows = nil, nil
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

// addSignIn counts one sign-in, of label values v (signInDimensions); it
// reports whether the user's set of tuples grew (so the store must write
// it).
func (p *period) addSignIn(e *insights.SignIn, v values) bool {
	p.seeApp(v.get("app_id"), e.AppName, e.Created)
	p.requests[v.key(requestLabels)]++
	if insights.IsInterrupt(e.ErrorCode) { // neither a success nor a failure
		p.interrupts[v.key(interruptLabels)]++
		return false
	}
	get(p.auth, v.key(authLabels)).add(e.ErrorCode == 0, e.ErrorCode)
	if e.MFA {
		get(p.mfa, v.key(mfaLabels)).add(e.MFASucceeded, e.ErrorCode)
	}
	if e.ErrorCode != 0 || !p.open() {
		return false
	}
	return p.users.add(userKeyOf(e.UserID), v.tuple())
}

// addSignUp counts one event of a sign-up flow (one per stage): the flow
// signed a user up when its userCreation event succeeded; a non-zero code
// that is not an interrupt is a failed step. It reports whether the flow's
// stages grew (so the store must write it).
func (p *period) addSignUp(e *insights.SignUp) bool {
	v := valuesOf(signUpDimensions, e)
	p.seeApp(v.get("app_id"), e.AppName, e.Created)
	p.requests[v.key(requestLabels)]++
	switch {
	case insights.IsInterrupt(e.ErrorCode):
	case e.ErrorCode != 0:
		p.signUpFail[v.key(signUpFailLabels)]++
	case e.Stage == insights.SignUpCreatesUser:
		get(p.signU, v.key(signUpLabels)).add(true, 0)
	}
	if !p.open() || e.CorrelationID == "" {
		return false
	}
	m := p.flows[e.CorrelationID]
	grown := m.with(e.Stage, e.ErrorCode == 0 && e.Stage == insights.SignUpCreatesUser)
	if grown == m {
		return false
	}
	p.flows[e.CorrelationID] = grown
	return true
}

func get(m map[string]*counts, k string) *counts {
	c, ok := m[k]
	if !ok {
		c = &counts{}
		m[k] = c
	}
	return c
}

// rows appends the period's rows of report name.
func (p *period) rows(name string, out []insights.Row) []insights.Row {
	base := insights.Row{FactDate: p.start}
	switch name {
	case insights.Authentications:
		for k, c := range p.auth {
			r, _ := p.row(c.row(base), authLabels, k)
			out = append(out, r)
		}
	case insights.MFACompletions:
		for k, c := range p.mfa {
			r, _ := p.row(c.row(base), mfaLabels, k)
			out = append(out, r)
		}
	case insights.SignUps:
		for k, c := range p.signU {
			r, _ := p.row(base, signUpLabels, k)
			r.Count = c.Successes
			out = append(out, r)
		}
		for k, n := range p.signUpFail {
			out = append(out, p.failureRow(base, signUpFailLabels, k, n))
		}
	case insights.ActiveUsers:
		active, dims := p.active, p.activeDims
		if p.open() {
			active, dims = p.users.counts(), p.users.dims
		}
		for key, n := range active {
			r, _ := p.row(base, dims, key)
			r.Count = n
			out = append(out, r)
		}
	case insights.SignInInterrupts:
		for k, n := range p.interrupts {
			out = append(out, p.failureRow(base, interruptLabels, k, n))
		}
	case insights.SignUpFunnel:
		funnel := p.funnel
		if p.open() {
			funnel = funnelOf(p.flows)
		}
		for stage, f := range funnel {
			r := base
			r.Stage, r.Count, r.Abandoned = stage, f.Reached, f.Abandoned
			out = append(out, r)
		}
	case insights.Requests:
		for k, n := range p.requests {
			r, _ := p.row(base, requestLabels, k)
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

// row is base with the values of counter key (of labels) as its
// dimensions and the app's name. reason_code and stage, which no row has,
// name the failure a counter of failures counts: they are returned in a
// Failure instead.
func (p *period) row(base insights.Row, labels []string, key string) (insights.Row, insights.Failure) {
	var f insights.Failure
	for i, v := range splitKey(key, len(labels)) {
		switch labels[i] {
		case "reason_code":
			f.ReasonCode = v
		case "stage":
			f.Stage = v
		default:
			base.SetDimension(labels[i], v) // every family's labels are dimensions (TestFamilyLabelsAreDimensions)
		}
	}
	base.AppName = p.apps[base.AppID].Name
	return base, f
}

// failureRow is the row of a counter of failures: its one Failure, of n.
func (p *period) failureRow(base insights.Row, labels []string, key string, n int64) insights.Row {
	r, f := p.row(base, labels, key)
	f.Count = n
	r.Failures = []insights.Failure{f}
	return r
}

// flowMask is the stages a sign-up flow reached: bit i for
// insights.SignUpStages()[i], and flowCompleted once it created a user.
type flowMask uint8

const flowCompleted flowMask = 1 << 7

// stageBit is stage's bit, 0 for a stage Graph added after this exporter.
func stageBit(stage string) flowMask {
	if i := slices.Index(insights.SignUpStages(), stage); i >= 0 {
		return 1 << i
	}
	return 0
}

func (m flowMask) with(stage string, completed bool) flowMask {
	m |= stageBit(stage)
	if completed {
		m |= flowCompleted
	}
	return m
}

// funnelCount is one stage of the sign-up funnel: the flows that reached
// it, and those of them that went no further and created no user.
type funnelCount struct {
	Reached   int64 `json:"r"`
	Abandoned int64 `json:"a,omitempty"`
}

// funnelOf counts the funnel of a period's flows, by stage.
func funnelOf(flows map[string]flowMask) map[string]funnelCount {
	out := map[string]funnelCount{}
	stages := insights.SignUpStages()
	for _, m := range flows {
		last := -1
		for i, stage := range stages {
			if m&stageBit(stage) != 0 {
				f := out[stage]
				f.Reached++
				out[stage] = f
				last = i
			}
		}
		if last >= 0 && m&flowCompleted == 0 {
			f := out[stages[last]]
			f.Abandoned++
			out[stages[last]] = f
		}
	}
	return out
}
