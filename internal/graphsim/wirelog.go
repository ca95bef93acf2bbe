package graphsim

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// This file writes the activity-log objects as Graph's JSON: every
// property of Microsoft's example responses, so a page of 1,000 sign-ins
// is megabytes as on Graph, or with Options.AcceptSelect only the selected
// top-level properties.

// signInProps are the properties of a signIn, in the order they go out:
// those of the example response of api-reference/beta/api/signin-list.md
// (its repeated keys once), then further properties of
// api-reference/beta/resources/signin.md.
func signInProps() []string {
	return []string{"id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId",
		"appDisplayName", "ipAddress", "clientAppUsed", "userAgent", "correlationId", "conditionalAccessStatus",
		"originalRequestId", "authenticationProtocol", "incomingTokenType", "isInteractive", "homeTenantId",
		"homeTenantName", "isTenantRestricted", "tokenIssuerName", "tokenIssuerType", "processingTimeInMilliseconds",
		"riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "riskEventTypes_v2",
		"resourceDisplayName", "resourceId", "resourceTenantId", "authenticationMethodsUsed",
		"authenticationRequirement", "uniqueTokenIdentifier", "signInIdentifier", "signInEventTypes",
		"servicePrincipalId", "userType", "flaggedForReview", "autonomousSystemNumber", "crossTenantAccessType",
		"status", "deviceDetail", "location", "appliedConditionalAccessPolicies", "authenticationProcessingDetails",
		"networkLocationDetails", "authenticationDetails", "authenticationRequirementPolicies",
		"sessionLifetimePolicies",
		// signin.md, not in the example:
		"signInIdentifierType", "sessionId", "appliedEventListeners", "authenticationContextClassReferences",
		"clientCredentialType", "ipAddressFromResourceProvider", "originalTransferMethod",
		"resourceServicePrincipalId", "signInTokenProtectionStatus", "isThroughGlobalSecureAccess",
		"azureResourceId", "federatedCredentialId"}
}

// signUpProps are the properties of a selfServiceSignUp in the order of
// the example of api-reference/beta/api/auditlogroot-list-signups.md, then
// fraudProtectionDetails (the SDK's model).
func signUpProps() []string {
	return []string{"appDisplayName", "appId", "correlationId", "createdDateTime", "id", "signUpStage",
		"signUpIdentityProvider", "userId", "appliedEventListeners", "status", "signUpIdentity",
		"fraudProtectionDetails"}
}

func registrationProps() []string {
	return []string{"id", "userPrincipalName", "userDisplayName", "userType", "isAdmin",
		"isSsprRegistered", "isSsprEnabled", "isSsprCapable", "isMfaRegistered", "isMfaCapable",
		"isPasswordlessCapable", "isSystemPreferredAuthenticationMethodEnabled",
		"systemPreferredAuthenticationMethods", "userPreferredMethodForSecondaryAuthentication",
		"methodsRegistered", "defaultMfaMethod", "lastUpdatedDateTime"}
}

// signUpsTip is the annotation Graph puts on signUps pages (the example of
// auditlogroot-list-signups.md).
const signUpsTip = "Use $select to choose only the properties your app needs, as this can lead to performance " +
	"improvements. For example: GET auditLogs/signUps?$select=appDisplayName,appId"

// logEncoder writes events as Graph's JSON, with the quirks of the
// package documentation, only the selected properties.
type logEncoder struct {
	q          *logQuery
	tenant     string
	wrongTypes bool
}

// object builds one JSON object of selected properties.
type object struct {
	b   []byte
	n   int
	sel func(string) bool
}

// key starts property name if it is selected, and reports whether it is.
func (o *object) key(name string) bool {
	if o.sel != nil && !o.sel(name) {
		return false
	}
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = appendString(o.b, name)
	o.b = append(o.b, ':')
	return true
}

func (o *object) str(name, v string) {
	if o.key(name) {
		o.b = appendString(o.b, v)
	}
}

