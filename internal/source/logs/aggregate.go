package logs

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
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

// appName is the newest display name seen of an application.
type appName struct {
	Name string    `json:"n"`
	Seen time.Time `json:"t"`
}

// period is what the logs source knows of one day or month. Its counters
// are keyed by the normalised values of their family's labels
// (dimensions.go), so events that a label would fold together are one
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

// activeUsers is the family of distinct users, counted by the dimensions
// the catalog keeps of it.
const activeUsers = "active_users"

// ActiveUserDims are the dimensions to count distinct users by, per
// granularity: what kept returns for active_users (none when kept is nil).
func ActiveUserDims(kept func(family string, g insights.Granularity) []string) map[insights.Granularity][]string {
	out := map[insights.Granularity][]string{}
	for _, g := range []insights.Granularity{insights.Daily, insights.Monthly} {
		if kept != nil {
			out[g] = kept(activeUsers, g)
		}
	}
	return out
}

// periodFamily is a family counted in the periods of the event logs: its
// declaration, and how a period gives its points (labels: the family's
// dimensions and its own labels, from the counter's key).
type periodFamily struct {
	source.Family
	points func(p *period, emit emitFunc)
}

// emitFunc takes a point's value and labels.
type emitFunc func(value int64, labels []source.Label)

// periodFamilies are the families of the event logs. Their names, labels
// and defaults are the userinsights source's of the same name (which the
// collector checks), so dashboards read both sources.
func periodFamilies() []periodFamily {
	result := []string{"result"}
	reason := []string{"reason_code"}
	byResult := func(m func(p *period) map[string]*counts, labels []string) func(*period, emitFunc) {
		return func(p *period, emit emitFunc) {
			for k, c := range m(p) {
				emit(c.Successes, withLabel(labelsOf(labels, k), "result", "success"))
				emit(c.Attempts-c.Successes, withLabel(labelsOf(labels, k), "result", "failure"))
			}
		}
	}
	byReason := func(m func(p *period) map[string]*counts, labels []string) func(*period, emitFunc) {
		return func(p *period, emit emitFunc) {
			for k, c := range m(p) {
				for code, n := range c.Failures {
					emit(n, withLabel(labelsOf(labels, k), "reason_code", code))
				}
			}
		}
	}
	summed := func(m func(p *period) map[string]int64, labels []string) func(*period, emitFunc) {
		return func(p *period, emit emitFunc) {
			for k, n := range m(p) {
				emit(n, labelsOf(labels, k))
			}
		}
	}
	auth := func(p *period) map[string]*counts { return p.auth }
	mfa := func(p *period) map[string]*counts { return p.mfa }
	funnel := func(value func(funnelCount) int64) func(*period, emitFunc) {
		return func(p *period, emit emitFunc) {
			for stage, f := range p.funnelCounts() {
				emit(value(f), []source.Label{{Name: "stage", Value: stage}})
			}
		}
	}
	return []periodFamily{
		{source.Family{Name: activeUsers, Report: insights.ActiveUsers, Kind: source.Users,
			Dimensions: tupleDims[:], Defaults: []string{"app_id", "os"},
			Help: "Users with at least one successful interactive sign-in in the period, exact distinct users per label set" +
				" (the tenant-wide figure is tenant_active_users); this month's from the retained logs until a whole month has been read."},
			func(p *period, emit emitFunc) {
				active, dims := p.activeCounts()
				for key, n := range active {
					emit(n, labelsOf(dims, key))
				}
			}},
		{source.Family{Name: "authentications", Report: insights.Authentications, Only: insights.Daily, Kind: source.Events,
			Dimensions: authLabels, Defaults: []string{"app_id", "os"}, Labels: result, Help: authHelp}, byResult(auth, authLabels)},
		{source.Family{Name: "authentications", Report: insights.Authentications, Only: insights.Monthly, Kind: source.Events,
			Dimensions: authLabels, Defaults: []string{"country"}, Labels: result, Help: authHelp}, byResult(auth, authLabels)},
		{source.Family{Name: "authentication_failures", Report: insights.Authentications, Kind: source.Events,
			Dimensions: authLabels, Defaults: []string{"app_id"}, Labels: reason,
			Help: "Failed interactive sign-ins by Graph's status.errorCode (documented interrupts excluded)."},
			byReason(auth, authLabels)},
		{source.Family{Name: "mfa_attempts", Report: insights.MFACompletions, Kind: source.Events,
			Dimensions: mfaLabels, Defaults: []string{"mfa_method", "app_id"}, Labels: result,
			Help: "Interactive sign-ins that asked for multifactor authentication, by its result (interrupts excluded)."},
			byResult(mfa, mfaLabels)},
		{source.Family{Name: "mfa_failures", Report: insights.MFACompletions, Kind: source.Events,
			Dimensions: mfaLabels, Defaults: []string{"mfa_method"}, Labels: reason,
			Help: "Failed multifactor authentications by the sign-in's status.errorCode."},
			byReason(mfa, mfaLabels)},
		{source.Family{Name: "tenant_active_users", Report: insights.ActiveUsers, Kind: source.Users, Whole: true,
			Help: "Distinct users with a successful interactive sign-in in the period, tenant-wide: exact (a user of several apps" +
				" counts once); this month's from the retained logs until a whole month has been read."},
			func(p *period, emit emitFunc) {
				if n := p.tenantActiveCount(); n > 0 {
					emit(n, nil)
				}
			}},
		{source.Family{Name: "sign_ups", Report: insights.SignUps, Kind: source.Events,
			Dimensions: signUpLabels, Defaults: []string{"app_id", "identity_provider"},
			Help: "Users who signed up in the period: sign-up flows whose userCreation step succeeded, in the period of that step."},
			func(p *period, emit emitFunc) {
				for k, c := range p.signU {
					emit(c.Successes, labelsOf(signUpLabels, k))
				}
			}},
		{source.Family{Name: "sign_up_failures", Report: insights.SignUps, Kind: source.Events,
			Dimensions: except(signUpFailLabels, "stage", "reason_code"), Defaults: []string{"app_id"},
			Labels: []string{"reason_code", "stage"},
			Help: "Failed steps of sign-up flows (auditLogs/signUps events with a non-zero errorCode that is not a" +
				" documented interrupt) by error code and signUpStage; a flow may fail a step and still complete."},
			summed(func(p *period) map[string]int64 { return p.signUpFail }, signUpFailLabels)},
		{source.Family{Name: "sign_up_flows", Report: insights.SignUpFunnel, Kind: source.Events, Labels: []string{"stage"},
			Help: "Sign-up flows (one correlationId of auditLogs/signUps) that reached the signUpStage in the period:" +
				" the sign-up funnel."},
			funnel(func(f funnelCount) int64 { return f.Reached })},
		{source.Family{Name: "sign_up_abandoned_flows", Report: insights.SignUpFunnel, Kind: source.Events, Labels: []string{"stage"},
			Help: "Sign-up flows whose furthest signUpStage in the period was this one and that created no user:" +
				" where customers drop off (a flow still in progress counts until it goes on)."},
			funnel(func(f funnelCount) int64 { return f.Abandoned })},
		{source.Family{Name: "sign_in_interrupts", Report: insights.SignInInterrupts, Kind: source.Events,
			Dimensions: except(interruptLabels, "reason_code"), Defaults: []string{"app_id"}, Labels: reason,
			Help: "Interactive sign-ins whose errorCode Microsoft documents as an expected interruption, not an error" +
				" (50140: the 'Keep me signed in' prompt); they count neither as authentications nor as failures."},
			summed(func(p *period) map[string]int64 { return p.interrupts }, interruptLabels)},
		{source.Family{Name: "requests", Report: insights.Requests, Only: insights.Monthly, Kind: source.Events,
			Dimensions: requestLabels, Defaults: []string{"app_id", "country"},
			Help: "Every interactive sign-in (interrupts included) and every sign-up event (one per stage; country unknown):" +
				" the closest the logs come to the portal's requests."},
			summed(func(p *period) map[string]int64 { return p.requests }, requestLabels)},
	}
}

