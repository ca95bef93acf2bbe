package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/app"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// cli is the whole command line. Every flag also reads
// ENTRA_INSIGHTS_<FLAG> (kong.DefaultEnvars); the Azure ones also read
// azidentity's usual AZURE_* variables.
type cli struct {
	Log      logFlags      `embed:"" prefix:"log."`
	Azure    azureFlags    `embed:"" prefix:"azure."`
	Graph    graphFlags    `embed:"" prefix:"graph."`
	Insights insightsFlags `embed:"" prefix:"insights."`
	Storage  storageFlags  `embed:"" prefix:"storage."`
	// Sources are each source's own flags (--logs.*), from the registry
	// (newCLI); kong calls their Validate after this struct's.
	Sources kong.Plugins `embed:""`

	ConfigFile  string `name:"config.file" placeholder:"PATH" help:"YAML file with several tenants, the reports to read and the dimensions to keep (see README). Re-read on SIGHUP and POST /-/reload."`
	ConfigCheck bool   `name:"config.check" help:"Check the flags, --config.file and every tenant's credential settings and files, print one line and exit: 0 valid, 1 not. Contacts nothing."`
	Demo        bool   `help:"Serve data from the built-in Graph simulator (tenant label \"demo\"); no Azure credentials needed."`

	Version kong.VersionFlag `help:"Print version information and exit."`

	// args are the command line as given, for the checks that depend on
	// whether a flag was given there rather than by default or from the
	// environment (kong does not tell them apart).
	args []string
	// sourceFlags are the values of Sources by source name.
	sourceFlags map[string]registry.Flags

	Serve    serveCmd    `cmd:"" default:"withargs" help:"Refresh the reports in the background and serve them on /metrics (default)."`
	Backfill backfillCmd `cmd:"" help:"Write the history Graph holds (30 days, 12 months) as OpenMetrics text for promtool tsdb create-blocks-from openmetrics."`
	Probe    probeCmd    `cmd:"" help:"Make each Graph read the configured source needs once, with the smallest request, and print per read the request, Graph's answer and what the exporter does with it; exit 0 when every required read works, else 1. Takes serve's flags and config file. Run it first; paste its output into bug reports."`
}

// newCLI returns the command line for args, with the flags of each source
// that has some plugged in, in the registry's order.
func newCLI(args []string) *cli {
	c := &cli{args: args, sourceFlags: map[string]registry.Flags{}}
	for _, s := range registry.Sources() {
		if s.Flags == nil {
			continue
		}
		f := s.Flags()
		c.Sources = append(c.Sources, f)
		c.sourceFlags[s.Name] = f
	}
	return c
}

type logFlags struct {
	Level  string `default:"info" enum:"debug,info,warn,error" help:"Log level: ${enum}."`
	Format string `default:"logfmt" enum:"logfmt,json" help:"Log format: ${enum}."`
}

type azureFlags struct {
	AuthMode                  string `default:"${auth_auto}" enum:"${auth_modes}" env:"ENTRA_INSIGHTS_AZURE_AUTH_MODE" help:"Credential: ${enum}. auto takes, as azidentity does, a client secret, else a client certificate, else workload identity (a federated token file), and logs which."`
	TenantID                  string `name:"tenant-id" env:"ENTRA_INSIGHTS_AZURE_TENANT_ID,AZURE_TENANT_ID" help:"Directory (tenant) id or domain of the External ID tenant."`
	TenantName                string `name:"tenant-name" help:"Value of the tenant label (default: the tenant id)."`
	ClientID                  string `name:"client-id" env:"ENTRA_INSIGHTS_AZURE_CLIENT_ID,AZURE_CLIENT_ID" help:"Application (client) id of the app registration."`
	ClientSecretFile          string `name:"client-secret-file" placeholder:"PATH" help:"File holding the client secret, re-read when it changes. The secret may also come from AZURE_CLIENT_SECRET; never from a flag."`
	ClientCertificateFile     string `name:"client-certificate-file" placeholder:"PATH" env:"ENTRA_INSIGHTS_AZURE_CLIENT_CERTIFICATE_FILE,AZURE_CLIENT_CERTIFICATE_PATH" help:"PEM or PKCS#12 file with the certificate and its private key, re-read when it changes."`
	FederatedTokenFile        string `name:"federated-token-file" placeholder:"PATH" env:"ENTRA_INSIGHTS_AZURE_FEDERATED_TOKEN_FILE,AZURE_FEDERATED_TOKEN_FILE" help:"Workload identity: the projected service account token, re-read by azidentity (the AKS webhook sets AZURE_FEDERATED_TOKEN_FILE)."`
	Cloud                     string `default:"${default_cloud}" enum:"${clouds}" help:"National cloud: ${enum}."`
	AuthorityHost             string `name:"authority-host" placeholder:"URL" env:"ENTRA_INSIGHTS_AZURE_AUTHORITY_HOST,AZURE_AUTHORITY_HOST" help:"Entra authority host (default: the cloud's). Instance discovery is off for a custom one."`
	ClientSecret              string `kong:"-"` // AZURE_CLIENT_SECRET, read in run so it never has a flag
	ClientCertificatePassword string `kong:"-"` // AZURE_CLIENT_CERTIFICATE_PASSWORD
}

