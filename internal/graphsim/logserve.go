package graphsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file answers the activity-log source's endpoints.

// logRulesOf returns what the read of resource accepts: Microsoft's
// documented contract, widened only by the lenient Options.
func (s *Server) logRulesOf(resource logResource) logRules {
	if resource == registrationsResource {
		// "This method supports the $filter OData query parameter"
		// (api-reference/beta/api/authenticationmethodsroot-list-userregistrationdetails.md;
		// v1.0 adds $orderby). $skiptoken is in Graph's own nextLinks.
		return logRules{entity: "userRegistrationDetails", props: registrationProps(),
			options: []string{"$filter", "$orderby", "$skiptoken"}}
	}
	// "This method supports the $top, $skiptoken, and $filter OData query
	// parameters" (api-reference/beta/api/signin-list.md,
	// auditlogroot-list-signups.md); createdDateTime "Supports $orderby,
	// $filter (eq, le, and ge)" (api-reference/beta/resources/signin.md,
	// selfservicesignup.md).
	r := logRules{entity: "signIn", field: "createdDateTime", props: signInProps(),
		options: []string{"$filter", "$top", "$skiptoken", "$orderby"}, ops: []string{"eq", "le", "ge"},
		retention: s.opts.LogRetention}
	if resource == signUpsResource {
		r.entity, r.props = "selfServiceSignUp", signUpProps()
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
	e := logEncoder{q: &q, tenant: tenant, wrongTypes: f.Kind == FaultWrongTypes}
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
	b := make([]byte, 0, 512+4096*(end-start)) // a full sign-in is 3–4 KB
	b = append(b, `{"@odata.context":`...)
	ctx := base + "/" + version + "/$metadata#" + strings.TrimPrefix(t.canonical, "/")
	if q.selected != nil {
		ctx += "(" + strings.Join(q.selected, ",") + ")"
	}
	b = appendString(b, ctx)
	if t.log == signUpsResource && q.selected == nil {
		b = append(b, `,"@microsoft.graph.tips":`...)
		b = appendString(b, signUpsTip)
	}
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
	// The code users and the exporter see; the message is the one entra-docs
	// docs/identity/monitoring-health/howto-analyze-activity-logs-with-microsoft-graph.md
	// lists under "Common errors" ("requires a Microsoft Entra ID P1 or P2
	// license").
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
