package graphsim

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind selects what a Fault breaks.
type FaultKind int

// The faults. Graph faults hit report requests (and the containers when
// Fault.Report is empty); the token faults hit the token service.
const (
	FaultNone FaultKind = iota
	// FaultStatus answers Status (500 when zero) with Graph's error
	// envelope: 429 TooManyRequests, 401 InvalidAuthenticationToken, 403
	// Authorization_RequestDenied, 503 serviceNotAvailable, …, and
	// RetryAfter as the Retry-After header when set.
	FaultStatus
	// FaultSlow answers normally after Delay.
	FaultSlow
	// FaultMalformedJSON sends a complete body with a syntax error in it.
	FaultMalformedJSON
	// FaultTruncatedJSON sends the first half of the body, with a matching
	// Content-Length.
	FaultTruncatedJSON
	// FaultWrongTypes sends every number as a string ("count":"abc").
	FaultWrongTypes
	// FaultOversized streams a valid-looking page of Size bytes
	// [DefaultOversize] without a Content-Length.
	FaultOversized
	// FaultStall sends the headers and a few bytes, then holds the body
	// until the client gives up, or until Delay passes and then finishes it.
	FaultStall
	// FaultReset closes the connection in the middle of the body.
	FaultReset
	// FaultNextLinkLoop sets every page's nextLink to the page itself.
	FaultNextLinkLoop
	// FaultNextLinkForeign points the nextLink at ForeignURL, another host
	// or port [https://graph.invalid]. See Sim.ListenForeign.
	FaultNextLinkForeign
	// FaultEmpty answers "value":[] (users/$count: 0).
	FaultEmpty
	// FaultDateBackwards withholds the newest day (daily) or month
	// (monthly), so the newest factDate moves back.
	FaultDateBackwards
	// FaultTokenError makes the token endpoint refuse with MSAL's error
	// JSON for TokenError: an error code ("invalid_client") or an AADSTS
	// code ("AADSTS7000222": expired secret). Status overrides the status.
	FaultTokenError
	// FaultTokenDown makes the whole token service (metadata included)
	// answer Status, or close the connection when Status is zero.
	FaultTokenDown
)

// String returns the kind's name without the Fault prefix.
func (k FaultKind) String() string {
	names := [...]string{"None", "Status", "Slow", "MalformedJSON", "TruncatedJSON", "WrongTypes",
		"Oversized", "Stall", "Reset", "NextLinkLoop", "NextLinkForeign", "Empty", "DateBackwards",
		"TokenError", "TokenDown"}
	if k < 0 || int(k) >= len(names) {
		return "FaultKind(" + strconv.Itoa(int(k)) + ")"
	}
	return names[k]
}

// Fault is a failure the simulator injects until cleared or used up.
type Fault struct {
	Kind FaultKind
	// Report limits a Graph fault to one report: a path segment
	// ("activeUsers", either granularity) or "daily/activeUsers"; or to one
	// activity-log resource: "signIns" or "auditLogs/signIns", "signUps",
	// "users" or "users/$count", "userRegistrationDetails" or
	// "reports/authenticationMethods/userRegistrationDetails". Matched
	// case-insensitively. "" = every Graph request.
	Report string
	// Times is how many matching requests fail; 0 = until cleared.
	Times int
	// Status is the HTTP status of FaultStatus, FaultTokenError and
	// FaultTokenDown.
	Status int
	// RetryAfter is sent verbatim as the Retry-After header ("" = none):
	// "2", "2.128", or an HTTP date.
	RetryAfter string
	// Delay holds the faulty answer back; for FaultStall it bounds the stall.
	Delay time.Duration
	// Size is the body size of FaultOversized.
	Size int64
	// ForeignURL is the scheme://host:port FaultNextLinkForeign links to.
	ForeignURL string
	// TokenError is the error FaultTokenError returns.
	TokenError string
}

// faultScope is the kind of request a fault may hit.
type faultScope int

const (
	scopeGraph faultScope = iota
	scopeToken
	scopeMetadata // OpenID configuration and instance discovery
)

// faultSwitch holds the current fault and how many uses it has left.
type faultSwitch struct {
	mu    sync.Mutex
	fault Fault
	left  int
}

func (fs *faultSwitch) set(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.fault, fs.left = f, f.Times
}

// take returns the current fault if it hits a request of scope for the
// resource named full and seg (see target.faultNames; "" for a container
// or the token service), and uses one of its Times.
func (fs *faultSwitch) take(scope faultScope, full, seg string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.fault
	if f.Kind == FaultNone || !f.hits(scope, full, seg) {
		return Fault{}, false
	}
	if f.Times > 0 {
		if fs.left == 0 {
			return Fault{}, false
		}
		fs.left--
	}
	return f, true
}

func (f Fault) hits(scope faultScope, full, seg string) bool {
	switch f.Kind {
	case FaultTokenError:
		return scope == scopeToken
	case FaultTokenDown:
		return scope == scopeToken || scope == scopeMetadata
	}
	if scope != scopeGraph {
		return false
	}
	switch {
	case f.Report == "":
		return true
	case full == "":
		return false
	case strings.Contains(f.Report, "/"):
		return strings.EqualFold(f.Report, full)
	}
	return strings.EqualFold(f.Report, seg)
}
