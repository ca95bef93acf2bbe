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
// reports/authenticationMethods/userRegistrationDetails. Each reads only the
// fields it needs ($select) with the largest page Graph allows ($top), and
// follows @odata.nextLink to the end.

// logsPageSize is Graph's maximum (and default) page of the activity logs.
const logsPageSize int32 = 1000

// Fields read of each sign-in and sign-up ($select).
var (
	signInFields = []string{"id", "createdDateTime", "userId", "appId", "appDisplayName", "status", "deviceDetail",
		"location", "authenticationRequirement", "authenticationDetails", "isInteractive", "signInEventTypes"}
	signUpFields       = []string{"id", "createdDateTime", "userId", "appId", "appDisplayName", "signUpIdentityProvider", "status"}
	registrationFields = []string{"id", "isMfaRegistered", "methodsRegistered"}
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

// createdFilter is the OData filter of a createdDateTime window [from, to).
func createdFilter(from, to time.Time) *string {
	f := fmt.Sprintf("createdDateTime ge %s and createdDateTime lt %s",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)) // whole seconds: Graph takes at most 7 fractional digits
	return &f
}

// SignIns reads the interactive user sign-ins created in [from, to) and
// calls page for each page of them. Sign-ins Graph marks as
// non-interactive are skipped; so are entries without an id or a
// createdDateTime (counted in the log line at the end).
func (c *Client) SignIns(ctx context.Context, from, to time.Time, page func([]insights.SignIn) error) error {
	first := &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{
			Filter: createdFilter(from, to), Select: signInFields, Top: ptr(logsPageSize),
		},
	}
	skipped := 0
	err := readAll(ctx, c, "auditLogs/signIns", collectionPages[*auditlogs.SignInsRequestBuilder, auditlogs.SignInsRequestBuilderGetRequestConfiguration, models.SignInable](c.activity.signIns, first),
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

// SignUps reads the self-service sign-ups created in [from, to).
func (c *Client) SignUps(ctx context.Context, from, to time.Time, page func([]insights.SignUp) error) error {
	first := &auditlogs.SignUpsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignUpsRequestBuilderGetQueryParameters{
			Filter: createdFilter(from, to), Select: signUpFields, Top: ptr(logsPageSize),
		},
	}
	return readAll(ctx, c, "auditLogs/signUps", collectionPages[*auditlogs.SignUpsRequestBuilder, auditlogs.SignUpsRequestBuilderGetRequestConfiguration, models.SelfServiceSignUpable](c.activity.signUps, first),
		func(items []models.SelfServiceSignUpable) error {
			events := make([]insights.SignUp, 0, len(items))
			for _, item := range items {
				if item == nil || item.GetId() == nil || item.GetCreatedDateTime() == nil {
					continue
				}
				e := insights.SignUp{
					ID: *item.GetId(), Created: item.GetCreatedDateTime().UTC(), UserID: str(item.GetUserId()),
					AppID: str(item.GetAppId()), AppName: str(item.GetAppDisplayName()),
					IdentityProvider: str(item.GetSignUpIdentityProvider()),
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
		if ie := (*insights.Error)(nil); errors.As(err, &ie) && ie.Status == 403 && strings.Contains(strings.ToLower(err.Error()), "premium license") {
			return 0, fmt.Errorf("users/$count (signInActivity): %w: %w", insights.ErrUnlicensed, err)
		}
		return 0, fmt.Errorf("users/$count (signInActivity): %w", err)
	}
	if n == nil || *n < 0 {
		return 0, fmt.Errorf("users/$count (signInActivity): %w", transport.BadResponse(errors.New("no count in the answer")))
	}
	return int64(*n), nil
}

// Registrations reads every user's MFA registration.
func (c *Client) Registrations(ctx context.Context, page func([]insights.Registration) error) error {
	first := &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{
		QueryParameters: &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{
			Select: registrationFields, Top: ptr(logsPageSize),
		},
	}
	return readAll(ctx, c, "reports/authenticationMethods/userRegistrationDetails",
		collectionPages[*reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilder,
			reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration, models.UserRegistrationDetailsable](c.activity.registrations, first),
		func(items []models.UserRegistrationDetailsable) error {
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
			return page(regs)
		})
}

// collectionPages adapts a typed collection request builder to readAll's
// get: the first page with the query of first, the others at their
// nextLink.
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

// readAll reads every page of a collection: get reads the first page
// (nextLink "") or the one at nextLink, each through the token retry of
// Client.do; page receives the items. A nextLink seen before, or more
// pages than the client allows, is a bad response.
func readAll[T any](ctx context.Context, c *Client, what string,
	get func(ctx context.Context, nextLink string) ([]T, string, error), page func([]T) error) error {
	seen := map[string]bool{}
	next := ""
	for n := 1; ; n++ {
		var items []T
		var link string
		err := c.do(ctx, activityRequest, func(ctx context.Context) (err error) {
			items, link, err = get(ctx, next)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s page %d: %w", what, n, err)
		}
		if err := page(items); err != nil {
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

func ptr[T any](v T) *T { return &v }