// strOrNull sends "" as null.
func (o *object) strOrNull(name, v string) {
	if !o.key(name) {
		return
	}
	if v == "" {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = appendString(o.b, v)
}

func (o *object) boolean(name string, v bool) {
	if o.key(name) {
		o.b = strconv.AppendBool(o.b, v)
	}
}

func (o *object) integer(name string, v int) {
	if o.key(name) {
		o.b = strconv.AppendInt(o.b, int64(v), 10)
	}
}

func (o *object) raw(name, v string) {
	if o.key(name) {
		o.b = append(o.b, v...)
	}
}

func (o *object) strings(name string, vs []string) {
	if o.key(name) {
		o.b = appendStrings(o.b, vs)
	}
}

func (o *object) instant(name string, t time.Time, layout string) {
	if o.key(name) {
		o.b = append(o.b, '"')
		o.b = t.UTC().AppendFormat(o.b, layout)
		o.b = append(o.b, '"')
	}
}

// wireTime is Graph's createdDateTime layout: up to seven fractional
// digits, none when whole ("2021-06-30T16:34:32Z",
// "2020-03-13T19:15:41.6195833Z", "2024-10-15T01:58:09.287604Z" in the
// doc examples).
const wireTime = "2006-01-02T15:04:05.9999999Z"

// nested returns an object for a nested value: every property.
func nested(b []byte) *object { return &object{b: append(b, '{')} }

func (o *object) close() []byte { return append(o.b, '}') }

func appendStrings(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

func (e logEncoder) top(b []byte) *object {
	return &object{b: append(b, '{'), sel: e.q.selects}
}

func (e logEncoder) status(b []byte, st SignInStatus) []byte {
	o := nested(b)
	if o.key("errorCode") {
		if e.wrongTypes {
			o.b = append(o.b, `"abc"`...)
		} else {
			o.b = strconv.AppendInt(o.b, int64(st.ErrorCode), 10)
		}
	}
	o.strOrNull("failureReason", st.FailureReason)
	o.strOrNull("additionalDetails", st.AdditionalDetails)
	return o.close()
}

// signIn appends one sign-in with every property of signInProps. Quirks,
// drawn from its id: a "" os or browser is sometimes null; a "" country
// is a null, absent or empty location; a fifth of the events carry an
// unknown property.
func (e logEncoder) signIn(b []byte, ev *SignInEvent) []byte {
	h := newHash(ev.ID)
	o := e.top(b)
	e.signInIdentity(o, ev, h)
	e.signInRequest(o, ev, h)
	if o.key("status") {
		o.b = e.status(o.b, ev.Status)
	}
	if o.key("deviceDetail") {
		o.b = deviceDetail(o.b, ev.DeviceDetail, h)
	}
	signInLocation(o, ev.Location, h)
	if o.key("appliedConditionalAccessPolicies") {
		o.b = e.policies(o.b, ev, h)
	}
	if o.key("authenticationProcessingDetails") {
		o.b = processingDetails(o.b, ev)
	}
	o.raw("networkLocationDetails", "[]")
	if o.key("authenticationDetails") {
		o.b = authenticationDetails(o.b, ev.AuthenticationDetails)
	}
	o.raw("authenticationRequirementPolicies", "[]")
	o.raw("sessionLifetimePolicies", "[]")
	e.signInMore(o, ev, h)
	if e.q.selected == nil && h.str("extra").unit() < 0.2 {
		o.raw("newProperty", `{"flag":true,"items":[1,2]}`)
	}
	return o.close()
}

// signInIdentity writes the properties from id to clientAppUsed.
func (e logEncoder) signInIdentity(o *object, ev *SignInEvent, h hash) {
	o.str("id", ev.ID)
	o.instant("createdDateTime", ev.CreatedDateTime, wireTime)
	o.str("userDisplayName", ev.UserDisplayName)
	o.str("userPrincipalName", ev.UserPrincipalName)
	o.str("userId", ev.UserID)
	o.str("appId", ev.AppID)
	o.str("appDisplayName", ev.AppDisplayName)
	o.str("ipAddress", ipAddress(h))
	o.str("clientAppUsed", ev.ClientAppUsed)
}

// signInRequest writes the properties from userAgent to
// crossTenantAccessType: constants of an interactive customer sign-in to
// the tenant, and ids drawn from the event's.
func (e logEncoder) signInRequest(o *object, ev *SignInEvent, h hash) {
	o.str("userAgent", userAgent(ev.DeviceDetail, h))
	o.str("correlationId", ev.CorrelationID)
	ca := "notApplied"
	switch {
	case ev.Status.ErrorCode == errBlockedByCA.code:
		ca = "failure"
	case ev.AuthenticationRequirement == "multiFactorAuthentication":
		ca = "success"
	}
	o.str("conditionalAccessStatus", ca)
	o.str("originalRequestId", ev.ID)
	o.str("authenticationProtocol", "oAuth2")
	o.str("incomingTokenType", "none")
	o.boolean("isInteractive", ev.IsInteractive)
	o.str("homeTenantId", e.tenant)
	o.str("homeTenantName", "")
	o.boolean("isTenantRestricted", false)
	o.str("tokenIssuerName", "")
	o.str("tokenIssuerType", "AzureAD")
	o.integer("processingTimeInMilliseconds", 40+h.str("ms").pick(900))
	o.str("riskDetail", "none")
	o.str("riskLevelAggregated", "none")
	o.str("riskLevelDuringSignIn", "none")
	o.str("riskState", "none")
	o.raw("riskEventTypes_v2", "[]")
	o.str("resourceDisplayName", "Microsoft Graph")
	o.str("resourceId", "00000003-0000-0000-c000-000000000000")
	o.str("resourceTenantId", e.tenant)
	o.raw("authenticationMethodsUsed", "[]")
	o.str("authenticationRequirement", ev.AuthenticationRequirement)
	o.str("uniqueTokenIdentifier", tokenIdentifier(h))
	o.str("signInIdentifier", ev.UserPrincipalName)
	o.strings("signInEventTypes", ev.SignInEventTypes)
	o.str("servicePrincipalId", "")
	o.str("userType", "member")
	o.boolean("flaggedForReview", false)
	o.integer("autonomousSystemNumber", 3000+h.str("asn").pick(60000))
	o.str("crossTenantAccessType", "none")
}

// signInMore writes the properties signin.md documents beyond the example.
func (e logEncoder) signInMore(o *object, ev *SignInEvent, h hash) {
	o.str("signInIdentifierType", "userPrincipalName")
	o.str("sessionId", guid(h.str("session")))
	o.raw("appliedEventListeners", "[]")
	o.raw("authenticationContextClassReferences", "[]")
	o.str("clientCredentialType", "none")
	o.raw("ipAddressFromResourceProvider", "null")
	o.str("originalTransferMethod", "none")
	o.str("resourceServicePrincipalId", guid(newHash(e.tenant).str("graphServicePrincipal")))
	o.str("signInTokenProtectionStatus", "none")
	o.boolean("isThroughGlobalSecureAccess", false)
	o.str("azureResourceId", "")
	o.str("federatedCredentialId", "")
}

// ipAddress is a documentation address (RFC 5737) drawn from h.
func ipAddress(h hash) string {
	return "203.0.113." + strconv.Itoa(1+h.str("ip").pick(254))
}

// tokenIdentifier is a base64 uniqueTokenIdentifier, as in the example.
func tokenIdentifier(h hash) string {
	var raw [22]byte
	for i := range raw {
		raw[i] = byte(h.str("uti").num(int64(i)).pick(256))
	}
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// userAgent is a browser's or an app's user agent on the device.
func userAgent(d DeviceDetail, h hash) string {
	platform := platformToken(d.OperatingSystem)
	version := strconv.Itoa(120 + h.str("version").pick(8))
	switch d.Browser {
	case "":
		return "Dalvik/2.1.0 (" + platform + ") MSAL/5." + strconv.Itoa(h.str("msal").pick(9)) + ".0"
	case "Safari":
		return "Mozilla/5.0 (" + platform + ") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	case "Firefox":
		return "Mozilla/5.0 (" + platform + "; rv:" + version + ".0) Gecko/20100101 Firefox/" + version + ".0"
	case "Edge":
		return "Mozilla/5.0 (" + platform + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + version +
			".0.0.0 Safari/537.36 Edg/" + version + ".0.0.0"
	}
	return "Mozilla/5.0 (" + platform + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + version + ".0.0.0 Safari/537.36"
}

// platformToken is the platform part of a user agent.
func platformToken(os string) string {
	switch strings.ToLower(os) {
	case "windows":
		return "Windows NT 10.0; Win64; x64"
	case "macos":
		return "Macintosh; Intel Mac OS X 10_15_7"
	case "ios":
		return "iPhone; CPU iPhone OS 17_5 like Mac OS X"
	case "android":
		return "Linux; Android 14; Pixel 8"
	case "linux":
		return "X11; Linux x86_64"
	case "chromeos":
		return "X11; CrOS x86_64 15699.85.0"
	}
	return "compatible"
}

// deviceDetail writes a deviceDetail; a "" os or browser is null in half
// the events.
func deviceDetail(b []byte, dd DeviceDetail, h hash) []byte {
	d := nested(b)
	d.str("deviceId", "")
	d.str("displayName", "")
	if dd.OperatingSystem == "" && h.str("osNull").unit() < 0.5 {
		d.raw("operatingSystem", "null")
	} else {
		d.str("operatingSystem", dd.OperatingSystem)
	}
	if dd.Browser == "" && h.str("browserNull").unit() < 0.5 {
		d.raw("browser", "null")
	} else {
		d.str("browser", dd.Browser)
	}
	d.boolean("isCompliant", false)
	d.boolean("isManaged", false)
	d.str("trustType", "")
	return d.close()
}

// signInLocation writes the location: with no country it is null, absent
// or empty; geoCoordinates is sometimes {} as in the doc's example.
func signInLocation(o *object, loc SignInLocation, h hash) {
	quirk := h.str("location").pick(3)
	switch {
	case loc.CountryOrRegion == "" && quirk == 0:
		o.raw("location", "null")
		return
	case loc.CountryOrRegion == "" && quirk == 1: // absent
		return
	case !o.key("location"):
		return
	}
	l := nested(o.b)
	l.strOrNull("city", loc.City)
	l.strOrNull("state", loc.State)
	l.str("countryOrRegion", loc.CountryOrRegion)
	lat, long, ok := coordinates(loc.CountryOrRegion)
	if ok && h.str("geo").unit() >= 0.1 {
		l.raw("geoCoordinates", `{"altitude":null,"latitude":`+lat+`,"longitude":`+long+`}`)
	} else {
		l.raw("geoCoordinates", "{}")
	}
	o.b = l.close()
}

// coordinates are those of the city of cities(country).
func coordinates(country string) (lat, long string, ok bool) {
	switch country {
	case "US":
		return "47.60620880126953", "-122.33206939697266", true
	case "DE":
		return "52.52000045776367", "13.404999732971191", true
	case "BR":
		return "-23.550500869750977", "-46.63330078125", true
	case "UK":
		return "51.50720977783203", "-0.12758000195026398", true
	case "FR":
		return "48.85660171508789", "2.352200031280518", true
	case "IL":
		return "32.08530044555664", "34.78179931640625", true
	}
	return "", "", false
}

// policies writes appliedConditionalAccessPolicies: the tenant's policies
// with their result for this sign-in, or [] for a share of the events
// (the example shows both forms).
func (e logEncoder) policies(b []byte, ev *SignInEvent, h hash) []byte {
	if h.str("caEmpty").unit() < 0.4 {
		return append(b, "[]"...)
	}
	type policy struct{ name, grant, result, satisfied string }
	mfa := policy{"Require MFA for customers", `["Mfa"]`, "notApplied", "none"}
	if ev.AuthenticationRequirement == "multiFactorAuthentication" {
		mfa.result, mfa.satisfied = "success", "application,users"
	}
	block := policy{"Block legacy and risky sign-ins", `["Block"]`, "notApplied", "none"}
	if ev.Status.ErrorCode == errBlockedByCA.code {
		block.result, block.satisfied = "failure", "application,users"
	}
	list := []policy{mfa, block, {"Session lifetime for customers", "[]", "notEnabled", "none"}}
	b = append(b, '[')
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		o := nested(b)
		o.str("id", guid(newHash(e.tenant).str(p.name)))
		o.str("displayName", p.name)
		o.raw("enforcedGrantControls", p.grant)
		o.raw("enforcedSessionControls", "[]")
		o.str("result", p.result)
		o.str("conditionsSatisfied", p.satisfied)
		o.str("conditionsNotSatisfied", "none")
		b = o.close()
	}
	return append(b, ']')
}

// processingDetails writes authenticationProcessingDetails, key-value
// pairs as Entra logs them for a browser or app sign-in.
func processingDetails(b []byte, ev *SignInEvent) []byte {
	pairs := [][2]string{{"Legacy TLS (TLS 1.0, 1.1, 3DES)", "False"},
		{"Oauth Scope Info", `["openid","profile","offline_access","User.Read"]`}, {"Is CAE Token", "False"}}
	if ev.DeviceDetail.Browser != "" {
		pairs = append(pairs, [2]string{"Login Hint Present", "True"})
	}
	b = append(b, '[')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		o := nested(b)
		o.str("key", p[0])
		o.str("value", p[1])
		b = o.close()
	}
	return append(b, ']')
}

func authenticationDetails(b []byte, ds []AuthenticationDetail) []byte {
	b = append(b, '[')
	for i, d := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		x := nested(b)
		x.instant("authenticationStepDateTime", d.AuthenticationStepDateTime, wireTime)
		x.str("authenticationMethod", d.AuthenticationMethod)
		x.str("authenticationMethodDetail", d.AuthenticationMethodDetail)
		x.boolean("succeeded", d.Succeeded)
		x.str("authenticationStepResultDetail", d.AuthenticationStepResultDetail)
		x.str("authenticationStepRequirement", d.AuthenticationStepRequirement)
		b = x.close()
	}
	return append(b, ']')
}

