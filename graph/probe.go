package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/users"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// The probe: each read a source needs, made once with the smallest
// request, through the same token, transport (budget, host check) and
// error classification as the exporter's reads, so that its answer tells
// what the exporter will meet in this tenant. It is what only a real
// tenant can settle: whether $select and the lookback
// are accepted, whether a licence or permission is missing. There is one
// method per source's set of reads; the source's registry entry
// (internal/source/registry) calls its own, so nothing here branches on
// a source's name.

// DefaultProbeLookback is the lookback ProbeLogs probes when given none:
// what an External ID tenant keeps, the exporter's default.
const DefaultProbeLookback = 7 * 24 * time.Hour

// inactiveAge is how long without a successful sign-in the probe's
// inactive-users read asks about (the 30d window of the inactive users).
const inactiveAge = 30 * 24 * time.Hour

// probeRead is one read of the probe.
type probeRead struct {
	name     string
	required bool
	// request is the request as the SDK builds it, for the line.
	request func(context.Context) (*abs.RequestInformation, error)
	// send makes the request and returns the outcome of a success.
	send func(context.Context) (string, error)
	// failed returns the outcome of a failure.
	failed func(error) string
}

// ProbeLogs probes the reads of the logs source, its first read starting
// lookback (DefaultProbeLookback when 0) before now, the end of the event
// logs' windows.
func (c *Client) ProbeLogs(ctx context.Context, now time.Time, lookback time.Duration) []insights.ProbeResult {
	if lookback <= 0 {
		lookback = DefaultProbeLookback
	}
	return c.probe(ctx, c.logsReads(now, lookback))
}

// ProbeUserInsights probes the reads of the userinsights source: the
// first page of each of reports (insights.DefaultReports() when none).
func (c *Client) ProbeUserInsights(ctx context.Context, reports []insights.Report) []insights.ProbeResult {
	return c.probe(ctx, c.userInsightsReads(reports))
}

// probe makes each of reads once and returns one result per read, after
// the token's. Without a token the reads are skipped (and listed so). It
// never returns a token or a secret.
func (c *Client) probe(ctx context.Context, reads []probeRead) []insights.ProbeResult {
	token := c.probeToken(ctx)
	results := []insights.ProbeResult{token}
	for _, r := range reads {
		res := insights.ProbeResult{Read: r.name, Required: r.required, Request: c.requestLine(ctx, r.request)}
		if !token.OK {
			res.Outcome = "skipped: no token"
			results = append(results, res)
			continue
		}
		results = append(results, c.probeOne(ctx, r, res))
	}
	return results
}

// probeOne sends r and fills in res from the answer.
func (c *Client) probeOne(ctx context.Context, r probeRead, res insights.ProbeResult) insights.ProbeResult {
	outcome, err := r.send(ctx)
	if err == nil {
		// The SDK hides the status of a success; Graph answers these reads 200.
		res.Status, res.OK, res.Outcome = http.StatusOK, true, outcome
		return res
	}
	if ie := (*insights.Error)(nil); errors.As(err, &ie) {
		res.Status, res.Code = ie.Status, ie.Code
	}
	res.Outcome = r.failed(err)
	return res
}

// probeToken gets a token as the first request would, and tells the
// token service's refusal in one line: no token text ever leaves here.
func (c *Client) probeToken(ctx context.Context) insights.ProbeResult {
	res := insights.ProbeResult{Read: insights.ProbeToken, Required: true,
		Request: fmt.Sprintf("%s credential, scope %s", c.tokens.source.mode, c.tokens.scope)}
	c.tokens.mu.Lock()
	_, err := c.tokens.current(ctx)
	c.tokens.mu.Unlock()
	if err == nil {
		res.OK, res.Outcome = true, "obtained"
		return res
	}
	res.Status, res.Code = tokenAnswer(err)
	verb := "failed"
	if res.Status != 0 {
		verb = "refused" // the token service answered
	}
	res.Outcome = verb + ": " + tokenReason(err)
	return res
}

// tokenAnswer is the HTTP status and OAuth error code of the token
// service's refusal in err; 0 and "" when it did not answer.
func tokenAnswer(err error) (int, string) {
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil {
		return 0, ""
	}
	var body struct {
		Code string `json:"error"`
	}
	payload, _ := runtime.Payload(authErr.RawResponse)
	_ = json.Unmarshal(payload, &body)
	return authErr.RawResponse.StatusCode, body.Code
}

