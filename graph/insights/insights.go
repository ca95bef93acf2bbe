// Package insights is the vocabulary below the sources and the collector:
// the report catalog (catalog.go: the units a config file lists and the
// dimensions it may keep), what Graph sends (the activity logs' events,
// events.go; the retired userInsights reports' rows, Row), the documented
// interrupt codes (interrupts.go), the error classification, the probe's
// result line (probe.go), label normalisation and period starts
// (labels.go). It imports no SDK, so the
// collector, the simulator, the fuzz targets and most tests build without
// compiling the Graph SDK.
package insights

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Granularity is the reporting period of a report: a day or a month.
type Granularity string

// The two granularities Graph offers under /reports/userInsights.
const (
	Daily   Granularity = "daily"
	Monthly Granularity = "monthly"
)

// Report names one Graph report, e.g. daily/activeUsers.
type Report struct {
	Granularity Granularity
	Name        string
}

// String returns "granularity/name", the form used in config files and logs.
func (r Report) String() string { return string(r.Granularity) + "/" + r.Name }

// Path returns the report's path below the Graph version root.
func (r Report) Path() string { return "/reports/userInsights/" + string(r.Granularity) + "/" + r.Name }

// ParseReport parses "granularity/name" as written by Report.String.
func ParseReport(s string) (Report, error) {
	for _, r := range KnownReports() {
		if r.String() == s {
			return r, nil
		}
	}
	return Report{}, fmt.Errorf("unknown report %q (want e.g. daily/activeUsers)", s)
}

// Failure is one entry of authenticationsMetric.failures or
// mfaCompletionMetric.mfaFailures.
type Failure struct {
	ReasonCode string // enum value as Graph sends it, "" when absent
	Reason     string // free text; never used as a label
	Count      int64
}

// Row is one fact row of a userInsights report, as Graph sends it: the
// wire model of the retired API, which graph/rows.go decodes and the
// userinsights source maps into families. Each report fills the fields it
// has and leaves the others zero; absent or null fields are zero as well.
// String fields hold Graph's values verbatim: normalisation for labels is
// the collector's job.
type Row struct {
	FactDate time.Time // 00:00 UTC of factDate

	// Dimensions.
	AppID            string // appId, or appid on authentications
	AppName          string
	OS               string
	Country          string
	Language         string
	Browser          string
	AuthFlow         string
	IdentityProvider string
	MFAMethod        string // mfaCompletions.mfaMethod (free text)
	MFAType          string // mfaRegisteredUsers.mfaType (enum)

	// Values. Count is activeUsers, signUps, userCount and
	// mfaRegisteredUsers' count, and requests' requestCount.
	Count     int64
	Attempts  int64 // attemptsCount
	Successes int64 // successCount
	Failures  []Failure

	// summary
	ActiveUsers               int64
	AuthenticationRequests    int64
	AuthenticationCompletions int64
	SecurityTextRequests      int64
	SecurityTextCompletions   int64
	SecurityVoiceRequests     int64
	SecurityVoiceCompletions  int64

	// inactiveUsers and inactiveUsersByApplication
	Inactive1Day          int64 // daily only
	InactiveCalendarMonth int64 // monthly only
	Inactive30Day         int64
	Inactive60Day         int64
	Inactive90Day         int64

	// mfaTelecomFraud
	CaptchaShownUsers        int64
	CaptchaSuccesses         int64
	CaptchaFailures          int64
	CaptchaNotTriggeredUsers int64
	TelecomBlockedUsers      int64
}

// Dimension returns the row's value of the dimension with the given label
// name (app_id, os, country, language, browser, auth_flow,
// identity_provider, mfa_method, mfa_type), and false for other names.
func (r *Row) Dimension(label string) (string, bool) {
	switch label {
	case "app_id":
		return r.AppID, true
	case "os":
		return r.OS, true
	case "country":
		return r.Country, true
	case "language":
		return r.Language, true
	case "browser":
		return r.Browser, true
	case "auth_flow":
		return r.AuthFlow, true
	case "identity_provider":
		return r.IdentityProvider, true
	case "mfa_method":
		return r.MFAMethod, true
	case "mfa_type":
		return r.MFAType, true
	}
	return "", false
}

// Reason classifies why a report refresh failed; its values are the
// reason label of entra_insights_refresh_errors_total.
type Reason string

// The failure reasons.
const (
	ReasonUnauthorized Reason = "unauthorized" // 401 from Graph, even after a fresh token
	ReasonForbidden    Reason = "forbidden"    // 403: a permission (or its consent) missing
	ReasonThrottled    Reason = "throttled"    // 429 after the retries
	ReasonServerError  Reason = "server_error" // 5xx after the retries, or another unexpected status
	ReasonBadRequest   Reason = "bad_request"  // 400 and other 4xx: Graph refused the request as sent
	ReasonTimeout      Reason = "timeout"      // the refresh or a request timed out
	ReasonNetwork      Reason = "network"      // connection refused, reset, DNS, TLS
	ReasonBadResponse  Reason = "bad_response" // undecodable, oversized, looping or foreign nextLink
	ReasonToken        Reason = "token"        // the token service refused the credential (or it could not be built)
	// ReasonTokenUnreachable: the token service did not answer (network,
	// DNS, proxy, TLS, timeout) or failed (5xx): not the credential's fault.
	ReasonTokenUnreachable Reason = "token_unreachable"
	ReasonRetired          Reason = "retired" // the userInsights API is retired (empty or resource not found everywhere)
)

// Reasons lists every Reason, for initialising counters.
func Reasons() []Reason {
	return []Reason{ReasonUnauthorized, ReasonForbidden, ReasonThrottled, ReasonServerError, ReasonBadRequest,
		ReasonTimeout, ReasonNetwork, ReasonBadResponse, ReasonToken,
		ReasonTokenUnreachable, ReasonRetired}
}

// Error is a classified report failure. Hint says what an operator should do.
type Error struct {
	Reason Reason
	Status int    // HTTP status from Graph, 0 when none
	Code   string // Graph's own error code (error.code of the body), "" when none
	Hint   string // e.g. "grant the application permission Insights-UserMetric.Read.All and admin consent"
	Err    error
}

func (e *Error) Error() string {
	msg := string(e.Reason)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of err: the one of the first *Error in its
// chain, timeout for context deadlines, else network.
func ReasonOf(err error) Reason {
	var ie *Error
	switch {
	case errors.As(err, &ie):
		return ie.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	return ReasonNetwork
}

// HintOf returns the operator hint of the first *Error in err's chain.
func HintOf(err error) string {
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Hint
	}
	return ""
}
