package e2e

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// assertion signs a client assertion the way MSAL does (PS256, x5t#S256), with claims adjusted by edit.
func assertion(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey, clientID, aud string, edit func(jwt.MapClaims, map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"aud": aud, "iss": clientID, "sub": clientID, "jti": uuid.NewString(),
		"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	sum := sha256.Sum256(cert.Raw)
	header := map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	if edit != nil {
		edit(claims, header)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	tok.Header = header
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTokenRefusals checks every refusal of the token endpoint: status, OAuth2 error and AADSTS code, in
// Entra ID's error shape.
func TestTokenRefusals(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	app, sp, secret := servicePrincipal(t, env, "refusals")
	cert, key := selfSignedCert(t, "refusals")
	if _, err := env.App.Directory().AddCertificate(ctx, env.TenantID, app.ID, "c", cert.Raw); err != nil {
		t.Fatal(err)
	}
	other, otherKey := selfSignedCert(t, "other")
	noSP, err := env.App.Directory().CreateApplication(ctx, env.TenantID, "no-sp")
	if err != nil {
		t.Fatal(err)
	}
	_, noSPSecret, _ := env.App.Directory().AddPassword(ctx, env.TenantID, noSP.ID, "s", 0)
	tokenURL := "https://login.microsoftonline.com/" + env.TenantID + "/oauth2/v2.0/token"
	cc := func(extra url.Values) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.AppID}, "scope": {"https://vault.azure.net/.default"}}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	withAssertion := func(a string) url.Values {
		return cc(url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	}
	replayed := assertion(t, cert, key, sp.AppID, tokenURL, nil)
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		err    string
		code   int
	}{
		{"missing grant", "", url.Values{}, 400, "invalid_request", 900144},
		{"unsupported grant", "", url.Values{"grant_type": {"authorization_code"}}, 400, "unsupported_grant_type", 70003},
		{"unknown tenant", "/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token", cc(url.Values{"client_secret": {secret}}), 400, "invalid_request", 90002},
		{"unknown tenant domain", "/nowhere.example/oauth2/v2.0/token", cc(url.Values{"client_secret": {secret}}), 400, "invalid_request", 90002},
		{"malformed tenant", "/bad%20tenant/oauth2/v2.0/token", cc(url.Values{"client_secret": {secret}}), 400, "invalid_request", 900023},
		{"common for client credentials", "/common/oauth2/v2.0/token", cc(url.Values{"client_secret": {secret}}), 400, "invalid_request", 50194},
		{"unknown client", "", cc(url.Values{"client_id": {uuid.NewString()}, "client_secret": {secret}}), 400, "unauthorized_client", 700016},
		{"bad secret", "", cc(url.Values{"client_secret": {secret + "x"}}), 401, "invalid_client", 7000215},
		{"another app's secret", "", cc(url.Values{"client_secret": {noSPSecret}}), 401, "invalid_client", 7000215},
		{"no service principal", "", cc(url.Values{"client_id": {noSP.AppID}, "client_secret": {noSPSecret}}), 401, "invalid_client", 7000229},
		{"no credential", "", cc(nil), 401, "invalid_client", 7000218},
		{"scope without .default", "", cc(url.Values{"client_secret": {secret}, "scope": {"https://vault.azure.net/user_impersonation"}}), 400, "invalid_scope", 1002012},
		{"unknown resource", "", cc(url.Values{"client_secret": {secret}, "scope": {"https://example.com/.default"}}), 400, "invalid_resource", 500011},
		{"missing scope", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.AppID}, "client_secret": {secret}}, 400, "invalid_request", 900144},
		{"unregistered certificate", "", withAssertion(assertion(t, other, otherKey, sp.AppID, tokenURL, nil)), 401, "invalid_client", 700027},
		{"wrong signing key", "", withAssertion(assertion(t, cert, otherKey, sp.AppID, tokenURL, nil)), 401, "invalid_client", 700027},
		{"assertion for another audience", "", withAssertion(assertion(t, cert, key, sp.AppID, "https://login.microsoftonline.com/other/oauth2/v2.0/token", nil)), 401, "invalid_client", 700027},
		{"assertion issuer mismatch", "", withAssertion(assertion(t, cert, key, uuid.NewString(), tokenURL, nil)), 401, "invalid_client", 700021},
		{"expired assertion", "", withAssertion(assertion(t, cert, key, sp.AppID, tokenURL, func(c jwt.MapClaims, _ map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		})), 401, "invalid_client", 700024},
		{"assertion without exp", "", withAssertion(assertion(t, cert, key, sp.AppID, tokenURL, func(c jwt.MapClaims, _ map[string]any) { delete(c, "exp") })), 401, "invalid_client", 700027},
		{"assertion without jti", "", withAssertion(assertion(t, cert, key, sp.AppID, tokenURL, func(c jwt.MapClaims, _ map[string]any) { delete(c, "jti") })), 401, "invalid_client", 700027},
		{"assertion alg none", "", withAssertion(noneAssertion(sp.AppID, tokenURL)), 401, "invalid_client", 700027},
		{"garbage assertion", "", withAssertion("not.a.jwt"), 401, "invalid_client", 50027},
		{"assertion first use", "", withAssertion(replayed), 200, "", 0},
		{"replayed assertion", "", withAssertion(replayed), 401, "invalid_client", 700025},
		{"bad assertion type", "", cc(url.Values{"client_assertion_type": {"x"}, "client_assertion": {replayed}}), 400, "invalid_request", 700010},
		{"repeated parameter", "", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, 400, "invalid_request", 90015},
		{"bad password", "/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
			"username": {"admin@keyhaven.local"}, "password": {"wrong"}, "scope": {"https://vault.azure.net/.default"}}, 400, "invalid_grant", 50126},
		{"unknown user", "", url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
			"username": {"nobody@keyhaven.local"}, "password": {"x"}, "scope": {"https://vault.azure.net/.default"}}, 400, "invalid_grant", 50034},
		{"unknown public client", "", url.Values{"grant_type": {"password"}, "client_id": {uuid.NewString()},
			"username": {"admin"}, "password": {testenv.AdminPassword}, "scope": {"https://vault.azure.net/.default"}}, 400, "unauthorized_client", 700016},
		{"bad refresh token", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
			"refresh_token": {"khrt.nope"}, "scope": {"https://vault.azure.net/.default"}}, 400, "invalid_grant", 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/" + env.TenantID + "/oauth2/v2.0/token"
			}
			status, body := tokenResponse(t, env, path, tt.form)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.status == 200 {
				return
			}
			desc, _ := body["error_description"].(string)
			codes, _ := body["error_codes"].([]any)
			if body["error"] != tt.err || !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", tt.code)) ||
				len(codes) != 1 || codes[0] != float64(tt.code) {
				t.Fatalf("got %v, want %s AADSTS%d", body, tt.err, tt.code)
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if s, _ := body[k].(string); s == "" {
					t.Errorf("no %s in %v", k, body)
				}
			}
			if strings.Contains(desc, secret) || strings.Contains(desc, testenv.AdminPassword) {
				t.Fatalf("error echoes a credential: %s", desc)
			}
		})
	}
}

