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
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// File is the content of --config.file.
type File struct {
	// Tenants to read. Fields left empty take the value of the matching
	// --azure.* flag, so a file may list only names and tenant ids.
	Tenants []Tenant `yaml:"tenants"`
	// Reports to read, as "daily/activeUsers"; empty means all 18.
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
		return nil, fmt.Errorf("parse: %s", oneLine(err.Error()))
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
		if err := ValidTenantID(t.TenantID); err != nil {
			return fmt.Errorf("%s.tenant_id: %w", key, err)
		}
		if t.ClientID != "" {
			if err := ValidClientID(t.ClientID); err != nil {
				return fmt.Errorf("%s.client_id: %w", key, err)
			}
		}
		if t.AuthMode != "" && !slices.Contains(AuthModes(), t.AuthMode) {
			return fmt.Errorf("%s.auth_mode: %q is not one of %s", key, t.AuthMode, strings.Join(AuthModes(), ", "))
		}
		if t.Source != "" && !slices.Contains(insights.Sources(), t.Source) {
			return fmt.Errorf("%s.source: %q is not one of %s", key, t.Source, strings.Join(insights.Sources(), ", "))
		}
		if t.Cloud != "" && !slices.Contains(Clouds(), t.Cloud) {
			return fmt.Errorf("%s.cloud: %q is not one of %s", key, t.Cloud, strings.Join(Clouds(), ", "))
		}
		if t.ClientSecretFile != "" && t.ClientCertificateFile != "" {
			return fmt.Errorf("%s: client_secret_file and client_certificate_file are mutually exclusive", key)
		}
		for field, path := range map[string]string{"client_secret_file": t.ClientSecretFile, "client_certificate_file": t.ClientCertificateFile} {
			if err := ReadableFile(path); err != nil {
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
		for _, r := range insights.AllReports() {
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

// AuthModes lists the values of --azure.auth-mode.
func AuthModes() []string {
	return []string{"auto", "client-secret", "client-certificate", "workload-identity", "managed-identity", "default"}
}

// Clouds lists the values of --azure.cloud.
func Clouds() []string { return []string{"public", "usgov", "usgovdod", "china"} }

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$`)
)

// ValidTenantID accepts a GUID or a verified domain name
// (contoso.onmicrosoft.com), the two forms Entra accepts in an authority URL.
func ValidTenantID(s string) error {
	switch {
	case s == "":
		return errors.New("missing (set --azure.tenant-id or AZURE_TENANT_ID)")
	case guidPattern.MatchString(s), domainPattern.MatchString(s):
		return nil
	}
	return fmt.Errorf("%q is neither a GUID nor a domain name", s)
}

// ValidClientID accepts an application (client) id, which is a GUID.
func ValidClientID(s string) error {
	if !guidPattern.MatchString(s) {
		return fmt.Errorf("%q is not a GUID", s)
	}
	return nil
}

// ReadableFile checks that path, when set, names a readable regular file.
func ReadableFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

func validLabelValue(s string) error {
	if strings.TrimSpace(s) != s || s == "" || strings.ContainsAny(s, "\n\r\t") {
		return fmt.Errorf("%q must be non-empty, without surrounding spaces or control characters", s)
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
