// Package graph is the exporter's only door to Microsoft Graph: it builds
// the credential and the Graph SDK client of one tenant and makes every
// Graph read, returning plain insights values. For the logs source it
// reads the activity logs (auditLogs/signIns and auditLogs/signUps),
// users/$count and reports/authenticationMethods/userRegistrationDetails;
// for the userinsights source, the retired /reports/userInsights reports.
// Every collection is read page by page, following @odata.nextLink. Probe
// makes each read a source needs once and tells what Graph answers. No
// other package imports the SDK.
package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// Client reads one tenant: the userInsights reports (Fetch) and the
// activity logs of the logs source (activity.go). It is safe for
// concurrent use.
type Client struct {
	pages    map[insights.Report]pageFunc
	activity activityBuilders
	tokens   *tokenSource
	maxPages int
	logger   *slog.Logger
}

// NewClient builds the credential, the transport and the SDK client for
// cfg. It does not contact Graph or the token service.
func NewClient(cfg Config, deps Deps) (*Client, error) {
	ep, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(deps); err != nil {
		return nil, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("tenant", cfg.TenantName)
	tlsConf, err := tlsConfig(&cfg)
	if err != nil {
		return nil, err
	}
	network := baseTransport(tlsConf)
	metrics := deps.Metrics.Tenant(cfg.TenantName)

	limiters := deps.Limiters
	if cfg.DisableBudget {
		limiters = nil
	}
	graphTransport, err := transport.New(network, transport.Options{
		BaseURL: ep.graphURL, TenantID: cfg.TenantID, ClientID: cfg.ClientID,
		Limiters: limiters, Metrics: metrics, UserAgent: cfg.UserAgent,
		MaxBodyBytes: cfg.MaxBodyBytes, Logger: logger,
		CheckBody: transport.CheckPage, // every request reads a report page
	})
	if err != nil {
		return nil, err
	}

	tokenClient := &http.Client{Transport: transport.Counting(network, metrics, cfg.UserAgent)}
	source, err := newCredentialSource(&cfg, ep, azcoreOptions(tokenClient))
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenSource(ep.scope, source, ep.graphURL.Hostname())
	if err != nil {
		return nil, err
	}
	if len(source.files) > 0 {
		// Fail at start on a missing or unusable secret or certificate file.
		if err := tokens.loadCredential(); err != nil {
			return nil, err
		}
	}

	maxPages := cfg.MaxPages
	if maxPages == 0 {
		maxPages = DefaultMaxPages
	}
	return newClient(ep.graphURL.String(), tokens, graphTransport, maxPages, logger)
}

// newClient wires the SDK's request adapter: the bearer token from tokens,
// the SDK middleware on top of rt, JSON decoding, base URL graphURL.
func newClient(graphURL string, tokens *tokenSource, rt http.RoundTripper, maxPages int, logger *slog.Logger) (*Client, error) {
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		absauth.NewBaseBearerTokenAuthenticationProvider(tokens),
		core.GraphClientOptions{GraphServiceVersion: "beta"},
		parseNodeFactory(), serializationWriterFactory(),
		sdkHTTPClient(rt))
	if err != nil {
		return nil, fmt.Errorf("graph request adapter: %w", err)
	}
	adapter.SetBaseUrl(graphURL)
	return &Client{
		pages:    reportPages(reports.NewReportsRequestBuilderInternal(map[string]string{}, adapter).UserInsights()),
		activity: newActivityBuilders(adapter),
		tokens:   tokens,
		maxPages: maxPages,
		logger:   logger,
	}, nil
}

// sdkHTTPClient is the SDK's middleware chain on top of our transport,
// without the SDK's RetryHandler (it truncates fractional Retry-After and
// leaks discarded bodies: our transport retries) and without its
// User-Agent handler (our transport sets the User-Agent).
func sdkHTTPClient(rt http.RoundTripper) *http.Client {
	middlewares := []khttp.Middleware{
		core.NewGraphTelemetryHandler(&core.GraphClientOptions{GraphServiceVersion: "beta"}), // client-request-id
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewRedirectHandler(), // each hop passes our transport's URL check
		preferUnknownEnumMembers{},
		dropPlainErrorBodies{},
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(rt, middlewares...),
		// The RedirectHandler follows redirects, not net/http.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// preferUnknownEnums is the Prefer value that makes Graph send every member
// of an evolvable enum as it is: without it, Graph replaces the members
// added after unknownFutureValue (such as the authentication failure
// reason codes userError and configError) by "unknownFutureValue".
const preferUnknownEnums = "include-unknown-enum-members"

// preferUnknownEnumMembers adds Prefer: include-unknown-enum-members to
// every request, nextLinks included.
type preferUnknownEnumMembers struct{}

// Intercept implements khttp.Middleware.
func (preferUnknownEnumMembers) Intercept(p khttp.Pipeline, index int, req *http.Request) (*http.Response, error) {
	if !prefers(req.Header, preferUnknownEnums) {
		req.Header.Add("Prefer", preferUnknownEnums)
	}
	return p.Next(req, index)
}

// prefers reports whether the Prefer headers of h already hold preference
// (Prefer is a comma-separated list and may appear more than once).
func prefers(h http.Header, preference string) bool {
	for _, v := range h.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), preference) {
				return true
			}
		}
	}
	return false
}

