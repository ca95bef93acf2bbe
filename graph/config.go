package graph

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// Config describes how to reach Graph for one tenant.
type Config struct {
	TenantName string // value of the tenant label
	TenantID   string
	ClientID   string
	// AuthMode is one of azconf.AuthModes; auto picks by
	// azconf.Credentials.Resolve (secret, certificate, workload identity).
	AuthMode                  string
	ClientSecret              string // usually from AZURE_CLIENT_SECRET; the caller reads the environment
	ClientSecretFile          string // re-read when it changes, so rotation needs no restart
	ClientCertificateFile     string // PEM or PKCS#12, re-read when it changes
	ClientCertificatePassword string
	FederatedTokenFile        string // workload identity (the caller reads AZURE_FEDERATED_TOKEN_FILE)
	Cloud                     string // one of azconf.Clouds; "" is public
	AuthorityHost             string // overrides the cloud's (https only); disables instance discovery
	GraphURL                  string // overrides the cloud's, e.g. https://graph.microsoft.com/beta
	Scope                     string // default: the cloud's Graph audience + "/.default"
	CAFile                    string // PEM CAs added to the system pool
	// RootCAs, when set, replaces the system pool (demo mode and tests
	// trust only the simulator); CAFile is still added to it.
	RootCAs       *x509.CertPool
	DisableBudget bool // demo mode: no request budget
	UserAgent     string
	MaxPages      int   // bound on nextLink pages per report [1000]
	MaxBodyBytes  int64 // bound on one response body [16 MiB]
}

// Deps are what NewClient needs from the rest of the exporter.
type Deps struct {
	Metrics  *transport.Metrics  // nil counts nothing
	Limiters *transport.Limiters // shared by all tenants; required unless Config.DisableBudget
	Logger   *slog.Logger        // nil discards
}

// DefaultMaxPages bounds the nextLink pages of one report.
const DefaultMaxPages = 1000

// endpoints are the resolved URLs of a Config.
type endpoints struct {
	authorityHost string   // https://…/ with a trailing slash
	customAuthor  bool     // AuthorityHost was set: no instance discovery
	graphURL      *url.URL // without a trailing slash
	scope         string
}

// resolve validates the URLs of c and fills in the cloud's defaults.
func (c *Config) resolve() (endpoints, error) {
	cl, err := azconf.LookupCloud(c.Cloud)
	if err != nil {
		return endpoints{}, err
	}
	ep := endpoints{authorityHost: cl.AuthorityHost, scope: cl.GraphHost + "/.default"}
	if c.Scope != "" {
		ep.scope = c.Scope
	}
	if c.AuthorityHost != "" {
		u, err := url.Parse(c.AuthorityHost)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return endpoints{}, fmt.Errorf("authority host %q: want an https URL such as https://login.microsoftonline.com/", c.AuthorityHost)
		}
		ep.authorityHost = strings.TrimSuffix(u.String(), "/") + "/"
		ep.customAuthor = true
	}
	raw := c.GraphURL
	if raw == "" {
		raw = cl.GraphHost + "/beta"
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return endpoints{}, fmt.Errorf("graph url: %w", err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return endpoints{}, fmt.Errorf("graph url %q: must not have a query or fragment", raw)
	}
	ep.graphURL = u
	return ep, nil
}

// validate checks what NewClient needs besides the URLs.
func (c *Config) validate(deps Deps) error {
	var errs []error
	if err := azconf.ValidTenantID(c.TenantID); err != nil {
		errs = append(errs, fmt.Errorf("tenant id: %w", err))
	}
	if deps.Limiters == nil && !c.DisableBudget {
		errs = append(errs, errors.New("request budget (Deps.Limiters) is required unless the budget is disabled"))
	}
	if c.MaxPages < 0 || c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max pages and max body bytes must not be negative"))
	}
	return errors.Join(errs...)
}
