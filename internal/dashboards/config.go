package dashboards

import (
	"fmt"
	"regexp"
	"strings"
)

// Config scopes the generated queries, as a jsonnet mixin's _config does.
type Config struct {
	// Selector holds the label matchers every query carries besides the
	// tenant's, comma-separated: which scrape jobs (or clusters, …) the
	// dashboards read. With `$job` in it, the dashboards get a job
	// variable; its "All" matches series without a job label too, which
	// is what a backfill without --backfill.label writes.
	Selector string
	// DedupeLabels tell apart the copies of one series: the same tenant
	// exported by two replicas, scraped by two jobs, or backfilled without
	// target labels and scraped. Every query folds them with max, so a
	// tenant counts once however many exporters expose it.
	DedupeLabels []string
}

// DefaultConfig reads every job the job variable selects and counts a
// series once whatever its instance and job.
func DefaultConfig() Config {
	return Config{Selector: `job=~"$job"`, DedupeLabels: []string{"instance", "job"}}
}

var (
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// matcher is one label matcher with a double-quoted value.
	matcher = regexp.MustCompile(`^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$`)
)

// validate rejects a configuration that would generate broken PromQL.
func (c Config) validate() error {
	if len(c.DedupeLabels) == 0 {
		return fmt.Errorf("dashboards config: no dedupe labels; want at least instance and job")
	}
	for _, l := range c.DedupeLabels {
		if !labelName.MatchString(l) || l == "tenant" {
			return fmt.Errorf("dashboards config: dedupe label %q is not a label name other than tenant", l)
		}
	}
	for _, m := range c.matchers() {
		if !matcher.MatchString(m) {
			return fmt.Errorf("dashboards config: selector %q: %q is not a label matcher such as job=~\"$job\"", c.Selector, m)
		}
	}
	return nil
}

// matchers splits the selector at commas outside quoted values.
func (c Config) matchers() []string {
	var (
		out     []string
		start   int
		quoted  bool
		escaped bool
	)
	for i, r := range c.Selector {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, c.Selector[start:i])
			start = i + 1
		}
	}
	if rest := c.Selector[start:]; strings.TrimSpace(rest) != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// jobVariable reports whether the selector uses the job variable.
func (c Config) jobVariable() bool {
	return regexp.MustCompile(`\$\{?job\b`).MatchString(c.Selector)
}
