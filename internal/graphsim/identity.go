package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// serveIdentity answers the token service: instance discovery, OpenID
// metadata and the token endpoint. MSAL lower-cases the authority URL, so
// paths match case-insensitively.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(r.URL.Path)
	tenantSeg, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	var scope faultScope
	switch {
	case tenantSeg == "common" && rest == "discovery/instance",
		rest == "v2.0/.well-known/openid-configuration":
		scope = scopeMetadata
		s.stats.metadata(path)
	case rest == "oauth2/v2.0/token":
		scope = scopeToken
	default:
		http.NotFound(w, r)
		return
	}
	method := http.MethodGet
	if scope == scopeToken {
		method = http.MethodPost
	}
	if r.Method != method {
		s.tokenError(w, tokenFailure{http.StatusMethodNotAllowed, "invalid_request", 900561,
			"The endpoint only accepts " + method + " requests."}, "")
		return
	}
	if scope == scopeToken {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		_ = r.ParseForm() // an unreadable form fails the checks below
		s.stats.token(path, r.PostForm.Get("scope"))
	}
	if f, ok := s.faults.take(scope, "", ""); ok {
		if !s.wait(r.Context(), f.Delay) {
			return
		}
		s.identityFault(w, f)
		return
	}
	switch {
	case rest == "discovery/instance":
		s.serveDiscovery(w, r)
	case s.tenants[tenantSeg] == "":
		s.tokenError(w, tokenFailure{http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '" + tenantSeg + "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."}, "")
	case scope == scopeMetadata:
		s.serveOpenID(w, r, s.tenants[tenantSeg])
	default:
		s.serveToken(w, r, s.tenants[tenantSeg])
	}
}

// identityFault answers a token service fault.
func (s *Server) identityFault(w http.ResponseWriter, f Fault) {
	if f.Kind == FaultTokenDown {
		if f.Status == 0 {
			panic(http.ErrAbortHandler) // the connection closes without an answer
		}
		s.tokenError(w, tokenFailure{f.Status, "temporarily_unavailable", 90033,
			"A transient error has occurred. Please try again."}, f.RetryAfter)
		return
	}
	tf := knownTokenFailure(f.TokenError, s.opts.ClientID)
	if f.Status != 0 {
		tf.status = f.Status
	}
	s.tokenError(w, tf, f.RetryAfter)
}

// serveOpenID answers the OpenID configuration MSAL reads before its first
// token request. Its issuer must be on the authority's host.
func (s *Server) serveOpenID(w http.ResponseWriter, r *http.Request, tenant string) {
	base := baseURL(r) + "/" + tenant
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              baseURL(r) + "/" + tenant + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	}, "")
}

// serveDiscovery answers instance discovery for the authority named in
// the authorization_endpoint parameter, as login.microsoftonline.com does.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if u, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil {
		if first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); first != "" {
			tenant = first
		}
	}
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host},
		}},
	}, "")
}

