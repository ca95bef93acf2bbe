package insights

import (
	"errors"
	"time"
)

// The sources a tenant can read: the activity logs (the default since
// Microsoft retired User Insights on 31 August 2026) or the userInsights
// reports.
const (
	SourceLogs         = "logs"
	SourceUserInsights = "userinsights"
)

// SignIn is one interactive user sign-in of auditLogs/signIns, reduced to
// the fields the logs source aggregates. Strings are Graph's verbatim.
type SignIn struct {
	ID        string
	Created   time.Time // createdDateTime, UTC
	UserID    string
	AppID     string
	AppName   string
	OS        string // deviceDetail.operatingSystem
	Browser   string // deviceDetail.browser
	Country   string // location.countryOrRegion
	ErrorCode int64  // status.errorCode; 0 = success
	// MFA is set when authenticationRequirement is multiFactorAuthentication;
	// MFAMethod and MFASucceeded then come from the last authenticationDetails
	// entry.
	MFA          bool
	MFAMethod    string
	MFASucceeded bool
}

// SignUp is one auditLogs/signUps (selfServiceSignUp) event. Graph writes
// one event per stage of a sign-up flow, all with the flow's correlationId;
// the flow created a user when its userCreation event has errorCode 0.
type SignUp struct {
	ID               string
	Created          time.Time
	UserID           string // only on the userCreation event
	AppID            string
	AppName          string
	IdentityProvider string // signUpIdentityProvider
	Stage            string // signUpStage, e.g. credentialCollection, userCreation; "" when absent
	CorrelationID    string // the flow
	ErrorCode        int64  // status.errorCode; 0 = the stage succeeded
}

// ErrUnlicensed marks a read the tenant's licence does not allow (Graph's
// signInActivity needs Entra ID P1 or P2): the metrics built from it are
// absent, not failing.
var ErrUnlicensed = errors.New("the tenant's licence does not include this data")

// ErrSelectRefused marks a read Graph refused because of its $select
// (Graph documents $top, $skiptoken and $filter on the activity logs, not
// $select): the caller reads again without it.
var ErrSelectRefused = errors.New("$select refused by Graph on this read")

// ErrFilterRefused marks a read Graph refused for its $filter ("Invalid
// filter clause"), as it does for a createdDateTime bound before the
// earliest date it keeps.
var ErrFilterRefused = errors.New("the filter of this read refused by Graph")

// Registration is one user of reports/authenticationMethods/userRegistrationDetails.
type Registration struct {
	UserID            string
	MFARegistered     bool
	MethodsRegistered []string
}
