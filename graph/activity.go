package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/users"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// The activity-log reads of the logs source: auditLogs/signIns and
// auditLogs/signUps by createdDateTime window, users/$count and
// reports/authenticationMethods/userRegistrationDetails. Each sends only
// the query options Microsoft documents for it (the list pages of each read:
// signin-list.md, auditlogroot-list-signups.md and
// authenticationmethodsroot-list-userregistrationdetails.md in
// microsoftgraph/microsoft-graph-docs-contrib): $filter with ge/le on
// createdDateTime and $top on the
// event logs, nothing on userRegistrationDetails. $select on the event
// logs is undocumented: it is sent only when the caller asks (it probes
// and remembers whether Graph accepts it), and a refusal is
// insights.ErrSelectRefused. Every read follows @odata.nextLink to the
// end, one page at a time.

// logsPageSize is Graph's maximum (and default) page of the activity logs
// ($top is documented: signin-list.md, auditlogroot-list-signups.md).
const logsPageSize int32 = 1000

// Fields read of each sign-in and sign-up when $select is used.
var (
	signInFields = []string{"id", "createdDateTime", "userId", "appId", "appDisplayName", "status", "deviceDetail",
		"location", "authenticationRequirement", "authenticationDetails", "isInteractive", "signInEventTypes"}
	signUpFields = []string{"id", "createdDateTime", "userId", "appId", "appDisplayName", "signUpIdentityProvider",
		"signUpStage", "correlationId", "status"}
)

// activityBuilders are the SDK's request builders of the activity logs.
type activityBuilders struct {
	signIns       *auditlogs.SignInsRequestBuilder
	signUps       *auditlogs.SignUpsRequestBuilder
	userCount     *users.CountRequestBuilder
	registrations *reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilder
}

func newActivityBuilders(adapter abs.RequestAdapter) activityBuilders {
	logs := auditlogs.NewAuditLogsRequestBuilderInternal(map[string]string{}, adapter)
	return activityBuilders{
		signIns:       logs.SignIns(),
		signUps:       logs.SignUps(),
		userCount:     users.NewUsersRequestBuilderInternal(map[string]string{}, adapter).Count(),
		registrations: reports.NewReportsRequestBuilderInternal(map[string]string{}, adapter).AuthenticationMethods().UserRegistrationDetails(),
	}
}

// CreatedFilter is the OData filter of the createdDateTime window
// [from, to], both ends included: Graph documents eq, le and ge on
// createdDateTime (resources/signin.md, selfservicesignup.md), not lt or
// gt. An event on a bound is read by both windows that share it; the
// caller drops the second by its id.
func CreatedFilter(from, to time.Time) string {
	// Whole seconds: Graph takes at most 7 fractional digits, and whole
	// seconds read more easily in logs.
	return fmt.Sprintf("createdDateTime ge %s and createdDateTime le %s",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
}

// fieldsIf returns fields when sel is set, else nil (no $select).
func fieldsIf(sel bool, fields []string) []string {
	if sel {
		return fields
	}
	return nil
}

// SignIns reads the interactive user sign-ins created in [from, to] and
// calls page for each page of them; sel adds $select (see the file
// comment). Sign-ins Graph marks as non-interactive are skipped; so are
// entries without an id or a createdDateTime (counted in the log line at
// the end).
func (c *Client) SignIns(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignIn) error) error {
	first := &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{
			Filter: ptr(CreatedFilter(from, to)), Select: fieldsIf(sel, signInFields), Top: ptr(logsPageSize),
		},
	}
	skipped := 0
	err := readEvents(ctx, c, "auditLogs/signIns", sel, collectionPages[*auditlogs.SignInsRequestBuilder, auditlogs.SignInsRequestBuilderGetRequestConfiguration, models.SignInable](c.activity.signIns, first),
		func(items []models.SignInable) error {
			events := make([]insights.SignIn, 0, len(items))
			for _, item := range items {
				switch e, kind := signIn(item); kind {
				case interactiveSignIn:
					events = append(events, e)
				case unusableSignIn:
					skipped++
				}
			}
			return page(events)
		})
	if skipped > 0 {
		c.logger.Warn("skipped sign-ins without an id or createdDateTime", "count", skipped)
	}
	return err
}

// signInKind sorts the entries of a sign-ins page.
type signInKind int

const (
	interactiveSignIn    signInKind = iota // counted
	nonInteractiveSignIn                   // not counted, as in the portal
	unusableSignIn                         // no id or time: cannot be placed or deduplicated
)

