// Package graphsim is a faithful stand-in for the Microsoft Graph beta
// userInsights reports, the activity logs that replace them, and the Entra
// token service, for tests, the exporter's demo mode and benchmarks.
//
// One [Server] (an http.Handler) answers both hosts' paths:
//
//   - /beta/reports/userInsights/{daily|monthly}/{report}, with paging by
//     absolute @odata.nextLink, $filter on factDate (and eq on string
//     properties), $top, $count, /$count, /{id} and the documented quirks;
//   - /beta/auditLogs/signIns (also /v1.0), /beta/auditLogs/signUps,
//     /beta/users/$count and
//     /beta/reports/authenticationMethods/userRegistrationDetails (see
//     "Activity logs" below);
//   - /{tenant}/v2.0/.well-known/openid-configuration,
//     /{tenant}/oauth2/v2.0/token and /common/discovery/instance, which is
//     what azidentity (MSAL) needs for the client-credentials flow with a
//     secret or a client assertion.
//
// [Start] and [Listen] run it on a loopback TLS listener with its own
// certificate authority, because azidentity refuses an authority host
// without https. Faults ([Fault]) and a Graph-like throttle switch at run
// time; [Server.Stats] counts what arrived.
//
// # Data
//
// The data derives from the data clock (Options.Now) and the tenant id
// only, and [Rows] returns exactly what the server sends, so tests compute
// expected values from it. What the model promises:
//
//   - daily reports cover the 30 days ending today, monthly reports the 12
//     months ending with the current month; the newest period is partial:
//     event counts grow with the share of the period elapsed and are at
//     least 1, so the rows exist from 00:00. Options.Lag withholds today;
//   - a past day's counts do not change as the clock moves on, except for
//     the rules below that are relative to today;
//   - four apps per tenant; the third was renamed 10 days before today, so
//     older rows carry its old name; the admin portal (the fourth) has no
//     rows on weekends in daily activity reports;
//   - daily mfaCompletions has SpikeFactor times the usual failures on the
//     day SpikeDaysAgo days before today;
//   - daily inactiveUsers skips some days older than yesterday; some rows
//     of past months of monthly authentications are dated on the 21st;
//   - appid is lower case on authentications only; os is spelled "MacOs",
//     "macOS" or "MACOS" depending on the report; country may be "" or
//     "UK"; some rows carry "newDimension", "@odata.type" or null values,
//     which Rows reports as zero;
//   - failures and mfaFailures sum to attemptsCount − successCount;
//     summary's activeUsers and authentication counts equal the
//     activeUsers (unless its count is null) and authentications rows of
//     the same day, app and os.
//
// A paging run reads one snapshot: the $skiptoken carries the data clock of
// the first page, so the pages fit together even across midnight.
//
// The population is scaled so that 30 days of sign-ins stay under about
// 60 000 events per tenant (about 700–1 700 a day, by the tenant's size;
// DefaultTenantID ≈ 1 100 at the end of 2026). Monthly event counts (authentications,
// mfaCompletions, signUps, summary's requests) are the sums of their days.
//
// # Activity logs
//
// The events derive from the same model as the reports, so both sources
// agree where their definitions match. [SignIns], [SignUps], [Users] and
// [UserCount] return the ground truth; [Server.SignInEvents] and
// [Server.SignUpEvents] what the server serves at its clock:
//
//   - the sign-ins created on a UTC day with an authentications row's
//     appId, os, country and browser, interrupts aside, number its
//     attemptsCount, successCount of them have status.errorCode 0, and
//     their error codes map to its failures' reasonCodes by
//     [ErrorCodeReasons]: userError = 50126 (invalid credentials), 50053
//     (locked) or 50057 (disabled); incomplete = 500121 (strong
//     authentication failed: every failed MFA sign-in) or 50058 (not
//     signed in); denied = 53003 (Conditional Access); configError = 50011
//     (redirect URI); systemFailure = 90033; badRequest = 90014; other =
//     50089 (flow token expired). Today's events are those created up to
//     the clock, which today's partial row counts;
//   - on top of those, 30 % of the successful browser sign-ins are
//     preceded, 0.5–3 s earlier, by a "Keep me signed in" interrupt:
//     errorCode 50140 ([CodeKeepMeSignedIn]), its own id, the sign-in's
//     correlationId, user and app; no report counts it;
//   - the distinct userIds with a successful sign-in on a day for an (app,
//     os) never exceed that activeUsers row's count, at any clock, and come
//     close to it (over 95 % in total; a null count has no bound); segments
//     draw from overlapping runs of the tenant's first users, so some users
//     use two apps;
//   - the sign-ins of each daily mfaCompletions row (app, mfaMethod; its os,
//     country and identityProvider are those of one authentications
//     segment) carry authenticationRequirement multiFactorAuthentication
//     and a last authenticationDetails entry with authenticationMethod =
//     the row's mfaMethod ("PhoneAppNotification", "Sms", …) and succeeded
//     as counted; a failed one is errorCode 500121. The MFA sign-ins are a
//     part of their segment's authentications (the report's attempts are
//     single-factor plus MFA ones), spike day included. Other sign-ins are
//     singleFactorAuthentication with one Password entry;
//   - auditLogs/signUps has one event per stage of a sign-up flow, the
//     flow's events sharing a correlationId, seconds apart:
//     credentialCollection, credentialValidation with the email passcode
//     prompt (errorCode 1002013, [CodeEmailOTPPrompt]; local accounts
//     only), attributeCollectionAndValidation, userCreation (only its
//     successful event has a userId), as in Microsoft's example. The
//     completed flows per day and app are the signUps rows: their
//     userCreation events with errorCode 0 ([SignUpEvent.SignedUp]); a
//     tenth of them failed a stage first and retried it. Abandoned flows
//     (30 % of the completed ones) stop after a stage without an error;
//     failed flows (12 %) end with 50181, 50182, 1002027 or 399279
//     ([SignUpErrorCodes]). signUpIdentityProvider is "Google" for
//     google.com, "Facebook" for facebook.com, and "Email OTP" or "Email
//     Password" (per segment) for local;
//   - [IsInterrupt] tells the interrupts (1002013 and 50140) from
//     successes and failures;
//   - users/$count (header ConsistencyLevel: eventual, else 400
//     Request_BadRequest) is the sum of the newest userCount rows; with
//     $filter=signInActivity/lastSuccessfulSignInDateTime le|lt|ge|gt
//     <instant> it counts the users of [Users] whose last successful
//     sign-in (their newest success in the 30 days up to now, else a date
//     31–366 days back, or never for a quarter of them) matches; 403
//     Authentication_RequestFromNonPremiumTenantOrB2CTenant with
//     Options.SignInActivityUnlicensed. The inactiveUsers report is not
//     derived from these dates;
//   - userRegistrationDetails lists every user, 1,000 a page; in the
//     current month, mfaRegisteredUsers counts the users per registered
//     type, mapped to methodsRegistered by [MFATypeMethods] (past months
//     are drawn).
//
// The logs keep to Microsoft's documented contract (see "Documented
// contract" below): signIns and signUps take $filter on createdDateTime
// (ge, le, eq; unquoted RFC 3339 instants, fractional seconds and offsets
// allowed; joined by and), $top 1–1000 (the page size, capped by
// Options.LogPageSize), $orderby createdDateTime [asc|desc] (default
// newest first, ties by id) and $skiptoken in absolute nextLinks that keep
// the other options. An event is served from its VisibleAt
// (createdDateTime + a latency per event, Options.LogLatencyMin/Max,
// LateLogShare) while it is inside Options.LogRetention (7 days by
// default, at most 30).
//
// Objects are full: a sign-in has every property of Microsoft's example
// in signin-list.md (about 60 properties, nested deviceDetail, location
// with geoCoordinates, status, appliedConditionalAccessPolicies,
// authenticationProcessingDetails, authenticationDetails, …), so a page
// of 1,000 is about 3.5 MB; a sign-up has those of the signUps example,
// and signUps pages carry its "@microsoft.graph.tips" annotation.
// createdDateTime has seven fractional digits on half the events, six on
// a fifth, none on the rest; $filter compares them exactly.
//
// Wire quirks of the sign-ins: os spelled as the authentications report
// does ("MacOs", "Ios", ""); country "" or "UK"; an empty operatingSystem
// or browser is null in half the events; an empty country is a null,
// absent or empty location; geoCoordinates is sometimes {}; a fifth of
// the events carry an unknown "newProperty"; failureReason and
// additionalDetails are null on success. Sign-ups: appDisplayName is null
// on credentialCollection and userId null on every stage but a successful
// userCreation, as in the example. userRegistrationDetails'
// lastUpdatedDateTime has seven fractional digits.
//
// Options.Retirement and [Server.SetRetirement] retire the userInsights
// reports (empty, 400, 404 or 410) while the logs keep working;
// Options.EvolvableEnums sends unknownFutureValue for reasonCode userError
// and configError unless the request has Prefer:
// include-unknown-enum-members; Options.FactDateTime sends factDate as a
// date-time.
//
// # Documented contract
//
// By default graphsim accepts only what Microsoft documents for each read
// (the pages are cited where the code relies on them) and is stricter than
// Graph, never kinder; every refusal is a 400 with Graph's error envelope
// ({"error":{"code":"BadRequest","message":…,"innerError":{"date":…,
// "request-id":…,"client-request-id":…}}}):
//
//   - $select on signIns and signUps: "Query option 'Select' is not
//     allowed. To allow it, set the 'AllowedQueryOptions' property on
//     EnableQueryAttribute or QueryValidationSettings.", as users report;
//     $select and $top on userRegistrationDetails the same with 'Select'
//     and 'Top'; any other OData option the same with its OData name;
//   - lt and gt on createdDateTime: "Invalid filter clause: the operator
//     'lt' is not supported on createdDateTime";
//   - a createdDateTime bound before the data clock of the paging run
//     minus LogRetention: "Invalid filter clause: the date … is before the
//     earliest allowed date …", Graph's "Min date validation check";
//   - $filter and $orderby on userRegistrationDetails, documented but not
//     implemented here.
//
// Lenient behaviour is behind explicit options only: Options.AcceptSelect
// accepts $select of top-level properties on signIns and signUps;
// Options.NoMinDate lifts the minimum date.
//
// The package imports neither the Graph SDK nor package graph.
package graphsim
