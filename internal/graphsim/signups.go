package graphsim

import (
	"slices"
	"time"
)

// This file turns the signUps report's counts into auditLogs/signUps
// events as Graph records them: one event per stage of a sign-up flow,
// the events of a flow sharing a correlationId
// (api-reference/beta/api/auditlogroot-list-signups.md: "Four signup
// events related to one sign-up attempt"). Per segment and day there are
// three streams of flows:
//
//   - completed flows, exactly the signUps report's count: each ends with
//     a userCreation event with errorCode 0 and the new userId, at the
//     time the report model gives the k-th sign-up of the day; a tenth of
//     them failed at a stage first and retried it;
//   - abandoned flows (30 % of the completed ones): they stop after
//     credentialCollection, after the email one-time-passcode prompt or
//     after attributeCollectionAndValidation, with no error;
//   - failed flows (12 %): they end with a documented error code.
//
// A flow's stages are seconds apart and end at its stream time; the
// stages of a flow still under way at the clock are served, its later ones
// appear as the clock reaches them.

// The sign-up stages graphsim sends, in flow order (signUpStage of
// api-reference/beta/resources/selfservicesignup.md, which also lists
// credentialFederation, consent and tenantConsent: no Microsoft page says
// when those are written, so graphsim does not send them).
const (
	StageCredentialCollection = "credentialCollection"
	StageCredentialValidation = "credentialValidation"
	StageAttributeCollection  = "attributeCollectionAndValidation"
	StageUserCreation         = "userCreation"
)

// The shares of the flows that do not complete, per completed flow, and of
// the completed flows that failed a stage first.
const (
	signUpAbandonedShare = 0.30
	signUpFailedShare    = 0.12
	signUpRetriedShare   = 0.10
	// maxFlowDuration bounds a flow from its first to its last step.
	maxFlowDuration = 3 * time.Minute
)

// Sign-up failure codes of entra-docs
// docs/identity/monitoring-health/howto-troubleshoot-sign-up-errors.md
// (read at commit a89a9383), the codes "associated with sign-up events".
const (
	codeOTPInvalid         = 50181
	codeOTPExpired         = 50182
	codeAttributesInvalid  = 1002027
	codeUserCreationFailed = 399279
)

// signUpStatus is the status of a sign-up event with code: the doc's text
// as failureReason, its advice as additionalDetails. The interrupt
// 1002013 has neither, as in the auditlogroot-list-signups.md example.
func signUpStatus(code int) SignInStatus {
	st := SignInStatus{ErrorCode: code}
	switch code {
	case codeOTPInvalid:
		st.FailureReason, st.AdditionalDetails = "Unable to validate the OTP.", "The user should request a new one-time passcode."
	case codeOTPExpired:
		st.FailureReason, st.AdditionalDetails = "OTP is already expired.", "The user should request a new one-time passcode."
	case codeAttributesInvalid:
		st.FailureReason, st.AdditionalDetails = "Some of the collected attributes were invalid.", "The user should reenter the attributes."
	case codeUserCreationFailed:
		st.FailureReason, st.AdditionalDetails = "User creation failed during self-service sign-up.", "The user should retry the sign-up process."
	}
	return st
}

// SignUpErrorCodes returns the non-zero status.errorCode values graphsim
// sends on sign-up events, each with the stage that carries it: the
// interrupt 1002013 (see IsInterrupt) and the failures 50181 (the
// passcode cannot be validated), 50182 (it expired), 1002027 (invalid
// attributes) and 399279 (user creation failed) of
// howto-troubleshoot-sign-up-errors.md.
func SignUpErrorCodes() map[int]string {
	return map[int]string{CodeEmailOTPPrompt: StageCredentialValidation, codeOTPInvalid: StageCredentialValidation,
		codeOTPExpired: StageCredentialValidation, codeAttributesInvalid: StageAttributeCollection,
		codeUserCreationFailed: StageUserCreation}
}

// flowStep is one event of a flow before it is placed in time: the stage,
// its status code, and the pause before it (after the step before).
type flowStep struct {
	stage string
	code  int
	pause time.Duration
}

// flowPlan is the steps of one flow.
type flowPlan []flowStep