// signIn maps one SDK sign-in.
func signIn(item models.SignInable) (insights.SignIn, signInKind) {
	if item == nil || item.GetId() == nil || item.GetCreatedDateTime() == nil {
		return insights.SignIn{}, unusableSignIn
	}
	if !interactive(item) {
		return insights.SignIn{}, nonInteractiveSignIn
	}
	e := insights.SignIn{
		ID: *item.GetId(), Created: item.GetCreatedDateTime().UTC(),
		UserID: str(item.GetUserId()), AppID: str(item.GetAppId()), AppName: str(item.GetAppDisplayName()),
	}
	if st := item.GetStatus(); st != nil && st.GetErrorCode() != nil {
		e.ErrorCode = int64(*st.GetErrorCode())
	}
	if d := item.GetDeviceDetail(); d != nil {
		e.OS, e.Browser = str(d.GetOperatingSystem()), str(d.GetBrowser())
	}
	if l := item.GetLocation(); l != nil {
		e.Country = str(l.GetCountryOrRegion())
	}
	if strings.EqualFold(str(item.GetAuthenticationRequirement()), "multiFactorAuthentication") {
		e.MFA = true
		if details := item.GetAuthenticationDetails(); len(details) > 0 && details[len(details)-1] != nil {
			last := details[len(details)-1]
			e.MFAMethod = str(last.GetAuthenticationMethod())
			e.MFASucceeded = last.GetSucceeded() != nil && *last.GetSucceeded()
		}
	}
	return e, interactiveSignIn
}

// interactive tells interactive user sign-ins apart: the list returns them
// by default, but an entry that says otherwise (isInteractive false, or
// signInEventTypes without interactiveUser) is not one.
func interactive(item models.SignInable) bool {
	if v := item.GetIsInteractive(); v != nil && !*v {
		return false
	}
	if types := item.GetSignInEventTypes(); len(types) > 0 {
		for _, t := range types {
			if strings.EqualFold(t, "interactiveUser") {
				return true
			}
		}
		return false
	}
	return true
}

// SignUps reads the sign-up events created in [from, to] (one per stage of
// each flow); sel adds $select.
func (c *Client) SignUps(ctx context.Context, from, to time.Time, sel bool, page func([]insights.SignUp) error) error {
	first := &auditlogs.SignUpsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignUpsRequestBuilderGetQueryParameters{
			Filter: ptr(CreatedFilter(from, to)), Select: fieldsIf(sel, signUpFields), Top: ptr(logsPageSize),
		},
	}
	return readEvents(ctx, c, "auditLogs/signUps", sel, collectionPages[*auditlogs.SignUpsRequestBuilder, auditlogs.SignUpsRequestBuilderGetRequestConfiguration, models.SelfServiceSignUpable](c.activity.signUps, first),
		func(items []models.SelfServiceSignUpable) error {
			events := make([]insights.SignUp, 0, len(items))
			for _, item := range items {
				if item == nil || item.GetId() == nil || item.GetCreatedDateTime() == nil {
					continue
				}
				e := insights.SignUp{
					ID: *item.GetId(), Created: item.GetCreatedDateTime().UTC(), UserID: str(item.GetUserId()),
					AppID: str(item.GetAppId()), AppName: str(item.GetAppDisplayName()),
					IdentityProvider: str(item.GetSignUpIdentityProvider()), CorrelationID: str(item.GetCorrelationId()),
				}
				if st := item.GetSignUpStage(); st != nil {
					e.Stage = st.String()
				}
				if st := item.GetStatus(); st != nil && st.GetErrorCode() != nil {
					e.ErrorCode = int64(*st.GetErrorCode())
				}
				events = append(events, e)
			}
			return page(events)
		})
}

// UserCount reads users/$count (an advanced query: ConsistencyLevel
// eventual).
func (c *Client) UserCount(ctx context.Context) (int64, error) {
	headers := abs.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	var n *int32
	err := c.do(ctx, activityRequest, func(ctx context.Context) (err error) {
		n, err = c.activity.userCount.Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: headers})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("users/$count: %w", err)
	}
	if n == nil || *n < 0 {
		return 0, fmt.Errorf("users/$count: %w", transport.BadResponse(errors.New("no count in the answer")))
	}
	return int64(*n), nil
}

