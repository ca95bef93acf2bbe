// Package config reads and validates the exporter's configuration file
// (--config.file): the tenants to read and the dimensions to keep per
// report. Flags cover the single-tenant case; the file adds many tenants.
// Every error names the offending key, so a bad file fails at start with
// one clear line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// File is the content of --config.file.
type File struct {
	// Tenants to read. Fields left empty take the value of the matching
	// --azure.* flag, so a file may list only names and tenant ids.
	Tenants []Tenant `yaml:"tenants"`
	// Reports to read, as "daily/activeUsers"; empty means insights.DefaultReports (all 18 but the deprecated inactiveUsersByApplication).
	Reports []string `yaml:"reports"`
	// Dimensions maps a report ("daily/activeUsers", or "activeUsers" for
	// both granularities) to the dimension labels to keep for its metrics.
	Dimensions map[string][]string `yaml:"dimensions"`
}

// Tenant is one Entra External ID tenant.
type Tenant struct {
	Name                  string `yaml:"name"`
	TenantID              string `yaml:"tenant_id"`
	ClientID              string `yaml:"client_id"`
	AuthMode              string `yaml:"auth_mode"`
	ClientSecretFile      string `yaml:"client_secret_file"`
	ClientCertificateFile string `yaml:"client_certificate_file"`
	Cloud                 string `yaml:"cloud"`
	// Source is logs or userinsights; empty takes --insights.source.
	Source string `yaml:"source"`
}

// Load reads and parses the file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config.file: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config.file %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a configuration file. Unknown keys are errors:
// a typo must not silently fall back to a default.
func Parse(data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) validate() error {
	names := map[string]bool{}
	for i, t := range f.Tenants {
		key := fmt.Sprintf("tenants[%d]", i)
		if err := azconf.ValidTenantID(t.TenantID); err != nil {
			return fmt.Errorf("%s.tenant_id: %w", key, err)
		}
		if t.ClientID != "" {
			if err := azconf.ValidClientID(t.ClientID); err != nil {
				return fmt.Errorf("%s.client_id: %w", key, err)
			}
		}
		if err := azconf.ValidAuthMode(t.AuthMode); err != nil {
			return fmt.Errorf("%s.auth_mode: %w", key, err)
		}
		if t.Source != "" {
			if _, err := registry.Lookup(t.Source); err != nil {
				return fmt.Errorf("%s.source: %w", key, err)
			}
		}
		if t.Cloud != "" {
			if _, err := azconf.LookupCloud(t.Cloud); err != nil {
				return fmt.Errorf("%s.cloud: %w", key, err)
			}
		}
		if t.ClientSecretFile != "" && t.ClientCertificateFile != "" {
			return fmt.Errorf("%s: client_secret_file and client_certificate_file are mutually exclusive", key)
		}
		for field, path := range map[string]string{"client_secret_file": t.ClientSecretFile, "client_certificate_file": t.ClientCertificateFile} {
			if err := azconf.ReadableFile(path); err != nil {
				return fmt.Errorf("%s.%s: %w", key, field, err)
			}
		}
		name := t.LabelName()
		if err := validLabelValue(name); err != nil {
			return fmt.Errorf("%s.name: %w", key, err)
		}
		if names[name] {
			return fmt.Errorf("%s.name: tenant %q is listed twice", key, name)
		}
		names[name] = true
	}
	if _, err := f.ReportList(); err != nil {
		return err
	}
	if _, err := f.DimensionMap(); err != nil {
		return err
	}
	return nil
}

// LabelName is the tenant label value: the name, else the tenant id.
func (t Tenant) LabelName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.TenantID
}

// ReportList returns the configured reports, or nil for all of them.
func (f *File) ReportList() ([]insights.Report, error) {
	var reports []insights.Report
	for i, s := range f.Reports {
		r, err := insights.ParseReport(s)
		if err != nil {
			return nil, fmt.Errorf("reports[%d]: %w", i, err)
		}
		if slices.Contains(reports, r) {
			return nil, fmt.Errorf("reports[%d]: %s is listed twice", i, r)
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// DimensionMap expands the dimensions section to one entry per report: a key
// without a granularity applies to every report of that name.
func (f *File) DimensionMap() (map[insights.Report][]string, error) {
	out := map[insights.Report][]string{}
	keys := make([]string, 0, len(f.Dimensions))
	for k := range f.Dimensions {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic: the first error is always the same one
	for _, key := range keys {
		labels := f.Dimensions[key]
		matched := false
		for _, r := range insights.KnownReports() {
			if key == r.String() || key == r.Name {
				if _, dup := out[r]; dup {
					return nil, fmt.Errorf("dimensions: %q: %s is configured twice", key, r)
				}
				out[r] = labels
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("dimensions: %q is not a report (want e.g. daily/activeUsers or activeUsers)", key)
		}
	}
	return out, nil
}

func validLabelValue(s string) error {
	if strings.TrimSpace(s) != s || s == "" || strings.ContainsAny(s, "\n\r\t") {
		return fmt.Errorf("%q must be non-empty, without surrounding spaces or control characters", s)
	}
	return nil
}