// tokenReason is the one-line reason tokenError made of azidentity's
// error, with its hint.
func tokenReason(err error) string {
	ie := (*insights.Error)(nil)
	if !errors.As(err, &ie) || ie.Err == nil {
		return azconf.OneLine(err.Error())
	}
	reason := azconf.OneLine(ie.Err.Error())
	if ie.Hint != "" {
		reason += "; " + ie.Hint
	}
	return reason
}

// requestLine renders the request the SDK builds for the line: method,
// path and query, URL-decoded, plus the ConsistencyLevel header when sent.
func (c *Client) requestLine(ctx context.Context, request func(context.Context) (*abs.RequestInformation, error)) string {
	info, err := request(ctx)
	if err != nil {
		return "(request not built: " + azconf.OneLine(err.Error()) + ")"
	}
	info.PathParameters["baseurl"] = c.baseURL() // what the adapter adds when it sends
	u, err := info.GetUri()
	if err != nil {
		return "(request not built: " + azconf.OneLine(err.Error()) + ")"
	}
	line := info.Method.String() + " " + u.Path
	if u.RawQuery != "" {
		query, err := url.QueryUnescape(u.RawQuery)
		if err != nil {
			query = u.RawQuery
		}
		line += "?" + query
	}
	if level := info.Headers.Get("ConsistencyLevel"); len(level) > 0 {
		line += " (ConsistencyLevel: " + strings.Join(level, ",") + ")"
	}
	return line
}

// baseURL is the Graph root the client's requests go to.
func (c *Client) baseURL() string { return c.activity.signIns.RequestAdapter.GetBaseUrl() }

// The reads of the logs source.

// logsReads are the reads of the logs source: the three it needs, then
// the optimisation and the data it can do without.
func (c *Client) logsReads(now time.Time, lookback time.Duration) []probeRead {
	lastHour := CreatedFilter(now.Add(-time.Hour), now)
	from := lookbackStart(now, lookback)
	first := CreatedFilter(from, from.Add(time.Hour))
	return []probeRead{
		c.signInsRead("signIns", true, lastHour, false, used, eventsFailed),
		c.signUpsRead("signUps", true, lastHour, false, used, eventsFailed),
		c.registrationsRead(),
		c.signInsRead("signIns $select", false, lastHour, true, "used with $select", selectFailed),
		c.signUpsRead("signUps $select", false, lastHour, true, "used with $select", selectFailed),
		c.signInsRead("signIns lookback", false, first, false,
			"first read starts "+days(lookback)+" back", lookbackFailed),
		c.userCountRead(),
		c.inactiveUsersRead(now.Add(-inactiveAge)),
	}
}

const used = "used"

// lookbackStart is where the exporter's first read starts: lookback
// before now, rounded up to the hour (the logs source's rule).
func lookbackStart(now time.Time, lookback time.Duration) time.Time {
	edge := now.Add(-lookback).UTC()
	from := edge.Truncate(time.Hour)
	if from.Before(edge) {
		from = from.Add(time.Hour)
	}
	return from
}

// days writes d in days when it is whole days ("7 days"), else as Go does.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// errFirstPage stops a probe's read after its first page: one request.
var errFirstPage = errors.New("first page read")

// firstPage is a page callback that stops after the first page.
func firstPage[T any]([]T) error { return errFirstPage }

// readFirst turns the stop after the first page into success.
func readFirst(err error) error {
	if errors.Is(err, errFirstPage) {
		return nil
	}
	return err
}

// signInsRead reads one sign-in of window filter, with $select when sel,
// through readEvents, so a refused $select or filter is told as the
// exporter tells it.
func (c *Client) signInsRead(name string, required bool, filter string, sel bool, ok string, failed func(error) string) probeRead {
	cfg := &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{
			Filter: ptr(filter), Select: fieldsIf(sel, signInFields), Top: ptr(int32(1)),
		},
	}
	get := collectionPages[*auditlogs.SignInsRequestBuilder, auditlogs.SignInsRequestBuilderGetRequestConfiguration, models.SignInable](c.activity.signIns, cfg)
	return probeRead{
		name: name, required: required, failed: failed,
		request: func(ctx context.Context) (*abs.RequestInformation, error) {
			return c.activity.signIns.ToGetRequestInformation(ctx, cfg)
		},
		send: func(ctx context.Context) (string, error) {
			return ok, readFirst(readEvents(ctx, c, "auditLogs/signIns", sel, get, firstPage[models.SignInable]))
		},
	}
}

