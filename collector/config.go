package collector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source"
)

// Defaults for the zero values of Config.
const (
	DefaultRefreshInterval = 5 * time.Minute
	DefaultRefreshTimeout  = 2 * time.Minute
	DefaultMaxAge          = time.Hour
)

// Config selects what the exporter reads and how it keeps it fresh. Zero
// values mean the defaults.
type Config struct {
	// Families are the families the sources declare (registry.Families):
	// the dimensions a config may keep are theirs.
	Families []source.Family
	// Sources are the sources of the tenants, nil meaning all of Families':
	// the catalog exposes their families, with their help.
	Sources []string
	// Reports to read; nil means insights.DefaultReports().
	Reports []insights.Report
	// Dimensions lists per report the dimension labels every metric of that
	// report keeps, replacing the catalog defaults (an empty list keeps
	// none: one series per structural label set). Reports absent from the
	// map keep the defaults. Structural labels (result, reason_code, window,
	// channel, mfa_type) are always kept.
	Dimensions map[insights.Report][]string
	// RefreshInterval is the time between two refreshes of a tenant.
	RefreshInterval time.Duration
	// RefreshTimeout bounds one refresh of a tenant (all its reports).
	RefreshTimeout time.Duration
	// MaxAge is how long a failing report keeps its last good data after
	// its last success; then its series go. It is checked at each refresh,
	// so the series go at most one interval later.
	MaxAge time.Duration
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Reports == nil {
		c.Reports = insights.DefaultReports()
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.RefreshTimeout == 0 {
		c.RefreshTimeout = DefaultRefreshTimeout
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	return c
}

// Validate reports the first problem of every kind in c, each naming the
// config key, e.g.
// `dimensions: "daily/activeUsers": unknown label "colour" (valid: app_id, os, country, language)`.
func (c Config) Validate() error {
	var errs []error
	seen := map[insights.Report]bool{}
	for _, r := range c.Reports {
		switch {
		case !knownReport(r):
			errs = append(errs, fmt.Errorf("reports: unknown report %q", r))
		case seen[r]:
			errs = append(errs, fmt.Errorf("reports: %q listed twice", r))
		}
		seen[r] = true
	}
	for _, r := range sortedReports(c.Dimensions) {
		if err := validateDimensions(r, c.Dimensions[r], dimensionsOf(c.Families, r)); err != nil {
			errs = append(errs, fmt.Errorf("dimensions: %q: %w", r, err))
		}
	}
	for _, d := range []struct {
		key   string
		value time.Duration
	}{
		{"refresh_interval", c.RefreshInterval},
		{"refresh_timeout", c.RefreshTimeout},
		{"max_age", c.MaxAge},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %s", d.key, d.value))
		}
	}
	return errors.Join(errs...)
}

func validateDimensions(r insights.Report, labels, valid []string) error {
	if !knownReport(r) {
		return errors.New("unknown report")
	}
	for i, l := range labels {
		if !slices.Contains(valid, l) {
			return fmt.Errorf("unknown label %q (valid: %s)", l, validList(valid))
		}
		if slices.Contains(labels[:i], l) {
			return fmt.Errorf("label %q listed twice", l)
		}
	}
	return nil
}

// dimensionsOf returns the dimensions a config may keep for report r: those
// of its families, in the order first declared.
func dimensionsOf(families []source.Family, r insights.Report) []string {
	var out []string
	for _, f := range families {
		if f.Report != r.Name || !f.In(r.Granularity) || f.Whole {
			continue
		}
		for _, d := range f.Dimensions {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

func validList(valid []string) string {
	if len(valid) == 0 {
		return "none"
	}
	return strings.Join(valid, ", ")
}

func knownReport(r insights.Report) bool {
	return slices.Contains(insights.KnownReports(), r)
}

// sortedReports returns the keys of m in a stable order for messages.
func sortedReports[V any](m map[insights.Report]V) []insights.Report {
	keys := make([]insights.Report, 0, len(m))
	for r := range m {
		keys = append(keys, r)
	}
	slices.SortFunc(keys, func(a, b insights.Report) int { return strings.Compare(a.String(), b.String()) })
	return keys
}