const authHelp = "Interactive sign-ins by result: success (errorCode 0) or failure (any other code but the documented interrupts)."

// except is labels without own, the labels a family sets itself: the
// dimensions of a counter keyed by labels.
func except(labels []string, own ...string) []string {
	return slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return slices.Contains(own, l) })
}

// labelsOf are the labels of counter key, of labels.
func labelsOf(labels []string, key string) []source.Label {
	out := make([]source.Label, 0, len(labels)+1)
	for i, v := range splitKey(key, len(labels)) {
		out = append(out, source.Label{Name: labels[i], Value: v})
	}
	return out
}

// withLabel is labels and name=value (labels has room for one more: a
// copy is made only if not).
func withLabel(labels []source.Label, name, value string) []source.Label {
	return append(labels, source.Label{Name: name, Value: value})
}

// activeCounts are the period's distinct users by tuple, and the tuple's
// dimensions.
func (p *period) activeCounts() (map[string]int64, []string) {
	if p.open() {
		return p.users.counts(), p.users.dims
	}
	return p.active, p.activeDims
}

func (p *period) tenantActiveCount() int64 {
	if p.open() {
		return p.users.len()
	}
	return p.tenantActive
}

func (p *period) funnelCounts() map[string]funnelCount {
	if p.open() {
		return funnelOf(p.flows)
	}
	return p.funnel
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
