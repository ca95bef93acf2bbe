// Package azconf declares, once, the Azure settings that the command line,
// the config file and package graph all check: the auth modes, the
// national clouds and their endpoints, the tenant and client id forms, and
// which credential a configuration selects. It imports no Azure SDK, so
// every caller can use it without compiling one.
package azconf

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Auth modes of --azure.auth-mode and a tenant's auth_mode.
const (
	AuthAuto              = "auto"
	AuthClientSecret      = "client-secret"
	AuthClientCertificate = "client-certificate"
	AuthWorkloadIdentity  = "workload-identity"
	AuthManagedIdentity   = "managed-identity"
	AuthDefault           = "default"
)

// AuthModes lists the auth modes, auto first.
func AuthModes() []string {
	return []string{AuthAuto, AuthClientSecret, AuthClientCertificate, AuthWorkloadIdentity, AuthManagedIdentity, AuthDefault}
}

// The environment variables azidentity reads, with their usual meaning.
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
)

// Cloud is one Azure cloud's endpoints (API reference §8.2).
type Cloud struct {
	Name          string
	AuthorityHost string // Entra authority, with the trailing slash azcore wants
	GraphHost     string // Graph origin; also the token audience
}

// DefaultCloud is the cloud of an empty setting.
const DefaultCloud = "public"

func clouds() []Cloud {
	return []Cloud{
		{"public", "https://login.microsoftonline.com/", "https://graph.microsoft.com"},
		{"usgov", "https://login.microsoftonline.us/", "https://graph.microsoft.us"},
		{"usgovdod", "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us"},
		{"china", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
	}
}

// Clouds lists the cloud names, the default first.
func Clouds() []string {
	var names []string
	for _, c := range clouds() {
		names = append(names, c.Name)
	}
	return names
}

// LookupCloud returns the cloud called name ("" is DefaultCloud).
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = DefaultCloud
	}
	for _, c := range clouds() {
		if c.Name == name {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(Clouds(), ", "))
}

// ValidAuthMode accepts one of AuthModes; "" means auto.
func ValidAuthMode(mode string) error {
	if mode == "" {
		return nil
	}
	for _, m := range AuthModes() {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("unknown auth mode %q (want one of %s)", mode, strings.Join(AuthModes(), ", "))
}

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$`)
)

// ValidTenantID accepts a GUID or a verified domain name
// (contoso.onmicrosoft.com), the two forms Entra accepts in an authority URL.
func ValidTenantID(s string) error {
	switch {
	case s == "":
		return errors.New("missing (set --azure.tenant-id or " + EnvTenantID + ")")
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

// OneLine folds a message onto one line: azidentity's and YAML's errors
// span several, and every error the exporter prints or logs is one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
