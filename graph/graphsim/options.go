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
	return o
}