// isLocal reports whether a provider is a local account. Both local
// methods verify the email address with a one-time passcode at sign-up
// ("Customers are prompted for an email address, which is verified at
// sign-up with a one-time passcode",
// docs/external-id/customers/concept-authentication-methods-customers.md).
func isLocal(idp string) bool { return idp == "Email OTP" || idp == "Email Password" }

// seconds is a pause between lo and hi seconds drawn from h, to 100 ns.
func seconds(h hash, lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*h.unit()) * float64(time.Second)).Truncate(graphTick)
}

// basePlan is the steps of a sign-up that goes straight through, as in
// Microsoft's example: credentialCollection, the passcode prompt
// (1002013 on credentialValidation, local accounts only),
// attributeCollectionAndValidation, userCreation; with the example's
// pauses (13 s, 19 s, 0.9 s).
func basePlan(idp string, h hash) flowPlan {
	p := flowPlan{{stage: StageCredentialCollection}}
	if isLocal(idp) {
		p = append(p, flowStep{StageCredentialValidation, CodeEmailOTPPrompt, seconds(h.str("p1"), 3, 15)})
	}
	return append(p, flowStep{StageAttributeCollection, 0, seconds(h.str("p2"), 12, 60)},
		flowStep{StageUserCreation, 0, seconds(h.str("p3"), 0.3, 1.5)})
}

// completedPlan is basePlan, in a share of the flows with a failed step
// the user got past: a wrong passcode, an expired one (a new one is
// sent), or invalid attributes entered again.
func completedPlan(idp string, h hash) flowPlan {
	p := basePlan(idp, h)
	retry := h.str("retry")
	if retry.unit() >= signUpRetriedShare {
		return p
	}
	pause := seconds(retry.str("pause"), 8, 40)
	which := retry.str("which").pick(3)
	if !isLocal(idp) {
		which = 2
	}
	var extra flowPlan
	switch which {
	case 0:
		extra = flowPlan{{StageCredentialValidation, codeOTPInvalid, pause}}
	case 1:
		extra = flowPlan{{StageCredentialValidation, codeOTPExpired, pause},
			{StageCredentialValidation, CodeEmailOTPPrompt, seconds(retry.str("again"), 2, 10)}}
	default:
		extra = flowPlan{{StageAttributeCollection, codeAttributesInvalid, pause}}
	}
	at := len(p) - 2 // before attributeCollectionAndValidation
	return slices.Concat(p[:at], extra, p[at:])
}

// abandonedPlan is basePlan cut short without an error: after
// credentialCollection, after the passcode prompt (local accounts) or
// after attributeCollectionAndValidation.
func abandonedPlan(idp string, h hash) flowPlan {
	p := basePlan(idp, h)
	keep := 1 + h.str("at").pick(len(p)-1) // 1 … len(p)−1 steps
	return p[:keep]
}

// failedPlan is basePlan ending with a documented error: at the passcode
// (local accounts), the attributes or the user's creation.
func failedPlan(idp string, h hash) flowPlan {
	p := basePlan(idp, h)
	codes := []int{codeAttributesInvalid, codeUserCreationFailed}
	if isLocal(idp) {
		codes = append(codes, codeOTPInvalid, codeOTPExpired)
	}
	code := codes[h.str("code").pick(len(codes))]
	if code == codeOTPInvalid || code == codeOTPExpired { // after the prompt
		return append(p[:2:2], flowStep{StageCredentialValidation, code, seconds(h.str("typing"), 8, 60)})
	}
	end := slices.IndexFunc(p, func(s flowStep) bool { return s.stage == SignUpErrorCodes()[code] })
	p = p[:end+1]
	p[end].code = code
	return p
}

// signUpFlow is one flow of a segment's day: its plan, its key and the
// time of its last step.
type signUpFlow struct {
	plan     flowPlan
	key      hash
	end      time.Time
	complete bool // its userCreation counts in the report at the clock
}