// signUpsRead is signInsRead for auditLogs/signUps.
func (c *Client) signUpsRead(name string, required bool, filter string, sel bool, ok string, failed func(error) string) probeRead {
	cfg := &auditlogs.SignUpsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignUpsRequestBuilderGetQueryParameters{
			Filter: ptr(filter), Select: fieldsIf(sel, signUpFields), Top: ptr(int32(1)),
		},
	}
	get := collectionPages[*auditlogs.SignUpsRequestBuilder, auditlogs.SignUpsRequestBuilderGetRequestConfiguration, models.SelfServiceSignUpable](c.activity.signUps, cfg)
	return probeRead{
		name: name, required: required, failed: failed,
		request: func(ctx context.Context) (*abs.RequestInformation, error) {
			return c.activity.signUps.ToGetRequestInformation(ctx, cfg)
		},
		send: func(ctx context.Context) (string, error) {
			return ok, readFirst(readEvents(ctx, c, "auditLogs/signUps", sel, get, firstPage[models.SelfServiceSignUpable]))
		},
	}
}

// registrationsRead reads the first page of userRegistrationDetails with
// no query option: Microsoft documents only $filter there.
func (c *Client) registrationsRead() probeRead {
	cfg := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{}
	get := collectionPages[*reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilder,
		reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration, models.UserRegistrationDetailsable](c.activity.registrations, cfg)
	return probeRead{
		name: "userRegistrationDetails", required: true,
		request: func(ctx context.Context) (*abs.RequestInformation, error) {
			return c.activity.registrations.ToGetRequestInformation(ctx, cfg)
		},
		send: func(ctx context.Context) (string, error) {
			return used, readFirst(readAll(ctx, c, "reports/authenticationMethods/userRegistrationDetails", get,
				firstPage[models.UserRegistrationDetailsable]))
		},
		failed: func(err error) string {
			if insights.ReasonOf(err) == insights.ReasonForbidden {
				return "refused: grant AuditLog.Read.All (application) and admin consent"
			}
			return failure(err)
		},
	}
}

// countConfig is the users/$count request: an advanced query, so
// ConsistencyLevel eventual; filter "" counts every user.
func countConfig(filter string) *users.CountRequestBuilderGetRequestConfiguration {
	headers := abs.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	cfg := &users.CountRequestBuilderGetRequestConfiguration{Headers: headers}
	if filter != "" {
		cfg.QueryParameters = &users.CountRequestBuilderGetQueryParameters{Filter: ptr(filter)}
	}
	return cfg
}