// signUp appends one selfServiceSignUp in the example's order; a stage
// without a user has "userId":null, the credentialCollection stage
// "appDisplayName":null, as in the example.
func (e logEncoder) signUp(b []byte, ev *SignUpEvent) []byte {
	h := newHash(ev.ID)
	o := e.top(b)
	o.strOrNull("appDisplayName", ev.AppDisplayName)
	o.str("appId", ev.AppID)
	o.str("correlationId", ev.CorrelationID)
	o.instant("createdDateTime", ev.CreatedDateTime, wireTime)
	o.str("id", ev.ID)
	o.str("signUpStage", ev.SignUpStage)
	o.str("signUpIdentityProvider", ev.SignUpIdentityProvider)
	o.strOrNull("userId", ev.UserID)
	o.raw("appliedEventListeners", "[]")
	if o.key("status") {
		o.b = e.status(o.b, ev.Status)
	}
	if o.key("signUpIdentity") {
		x := nested(o.b)
		x.str("signUpIdentifier", ev.SignUpIdentity.SignUpIdentifier)
		x.str("signUpIdentifierType", ev.SignUpIdentity.SignUpIdentifierType)
		o.b = x.close()
	}
	o.raw("fraudProtectionDetails", "null")
	if e.q.selected == nil && h.str("extra").unit() < 0.2 {
		o.raw("newProperty", `"x"`)
	}
	return o.close()
}

