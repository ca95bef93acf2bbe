package graphsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file answers the activity-log source's endpoints.

// Properties $select may name, in the order they are sent.
var (
	signInProps = []string{"id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId",
		"appId", "appDisplayName", "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus",
		"isInteractive", "riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState",
		"resourceDisplayName", "resourceId", "signInEventTypes", "status", "deviceDetail", "location",
		"authenticationRequirement", "authenticationDetails", "userType", "tokenIssuerType",
		"signInIdentifier", "signInIdentifierType"}
	signUpProps = []string{"id", "createdDateTime", "appDisplayName", "appId", "appliedEventListeners",
		"correlationId", "fraudProtectionDetails", "signUpIdentity", "signUpIdentityProvider", "signUpStage",
		"status", "userId"}
	registrationProps = []string{"id", "userPrincipalName", "userDisplayName", "userType", "isAdmin",
		"isSsprRegistered", "isSsprEnabled", "isSsprCapable", "isMfaRegistered", "isMfaCapable",
		"isPasswordlessCapable", "isSystemPreferredAuthenticationMethodEnabled",
		"systemPreferredAuthenticationMethods", "userPreferredMethodForSecondaryAuthentication",
		"methodsRegistered", "defaultMfaMethod", "lastUpdatedDateTime"}
)

// logRulesOf returns what the read of resource accepts: Microsoft's
// documented contract, widened only by the lenient Options.
func (s *Server) logRulesOf(resource logResource) logRules {
	if resource == registrationsResource {
		// "This method supports the $filter OData query parameter"
		// (api-reference/beta/api/authenticationmethodsroot-list-userregistrationdetails.md;
		// v1.0 adds $orderby). $skiptoken is in Graph's own nextLinks.
		return logRules{entity: "userRegistrationDetails", props: registrationProps,
			options: []string{"$filter", "$orderby", "$skiptoken"}}
	}
	// "This method supports the $top, $skiptoken, and $filter OData query
	// parameters" (api-reference/beta/api/signin-list.md,
	// auditlogroot-list-signups.md); createdDateTime "Supports $orderby,
	// $filter (eq, le, and ge)" (api-reference/beta/resources/signin.md,
	// selfservicesignup.md).
	r := logRules{entity: "signIn", field: "createdDateTime", props: signInProps,
		options: []string{"$filter", "$top", "$skiptoken", "$orderby"}, ops: []string{"eq", "le", "ge"},
		retention: s.opts.LogRetention}
	if resource == signUpsResource {
		r.entity, r.props = "selfServiceSignUp", signUpProps
	}
	if s.opts.AcceptSelect {
		r.options = append(r.options, "$select")
	}
	if s.opts.NoMinDate {
		r.retention = 0
	}
	return r
}

// serveLog answers an activity-log resource below version.
func (s *Server) serveLog(c call, t target, version, tenant string, f Fault) {
	if t.log == userCountResource {
		s.serveUserCount(c, tenant, f)
		return
	}
	q, err := parseLogQuery(c.r.URL.RawQuery, s.logRulesOf(t.log), s.opts.Now())
	if err != nil {
		s.graphError(c, http.StatusBadRequest, "BadRequest", err.Error(), "")
		return
	}
	e := logEncoder{q: &q, wrongTypes: f.Kind == FaultWrongTypes}
	var n int
	var item func(b []byte, i int) []byte
	switch t.log {
	case signInsResource:
		evs := keep(s.signInsAt(tenant, q.asOf), func(e *SignInEvent) bool { return matchAll(q.clauses, e.CreatedDateTime) })
		n, item = len(evs), func(b []byte, i int) []byte { return e.signIn(b, evs[i]) }
	case signUpsResource:
		evs := keep(s.signUpsAt(tenant, q.asOf), func(e *SignUpEvent) bool { return matchAll(q.clauses, e.CreatedDateTime) })
		n, item = len(evs), func(b []byte, i int) []byte { return e.signUp(b, evs[i]) }
	default:
		g := newGen(tenant, q.asOf, true)
		users := g.directory(false)
		n, item = len(users), func(b []byte, i int) []byte { return e.registration(b, &users[i].Registration) }
	}
	if f.Kind == FaultEmpty {
		n = 0
	}
	order := func(i int) int { return i }
	if q.asc {
		order = func(i int) int { return n - 1 - i }
	}
	size := s.opts.LogPageSize
	if q.top > 0 {
		size = min(size, q.top)
	}
	start := min(q.offset, n)
	end := min(start+size, n)
	base := baseURL(c.r)
	var next string
	switch {
	case f.Kind == FaultNextLinkLoop:
		next = base + c.r.URL.RequestURI()
	case f.Kind == FaultNextLinkForeign:
		foreign := f.ForeignURL
		if foreign == "" {
			foreign = "https://graph.invalid"
		}
		next = logNextLink(foreign, version, t.canonical, q, end)
	case end < n:
		next = logNextLink(base, version, t.canonical, q, end)
	}
	b := make([]byte, 0, 256+900*(end-start))
	b = append(b, `{"@odata.context":`...)
	ctx := base + "/" + version + "/$metadata#" + strings.TrimPrefix(t.canonical, "/")
	if q.selected != nil {
		ctx += "(" + strings.Join(q.selected, ",") + ")"
	}
	b = appendString(b, ctx)
	b = append(b, `,"value":[`...)
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		b = item(b, order(i))
	}
	b = append(b, ']')
	if next != "" { // Graph sends the activity logs' nextLink after the value
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, next)
	}
	s.writeBody(c, jsonContentType, append(b, '}'), f)
}