// signUpFlows returns the flows of segment si on day that have begun by
// the clock.
func (g *gen) signUpFlows(day period, s segment) []signUpFlow {
	idp := signUpProvider(s)
	base := s.key.str("signUpEvent").num(day.index)
	c := g.signUpRate(day, s)
	var out []signUpFlow
	// Completed flows: the k-th ends at the report's k-th sign-up.
	for k := range countAt(c, 1) {
		key := base.num(k)
		end := graphTime(streamTime(day, c, k, day.end), key)
		f := signUpFlow{plan: completedPlan(idp, key), key: key, end: end}
		f.complete = k < countAt(c, day.fill) && !end.After(g.now)
		out = append(out, f)
	}
	for _, st := range []struct {
		name  string
		share float64
		plan  func(string, hash) flowPlan
	}{{"abandoned", signUpAbandonedShare, abandonedPlan}, {"failed", signUpFailedShare, failedPlan}} {
		cs := st.share * c
		for k := range flowCount(cs, base.str(st.name)) {
			key := base.str(st.name).num(k)
			end := graphTime(spreadTime(day, (float64(k)+0.5)/cs, day.end), key)
			out = append(out, signUpFlow{plan: st.plan(idp, key), key: key, end: end, complete: true})
		}
	}
	return slices.DeleteFunc(out, func(f signUpFlow) bool { return f.start().After(g.now) })
}

// flowCount is a day's number of flows of rate c: its integer part, plus
// one with the probability of its fraction, so small rates average right.
func flowCount(c float64, h hash) int64 {
	n := int64(c)
	if h.str("fraction").unit() < c-float64(n) {
		n++
	}
	return n
}

// start is the time of the flow's first step.
func (f signUpFlow) start() time.Time {
	t := f.end
	for _, s := range f.plan[1:] {
		t = t.Add(-s.pause)
	}
	return t
}

// signUpsOfDay returns the sign-up events of the flows of segment si on
// day, oldest first, up to the clock: a flow's first events may fall on
// the day before, a completed flow's userCreation only counts once the
// report does.
func (g *gen) signUpsOfDay(day period, si int, lat latency) []SignUpEvent {
	s := g.segs[si]
	if s.app == len(g.t.apps)-1 { // no sign-ups to the admin portal
		return nil
	}
	a := g.t.apps[s.app]
	var out []SignUpEvent
	for _, f := range g.signUpFlows(day, s) {
		proto := SignUpEvent{AppID: a.id, AppDisplayName: g.appName(a, day), SignUpIdentityProvider: signUpProvider(s),
			CorrelationID: guid(f.key.str("correlation")),
			SignUpIdentity: SignUpIdentity{SignUpIdentifierType: "emailAddress",
				SignUpIdentifier: "new" + guid(f.key.str("mail"))[:8] + "@example.com"}}
		if !isLocal(proto.SignUpIdentityProvider) {
			proto.SignUpIdentity.SignUpIdentifierType = "federation"
		}
		out = append(out, g.flowEvents(f, proto, lat)...)
	}
	slices.SortStableFunc(out, func(a, b SignUpEvent) int { return a.CreatedDateTime.Compare(b.CreatedDateTime) })
	return out
}

// flowEvents places the steps of f before its end and returns those up
// to the clock; the userCreation of a completed flow only when it counts.
func (g *gen) flowEvents(f signUpFlow, proto SignUpEvent, lat latency) []SignUpEvent {
	at := f.start()
	var out []SignUpEvent
	for i, step := range f.plan {
		at = at.Add(step.pause)
		last := i == len(f.plan)-1
		key := f.key.str(step.stage).num(int64(i))
		if last {
			key = f.key // the flow's last event keeps the id of the flow
		}
		if at.After(g.now) || last && step.stage == StageUserCreation && step.code == 0 && !f.complete {
			break
		}
		ev := proto
		ev.ID, ev.CreatedDateTime, ev.SignUpStage, ev.Status = guid(key), at, step.stage, signUpStatus(step.code)
		if step.stage == StageCredentialCollection {
			ev.AppDisplayName = "" // null, as in Microsoft's example
		}
		if step.stage == StageUserCreation && step.code == 0 {
			ev.UserID = guid(f.key.str("newUser"))
		}
		ev.VisibleAt = at.Add(lat.of(key))
		out = append(out, ev)
	}
	return out
}

// signUpProvider is the signUpIdentityProvider of a segment's sign-ups,
// from its identityProvider dimension: local accounts are "Email OTP" or
// "Email Password" (per segment), google.com "Google", facebook.com
// "Facebook".
func signUpProvider(s segment) string {
	switch s.idp {
	case "google.com":
		return "Google"
	case "facebook.com":
		return "Facebook"
	}
	if s.key.str("otp").unit() < 0.5 {
		return "Email OTP"
	}
	return "Email Password"
}