// serveToken answers a client-credentials token request with a client
// secret or a client assertion, checked in the order Entra checks them.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	tokenURL := baseURL(r) + "/" + tenant + "/oauth2/v2.0/token"
	var tf *tokenFailure
	switch {
	case form.Get("grant_type") != "client_credentials":
		tf = &tokenFailure{http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '" + form.Get("grant_type") + "'."}
	case !strings.EqualFold(clientID, s.opts.ClientID):
		tf = &tokenFailure{http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '" + clientID + "' was not found in the directory '" + tenant + "'."}
	case form.Get("client_secret") != "":
		if form.Get("client_secret") != *s.secret.Load() {
			f := knownTokenFailure("AADSTS7000215", clientID)
			tf = &f
		}
	case form.Get("client_assertion") != "":
		tf = checkAssertion(form.Get("client_assertion_type"), form.Get("client_assertion"), tokenURL)
	default:
		tf = &tokenFailure{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if tf == nil && !hasDefaultScope(form.Get("scope")) {
		tf = &tokenFailure{http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope " + form.Get("scope") + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	}
	if tf != nil {
		s.tokenError(w, *tf, "")
		return
	}
	lifetime := int(s.opts.TokenLifetime.Seconds())
	token := s.tokens.issue(tenant, s.opts.Wall().Add(s.opts.TokenLifetime))
	writeIdentityJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token,
	}, "")
}

func hasDefaultScope(scope string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.HasSuffix(sc, "/.default") {
			return true
		}
	}
	return false
}

// checkAssertion accepts a well-formed JWT whose aud is the token endpoint
// (certificate credentials) or api://AzureADTokenExchange (federated
// workload identity). Signatures are not checked.
func checkAssertion(assertionType, assertion, tokenURL string) *tokenFailure {
	if assertionType != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return &tokenFailure{http.StatusBadRequest, "invalid_request", 50027, "Invalid client_assertion_type."}
	}
	malformed := &tokenFailure{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return malformed
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return malformed
	}
	var auds []string
	switch aud := claims.Aud.(type) {
	case string:
		auds = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, aud := range auds {
		if strings.EqualFold(aud, tokenURL) || strings.HasPrefix(strings.ToLower(aud), "api://azureadtokenexchange") {
			return nil
		}
	}
	return &tokenFailure{http.StatusBadRequest, "invalid_client", 70021,
		"No matching federated identity record found for presented assertion audience."}
}

// tokenFailure is an error answer of the token service.
type tokenFailure struct {
	status  int
	code    string // OAuth error, e.g. invalid_client
	aadsts  int
	message string
}

// knownTokenFailure returns the token service's answer for an OAuth error
// code or an AADSTS code; unknown values give a 400 with that error.
func knownTokenFailure(name, clientID string) tokenFailure {
	known := []tokenFailure{
		{http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientID + "'."},
		{http.StatusUnauthorized, "invalid_client", 7000222, "The provided client secret keys for app '" + clientID + "' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret."},
		{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."},
		{http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '" + clientID + "' was not found in the directory."},
		{http.StatusBadRequest, "unauthorized_client", 7000112, "Application '" + clientID + "' is disabled."},
		{http.StatusBadRequest, "invalid_tenant", 90002, "Tenant not found."},
		{http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid."},
		{http.StatusBadRequest, "invalid_request", 90014, "The request body must contain the following parameter: 'grant_type'."},
		{http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked."},
		{http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."},
	}
	code, isAADSTS := strings.CutPrefix(strings.ToUpper(name), "AADSTS")
	for _, tf := range known {
		if isAADSTS && code == strconv.Itoa(tf.aadsts) || !isAADSTS && name == tf.code {
			return tf
		}
	}
	if n, err := strconv.Atoi(code); isAADSTS && err == nil {
		return tokenFailure{http.StatusBadRequest, "invalid_request", n, "Simulated failure."}
	}
	return tokenFailure{http.StatusBadRequest, name, 0, "Simulated failure."}
}

// tokenError writes MSAL's error JSON.
func (s *Server) tokenError(w http.ResponseWriter, tf tokenFailure, retryAfter string) {
	trace, correlation := newID(), newID()
	stamp := s.opts.Wall().UTC().Format("2006-01-02 15:04:05Z")
	desc := tf.message
	if tf.aadsts != 0 {
		desc = "AADSTS" + strconv.Itoa(tf.aadsts) + ": " + desc
	}
	desc += " Trace ID: " + trace + " Correlation ID: " + correlation + " Timestamp: " + stamp
	body := map[string]any{
		"error": tf.code, "error_description": desc, "timestamp": stamp,
		"trace_id": trace, "correlation_id": correlation,
	}
	if tf.aadsts != 0 {
		body["error_codes"] = []int{tf.aadsts}
		body["error_uri"] = "https://login.microsoftonline.com/error?code=" + strconv.Itoa(tf.aadsts)
	}
	writeIdentityJSON(w, tf.status, body, retryAfter)
}

func writeIdentityJSON(w http.ResponseWriter, status int, v any, retryAfter string) {
	body, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
