// Package graphsim is a faithful stand-in for the Microsoft Graph beta
// userInsights reports and the Entra token service, for tests, the
// exporter's demo mode and benchmarks.
//
// One [Server] (an http.Handler) answers both hosts' paths:
//
//   - /beta/reports/userInsights/{daily|monthly}/{report}, with paging by
//     absolute @odata.nextLink, $filter on factDate (and eq on string
//     properties), $top, $count, /$count, /{id} and the documented quirks;
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
// The package imports neither the Graph SDK nor package graph.
package graphsim
