package azconf

import (
	"errors"
	"fmt"
)

// Credentials is what a tenant's configuration holds for getting a token:
// the auth mode and the ids, secrets and files it may use. Values only:
// the caller reads the environment and the flags.
type Credentials struct {
	Mode                  string // one of AuthModes; "" is auto
	ClientID              string
	ClientSecret          string // the value (AZURE_CLIENT_SECRET), never a flag
	ClientSecretFile      string
	ClientCertificateFile string
	FederatedTokenFile    string // workload identity (AZURE_FEDERATED_TOKEN_FILE)
}

// Choice is the credential a configuration selects.
type Choice struct {
	Mode string // never auto
	// From says what selected it: the configured mode, or for auto the
	// setting that decided, e.g. "auto: AZURE_FEDERATED_TOKEN_FILE".
	From string
}

// Resolve picks the credential of c and checks that it has what it needs,
// with an error naming the setting to fix. auto follows azidentity's
// EnvironmentCredential order, with workload identity after it as
// DefaultAzureCredential has it: a client secret, then a client
// certificate, then a federated token file (the AKS webhook's environment).
func (c Credentials) Resolve() (Choice, error) {
	if err := ValidAuthMode(c.Mode); err != nil {
		return Choice{}, fmt.Errorf("--azure.auth-mode: %w", err)
	}
	choice := Choice{Mode: c.Mode, From: "--azure.auth-mode=" + c.Mode}
	if c.Mode == "" || c.Mode == AuthAuto {
		switch {
		case c.ClientSecretFile != "":
			choice = Choice{AuthClientSecret, "auto: client secret file"}
		case c.ClientSecret != "":
			choice = Choice{AuthClientSecret, "auto: " + EnvClientSecret}
		case c.ClientCertificateFile != "":
			choice = Choice{AuthClientCertificate, "auto: client certificate file"}
		case c.FederatedTokenFile != "":
			choice = Choice{AuthWorkloadIdentity, "auto: federated token file"}
		default:
			return Choice{}, fmt.Errorf("--azure.auth-mode: auto found no credential: set %s or --azure.client-secret-file, "+
				"%s or --azure.client-certificate-file, or %s (workload identity); or choose %s or %s",
				EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile, AuthManagedIdentity, AuthDefault)
		}
	}
	switch choice.Mode {
	case AuthClientSecret:
		if c.ClientSecret == "" && c.ClientSecretFile == "" {
			return Choice{}, errors.New("--azure.auth-mode: client-secret needs " + EnvClientSecret + " or --azure.client-secret-file")
		}
	case AuthClientCertificate:
		if c.ClientCertificateFile == "" {
			return Choice{}, errors.New("--azure.auth-mode: client-certificate needs --azure.client-certificate-file or " + EnvCertificatePath)
		}
	case AuthWorkloadIdentity:
		if c.FederatedTokenFile == "" {
			return Choice{}, errors.New("--azure.auth-mode: workload-identity needs --azure.federated-token-file or " + EnvFederatedTokenFile)
		}
	}
	if c.ClientID == "" && choice.Mode != AuthManagedIdentity && choice.Mode != AuthDefault {
		return Choice{}, fmt.Errorf("--azure.client-id: missing; %s needs it (set it or %s)", choice.Mode, EnvClientID)
	}
	return choice, nil
}