// registration appends one userRegistrationDetails entry; its
// lastUpdatedDateTime has Graph's seven fractional digits.
func (e logEncoder) registration(b []byte, r *UserRegistration) []byte {
	o := e.top(b)
	o.str("id", r.ID)
	o.str("userPrincipalName", r.UserPrincipalName)
	o.str("userDisplayName", r.UserDisplayName)
	o.str("userType", r.UserType)
	o.boolean("isAdmin", r.IsAdmin)
	o.boolean("isSsprRegistered", false)
	o.boolean("isSsprEnabled", false)
	o.boolean("isSsprCapable", false)
	o.boolean("isMfaRegistered", r.IsMfaRegistered)
	o.boolean("isMfaCapable", r.IsMfaCapable)
	o.boolean("isPasswordlessCapable", false)
	o.boolean("isSystemPreferredAuthenticationMethodEnabled", false)
	o.raw("systemPreferredAuthenticationMethods", "[]")
	o.str("userPreferredMethodForSecondaryAuthentication", "none")
	o.strings("methodsRegistered", r.MethodsRegistered)
	o.str("defaultMfaMethod", r.DefaultMfaMethod)
	o.instant("lastUpdatedDateTime", r.LastUpdatedDateTime, "2006-01-02T15:04:05.0000000Z")
	return o.close()
}
