package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func TestOpenIDConfiguration(t *testing.T) {
	s := startPinned(t, Options{})
	for _, path := range []string{
		"/" + s.TenantID + "/v2.0/.well-known/openid-configuration",
		"/" + strings.ToUpper(s.TenantID) + "/V2.0/.well-known/OpenID-Configuration",
	} {
		t.Run(path, func(t *testing.T) {
			resp := get(t, s.Client(), s.URL+path, "")
			var meta struct {
				Issuer                string `json:"issuer"`
				AuthorizationEndpoint string `json:"authorization_endpoint"`
				TokenEndpoint         string `json:"token_endpoint"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(resp.body, &meta) != nil {
				t.Fatalf("HTTP %d %s", resp.StatusCode, resp.body)
			}
			base := s.URL + "/" + s.TenantID
			if meta.Issuer != base+"/v2.0" || meta.TokenEndpoint != base+"/oauth2/v2.0/token" ||
				meta.AuthorizationEndpoint != base+"/oauth2/v2.0/authorize" {
				t.Errorf("metadata %+v not on %s", meta, base)
			}
		})
	}
	t.Run("unknown tenant", func(t *testing.T) {
		resp := get(t, s.Client(), s.URL+"/contoso.example/v2.0/.well-known/openid-configuration", "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(resp.body), "AADSTS90002") {
			t.Errorf("HTTP %d %s", resp.StatusCode, resp.body)
		}
	})
	t.Run("instance discovery", func(t *testing.T) {
		resp := get(t, s.Client(), s.URL+"/common/discovery/instance?api-version=1.1&authorization_endpoint="+
			url.QueryEscape(s.URL+"/"+s.TenantID+"/oauth2/v2.0/authorize"), "")
		want := `"tenant_discovery_endpoint":"` + s.URL + "/" + s.TenantID + `/v2.0/.well-known/openid-configuration"`
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(resp.body), want) {
			t.Errorf("HTTP %d %s", resp.StatusCode, resp.body)
		}
	})
	if st := s.Stats(); st.MetadataRequests != 4 || st.TokenRequests != 0 {
		t.Errorf("stats %+v", st)
	}
}

// jwt returns an unsigned-looking JWT with the given claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "PS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func TestTokenEndpoint(t *testing.T) {
	s := startPinned(t, Options{})
	tokenURL := strings.ToLower(s.URL + "/" + s.TenantID + "/oauth2/v2.0/token") // MSAL lower-cases it
	assertion := func(aud any) url.Values {
		return url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {jwt(map[string]any{"aud": aud, "iss": s.ClientID, "sub": s.ClientID})}}
	}
	tests := []struct {
		name   string
		tenant string
		form   url.Values // merged over a valid secret request
		drop   []string
		status int
		errStr string // OAuth error
		code   string // AADSTS code in the description
	}{
		{name: "client secret", status: 200},
		{name: "certificate assertion", form: assertion(tokenURL), drop: []string{"client_secret"}, status: 200},
		{name: "assertion aud as a list", form: assertion([]string{tokenURL}), drop: []string{"client_secret"}, status: 200},
		{name: "workload identity assertion", form: assertion("api://AzureADTokenExchange"), drop: []string{"client_secret"}, status: 200},
		{name: "assertion for another audience", form: assertion("https://example.com/token"), drop: []string{"client_secret"},
			status: 400, errStr: "invalid_client", code: "AADSTS70021"},
		{name: "malformed assertion", form: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {"not-a-jwt"}}, drop: []string{"client_secret"}, status: 400, errStr: "invalid_request", code: "AADSTS50027"},
		{name: "wrong secret", form: url.Values{"client_secret": {"nope"}}, status: 401, errStr: "invalid_client", code: "AADSTS7000215"},
		{name: "no credential", drop: []string{"client_secret"}, status: 401, errStr: "invalid_client", code: "AADSTS7000218"},
		{name: "unknown client", form: url.Values{"client_id": {"00000000-0000-0000-0000-000000000000"}},
			status: 400, errStr: "unauthorized_client", code: "AADSTS700016"},
		{name: "wrong grant", form: url.Values{"grant_type": {"password"}}, status: 400, errStr: "unsupported_grant_type", code: "AADSTS70003"},
		{name: "scope without /.default", form: url.Values{"scope": {"https://graph.microsoft.com/Reports.Read.All"}},
			status: 400, errStr: "invalid_scope", code: "AADSTS1002012"},
		{name: "unknown tenant", tenant: "11111111-1111-1111-1111-111111111111", status: 400, errStr: "invalid_tenant", code: "AADSTS90002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
				"client_secret": {s.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
			for k, v := range tt.form {
				form[k] = v
			}
			for _, k := range tt.drop {
				form.Del(k)
			}
			tenant := tt.tenant
			if tenant == "" {
				tenant = s.TenantID
			}
			resp := postToken(t, s, tenant, form)
			var body struct {
				TokenType   string          `json:"token_type"`
				AccessToken string          `json:"access_token"`
				ExpiresIn   json.RawMessage `json:"expires_in"`
				Error       string          `json:"error"`
				Description string          `json:"error_description"`
				ErrorCodes  []int           `json:"error_codes"`
			}
			if err := json.Unmarshal(resp.body, &body); err != nil || resp.StatusCode != tt.status {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, resp.body, tt.status)
			}
			if tt.status == 200 {
				if body.TokenType != "Bearer" || body.AccessToken == "" || string(body.ExpiresIn) != "3599" {
					t.Errorf("token response %s", resp.body)
				}
				if got := get(t, s.Client(), reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.UserCount}), body.AccessToken); got.StatusCode != 200 {
					t.Errorf("Graph refused the token: HTTP %d", got.StatusCode)
				}
				return
			}
			if body.Error != tt.errStr || !strings.HasPrefix(body.Description, tt.code+":") || len(body.ErrorCodes) != 1 {
				t.Errorf("error %s, want %s %s", resp.body, tt.errStr, tt.code)
			}
		})
	}
	t.Run("GET is refused", func(t *testing.T) {
		if resp := get(t, s.Client(), tokenURL, ""); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("HTTP %d", resp.StatusCode)
		}
	})
}

func TestTokenRevocationAndExpiry(t *testing.T) {
	var wall atomicTime
	wall.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := startPinned(t, Options{Wall: wall.Load, TokenLifetime: time.Minute})
	u := reportURL(s, insights.Report{Granularity: insights.Daily, Name: insights.UserCount})
	status := func(token string) (int, string) {
		resp := get(t, s.Client(), u, token)
		if resp.StatusCode == http.StatusOK {
			return 200, ""
		}
		return resp.StatusCode, decodeGraphErr(t, resp).Error.Code
	}
	old := getToken(t, s, s.TenantID)
	s.RevokeTokens()
	if code, e := status(old); code != 401 || e != "InvalidAuthenticationToken" {
		t.Errorf("revoked token: HTTP %d %s", code, e)
	}
	fresh := getToken(t, s, s.TenantID)
	if code, _ := status(fresh); code != 200 {
		t.Errorf("token issued after the revocation: HTTP %d", code)
	}
	wall.Store(wall.Load().Add(time.Minute))
	if code, e := status(fresh); code != 401 || e != "InvalidAuthenticationToken" {
		t.Errorf("expired token: HTTP %d %s", code, e)
	}
}

func TestSetClientSecret(t *testing.T) {
	s := startPinned(t, Options{})
	before := getToken(t, s, s.TenantID)
	s.SetClientSecret("rotated")
	form := func(secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID},
			"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}
	}
	if resp := postToken(t, s, s.TenantID, form(s.ClientSecret)); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(string(resp.body), "AADSTS7000215") {
		t.Errorf("old secret after the rotation: HTTP %d %s, want 401 AADSTS7000215", resp.StatusCode, resp.body)
	}
	if resp := postToken(t, s, s.TenantID, form("rotated")); resp.StatusCode != http.StatusOK {
		t.Errorf("new secret: HTTP %d %s, want 200", resp.StatusCode, resp.body)
	}
	if resp := get(t, s.Client(), s.GraphURL+"/reports", before); resp.StatusCode != http.StatusOK {
		t.Errorf("a token issued before the rotation: HTTP %d, want 200 (rotation revokes nothing)", resp.StatusCode)
	}
}
