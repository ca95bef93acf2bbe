package graphsim

import (
	"math"
	"slices"
	"time"
)

// This file turns the daily report model into activity-log events: the
// sign-ins and sign-ups of one segment and day. The events of a day are
// exactly the counts of that day's report rows (see plan.go): a segment's
// single-factor sign-ins and each of its MFA rows are a stream of
// countAt(c, fill) events, the k-th created at the share (k+½)/c of the
// day (the first at 00:00), so today's events only grow with the clock and
// a past day's never change.

// SignInEvent is one auditLogs/signIns entry with the properties graphsim
// sends, named as in Graph's beta JSON. A null or absent value is zero here,
// as a decoder sees it.
type SignInEvent struct {
	ID                        string                 `json:"id"`
	CreatedDateTime           time.Time              `json:"createdDateTime"`
	UserID                    string                 `json:"userId"`
	UserPrincipalName         string                 `json:"userPrincipalName"`
	UserDisplayName           string                 `json:"userDisplayName"`
	AppID                     string                 `json:"appId"`
	AppDisplayName            string                 `json:"appDisplayName"`
	IsInteractive             bool                   `json:"isInteractive"`
	SignInEventTypes          []string               `json:"signInEventTypes"`
	ClientAppUsed             string                 `json:"clientAppUsed"`
	Status                    SignInStatus           `json:"status"`
	DeviceDetail              DeviceDetail           `json:"deviceDetail"`
	Location                  SignInLocation         `json:"location"`
	AuthenticationRequirement string                 `json:"authenticationRequirement"`
	AuthenticationDetails     []AuthenticationDetail `json:"authenticationDetails"`
	CorrelationID             string                 `json:"correlationId"`
	// VisibleAt is when the event appears in the log: CreatedDateTime plus
	// its ingestion latency. Not on the wire.
	VisibleAt time.Time `json:"-"`
}

// SignInStatus is a sign-in's or sign-up's status; ErrorCode 0 = success.
type SignInStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason"`
	AdditionalDetails string `json:"additionalDetails"`
}

// DeviceDetail is the part of a sign-in's deviceDetail the reports have.
type DeviceDetail struct {
	OperatingSystem string `json:"operatingSystem"`
	Browser         string `json:"browser"`
}

// SignInLocation is a sign-in's location.
type SignInLocation struct {
	City            string `json:"city"`
	State           string `json:"state"`
	CountryOrRegion string `json:"countryOrRegion"`
}

// AuthenticationDetail is one step of a sign-in.
type AuthenticationDetail struct {
	AuthenticationStepDateTime     time.Time `json:"authenticationStepDateTime"`
	AuthenticationMethod           string    `json:"authenticationMethod"`
	AuthenticationMethodDetail     string    `json:"authenticationMethodDetail"`
	Succeeded                      bool      `json:"succeeded"`
	AuthenticationStepResultDetail string    `json:"authenticationStepResultDetail"`
	AuthenticationStepRequirement  string    `json:"authenticationStepRequirement"`
}

// SignUpEvent is one auditLogs/signUps (selfServiceSignUp) entry: one
// stage of a sign-up flow, whose events share CorrelationID (see
// signups.go).
type SignUpEvent struct {
	ID              string    `json:"id"`
	CreatedDateTime time.Time `json:"createdDateTime"`
	AppID           string    `json:"appId"`
	// AppDisplayName is "" (null) on credentialCollection events, as in
	// Microsoft's example.
	AppDisplayName string `json:"appDisplayName"`
	// UserID is the new user's id on the successful userCreation event,
	// else "" (null).
	UserID                 string         `json:"userId"`
	SignUpIdentityProvider string         `json:"signUpIdentityProvider"`
	SignUpStage            string         `json:"signUpStage"`
	Status                 SignInStatus   `json:"status"`
	SignUpIdentity         SignUpIdentity `json:"signUpIdentity"`
	CorrelationID          string         `json:"correlationId"`
	VisibleAt              time.Time      `json:"-"` // as for SignInEvent
}

