// Package app is the exporter between its command line and its HTTP
// listener: a validated Config, the Plan it asks for (the tenants and the
// metric catalog, from the flags and the config file), and the Runtime
// that runs a plan as a generation of refresh loops, reloads it into a new
// generation and serves /metrics. The command builds the Config from its
// flags and listens; everything here runs without a port, so its tests
// drive reloads and scrapes through httptest.
package app

import (
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// Name is the program's name: the prefix of its build-info metric and of
// its User-Agent.
const Name = "entra_insights_exporter"

// Config is what the command line asks for, after the command has checked
// every flag (ranges, URLs, readable files). What only a plan can check
// (the config file, each tenant's id and credential) NewPlan checks, each
// time it runs, so a reload sees the file as it is then.
type Config struct {
	// Graph is the tenant of the flags: the only one without a config
	// file's tenants, the defaults of each one with them.
	Graph graph.Config
	// ConfigFile is --config.file; "" reads none.
	ConfigFile string
	// Source is the default source (insights.SourceLogs or
	// SourceUserInsights); a config-file tenant may choose its own.
	Source string
	// Demo serves one tenant, "demo", from the built-in simulator.
	Demo bool

	// RefreshInterval, RefreshTimeout and MaxAge are the collector's; the
	// config file adds the reports and dimensions.
	RefreshInterval, RefreshTimeout, MaxAge time.Duration

	// RateLimit is the Graph request starts per window per tenant and
	// client id; 0 turns the budget off.
	RateLimit int

	// StoragePath is the logs source's state file, opened by the first
	// generation with a logs tenant (never in demo mode).
	StoragePath string
	// SourceFlags are the flags of each source that has some (its
	// registry entry's), by source name; a source without an entry here
	// gets its defaults.
	SourceFlags map[string]registry.Flags
}