func noneAssertion(clientID, aud string) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p := enc.EncodeToString([]byte(fmt.Sprintf(`{"aud":%q,"iss":%q,"sub":%q,"jti":"x","exp":%d}`, aud, clientID, clientID, time.Now().Add(time.Hour).Unix())))
	return h + "." + p + "."
}

// TestPasswordLockout: repeated bad passwords lock the account for a while, even for the right password.
func TestPasswordLockout(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	form := func(pw string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
			"username": {"admin"}, "password": {pw}, "scope": {"https://vault.azure.net/.default"}}
	}
	path := "/" + env.TenantID + "/oauth2/v2.0/token"
	for i := 0; i < 10; i++ {
		if status, body := tokenResponse(t, env, path, form("guess-"+fmt.Sprint(i))); status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS50126") {
			t.Fatalf("attempt %d: %d %v", i, status, body)
		}
	}
	status, body := tokenResponse(t, env, path, form(testenv.AdminPassword))
	if status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS50053") {
		t.Fatalf("locked account with the right password: %d %v", status, body)
	}
	// Another account is not affected.
	u, err := env.App.Directory().CreateUser(context.Background(), env.TenantID, directoryUser("bob"))
	if err != nil {
		t.Fatal(err)
	}
	f := form("Bob-Passw0rd!")
	f.Set("username", u.UserPrincipalName)
	if status, body := tokenResponse(t, env, path, f); status != http.StatusOK {
		t.Fatalf("other account: %d %v", status, body)
	}
}
