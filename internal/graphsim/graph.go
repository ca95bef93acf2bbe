package graphsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// targetKind is what a Graph path addresses.
type targetKind int

const (
	containerTarget  targetKind = iota // /reports, /reports/userInsights[/daily|/monthly]
	collectionTarget                   // a report
	countTarget                        // a report's /$count
	itemTarget                         // a report's /{id}
	logTarget                          // an activity log, users/$count or userRegistrationDetails
)

// logResource is a resource of the activity-log source.
type logResource int

const (
	signInsResource logResource = iota
	signUpsResource
	userCountResource
	registrationsResource
)

// name is the resource's path below the version, as faults match it.
func (l logResource) name() string {
	return [...]string{"auditLogs/signIns", "auditLogs/signUps", "users/$count",
		"reports/authenticationMethods/userRegistrationDetails"}[l]
}

// target is a parsed Graph path.
type target struct {
	kind      targetKind
	report    *insights.Report // nil for containers
	container string           // the container's id
	id        string           // the item id
	log       logResource      // for logTarget
	canonical string           // path below the version, in Graph's spelling
}

// parseGraphPath parses a path below the version segment, matching segments
// case-insensitively as Graph does. When the path addresses nothing, the
// target's canonical path is empty and the first unknown segment is returned.
func parseGraphPath(version string, segs []string) (target, string) {
	if len(segs) == 0 || segs[0] == "" {
		return target{}, ""
	}
	beta := strings.EqualFold(version, "beta")
	logAt := func(l logResource) (target, string) {
		return target{kind: logTarget, log: l, canonical: "/" + l.name()}, ""
	}
	switch {
	case strings.EqualFold(segs[0], "auditLogs") && len(segs) == 2:
		switch {
		case strings.EqualFold(segs[1], "signIns"):
			return logAt(signInsResource)
		case strings.EqualFold(segs[1], "signUps") && beta: // beta only
			return logAt(signUpsResource)
		}
		return target{}, segs[1]
	case strings.EqualFold(segs[0], "users") && len(segs) == 2 && segs[1] == "$count":
		return logAt(userCountResource)
	case !strings.EqualFold(segs[0], "reports"):
		return target{}, segs[0]
	case len(segs) == 1:
		return target{kind: containerTarget, container: "reports", canonical: "/reports"}, ""
	case strings.EqualFold(segs[1], "authenticationMethods"):
		if len(segs) == 3 && strings.EqualFold(segs[2], "userRegistrationDetails") {
			return logAt(registrationsResource)
		}
		return target{}, segs[len(segs)-1]
	}
	// Only beta has userInsights.
	if !strings.EqualFold(segs[1], "userInsights") || !strings.EqualFold(version, "beta") {
		return target{}, segs[1]
	}
	if len(segs) == 2 {
		return target{kind: containerTarget, container: "userInsights", canonical: "/reports/userInsights"}, ""
	}
	var g insights.Granularity
	switch {
	case strings.EqualFold(segs[2], string(insights.Daily)):
		g = insights.Daily
	case strings.EqualFold(segs[2], string(insights.Monthly)):
		g = insights.Monthly
	default:
		return target{}, segs[2]
	}
	if len(segs) == 3 {
		return target{kind: containerTarget, container: string(g), canonical: "/reports/userInsights/" + string(g)}, ""
	}
	var rep *insights.Report
	for _, r := range insights.AllReports() {
		if r.Granularity == g && strings.EqualFold(r.Name, segs[3]) {
			rep = &r
			break
		}
	}
	if rep == nil {
		return target{}, segs[3]
	}
	switch {
	case len(segs) == 4:
		return target{kind: collectionTarget, report: rep, canonical: rep.Path()}, ""
	case len(segs) > 5:
		return target{}, segs[5]
	case segs[4] == "$count":
		return target{kind: countTarget, report: rep, canonical: rep.Path() + "/$count"}, ""
	}
	return target{kind: itemTarget, report: rep, id: segs[4], canonical: rep.Path() + "/{id}"}, ""
}