type graphFlags struct {
	URL       string `name:"url" placeholder:"URL" help:"Graph beta root (default: the cloud's, e.g. https://graph.microsoft.com/beta)."`
	Scope     string `help:"Token scope (default: the cloud's Graph audience + /.default; never derived from --graph.url)."`
	CAFile    string `name:"ca-file" placeholder:"PATH" help:"PEM file of extra CAs to trust for Graph and the authority, added to the system pool (SSL_CERT_FILE also works)."`
	RateLimit int    `name:"rate-limit" default:"5" help:"Client-side budget: starts of report requests (activity logs, registrations, userInsights) per 10 s per tenant and client id, retries included (Graph's identity-reports limit is 5; 122 across tenants; counted over 11 s for a safety margin). 0 turns the budget off, e.g. for a local test server."`
}

type storageFlags struct {
	Path string `default:"entra_insights_exporter.db" placeholder:"PATH" help:"State file of the logs source (bbolt): aggregates, read positions, the users of the open periods. Relative to the working directory (the image's is /var/lib/entra_insights_exporter). One exporter per file."`
}

type insightsFlags struct {
	Source          string        `default:"${default_source}" enum:"${sources}" help:"Where the data comes from: ${source_help}. Per tenant: source in the config file."`
	RefreshInterval time.Duration `default:"5m" help:"How often each tenant's reports are refreshed in the background."`
	RefreshTimeout  time.Duration `help:"Upper bound of one tenant refresh (default: min(2m, --insights.refresh-interval), as Prometheus defaults scrape_timeout)."`
	MaxAge          time.Duration `default:"1h" help:"How long a failing report keeps serving its last good data before its series go."`
}

func kongVars() kong.Vars {
	return kong.Vars{
		"auth_modes":     strings.Join(azconf.AuthModes(), ","),
		"auth_auto":      azconf.AuthAuto,
		"clouds":         strings.Join(azconf.Clouds(), ","),
		"default_cloud":  azconf.DefaultCloud,
		"sources":        strings.Join(registry.Names(), ","),
		"default_source": registry.Names()[0],
		"source_help":    registry.Help(),
	}
}

