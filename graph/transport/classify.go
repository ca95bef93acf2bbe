package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Operator hints attached to classified failures.
const (
	HintUnauthorized = "Graph rejected the access token: check the tenant id, the client id and that " +
		"the token audience (--graph.scope) belongs to the cloud of --graph.url"
	HintForbidden = "Graph refused the request: the app registration lacks a permission or its " +
		"admin consent"
	HintThrottled   = "Graph throttled the exporter: lengthen --insights.refresh-interval or spread the tenants"
	HintServerError = "Graph failed after retries; the next refresh tries again"
	HintBadRequest  = "Graph refused the request: check --graph.url (the beta API may have changed)"
	// HintRefusedQuery goes with Graph's own message, which names the
	// query option or filter it refused.
	HintRefusedQuery = "Graph refused the query as sent (its message names what it refused); run " +
		"`entra_insights_exporter probe` and include its output in a bug report"
	HintTimeout     = "Graph did not answer in time: check the network path or raise --insights.refresh-timeout"
	HintNetwork     = "cannot reach Graph: check DNS, proxy and firewall for the Graph host"
	HintTLS         = "the Graph server certificate is not trusted: add its CA with --graph.ca-file or SSL_CERT_FILE"
	HintBadResponse = "Graph sent a response the exporter cannot use"
)

// StatusError classifies a final HTTP error status from Graph. detail, if
// not nil, carries Graph's own error code and message.
func StatusError(status int, detail error) *insights.Error {
	e := &insights.Error{Status: status, Err: detail}
	switch {
	case status == http.StatusUnauthorized:
		e.Reason, e.Hint = insights.ReasonUnauthorized, HintUnauthorized
	case status == http.StatusForbidden:
		e.Reason, e.Hint = insights.ReasonForbidden, HintForbidden
	case status == http.StatusTooManyRequests:
		e.Reason, e.Hint = insights.ReasonThrottled, HintThrottled
	case status >= 500:
		e.Reason, e.Hint = insights.ReasonServerError, HintServerError
	case status >= 400: // 400, 404, …: a request Graph does not understand
		e.Reason, e.Hint = insights.ReasonBadRequest, HintBadRequest
	default: // 1xx or 3xx after the redirects: nothing Graph should send
		e.Reason, e.Hint = insights.ReasonServerError, HintServerError
	}
	if e.Err == nil {
		e.Err = errors.New(http.StatusText(status))
	}
	return e
}

// BadResponse classifies a response the exporter cannot use: undecodable,
// too large, or a nextLink that loops or leaves Graph.
func BadResponse(err error) *insights.Error {
	return &insights.Error{Reason: insights.ReasonBadResponse, Hint: HintBadResponse, Err: err}
}

// transportError classifies an error of one attempt (no response) and
// reports whether another attempt may help. attemptCtx is the attempt's own
// context, parent the caller's.
func transportError(parent, attemptCtx context.Context, err error) (*insights.Error, bool) {
	var ie *insights.Error
	if errors.As(err, &ie) {
		return ie, false
	}
	if parent.Err() != nil {
		// The caller gave up (refresh timeout or shutdown): never retry.
		return &insights.Error{Reason: insights.ReasonTimeout, Hint: HintTimeout, Err: context.Cause(parent)}, false
	}
	network := &insights.Error{Reason: insights.ReasonNetwork, Hint: HintNetwork, Err: err}
	var (
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case IsCertificateError(err):
		network.Hint = HintTLS
		return network, false // the same certificate fails again
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return network, false
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &insights.Error{Reason: insights.ReasonTimeout, Hint: HintTimeout,
			Err: fmt.Errorf("attempt timed out: %w", err)}, true
	}
	// Refused or reset connections, EOF before the response, temporary
	// DNS failures: worth another try.
	return network, true
}

// IsCertificateError reports whether err is a TLS failure that another
// attempt cannot cure: an untrusted, invalid or misnamed certificate, or a
// server that does not speak TLS.
func IsCertificateError(err error) bool {
	var (
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidCert x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
	)
	return errors.As(err, &unknownCA) || errors.As(err, &hostnameErr) || errors.As(err, &invalidCert) ||
		errors.As(err, &verifyErr) || errors.As(err, &recordErr)
}