// count sends a users/$count request.
func (c *Client) count(ctx context.Context, cfg *users.CountRequestBuilderGetRequestConfiguration) (int32, error) {
	var n *int32
	err := c.do(ctx, activityRequest, func(ctx context.Context) (err error) {
		n, err = c.activity.userCount.Get(ctx, cfg)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n == nil {
		return 0, errors.New("no count in the answer")
	}
	return *n, nil
}

// userCountRead reads users/$count, the users metric.
func (c *Client) userCountRead() probeRead {
	cfg := countConfig("")
	return probeRead{
		name: "users/$count",
		request: func(ctx context.Context) (*abs.RequestInformation, error) {
			return c.activity.userCount.ToGetRequestInformation(ctx, cfg)
		},
		send: func(ctx context.Context) (string, error) {
			n, err := c.count(ctx, cfg)
			return fmt.Sprintf("used: %d users", n), err
		},
		failed: func(err error) string { return "users absent: " + failure(err) },
	}
}

// inactiveUsersRead counts the users without a successful sign-in since
// before, as the inactive users metric does.
func (c *Client) inactiveUsersRead(before time.Time) probeRead {
	cfg := countConfig("signInActivity/lastSuccessfulSignInDateTime le " + before.UTC().Format(time.RFC3339))
	return probeRead{
		name: "inactive users",
		request: func(ctx context.Context) (*abs.RequestInformation, error) {
			return c.activity.userCount.ToGetRequestInformation(ctx, cfg)
		},
		send: func(ctx context.Context) (string, error) {
			n, err := c.count(ctx, cfg)
			return fmt.Sprintf("used: %d users inactive for 30 days", n), err
		},
		failed: func(err error) string {
			if unlicensed(err) {
				return "inactive users absent: needs Entra ID P1/P2"
			}
			return "inactive users absent: " + failure(err)
		},
	}
}

// Outcomes of the logs source's failures.

// eventsFailed is the outcome of a failed read of an event log.
func eventsFailed(err error) string {
	if insights.ReasonOf(err) != insights.ReasonForbidden {
		return failure(err)
	}
	outcome := "refused: grant AuditLog.Read.All and Directory.Read.All (application) and admin consent"
	if unlicensed(err) { // by Graph's code or, in older answers, its message
		outcome += "; Graph says the tenant lacks the premium licence (Entra ID P1/P2) the sign-in logs need"
	}
	return outcome
}

// selectFailed is the outcome of a failed read with $select: the exporter
// reads on without it only when Graph's refusal names $select (see
// readEvents); any other failure is told as for the read without it.
func selectFailed(err error) string {
	if errors.Is(err, insights.ErrSelectRefused) {
		return "used without $select (Graph refused it: " + refusal(err) + ")"
	}
	return eventsFailed(err)
}

// lookbackFailed is the outcome of a refused first window.
func lookbackFailed(err error) string {
	if errors.Is(err, insights.ErrFilterRefused) {
		return "refused: the first read starts later (the exporter moves its start forward by itself)"
	}
	return eventsFailed(err)
}

// failure is the outcome of any other failure: the reason, Graph's
// message and what to do.
func failure(err error) string {
	ie := (*insights.Error)(nil)
	if !errors.As(err, &ie) {
		return "failed: " + azconf.OneLine(err.Error())
	}
	outcome := "failed: " + string(ie.Reason) + ": " + refusal(err)
	// The refused-query hint says to run the probe: this is its output.
	if ie.Hint != "" && ie.Hint != transport.HintRefusedQuery {
		outcome += "; " + ie.Hint
	}
	return outcome
}

// refusal is Graph's message in err, else the error's own text.
func refusal(err error) string {
	ie := (*insights.Error)(nil)
	if errors.As(err, &ie) {
		if msg := graphMessage(ie); msg != "" {
			return msg
		}
	}
	return azconf.OneLine(err.Error())
}

// graphMessage is Graph's message of a classified error: its detail
// without the leading error code.
func graphMessage(ie *insights.Error) string {
	if ie.Err == nil {
		return ""
	}
	msg := azconf.OneLine(ie.Err.Error())
	if ie.Code != "" {
		msg = strings.TrimPrefix(msg, ie.Code+": ")
	}
	return msg
}

// The reads of the userinsights source.

// userInsightsReads read the first page of each configured report the
// client knows, as the report reader does (it sends no $top).
func (c *Client) userInsightsReads(list []insights.Report) []probeRead {
	if len(list) == 0 {
		list = insights.DefaultReports()
	}
	var reads []probeRead
	for _, r := range list {
		get, ok := c.pages[r]
		if !ok {
			continue // only the logs source has it
		}
		reads = append(reads, probeRead{
			name: r.String(), required: true,
			request: func(context.Context) (*abs.RequestInformation, error) {
				info := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET, "{+baseurl}"+r.Path(), map[string]string{})
				return info, nil
			},
			send: func(ctx context.Context) (string, error) {
				p, err := c.page(ctx, get, "")
				if len(p.rows) == 0 {
					return "used: the first page is empty (retired reports answer empty)", err
				}
				return fmt.Sprintf("used: %d rows on the first page", len(p.rows)), err
			},
			failed: userInsightsFailed,
		})
	}
	return reads
}

// userInsightsFailed is the outcome of a failed report read.
func userInsightsFailed(err error) string {
	switch insights.ReasonOf(err) {
	case insights.ReasonRetired:
		return "retired: use the logs source (--insights.source=logs, the default)"
	case insights.ReasonForbidden:
		return "refused: grant Insights-UserMetric.Read.All (application) and admin consent"
	}
	return failure(err)
}
