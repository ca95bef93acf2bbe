package graph

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// credentialSource builds the azidentity credential of one auth mode.
// files are read afresh on every token fetch; when their content changed
// (a rotated secret or certificate), the credential is rebuilt from it.
type credentialSource struct {
	mode  string
	files []string
	build func(contents [][]byte) (azcore.TokenCredential, error)
}

// newCredentialSource picks the credential for c.AuthMode. The credential
// sends its token requests through opts.Transport.
func newCredentialSource(c *Config, ep endpoints, opts azcore.ClientOptions) (credentialSource, error) {
	opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: ep.authorityHost}
	// Instance discovery asks login.microsoftonline.com whether a custom
	// authority is genuine; a configured host is trusted as it is.
	noDiscovery := ep.customAuthor
	choice, err := azconf.Credentials{
		Mode: c.AuthMode, ClientID: c.ClientID,
		ClientSecret: c.ClientSecret, ClientSecretFile: c.ClientSecretFile,
		ClientCertificateFile: c.ClientCertificateFile, FederatedTokenFile: c.FederatedTokenFile,
	}.Resolve()
	if err != nil {
		return credentialSource{}, err
	}
	mode := choice.Mode
	switch mode {
	case azconf.AuthClientSecret:
		return secretSource(c, opts, noDiscovery)
	case azconf.AuthClientCertificate:
		password := []byte(c.ClientCertificatePassword)
		return credentialSource{mode: mode, files: []string{c.ClientCertificateFile},
			build: func(contents [][]byte) (azcore.TokenCredential, error) {
				certs, key, err := azidentity.ParseCertificates(contents[0], password)
				if err != nil {
					return nil, fmt.Errorf("parse client certificate %s: %w", c.ClientCertificateFile, err)
				}
				return asCredential(azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
					&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery}))
			}}, nil
	case azconf.AuthWorkloadIdentity:
		// azidentity re-reads the federated token file itself.
		return credentialSource{mode: mode, build: func([][]byte) (azcore.TokenCredential, error) {
			return asCredential(azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
				ClientOptions: opts, ClientID: c.ClientID, TenantID: c.TenantID,
				TokenFilePath: c.FederatedTokenFile, DisableInstanceDiscovery: noDiscovery}))
		}}, nil
	case azconf.AuthManagedIdentity:
		return credentialSource{mode: mode, build: func([][]byte) (azcore.TokenCredential, error) {
			o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
			if c.ClientID != "" {
				o.ID = azidentity.ClientID(c.ClientID)
			}
			return asCredential(azidentity.NewManagedIdentityCredential(o))
		}}, nil
	case azconf.AuthDefault:
		return credentialSource{mode: mode, build: func([][]byte) (azcore.TokenCredential, error) {
			return asCredential(azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
				ClientOptions: opts, TenantID: c.TenantID, DisableInstanceDiscovery: noDiscovery}))
		}}, nil
	}
	return credentialSource{}, fmt.Errorf("auth mode %q has no credential", mode) // azconf and this switch disagree
}

func secretSource(c *Config, opts azcore.ClientOptions, noDiscovery bool) (credentialSource, error) {
	newCred := func(secret string) (azcore.TokenCredential, error) {
		return asCredential(azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery}))
	}
	switch {
	case c.ClientSecretFile != "":
		return credentialSource{mode: azconf.AuthClientSecret, files: []string{c.ClientSecretFile},
			build: func(contents [][]byte) (azcore.TokenCredential, error) {
				secret := string(bytes.TrimSpace(contents[0]))
				if secret == "" {
					return nil, fmt.Errorf("client secret file %s is empty", c.ClientSecretFile)
				}
				return newCred(secret)
			}}, nil
	case c.ClientSecret != "":
		return credentialSource{mode: azconf.AuthClientSecret, build: func([][]byte) (azcore.TokenCredential, error) {
			return newCred(c.ClientSecret)
		}}, nil
	}
	return credentialSource{}, errors.New("auth mode client-secret needs AZURE_CLIENT_SECRET or a client secret file")
}

// asCredential turns a constructor's concrete result into the interface
// without wrapping a nil pointer.
func asCredential[T azcore.TokenCredential](cred T, err error) (azcore.TokenCredential, error) {
	if err != nil {
		return nil, err
	}
	return cred, nil
}

// azcoreOptions sends the credential's token requests through client.
// azcore keeps its own retries for the token service, except for a
// certificate the exporter does not trust: retrying cannot cure it and
// would only hide it behind the refresh timeout.
func azcoreOptions(client *http.Client) azcore.ClientOptions {
	return azcore.ClientOptions{Transport: client, Retry: policy.RetryOptions{ShouldRetry: retryTokenRequest}}
}

// retryTokenRequest is azcore's default retry decision (network failures
// and statuses 408, 429, 500, 502, 503, 504) without certificate errors.
func retryTokenRequest(resp *http.Response, err error) bool {
	if err != nil {
		return !transport.IsCertificateError(err)
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