// dropPlainErrorBodies empties the body of an error response that is not
// JSON (a proxy's or gateway's HTML page): the SDK could only fail to
// decode it and would report that instead of the HTTP status.
type dropPlainErrorBodies struct{}

// Intercept implements khttp.Middleware.
func (dropPlainErrorBodies) Intercept(p khttp.Pipeline, index int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, index)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mediaType == "application/json" {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body, resp.ContentLength = http.NoBody, 0
	return resp, nil
}

// parseNodeFactory decodes JSON, the only content type Graph answers
// these reports with. It is our own registry, not the SDK's global one.
func parseNodeFactory() absser.ParseNodeFactory {
	r := absser.NewParseNodeFactoryRegistry()
	r.ContentTypeAssociatedFactories["application/json"] = factDateParseNodeFactory{jsonser.NewJsonParseNodeFactory()}
	r.ContentTypeAssociatedFactories["text/plain"] = textser.NewTextParseNodeFactory() // users/$count
	return r
}

// factDateParseNodeFactory hands the SDK a body whose date-time factDate
// values are rewritten to their UTC date first (see dateOnlyFactDates):
// the SDK decodes factDate as a DateOnly and fails the whole page on
// "2026-12-01T00:00:00Z".
type factDateParseNodeFactory struct{ absser.ParseNodeFactory }

// GetRootParseNode implements absser.ParseNodeFactory.
func (f factDateParseNodeFactory) GetRootParseNode(contentType string, content []byte) (absser.ParseNode, error) {
	return f.ParseNodeFactory.GetRootParseNode(contentType, dateOnlyFactDates(content))
}

func serializationWriterFactory() absser.SerializationWriterFactory {
	r := absser.NewSerializationWriterFactoryRegistry()
	r.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	return r
}

// Fetch reads every page of report r and returns its rows. Errors are
// *insights.Error (see insights.ReasonOf).
func (c *Client) Fetch(ctx context.Context, r insights.Report) ([]insights.Row, error) {
	get, ok := c.pages[r]
	if !ok {
		return nil, fmt.Errorf("unknown report %s", r)
	}
	var rows []insights.Row
	skipped := 0
	err := followNextLinks(ctx, c, userInsightsRequest, r.String(), "", get, func(p page, _ string) error {
		rows = append(rows, p.rows...)
		skipped += p.skipped
		return nil
	})
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		c.logger.Warn("skipped report rows without a factDate", "report", r.String(), "rows", skipped)
	}
	return rows, nil
}

// page reads one page of a report.
func (c *Client) page(ctx context.Context, get pageFunc, nextLink string) (page, error) {
	var p page
	err := c.do(ctx, userInsightsRequest, func(ctx context.Context) (err error) {
		p, _, err = get(ctx, nextLink)
		return err
	})
	return p, err
}