// InactiveUsers counts the users whose last successful sign-in
// (signInActivity/lastSuccessfulSignInDateTime) is at or before before.
// Users who never signed in successfully have no such date and are not
// counted, as Graph's filter does. A tenant whose licence lacks
// signInActivity gets an error wrapping insights.ErrUnlicensed.
func (c *Client) InactiveUsers(ctx context.Context, before time.Time) (int64, error) {
	headers := abs.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	filter := "signInActivity/lastSuccessfulSignInDateTime le " + before.UTC().Format(time.RFC3339)
	var n *int32
	err := c.do(ctx, activityRequest, func(ctx context.Context) (err error) {
		n, err = c.activity.userCount.Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{
			Headers: headers, QueryParameters: &users.CountRequestBuilderGetQueryParameters{Filter: &filter},
		})
		return err
	})
	if err != nil {
		if unlicensed(err) {
			return 0, fmt.Errorf("users/$count (signInActivity): %w: %w", insights.ErrUnlicensed, err)
		}
		return 0, fmt.Errorf("users/$count (signInActivity): %w", err)
	}
	if n == nil || *n < 0 {
		return 0, fmt.Errorf("users/$count (signInActivity): %w", transport.BadResponse(errors.New("no count in the answer")))
	}
	return int64(*n), nil
}

// licenceCode is Graph's error code for a read the tenant's licence does
// not cover (howto-manage-inactive-user-accounts.md: signInActivity needs
// Entra ID P1/P2).
const licenceCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// unlicensed reports whether err is Graph's licence refusal: a 403 with
// licenceCode, or (older answers) a message about a premium license.
func unlicensed(err error) bool {
	ie := (*insights.Error)(nil)
	if !errors.As(err, &ie) || ie.Status != 403 {
		return false
	}
	return strings.EqualFold(ie.Code, licenceCode) || strings.Contains(strings.ToLower(err.Error()), "premium license")
}

// Registrations reads every user's MFA registration, from the page at
// from ("" the first; a nextLink page gave, to resume a read that ran out
// of time); page also receives the nextLink of the page after it ("" at
// the end). Microsoft documents only $filter (and v1.0 $orderby) on this
// read, so none is sent: pages are Graph's default size.
func (c *Client) Registrations(ctx context.Context, from string, page func(regs []insights.Registration, next string) error) error {
	first := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{}
	return followNextLinks(ctx, c, activityRequest, "reports/authenticationMethods/userRegistrationDetails", from,
		collectionPages[*reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilder,
			reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration, models.UserRegistrationDetailsable](c.activity.registrations, first),
		func(items []models.UserRegistrationDetailsable, next string) error {
			regs := make([]insights.Registration, 0, len(items))
			for _, item := range items {
				if item == nil {
					continue
				}
				regs = append(regs, insights.Registration{
					UserID:            str(item.GetId()),
					MFARegistered:     item.GetIsMfaRegistered() != nil && *item.GetIsMfaRegistered(),
					MethodsRegistered: item.GetMethodsRegistered(),
				})
			}
			return page(regs, next)
		})
}

// collectionPages adapts a typed collection request builder to the get of
// followNextLinks: the first page with the query of first (nil: none),
// the others at their nextLink.
func collectionPages[B builder[B, Cfg, C], Cfg any, T any, C collection[T]](b B, first *Cfg) func(context.Context, string) ([]T, string, error) {
	return func(ctx context.Context, nextLink string) ([]T, string, error) {
		req, cfg := b, first
		if nextLink != "" {
			req, cfg = b.WithUrl(nextLink), nil
		}
		resp, err := req.Get(ctx, cfg)
		if err != nil {
			return nil, "", err
		}
		if any(resp) == nil {
			return nil, "", transport.BadResponse(errors.New("empty response body"))
		}
		return resp.GetValue(), str(resp.GetOdataNextLink()), nil
	}
}

// readEvents is readAll for an event log, read with $select when sel is
// set: a 400 that names select is insights.ErrSelectRefused, one that says
// "Invalid filter clause" insights.ErrFilterRefused, so the caller can
// change the request rather than send it again.
func readEvents[T any](ctx context.Context, c *Client, what string, sel bool,
	get func(ctx context.Context, nextLink string) ([]T, string, error), page func([]T) error) error {
	err := readAll(ctx, c, what, get, page)
	ie := (*insights.Error)(nil)
	if err == nil || !errors.As(err, &ie) || ie.Reason != insights.ReasonBadRequest {
		return err
	}
	msg := strings.ToLower(ie.Error())
	switch {
	case sel && strings.Contains(msg, "select"):
		return fmt.Errorf("%w: %w", insights.ErrSelectRefused, err)
	case strings.Contains(msg, "invalid filter clause"):
		return fmt.Errorf("%w: %w", insights.ErrFilterRefused, err)
	}
	return err
}

// readAll reads every page of an activity-log collection from the first
// (see followNextLinks); page receives the items.
func readAll[T any](ctx context.Context, c *Client, what string,
	get func(ctx context.Context, nextLink string) ([]T, string, error), page func([]T) error) error {
	return followNextLinks(ctx, c, activityRequest, what, "", get, func(items []T, _ string) error { return page(items) })
}

func ptr[T any](v T) *T { return &v }