// keep returns the elements of xs that ok accepts.
func keep[E any](xs []*E, ok func(*E) bool) []*E {
	out := xs[:0]
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// serveUserCount answers users/$count: ConsistencyLevel eventual is
// required; a signInActivity filter needs the licence.
func (s *Server) serveUserCount(c call, tenant string, f Fault) {
	if !strings.EqualFold(c.r.Header.Get("ConsistencyLevel"), "eventual") {
		s.graphError(c, http.StatusBadRequest, "Request_BadRequest",
			"Count is not currently supported unless the ConsistencyLevel header is set to eventual.", "")
		return
	}
	var clauses []timeClause
	for key, values := range c.r.URL.Query() {
		var err error
		switch key {
		case "$filter":
			clauses, err = parseTimeFilter(values[0], "signInActivity/lastSuccessfulSignInDateTime", "user",
				[]string{"eq", "ge", "gt", "le", "lt"})
		case "$search":
			err = errUnsupported("$search")
		default:
			if strings.HasPrefix(key, "$") {
				err = errUnsupported(key)
			}
		}
		if err != nil {
			s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query: "+err.Error(), "")
			return
		}
	}
	if clauses != nil && s.opts.SignInActivityUnlicensed {
		s.graphError(c, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license", "")
		return
	}
	now := s.opts.Now()
	var n int64
	switch {
	case f.Kind == FaultEmpty:
	case clauses == nil:
		n = UserCount(tenant, now)
	default:
		for _, u := range s.users(tenant, now) {
			if !u.LastSuccessfulSignIn.IsZero() && matchAll(clauses, u.LastSuccessfulSignIn) {
				n++
			}
		}
	}
	body := strconv.AppendInt(nil, n, 10)
	if f.Kind == FaultWrongTypes {
		body = []byte("abc")
	}
	s.writeBody(c, "text/plain", body, f)
}

type unsupported string

func (u unsupported) Error() string { return "query option '" + string(u) + "' is not supported" }

func errUnsupported(key string) error { return unsupported(key) }

// users returns the directory at now with its last sign-ins, from the
// server's cached events.
func (s *Server) users(tenant string, now time.Time) []User {
	g := newGen(tenant, now, true)
	g.dayEvents = func(d time.Time) []SignInEvent {
		return s.logs.day(tenant, signInLog, d, now, latency{}).signIns
	}
	return g.directory(true)
}

// logEncoder writes events as Graph's JSON, with the quirks of the
// package documentation, only the selected properties.
type logEncoder struct {
	q          *logQuery
	wrongTypes bool
}

// object builds one JSON object of selected properties.
type object struct {
	b   []byte
	n   int
	sel func(string) bool
}

// key starts property name if it is selected, and reports whether it is.
func (o *object) key(name string) bool {
	if o.sel != nil && !o.sel(name) {
		return false
	}
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = appendString(o.b, name)
	o.b = append(o.b, ':')
	return true
}

func (o *object) str(name, v string) {
	if o.key(name) {
		o.b = appendString(o.b, v)
	}
}

// strOrNull sends "" as null.
func (o *object) strOrNull(name, v string) {
	if !o.key(name) {
		return
	}
	if v == "" {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = appendString(o.b, v)
}

func (o *object) boolean(name string, v bool) {
	if o.key(name) {
		o.b = strconv.AppendBool(o.b, v)
	}
}

func (o *object) raw(name, v string) {
	if o.key(name) {
		o.b = append(o.b, v...)
	}
}

func (o *object) instant(name string, t time.Time, layout string) {
	if o.key(name) {
		o.b = append(o.b, '"')
		o.b = t.UTC().AppendFormat(o.b, layout)
		o.b = append(o.b, '"')
	}
}

// wireTime is Graph's createdDateTime layout: whole seconds.
const wireTime = "2006-01-02T15:04:05Z"

// nested returns an object for a nested value: every property.
func nested(b []byte) *object { return &object{b: append(b, '{')} }

func (o *object) close() []byte { return append(o.b, '}') }

func (e logEncoder) top(b []byte) *object {
	return &object{b: append(b, '{'), sel: e.q.selects}
}

func (e logEncoder) status(b []byte, st SignInStatus) []byte {
	o := nested(b)
	if o.key("errorCode") {
		if e.wrongTypes {
			o.b = append(o.b, `"abc"`...)
		} else {
			o.b = strconv.AppendInt(o.b, int64(st.ErrorCode), 10)
		}
	}
	o.strOrNull("failureReason", st.FailureReason)
	o.strOrNull("additionalDetails", st.AdditionalDetails)
	return o.close()
}

// signIn appends one sign-in. Quirks, drawn from its id: a "" os or
// browser is sometimes null; a "" country is a null, absent or empty
// location; a fifth of the events carry an unknown property.
func (e logEncoder) signIn(b []byte, ev *SignInEvent) []byte {
	h := newHash(ev.ID)
	o := e.top(b)
	o.str("id", ev.ID)
	o.instant("createdDateTime", ev.CreatedDateTime, wireTime)
	o.str("userDisplayName", ev.UserDisplayName)
	o.str("userPrincipalName", ev.UserPrincipalName)
	o.str("userId", ev.UserID)
	o.str("appId", ev.AppID)
	o.str("appDisplayName", ev.AppDisplayName)
	ip := h.str("ip")
	o.str("ipAddress", "203.0.113."+strconv.Itoa(1+ip.pick(254)))
	o.str("clientAppUsed", ev.ClientAppUsed)
	o.str("correlationId", ev.CorrelationID)
	ca := "notApplied"
	if ev.Status.ErrorCode == errBlockedByCA.code {
		ca = "failure"
	}
	o.str("conditionalAccessStatus", ca)
	o.boolean("isInteractive", ev.IsInteractive)
	o.str("riskDetail", "none")
	o.str("riskLevelAggregated", "none")
	o.str("riskLevelDuringSignIn", "none")
	o.str("riskState", "none")
	o.str("resourceDisplayName", "Microsoft Graph")
	o.str("resourceId", "00000003-0000-0000-c000-000000000000")
	if o.key("signInEventTypes") {
		o.b = append(o.b, '[')
		for i, t := range ev.SignInEventTypes {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, t)
		}
		o.b = append(o.b, ']')
	}
	if o.key("status") {
		o.b = e.status(o.b, ev.Status)
	}
	if o.key("deviceDetail") {
		d := nested(o.b)
		d.str("deviceId", "")
		d.str("displayName", "")
		if ev.DeviceDetail.OperatingSystem == "" && h.str("osNull").unit() < 0.5 {
			d.raw("operatingSystem", "null")
		} else {
			d.str("operatingSystem", ev.DeviceDetail.OperatingSystem)
		}
		if ev.DeviceDetail.Browser == "" && h.str("browserNull").unit() < 0.5 {
			d.raw("browser", "null")
		} else {
			d.str("browser", ev.DeviceDetail.Browser)
		}
		d.boolean("isCompliant", false)
		d.boolean("isManaged", false)
		d.str("trustType", "")
		o.b = d.close()
	}
	loc := ev.Location
	switch quirk := h.str("location").pick(3); {
	case loc.CountryOrRegion == "" && quirk == 0:
		o.raw("location", "null")
	case loc.CountryOrRegion == "" && quirk == 1: // absent
	case o.key("location"):
		l := nested(o.b)
		l.strOrNull("city", loc.City)
		l.strOrNull("state", loc.State)
		l.str("countryOrRegion", loc.CountryOrRegion)
		l.raw("geoCoordinates", `{"altitude":null,"latitude":47.6,"longitude":-122.3}`)
		o.b = l.close()
	}
	o.str("authenticationRequirement", ev.AuthenticationRequirement)
	if o.key("authenticationDetails") {
		o.b = append(o.b, '[')
		for i, d := range ev.AuthenticationDetails {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			x := nested(o.b)
			x.instant("authenticationStepDateTime", d.AuthenticationStepDateTime, wireTime)
			x.str("authenticationMethod", d.AuthenticationMethod)
			x.str("authenticationMethodDetail", d.AuthenticationMethodDetail)
			x.boolean("succeeded", d.Succeeded)
			x.str("authenticationStepResultDetail", d.AuthenticationStepResultDetail)
			x.str("authenticationStepRequirement", d.AuthenticationStepRequirement)
			o.b = x.close()
		}
		o.b = append(o.b, ']')
	}
	o.str("userType", "member")
	o.str("tokenIssuerType", "AzureAD")
	o.str("signInIdentifier", ev.UserPrincipalName)
	o.str("signInIdentifierType", "userPrincipalName")
	if e.q.selected == nil && h.str("extra").unit() < 0.2 {
		o.raw("newProperty", `{"flag":true,"items":[1,2]}`)
	}
	return o.close()
}

// signUp appends one sign-up; a failed one has a null userId.
func (e logEncoder) signUp(b []byte, ev *SignUpEvent) []byte {
	h := newHash(ev.ID)
	o := e.top(b)
	o.str("id", ev.ID)
	o.instant("createdDateTime", ev.CreatedDateTime, wireTime)
	o.str("appDisplayName", ev.AppDisplayName)
	o.str("appId", ev.AppID)
	o.raw("appliedEventListeners", "[]")
	o.str("correlationId", ev.CorrelationID)
	o.raw("fraudProtectionDetails", "null")
	if o.key("signUpIdentity") {
		x := nested(o.b)
		x.str("signUpIdentifier", ev.SignUpIdentity.SignUpIdentifier)
		x.str("signUpIdentifierType", ev.SignUpIdentity.SignUpIdentifierType)
		o.b = x.close()
	}
	o.str("signUpIdentityProvider", ev.SignUpIdentityProvider)
	o.str("signUpStage", ev.SignUpStage)
	if o.key("status") {
		o.b = e.status(o.b, ev.Status)
	}
	o.strOrNull("userId", ev.UserID)
	if e.q.selected == nil && h.str("extra").unit() < 0.2 {
		o.raw("newProperty", `"x"`)
	}
	return o.close()
}

// registration appends one userRegistrationDetails entry; its
// lastUpdatedDateTime has Graph's seven fractional digits.
func (e logEncoder) registration(b []byte, r *UserRegistration) []byte {
	o := e.top(b)
	o.str("id", r.ID)
	o.str("userPrincipalName", r.UserPrincipalName)
	o.str("userDisplayName", r.UserDisplayName)
	o.str("userType", r.UserType)
	o.boolean("isAdmin", r.IsAdmin)
	o.boolean("isSsprRegistered", false)
	o.boolean("isSsprEnabled", false)
	o.boolean("isSsprCapable", false)
	o.boolean("isMfaRegistered", r.IsMfaRegistered)
	o.boolean("isMfaCapable", r.IsMfaCapable)
	o.boolean("isPasswordlessCapable", false)
	o.boolean("isSystemPreferredAuthenticationMethodEnabled", false)
	o.raw("systemPreferredAuthenticationMethods", "[]")
	o.str("userPreferredMethodForSecondaryAuthentication", "none")
	if o.key("methodsRegistered") {
		o.b = append(o.b, '[')
		for i, m := range r.MethodsRegistered {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, m)
		}
		o.b = append(o.b, ']')
	}
	o.str("defaultMfaMethod", r.DefaultMfaMethod)
	o.instant("lastUpdatedDateTime", r.LastUpdatedDateTime, "2006-01-02T15:04:05.0000000Z")
	return o.close()
}