// serveGraph answers a request below /beta or /v1.0: authentication, faults,
// throttle, then the addressed resource.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	reqID := newID()
	clientID := r.Header.Get("client-request-id")
	if clientID == "" {
		clientID = reqID
	}
	h := w.Header()
	h.Set("request-id", reqID)
	h.Set("client-request-id", clientID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"graphsim"}}`)
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	c := call{w: w, r: r, reqID: reqID, clientID: clientID}

	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	t, bad := parseGraphPath(segs[0], segs[1:])
	tenant, problem := s.authorize(r)
	key := t.canonical
	if key == "" {
		key = r.URL.Path
	}
	s.stats.graph(r, key, tenant, problem == "", s.opts.Wall())
	if problem != "" {
		s.graphError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", problem, "")
		return
	}
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		s.graphError(c, http.StatusMethodNotAllowed, "BadRequest", "Unsupported HTTP method '"+r.Method+"'.", "")
		return
	}
	if s.opts.Throttle {
		if wait, ok := s.throttle.admit(tenant, s.opts.Wall()); !ok {
			s.stats.throttled()
			s.graphError(c, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", retryAfter(wait))
			return
		}
	}
	full, seg := t.faultNames()
	f, faulty := s.faults.take(scopeGraph, full, seg)
	if faulty {
		s.stats.faulted()
		if f.Kind != FaultStall && !s.wait(r.Context(), f.Delay) {
			return
		}
		if s.earlyFault(c, f) {
			return
		}
	}
	if t.canonical == "" {
		s.graphError(c, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+bad+"'.", "")
		return
	}
	if t.report != nil || t.container == "userInsights" || t.container == string(insights.Daily) ||
		t.container == string(insights.Monthly) {
		if s.retiredAnswer(c, t) {
			return
		}
	}
	switch t.kind {
	case containerTarget:
		s.serveContainer(c, t, f)
	case logTarget:
		s.serveLog(c, t, segs[0], tenant, f)
	default:
		s.serveReport(c, t, tenant, f)
	}
}

// faultNames returns the names a Fault.Report matches for t: the full
// name ("daily/activeUsers", "auditLogs/signIns") and the last segment
// ("activeUsers", "signIns"; "users" for users/$count).
func (t target) faultNames() (full, seg string) {
	switch {
	case t.report != nil:
		return t.report.String(), t.report.Name
	case t.kind == logTarget:
		full = t.log.name()
		if t.log == userCountResource {
			return full, "users"
		}
		return full, full[strings.LastIndexByte(full, '/')+1:]
	}
	return "", ""
}

// retiredAnswer answers a userInsights request as the retirement mode
// says, and reports whether it did; RetiredEmpty is left to serveReport.
func (s *Server) retiredAnswer(c call, t target) bool {
	const msg = "Resource not found for the segment 'userInsights'."
	switch s.Retirement() {
	case RetiredBadRequest:
		s.graphError(c, http.StatusBadRequest, "BadRequest", msg, "")
	case RetiredNotFound:
		s.graphError(c, http.StatusNotFound, "BadRequest", msg, "")
	case RetiredGone:
		s.graphError(c, http.StatusGone, "BadRequest", msg, "")
	default:
		return false
	}
	return true
}

// call is one Graph request being answered.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	reqID    string
	clientID string
}

func (s *Server) serveContainer(c call, t target, f Fault) {
	body, _ := json.Marshal(struct {
		Context string `json:"@odata.context"`
		ID      string `json:"id"`
	}{baseURL(c.r) + "/beta/$metadata#" + strings.TrimPrefix(t.canonical, "/") + "/$entity", t.container})
	s.writeBody(c, jsonContentType, body, f)
}

// graphError writes Graph's error envelope. A 429 also carries Graph's
// inner code and status; retryAfter is sent verbatim when not empty.
func (s *Server) graphError(c call, status int, code, message, retryAfter string) {
	type inner struct {
		Code            string `json:"code,omitempty"`
		Message         string `json:"message,omitempty"`
		Status          string `json:"status,omitempty"`
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type mainError struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError inner  `json:"innerError"`
	}
	in := inner{Date: s.opts.Wall().UTC().Format("2006-01-02T15:04:05"), RequestID: c.reqID, ClientRequestID: c.clientID}
	if status == http.StatusTooManyRequests {
		in.Code, in.Message, in.Status = "429", "Please retry after", "429"
	}
	body, _ := json.Marshal(struct {
		Error mainError `json:"error"`
	}{mainError{Code: code, Message: message, InnerError: in}})
	if retryAfter != "" {
		c.w.Header().Set("Retry-After", retryAfter)
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// statusError returns Graph's error code and message for a status.
func statusError(status int) (code, message string) {
	switch status {
	case http.StatusBadRequest:
		return "BadRequest", "Invalid request."
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
	case http.StatusForbidden:
		return "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	case http.StatusNotFound:
		return "ResourceNotFound", "Resource not found."
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Please retry again later."
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable", "The service is temporarily unavailable. Please retry after a short delay."
	case http.StatusGatewayTimeout:
		return "UnknownError", "Gateway timeout."
	case http.StatusInternalServerError:
		return "generalException", "General exception while processing."
	}
	return "UnknownError", http.StatusText(status)
}