// followNextLinks is the one loop that reads a collection page by page,
// for the reports (Fetch) and the activity logs (readAll): get reads the
// page at start ("" the first page of the request get was built with),
// then the page at each @odata.nextLink it returns, until it returns "";
// each call goes through the token retry of Client.do with kind. use
// receives each page and the nextLink after it ("" after the last), so a
// caller can resume a long read where it stopped; its error ends the read
// as it is. A failed read is "<what> page <n>: <error>"; a nextLink seen
// before, or more pages than the client allows, is a bad response.
func followNextLinks[P any](ctx context.Context, c *Client, kind requestKind, what, start string,
	get func(ctx context.Context, nextLink string) (P, string, error), use func(p P, next string) error) error {
	seen := map[string]bool{}
	next := start
	for n := 1; ; n++ {
		var p P
		var link string
		err := c.do(ctx, kind, func(ctx context.Context) (err error) {
			p, link, err = get(ctx, next)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s page %d: %w", what, n, err)
		}
		if err := use(p, link); err != nil {
			return err
		}
		switch {
		case link == "":
			return nil
		case seen[link]:
			return fmt.Errorf("%s page %d: %w", what, n, transport.BadResponse(errors.New("@odata.nextLink repeats an earlier page")))
		case n >= c.maxPages:
			return fmt.Errorf("%s: %w", what, transport.BadResponse(fmt.Errorf("more than %d pages", c.maxPages)))
		}
		seen[link] = true
		next = link
	}
}

// do makes one Graph call. If Graph rejects the token, it drops the token
// and calls once more with a new one, unless that would not help (see
// tokenSource.refused). Errors are classified *insights.Error values.
func (c *Client) do(ctx context.Context, kind requestKind, call func(context.Context) error) error {
	var use tokenUse
	err := call(withTokenUse(ctx, &use))
	if err != nil && statusOf(err) == http.StatusUnauthorized && c.tokens.refused(use.serial) {
		c.logger.Debug("Graph rejected the access token; getting a new one")
		use = tokenUse{}
		err = call(withTokenUse(ctx, &use))
	}
	if err != nil {
		return classify(ctx, kind, err)
	}
	c.tokens.accepted(use.serial)
	return nil
}

// classify turns an SDK or transport error into an *insights.Error.
func classify(ctx context.Context, kind requestKind, err error) error {
	var ie *insights.Error
	if errors.As(err, &ie) {
		return err
	}
	if status := statusOf(err); status != 0 {
		code, message, _ := graphError(err)
		if kind == userInsightsRequest && retired(status, code, message) {
			detail := graphDetail(err)
			if detail == nil {
				detail = errors.New(http.StatusText(status))
			}
			return &insights.Error{Reason: insights.ReasonRetired, Status: status, Hint: HintRetired, Err: detail}
		}
		e := transport.StatusError(status, graphDetail(err))
		e.Code = code
		switch {
		case e.Reason == insights.ReasonForbidden:
			e.Hint = kind.forbiddenHint()
		case e.Reason == insights.ReasonBadRequest && kind == activityRequest && message != "":
			e.Hint = transport.HintRefusedQuery
		}
		return e
	}
	if ctx.Err() != nil {
		return &insights.Error{Reason: insights.ReasonTimeout, Hint: transport.HintTimeout, Err: err}
	}
	// What remains comes from decoding the body.
	return transport.BadResponse(fmt.Errorf("decode response: %w", err))
}

// requestKind tells a userInsights report read, whose "not found" means
// the retired API, from the activity-log reads, where it means a missing
// endpoint or permission path.
type requestKind int

const (
	userInsightsRequest requestKind = iota
	activityRequest
)

// The permissions each kind of read needs, told when Graph answers 403.
const (
	HintForbiddenUserInsights = "grant the application permission Insights-UserMetric.Read.All " +
		"(type Application) and admin consent"
	HintForbiddenActivity = "grant the application permissions AuditLog.Read.All and Directory.Read.All " +
		"(type Application) and admin consent; a message about a premium license means the tenant " +
		"lacks the Entra ID P1/P2 licence the sign-in logs need"
)

func (k requestKind) forbiddenHint() string {
	if k == userInsightsRequest {
		return HintForbiddenUserInsights
	}
	return HintForbiddenActivity
}

// statusOf returns the HTTP status of an SDK error, 0 if it has none.
func statusOf(err error) int {
	var apiErr abs.ApiErrorable
	if errors.As(err, &apiErr) {
		return apiErr.GetStatusCode()
	}
	return 0
}

// graphDetail is Graph's own error code and message, e.g.
// "Authorization_RequestDenied: Insufficient privileges to complete the
// operation.", or nil.
func graphDetail(err error) error {
	code, message, ok := graphError(err)
	if !ok {
		return nil
	}
	return fmt.Errorf("%s: %s", code, message)
}

// graphError returns the code and message of Graph's error body, ok false
// when the error has none.
func graphError(err error) (code, message string, ok bool) {
	var odata *odataerrors.ODataError
	if !errors.As(err, &odata) || odata.GetErrorEscaped() == nil {
		return "", "", false
	}
	main := odata.GetErrorEscaped()
	return str(main.GetCode()), str(main.GetMessage()), true
}

// HintRetired is the operator hint of a ReasonRetired failure.
const HintRetired = "Microsoft retired User Insights on 31 August 2026; use the logs source " +
	"(--insights.source=logs, the default)"

// retired reports whether a final error status, with Graph's error code
// and message, says that the userInsights resource is gone: 404 and 410
// always; 400 when Graph says a resource is not found, by code
// (ResourceNotFound, Request_ResourceNotFound) or by message ("Resource not
// found for the segment 'userInsights'."). A segment that is not one of
// our path's (a mistyped --graph.url path) stays a bad request.
func retired(status int, code, message string) bool {
	switch status {
	case http.StatusNotFound, http.StatusGone:
		return true
	case http.StatusBadRequest:
	default:
		return false
	}
	if strings.EqualFold(code, "ResourceNotFound") || strings.EqualFold(code, "Request_ResourceNotFound") {
		return true
	}
	msg := strings.ToLower(message)
	if !strings.Contains(msg, "resource not found") {
		return false
	}
	// "Resource not found for the segment 'userInsights'."
	_, rest, ok := strings.Cut(msg, "segment '")
	if !ok {
		return true
	}
	segment, _, _ := strings.Cut(rest, "'")
	return userInsightsSegment(segment)
}

// userInsightsSegment reports whether segment (lower case) is a path
// segment of a userInsights report URL.
func userInsightsSegment(segment string) bool {
	switch segment {
	case "reports", "userinsights", string(insights.Daily), string(insights.Monthly):
		return true
	}
	for _, r := range insights.AllReports() {
		if strings.ToLower(r.Name) == segment {
			return true
		}
	}
	return false
}
