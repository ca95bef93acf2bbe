package graph

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// Auth modes of Config.AuthMode.
const (
	AuthAuto              = "auto"
	AuthClientSecret      = "client-secret"
	AuthClientCertificate = "client-certificate"
	AuthWorkloadIdentity  = "workload-identity"
	AuthManagedIdentity   = "managed-identity"
	AuthDefault           = "default"
)

// AuthModes lists the values of Config.AuthMode.
func AuthModes() []string {
	return []string{AuthAuto, AuthClientSecret, AuthClientCertificate, AuthWorkloadIdentity, AuthManagedIdentity, AuthDefault}
}

// Config describes how to reach Graph for one tenant.
type Config struct {
	TenantName string // value of the tenant label
	TenantID   string
	ClientID   string
	// AuthMode is one of AuthModes. "auto" uses a client secret if one is
	// given, else a client certificate file if one is given.
	AuthMode                  string
	ClientSecret              string // usually from AZURE_CLIENT_SECRET; the caller reads the environment
	ClientSecretFile          string // re-read when it changes, so rotation needs no restart
	ClientCertificateFile     string // PEM or PKCS#12, re-read when it changes
	ClientCertificatePassword string
	FederatedTokenFile        string // workload identity; default AZURE_FEDERATED_TOKEN_FILE
	Cloud                     string // "public" (default), "usgov", "usgovdod", "china"
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

// cloudEndpoints holds the endpoints of one Azure cloud (see the API reference §8.2).
type cloudEndpoints struct {
	authorityHost string // Entra authority, with a trailing slash as azcore wants it
	graphHost     string // Graph origin; also the token audience
}

func clouds() map[string]cloudEndpoints {
	return map[string]cloudEndpoints{
		"public":   {"https://login.microsoftonline.com/", "https://graph.microsoft.com"},
		"usgov":    {"https://login.microsoftonline.us/", "https://graph.microsoft.us"},
		"usgovdod": {"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us"},
		"china":    {"https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
	}
}

// Clouds lists the values of Config.Cloud.
func Clouds() []string { return []string{"public", "usgov", "usgovdod", "china"} }

// endpoints are the resolved URLs of a Config.
type endpoints struct {
	authorityHost string   // https://…/ with a trailing slash
	customAuthor  bool     // AuthorityHost was set: no instance discovery
	graphURL      *url.URL // without a trailing slash
	scope         string
}

// resolve validates the URLs of c and fills in the cloud's defaults.
func (c *Config) resolve() (endpoints, error) {
	name := c.Cloud
	if name == "" {
		name = "public"
	}
	cl, ok := clouds()[strings.ToLower(name)]
	if !ok {
		return endpoints{}, fmt.Errorf("unknown cloud %q (want one of %s)", c.Cloud, strings.Join(Clouds(), ", "))
	}
	ep := endpoints{authorityHost: cl.authorityHost, scope: cl.graphHost + "/.default"}
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
		raw = cl.graphHost + "/beta"
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
	if c.TenantID == "" {
		errs = append(errs, errors.New("tenant id is required"))
	}
	if deps.Limiters == nil && !c.DisableBudget {
		errs = append(errs, errors.New("request budget (Deps.Limiters) is required unless the budget is disabled"))
	}
	if c.MaxPages < 0 || c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max pages and max body bytes must not be negative"))
	}
	return errors.Join(errs...)
}