// SignUpIdentity is who signed up.
type SignUpIdentity struct {
	SignUpIdentifierType string `json:"signUpIdentifierType"` // emailAddress or federation
	SignUpIdentifier     string `json:"signUpIdentifier"`
}

// errorCode is an Entra sign-in error code and its failureReason text.
type errorCode struct {
	code int
	text string
}

// Sign-in error codes. Each maps to one authentication failure reasonCode
// of the reports (see errorCodes).
var (
	errInvalidCredentials = errorCode{50126, "Error validating credentials due to invalid username or password."}
	errLocked             = errorCode{50053, "Account is locked because user tried to sign in too many times with an incorrect user ID or password."}
	errDisabled           = errorCode{50057, "User account is disabled."}
	errStrongAuthFailed   = errorCode{500121, "Authentication failed during strong authentication request."}
	errNotSignedIn        = errorCode{50058, "Session information is not sufficient for single-sign-on."}
	errBlockedByCA        = errorCode{53003, "Access has been blocked by Conditional Access policies."}
	errReplyURL           = errorCode{50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application."}
	errTransient          = errorCode{90033, "A transient error has occurred. Please try again."}
	errMissingParameter   = errorCode{90014, "The request body must contain the following parameter."}
	errFlowTokenExpired   = errorCode{50089, "Authentication failed due to flow token expired."}
)

// singleFactorCode is the error code of a failed single-factor sign-in of
// authFailureReasons index reason: userError splits 80/12/8 % into invalid
// credentials, locked and disabled; incomplete is 50058, "This means
// that a user isn't signed in" (entra-docs
// docs/identity-platform/reference-error-codes.md; a draft of
// how-to-troubleshoot-sign-up-errors.md: "appears for sign-in attempts
// when the user didn't complete the sign-in process"); failed MFA
// sign-ins are the other incomplete ones, 500121. The
// keep-me-signed-in interrupt 50140 is not a failure: those events come on
// top (see kmsiInterrupts).
func singleFactorCode(reason int, h hash) errorCode {
	switch authFailureReasons()[reason].code {
	case "userError":
		switch u := h.str("userError").unit(); {
		case u < 0.8:
			return errInvalidCredentials
		case u < 0.92:
			return errLocked
		}
		return errDisabled
	case "incomplete":
		return errNotSignedIn
	case "denied":
		return errBlockedByCA
	case "configError":
		return errReplyURL
	case "systemFailure":
		return errTransient
	case "other":
		return errFlowTokenExpired
	}
	return errMissingParameter // badRequest
}

// ErrorCodeReasons maps every sign-in status.errorCode graphsim sends on a
// failure to the reasonCode of the authentications report's failures that
// counts it. The interrupt 50140 (CodeKeepMeSignedIn) is not in it: it is
// neither a success nor a failure, and no report row counts it.
func ErrorCodeReasons() map[int]string {
	return map[int]string{
		errInvalidCredentials.code: "userError", errLocked.code: "userError", errDisabled.code: "userError",
		errStrongAuthFailed.code: "incomplete", errNotSignedIn.code: "incomplete",
		errBlockedByCA.code: "denied", errReplyURL.code: "configError",
		errTransient.code: "systemFailure", errMissingParameter.code: "badRequest", errFlowTokenExpired.code: "other",
	}
}

// streamTime is the creation time of event k of a stream of rate c on day,
// to Graph's precision (100 ns), never after now nor outside the day.
func streamTime(day period, c float64, k int64, now time.Time) time.Time {
	if k == 0 {
		return day.start
	}
	return spreadTime(day, (float64(k)+0.5)/c, now)
}

// spreadTime is the time at the share x of day, to 100 ns, never after
// now nor outside the day.
func spreadTime(day period, x float64, now time.Time) time.Time {
	t := day.start.Add(time.Duration(x * float64(day.end.Sub(day.start)))).Truncate(graphTick)
	last := day.end.Add(-time.Second)
	if t.After(last) {
		t = last
	}
	if t.After(now) {
		t = now.Truncate(graphTick)
	}
	return t
}

// graphTick is the resolution of Graph's date-times: seven fractional
// digits.
const graphTick = 100 * time.Nanosecond

// graphTime is t as Graph writes an event's createdDateTime, drawn per
// event from h: seven fractional digits for half the events, six for a
// fifth (as in the signUps example of auditlogroot-list-signups.md),
// whole seconds for the rest (as in the signIns example of
// signin-list.md). Truncating never moves an event past now or out of
// its day.
func graphTime(t time.Time, h hash) time.Time {
	switch u := h.str("digits").unit(); {
	case u < 0.3:
		return t.Truncate(time.Second)
	case u < 0.5:
		return t.Truncate(time.Microsecond)
	}
	return t.Truncate(graphTick)
}

// fillAt is the share of day elapsed at t, as newPeriod computes it.
func fillAt(day period, t time.Time) float64 {
	return float64(t.Sub(day.start)) / float64(day.end.Sub(day.start))
}

// rawSignIn is a sign-in before its user is assigned.
type rawSignIn struct {
	at      time.Time
	key     hash // identifies the event: its id and every choice about it
	ok      bool
	code    errorCode
	mfa     string // the MFA method; "" for single-factor
	mfaDone bool   // the MFA step succeeded
}

// signInsOfDay returns the sign-ins of segment si on day, oldest first.
func (g *gen) signInsOfDay(day period, si int, lat latency) []SignInEvent {
	s := g.segs[si]
	if g.idleDay(day, s) {
		return nil
	}
	base := s.key.str("signIn").num(day.index)
	var raw []rawSignIn
	c, r, ph := g.singleStream(day, s)
	n := countAt(c, day.fill)
	var failed int64
	counts := make([]int64, len(authFailureReasons()))
	weights := reasonShares(authFailureReasons())
	sum := sumOf(weights)
	for k := range n {
		key := base.str("single").num(k)
		e := rawSignIn{at: graphTime(streamTime(day, c, k, g.now), key), key: key}
		if successesOf(k+1, r, ph) > successesOf(k, r, ph) {
			e.ok = true
		} else {
			reason := nextReason(failed, counts, weights, sum, reasonKey(s, day))
			counts[reason]++
			failed++
			e.code = singleFactorCode(reason, key)
		}
		raw = append(raw, e)
	}
	for _, m := range g.mfaPlan(day) {
		if m.seg != si {
			continue
		}
		for k := range countAt(m.c, day.fill) {
			key := base.str(m.method).num(k)
			at := graphTime(streamTime(day, m.c, k, g.now), key)
			if successesOf(k+1, m.rate, m.phase) > successesOf(k, m.rate, m.phase) {
				raw = append(raw, rawSignIn{at: at, key: key, ok: true, mfa: m.method, mfaDone: true})
				continue
			}
			copies := int64(1)
			if m.spike {
				copies = SpikeFactor
			}
			for j := range copies {
				t := at.Add(time.Duration(j) * time.Second)
				if t.After(g.now) || !t.Before(day.end) {
					t = at
				}
				raw = append(raw, rawSignIn{at: t, key: key.num(j), code: errStrongAuthFailed, mfa: m.method})
			}
		}
	}
	slices.SortStableFunc(raw, func(a, b rawSignIn) int { return a.at.Compare(b.at) })
	out := g.assignUsers(day, si, raw, lat)
	out = append(out, kmsiInterrupts(day, out, lat)...)
	slices.SortStableFunc(out, func(a, b SignInEvent) int { return a.CreatedDateTime.Compare(b.CreatedDateTime) })
	return out
}

// kmsiShare is the share of successful browser sign-ins preceded by the
// "Keep me signed in" prompt.
const kmsiShare = 0.3

// kmsiInterrupts returns the "Keep me signed in" interrupts before a share
// of the successful browser sign-ins: an event with errorCode 50140, its
// own id, the sign-in's correlationId, user and details, 0.5–3 s earlier
// (entra-docs howto-troubleshoot-sign-up-errors.md: "an expected part of
// the sign-in flow, where a user is asked if they want to remain signed
// into this browser"). They are extra events: the sign-ins the reports
// count do not change. None falls before the day, so a day's events stay
// on it.
func kmsiInterrupts(day period, evs []SignInEvent, lat latency) []SignInEvent {
	var out []SignInEvent
	for i := range evs {
		e := &evs[i]
		h := newHash(e.ID).str("kmsi")
		if e.Status.ErrorCode != 0 || e.ClientAppUsed != "Browser" || h.unit() >= kmsiShare {
			continue
		}
		at := e.CreatedDateTime.Add(-seconds(h.str("before"), 0.5, 3))
		if at.Before(day.start) {
			continue
		}
		k := *e
		k.ID, k.CreatedDateTime, k.VisibleAt = guid(h), at, at.Add(lat.of(h))
		k.Status = SignInStatus{ErrorCode: CodeKeepMeSignedIn,
			FailureReason: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
			AdditionalDetails: "This is an expected part of the sign-in flow, where a user is asked if they want to " +
				"remain signed into this browser to make further sign-ins easier."}
		k.AuthenticationDetails = slices.Clone(e.AuthenticationDetails)
		out = append(out, k)
	}
	return out
}

// pool is where a segment's new users of a day are: a run of the
// tenant's first poolBase users (a ring). The runs of the segments follow
// each other, each overlapping the one before by 30 %, from a start drawn
// per day: so apps share users (at their boundaries) and a month's users
// spread over the ring.
type pool struct{ start, base int }

func (g *gen) pool(day period, si int) pool {
	base := g.poolBase()
	at := g.t.seed.str("poolStart").num(day.index).pick(base)
	for _, s := range g.segs[:si] {
		at += int(0.7 * math.Ceil(g.activeRate(day, s)))
	}
	return pool{start: at % base, base: base}
}

// user returns the tenant user index of the pool's m-th user of the day.
func (p pool) user(m int) int { return (p.start + m) % p.base }

// poolBase is the number of users the sign-ins draw from: the tenant's
// users on 2024-01-01, so that every one of them exists at any later clock.
func (g *gen) poolBase() int { return int(g.t.scale * 1600) }

// assignUsers gives each sign-in its user and wire properties. A success
// signs in a new user of the day while the day's distinct users are fewer
// than the activeUsers count at its time (and the pool), else one of the
// day's users again; a failure is any user of the pool. So the distinct
// users with a success never exceed the day's activeUsers count, at any
// clock.
func (g *gen) assignUsers(day period, si int, raw []rawSignIn, lat latency) []SignInEvent {
	s := g.segs[si]
	a := g.t.apps[s.app]
	p := g.pool(day, si)
	cU := g.activeRate(day, s)
	var users []int
	people := map[int]person{}
	out := make([]SignInEvent, 0, len(raw))
	for _, e := range raw {
		var u int
		switch {
		case !e.ok:
			u = p.user(e.key.str("user").pick(p.base))
		case int64(len(users)) < min(countAt(cU, fillAt(day, e.at)), int64(p.base)):
			u = p.user(len(users))
			users = append(users, u)
		default:
			u = users[e.key.str("user").pick(len(users))]
		}
		usr, ok := people[u]
		if !ok {
			usr = g.t.user(u)
			people[u] = usr
		}
		out = append(out, g.signInEvent(day, s, a, e, usr, lat))
	}
	return out
}

func (g *gen) signInEvent(day period, s segment, a app, e rawSignIn, usr person, lat latency) SignInEvent {
	ev := SignInEvent{
		ID: guid(e.key), CreatedDateTime: e.at, UserID: usr.id, UserPrincipalName: usr.upn,
		UserDisplayName: usr.name, AppID: a.id, AppDisplayName: g.appName(a, day),
		IsInteractive: true, SignInEventTypes: interactiveUser, ClientAppUsed: "Browser",
		DeviceDetail:              DeviceDetail{OperatingSystem: s.os.spell("signIns"), Browser: s.os.browser()},
		Location:                  SignInLocation{CountryOrRegion: s.country.code},
		AuthenticationRequirement: "singleFactorAuthentication",
		CorrelationID:             guid(e.key.str("correlation")),
	}
	ev.VisibleAt = e.at.Add(lat.of(e.key))
	if a.native { // as in the reports: no browser
		ev.ClientAppUsed = "Mobile Apps and Desktop clients"
		ev.DeviceDetail.Browser = ""
	}
	if s.country.code != "" {
		city := cities(s.country.code)
		ev.Location.City, ev.Location.State = city[0], city[1]
	}
	if !e.ok {
		ev.Status = SignInStatus{ErrorCode: e.code.code, FailureReason: e.code.text}
		if e.code == errBlockedByCA {
			ev.Status.AdditionalDetails = "The policy requires a compliant device."
		}
	}
	step := e.at.Add(time.Duration(1+e.key.str("step").pick(20)) * time.Second)
	password := AuthenticationDetail{AuthenticationStepDateTime: e.at, AuthenticationMethod: "Password",
		AuthenticationMethodDetail: "Password in the cloud", Succeeded: e.ok || e.mfa != "" || !isCredentialError(e.code),
		AuthenticationStepRequirement: "Primary authentication"}
	password.AuthenticationStepResultDetail = "Correct password"
	if !password.Succeeded {
		password.AuthenticationStepResultDetail = "Invalid username or password or Invalid on-premise username or password."
	}
	ev.AuthenticationDetails = []AuthenticationDetail{password}
	if e.mfa != "" {
		ev.AuthenticationRequirement = "multiFactorAuthentication"
		second := AuthenticationDetail{AuthenticationStepDateTime: step, AuthenticationMethod: e.mfa,
			Succeeded: e.mfaDone, AuthenticationStepRequirement: "Secondary authentication",
			AuthenticationStepResultDetail: "MFA successfully completed"}
		if !e.mfaDone {
			second.AuthenticationStepResultDetail = "MFA denied; user did not respond to mobile app notification"
		}
		ev.AuthenticationDetails = append(ev.AuthenticationDetails, second)
	}
	return ev
}

// interactiveUser is every event's signInEventTypes, shared: read only.
var interactiveUser = []string{"interactiveUser"}

func isCredentialError(c errorCode) bool {
	return c == errInvalidCredentials || c == errLocked || c == errDisabled
}

// cities returns a city and state of a country.
func cities(code string) [2]string {
	switch code {
	case "US":
		return [2]string{"Seattle", "Washington"}
	case "DE":
		return [2]string{"Berlin", "Berlin"}
	case "BR":
		return [2]string{"São Paulo", "São Paulo"}
	case "UK":
		return [2]string{"London", "England"}
	case "FR":
		return [2]string{"Paris", "Ile-de-France"}
	case "IL":
		return [2]string{"Tel Aviv", "Tel Aviv"}
	}
	return [2]string{}
}

// latency is the ingestion delay of events.
type latency struct {
	min, max         time.Duration
	lateShare        float64
	lateMin, lateMax time.Duration
}

// of is the latency of the event with key h.
func (l latency) of(h hash) time.Duration {
	if l.lateShare > 0 && h.str("late").unit() < l.lateShare {
		return l.lateMin + time.Duration(h.str("lateBy").unit()*float64(l.lateMax-l.lateMin))
	}
	return l.min + time.Duration(h.str("latency").unit()*float64(l.max-l.min))
}

// logDays returns the days whose events can be in the log at now with the
// retention, newest first.
func logDays(now time.Time, retention time.Duration) []time.Time {
	var out []time.Time
	for d := startOfDay(now); !d.Before(startOfDay(now.Add(-retention))); d = d.AddDate(0, 0, -1) {
		out = append(out, d)
	}
	return out
}
