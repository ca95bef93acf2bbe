package graphsim

import (
	"log/slog"
	"time"
)

// Defaults for the credentials the token service accepts.
const (
	DefaultTenantID     = "8f7b1d9e-3c4a-4e21-9a5b-2d6c0e4f7a13"
	DefaultClientID     = "2b6e4c1a-9d3f-4b8e-a7c5-0f1e2d3c4b5a"
	DefaultClientSecret = "graphsim-secret"
)

// Defaults for the paging and the token lifetime.
const (
	DefaultPageSize      = 100
	DefaultTokenLifetime = 3599 * time.Second
)

// Defaults of the activity logs (auditLogs/signIns, auditLogs/signUps,
// userRegistrationDetails).
const (
	// DefaultLogPageSize is Graph's default and maximum page size of the logs.
	DefaultLogPageSize = 1000
	// DefaultLogRetention is an External ID tenant's log retention.
	DefaultLogRetention = 7 * 24 * time.Hour
	// MaxLogRetention is the longest retention Graph has (P1/P2).
	MaxLogRetention   = 30 * 24 * time.Hour
	DefaultLatencyMin = time.Minute
	DefaultLatencyMax = 5 * time.Minute
	DefaultLateMin    = 2 * time.Hour
	DefaultLateMax    = 5 * time.Hour
)

// Retirement is how the userInsights reports answer after Microsoft
// retired them; the activity logs keep working.
type Retirement int32

// The retirement modes.
const (
	NotRetired Retirement = iota
	// RetiredEmpty answers every userInsights report 200 with "value":[]
	// (and /$count 0).
	RetiredEmpty
	// RetiredBadRequest answers 400 BadRequest "Resource not found for the
	// segment 'userInsights'.", as Graph does for an unknown segment.
	RetiredBadRequest
	// RetiredNotFound answers 404 with the same message.
	RetiredNotFound
	// RetiredGone answers 410 with the same message.
	RetiredGone
)

// Options configures a simulator. Zero values mean the defaults in brackets.
type Options struct {
	// Now is the data clock [time.Now]: all report data derives from it.
	Now func() time.Time
	// Wall is the clock of request rates and token lifetimes [time.Now]. It is
	// separate from Now because tests often pin the data clock, which would
	// freeze a throttle window for ever.
	Wall func() time.Time
	// PageSize is the number of rows per page [DefaultPageSize].
	PageSize int
	// Lag withholds today's daily rows, so the newest daily factDate is
	// yesterday, as when Graph's aggregation runs behind.
	Lag bool
	// TenantID is the tenant the token service knows [DefaultTenantID].
	TenantID string
	// Tenants are further tenants the token service knows, each with its own
	// data; they share the client id and secret.
	Tenants []string
	// ClientID is the application (client) id the token service accepts
	// [DefaultClientID].
	ClientID string
	// ClientSecret is the secret the token service accepts
	// [DefaultClientSecret]; Server.SetClientSecret changes it. Client assertions (certificates, workload
	// identity) are accepted when well formed, without a signature check.
	ClientSecret string
	// TokenLifetime is the expires_in of issued tokens; Graph rejects a token
	// after it by the Wall clock [DefaultTokenLifetime].
	TokenLifetime time.Duration
	// Throttle answers 429 with a Retry-After header once a tenant has made
	// more than 5 report requests in 10 seconds (Wall clock), like Graph's
	// identity reports limit.
	Throttle bool
	// Logger receives a debug line per request [discard].
	Logger *slog.Logger

	// Retirement is the initial userInsights retirement mode
	// [NotRetired]; Server.SetRetirement changes it at run time.
	Retirement Retirement
	// EvolvableEnums makes the reports send "unknownFutureValue" for the
	// enum members Graph added after it (authentication failure reasonCode
	// userError and configError) unless the request has the header
	// "Prefer: include-unknown-enum-members", as Graph does. Off by default
	// so clients that do not send the header see the members.
	EvolvableEnums bool
	// FactDateTime sends factDate as a date-time ("2026-12-01T00:00:00Z"),
	// as some tenants do, instead of a date.
	FactDateTime bool

	// LogPageSize is the largest page of the activity logs
	// [DefaultLogPageSize]; a page is min($top, LogPageSize).
	LogPageSize int
	// LogRetention is how far back the logs serve events
	// [DefaultLogRetention], at most MaxLogRetention.
	LogRetention time.Duration
	// LogLatencyMin and LogLatencyMax bound the ingestion latency of an
	// event: it is served from createdDateTime + latency, drawn per event
	// [DefaultLatencyMin, DefaultLatencyMax when both are zero]. A negative
	// LogLatencyMax means no latency.
	LogLatencyMin, LogLatencyMax time.Duration
	// LateLogShare is the share of events that arrive hours late, between
	// LateLogMin and LateLogMax [DefaultLateMin, DefaultLateMax] [0].
	LateLogShare           float64
	LateLogMin, LateLogMax time.Duration
	// AcceptSelect accepts $select on auditLogs/signIns and
	// auditLogs/signUps and sends only the selected properties. Graph
	// documents no $select there and users report it refused (400 "Query
	// option 'Select' is not allowed…"), so by default it is refused; this
	// is for the tests of a client's fast path.
	AcceptSelect bool
	// NoMinDate lifts the minimum date of the logs' $filter: by default a
	// createdDateTime bound before now − LogRetention answers 400 "Invalid
	// filter clause", as Graph's "Min date validation check" does.
	NoMinDate bool
	// SignInActivityUnlicensed makes users/$count with a signInActivity
	// filter answer 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant,
	// as for a tenant without a premium licence.
	SignInActivityUnlicensed bool
}

// withDefaults returns o with every zero value replaced by its default.
func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wall == nil {
		o.Wall = time.Now
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LogPageSize <= 0 {
		o.LogPageSize = DefaultLogPageSize
	}
	if o.LogRetention <= 0 {
		o.LogRetention = DefaultLogRetention
	}
	o.LogRetention = min(o.LogRetention, MaxLogRetention)
	switch {
	case o.LogLatencyMax < 0:
		o.LogLatencyMin, o.LogLatencyMax = 0, 0
	case o.LogLatencyMin == 0 && o.LogLatencyMax == 0:
		o.LogLatencyMin, o.LogLatencyMax = DefaultLatencyMin, DefaultLatencyMax
	}
	o.LogLatencyMax = max(o.LogLatencyMax, o.LogLatencyMin)
	if o.LateLogMin == 0 && o.LateLogMax == 0 {
		o.LateLogMin, o.LateLogMax = DefaultLateMin, DefaultLateMax
	}
	o.LateLogMax = max(o.LateLogMax, o.LateLogMin)
	return o
}

// latency returns the ingestion latency model of o (with defaults).
func (o Options) latency() latency {
	return latency{min: o.LogLatencyMin, max: o.LogLatencyMax, lateShare: o.LateLogShare,
		lateMin: o.LateLogMin, lateMax: o.LateLogMax}
}