// Validate checks the flags that every command shares; kong calls it after
// parsing and prints its error as one line.
func (c *cli) Validate() error {
	if c.ConfigFile != "" {
		if err := azconf.ReadableFile(c.ConfigFile); err != nil {
			return fmt.Errorf("--config.file: %w", err)
		}
	}
	if c.Graph.RateLimit < 0 || c.Graph.RateLimit > transport.ClientRequests {
		return fmt.Errorf("--graph.rate-limit: %d is not between 0 and %d", c.Graph.RateLimit, transport.ClientRequests)
	}
	if err := c.Insights.validate(); err != nil {
		return err
	}
	if c.Demo && flagGiven(c.args, "--storage.path") {
		return fmt.Errorf("--storage.path: %s is not used with --demo, whose state lives in memory; drop one of the two", c.Storage.Path)
	}
	if err := validURL("--graph.url", c.Graph.URL); err != nil {
		return err
	}
	if err := validURL("--azure.authority-host", c.Azure.AuthorityHost); err != nil {
		return err
	}
	if c.Azure.AuthorityHost != "" && !strings.HasPrefix(c.Azure.AuthorityHost, "https://") {
		return errors.New("--azure.authority-host: must use https (Entra and azidentity require it)")
	}
	for flag, path := range map[string]string{
		"--graph.ca-file":                 c.Graph.CAFile,
		"--azure.client-secret-file":      c.Azure.ClientSecretFile,
		"--azure.client-certificate-file": c.Azure.ClientCertificateFile,
		"--azure.federated-token-file":    c.Azure.FederatedTokenFile,
	} {
		if err := azconf.ReadableFile(path); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	if c.Azure.ClientSecretFile != "" && c.Azure.ClientCertificateFile != "" {
		return errors.New("--azure.client-secret-file and --azure.client-certificate-file are mutually exclusive")
	}
	if c.Azure.TenantID != "" {
		if err := azconf.ValidTenantID(c.Azure.TenantID); err != nil {
			return fmt.Errorf("--azure.tenant-id: %w", err)
		}
	}
	if c.Azure.ClientID != "" {
		if err := azconf.ValidClientID(c.Azure.ClientID); err != nil {
			return fmt.Errorf("--azure.client-id: %w", err)
		}
	}
	return nil
}

// defaultRefreshTimeout bounds the default refresh timeout, as 10s bounds
// Prometheus' scrape_timeout: min(defaultRefreshTimeout, interval).
const defaultRefreshTimeout = 2 * time.Minute

// refreshTimeout is --insights.refresh-timeout, or its default when unset.
func (f insightsFlags) refreshTimeout() time.Duration {
	if f.RefreshTimeout == 0 {
		return min(defaultRefreshTimeout, f.RefreshInterval)
	}
	return f.RefreshTimeout
}

func (f insightsFlags) validate() error {
	switch {
	case f.RefreshInterval < time.Second:
		return fmt.Errorf("--insights.refresh-interval: %s is shorter than 1s (Graph's data changes a few times a day; minutes are plenty)", f.RefreshInterval)
	case f.RefreshTimeout < 0:
		return fmt.Errorf("--insights.refresh-timeout: %s must be positive", f.RefreshTimeout)
	case f.refreshTimeout() > f.RefreshInterval:
		return fmt.Errorf("--insights.refresh-timeout: %s is longer than --insights.refresh-interval %s", f.RefreshTimeout, f.RefreshInterval)
	case f.MaxAge < f.RefreshInterval:
		return fmt.Errorf("--insights.max-age: %s is shorter than --insights.refresh-interval %s (data would vanish between refreshes)", f.MaxAge, f.RefreshInterval)
	}
	return nil
}

// validURL accepts an absolute http(s) URL without query or fragment; plain
// http only for loopback hosts (a local test server), never for a real host.
func validURL(flag, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%s: %q is not an absolute http(s) URL", flag, raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%s: %q must not carry a query, fragment or user info", flag, raw)
	case u.Scheme == "http" && !transport.IsLoopback(u.Hostname()):
		return fmt.Errorf("%s: %q uses plain http; only loopback hosts may (use https)", flag, raw)
	}
	return nil
}

// config is the runtime's configuration from the validated flags.
func (c *cli) config() app.Config {
	return app.Config{
		Graph:           c.graphConfig(),
		ConfigFile:      c.ConfigFile,
		Source:          c.Insights.Source,
		Demo:            c.Demo,
		RefreshInterval: c.Insights.RefreshInterval,
		RefreshTimeout:  c.Insights.refreshTimeout(),
		MaxAge:          c.Insights.MaxAge,
		RateLimit:       c.Graph.RateLimit,
		StoragePath:     c.Storage.Path,
		SourceFlags:     c.sourceFlags,
	}
}

// graphConfig is the single-tenant Graph configuration from the flags.
func (c *cli) graphConfig() graph.Config {
	name := c.Azure.TenantName
	if name == "" {
		name = c.Azure.TenantID
	}
	return graph.Config{
		TenantName:                name,
		TenantID:                  c.Azure.TenantID,
		ClientID:                  c.Azure.ClientID,
		AuthMode:                  c.Azure.AuthMode,
		ClientSecret:              c.Azure.ClientSecret,
		ClientSecretFile:          c.Azure.ClientSecretFile,
		ClientCertificateFile:     c.Azure.ClientCertificateFile,
		ClientCertificatePassword: c.Azure.ClientCertificatePassword,
		FederatedTokenFile:        c.Azure.FederatedTokenFile,
		Cloud:                     c.Azure.Cloud,
		AuthorityHost:             c.Azure.AuthorityHost,
		GraphURL:                  c.Graph.URL,
		Scope:                     c.Graph.Scope,
		CAFile:                    c.Graph.CAFile,
		UserAgent:                 exporterName + "/" + version.Version,
		DisableBudget:             c.Graph.RateLimit == 0,
	}
}
