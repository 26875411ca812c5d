package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/token"
)

var vaultAudience = token.Expect{Audiences: []string{"https://vault.azure.net"}}

// servicePrincipal registers an application with a service principal and a client secret, as
// `keyhaven ad sp create-for-rbac` does.
func servicePrincipal(t testing.TB, env *testenv.Env, name string) (directory.Application, directory.ServicePrincipal, string) {
	t.Helper()
	ctx := context.Background()
	dir := env.App.Directory()
	app, err := dir.CreateApplication(ctx, env.TenantID, name)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := dir.CreateServicePrincipal(ctx, env.TenantID, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := dir.AddPassword(ctx, env.TenantID, app.ID, "rbac", 0)
	if err != nil {
		t.Fatal(err)
	}
	return app, sp, secret
}

// selfSignedCert makes an RSA client certificate and its key.
func selfSignedCert(t testing.TB, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// sdkOptions points the SDK at keyhaven: Azure's public cloud names, reached through a transport that dials the
// server and trusts only its CA. Instance discovery stays on.
func sdkOptions(env *testenv.Env, authorityHost string) azcore.ClientOptions {
	c := cloud.AzurePublic
	if authorityHost != "" {
		c.ActiveDirectoryAuthorityHost = authorityHost
	}
	return azcore.ClientOptions{Cloud: c, Transport: env.HTTP, Retry: policy.RetryOptions{MaxRetries: -1}}
}

func TestClientSecretCredential(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Zone = "corp.example" }})
	_, sp, secret := servicePrincipal(t, env, "ci-pipeline")
	ctx := context.Background()
	for _, authority := range []string{"", "https://login.windows.net/", "https://login.corp.example/"} {
		t.Run("authority="+authority, func(t *testing.T) {
			cred, err := azidentity.NewClientSecretCredential(env.TenantID, sp.AppID, secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: sdkOptions(env, authority)})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if time.Until(tok.ExpiresOn) < 50*time.Minute {
				t.Errorf("token expires at %v", tok.ExpiresOn)
			}
			c, err := env.App.Validator().Validate(ctx, tok.Token, vaultAudience)
			if err != nil {
				t.Fatalf("token does not validate: %v", err)
			}
			wantIss := "https://login.microsoftonline.com/" + env.TenantID + "/v2.0"
			if authority == "https://login.corp.example/" {
				wantIss = "https://login.corp.example/" + env.TenantID + "/v2.0"
			}
			if c.Aud != "https://vault.azure.net" || c.Oid != sp.ID || c.Sub != sp.ID || c.Tid != env.TenantID ||
				c.Azp != sp.AppID || c.AzpAcr != "1" || c.Idtyp != "app" || c.Ver != "2.0" || c.Iss != wantIss {
				t.Errorf("claims: %+v", c)
			}
		})
	}
}

func TestClientCertificateCredential(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	app, sp, _ := servicePrincipal(t, env, "cert-app")
	cert, key := selfSignedCert(t, "cert-app")
	if _, err := env.App.Directory().AddCertificate(ctx, env.TenantID, app.ID, "ci", cert.Raw); err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientCertificateCredential(env.TenantID, app.AppID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: sdkOptions(env, "")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	c, err := env.App.Validator().Validate(ctx, tok.Token, vaultAudience)
	if err != nil {
		t.Fatalf("token does not validate: %v", err)
	}
	if c.Oid != sp.ID || c.Azp != app.AppID || c.AzpAcr != "2" {
		t.Errorf("claims: %+v", c)
	}
	// A certificate that is not registered is refused.
	other, otherKey := selfSignedCert(t, "intruder")
	cred, _ = azidentity.NewClientCertificateCredential(env.TenantID, app.AppID, []*x509.Certificate{other}, otherKey,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: sdkOptions(env, "")})
	_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("unregistered certificate: %v", err)
	}
}

// tokenResponse posts a token request and decodes the answer.
func tokenResponse(t testing.TB, env *testenv.Env, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := env.HTTP.PostForm("https://login.microsoftonline.com"+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: body is not JSON: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestV1ClientCredentials(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, sp, secret := servicePrincipal(t, env, "v1-app")
	status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {sp.AppID}, "client_secret": {secret}, "resource": {"https://vault.azure.net"},
	})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	for _, k := range []string{"expires_in", "expires_on", "not_before", "ext_expires_in"} {
		if _, ok := body[k].(string); !ok {
			t.Errorf("v1 %s is not a string: %v", k, body[k])
		}
	}
	if body["token_type"] != "Bearer" || body["resource"] != "https://vault.azure.net" {
		t.Errorf("body %v", body)
	}
	c, err := env.App.Validator().Validate(context.Background(), body["access_token"].(string), vaultAudience)
	if err != nil {
		t.Fatal(err)
	}
	if c.Iss != "https://sts.windows.net/"+env.TenantID+"/" || c.AppID != sp.AppID || c.AppIDAcr != "1" || c.Ver != "1.0" || c.Idp != c.Iss {
		t.Errorf("claims %+v", c)
	}
	if body["not_before"] != strconv.FormatInt(c.Nbf, 10) || body["expires_on"] != strconv.FormatInt(c.Exp, 10) {
		t.Errorf("not_before %v / expires_on %v, token nbf %d exp %d", body["not_before"], body["expires_on"], c.Nbf, c.Exp)
	}
	// The tenant may be named by its domain, on either login host, and on the bare host.
	for _, u := range []string{"https://login.windows.net/keyhaven.local/oauth2/token", "https://" + env.Addr + "/" + env.TenantID + "/oauth2/token"} {
		resp, err := env.HTTP.PostForm(u, url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.AppID},
			"client_secret": {secret}, "resource": {"https://management.azure.com/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
}

func TestPasswordAndRefreshGrant(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	azureCLI := "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	status, body := tokenResponse(t, env, "/organizations/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {azureCLI}, "username": {"admin@keyhaven.local"}, "password": {testenv.AdminPassword},
		"scope": {"https://management.azure.com//.default offline_access openid profile"},
	})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	ctx := context.Background()
	c, err := env.App.Validator().Validate(ctx, body["access_token"].(string), token.Expect{Audiences: []string{"https://management.azure.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := env.App.Directory().User(ctx, env.TenantID, "admin")
	if c.Idtyp != "user" || c.Oid != admin.ID || c.PreferredUsername != "admin@keyhaven.local" || c.Name == "" || c.Azp != azureCLI {
		t.Errorf("claims %+v", c)
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" || body["id_token"] == nil || body["client_info"] == nil {
		t.Fatalf("no refresh_token, id_token or client_info: %v", body)
	}
	// A refresh request that is refused for its scope does not spend the refresh token.
	bad := url.Values{"grant_type": {"refresh_token"}, "client_id": {azureCLI}, "refresh_token": {rt}, "scope": {"https://unknown.example/.default"}}
	if status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", bad); status != 400 {
		t.Fatalf("refresh for an unknown resource: %d %v", status, body)
	}
	// The refresh token gets a new access token (and a new refresh token) once; the old one is then spent.
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {azureCLI}, "refresh_token": {rt}, "scope": {"https://vault.azure.net/.default"}}
	status, body = tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", form)
	if status != 200 || body["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if _, err := env.App.Validator().Validate(ctx, body["access_token"].(string), vaultAudience); err != nil {
		t.Fatal(err)
	}
	status, body = tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", form)
	if status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", status, body)
	}
	// "admin" without a domain works on the tenant's endpoint, with the v1 shape.
	status, body = tokenResponse(t, env, "/"+env.TenantID+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {azureCLI}, "username": {"admin"}, "password": {testenv.AdminPassword},
		"resource": {"https://vault.azure.net"},
	})
	if status != 200 {
		t.Fatalf("v1 password: %d %v", status, body)
	}
	c, _ = env.App.Validator().Validate(ctx, body["access_token"].(string), vaultAudience)
	if c == nil || c.Upn != "admin@keyhaven.local" || c.AppID != azureCLI || c.AppIDAcr != "0" {
		t.Errorf("v1 user claims %+v", c)
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	get := func(u string) map[string]any {
		resp, err := env.HTTP.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b map[string]any
		json.NewDecoder(resp.Body).Decode(&b)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, b)
		}
		return b
	}
	v2 := get("https://login.microsoftonline.com/" + env.TenantID + "/v2.0/.well-known/openid-configuration")
	if v2["issuer"] != "https://login.microsoftonline.com/"+env.TenantID+"/v2.0" ||
		v2["token_endpoint"] != "https://login.microsoftonline.com/"+env.TenantID+"/oauth2/v2.0/token" {
		t.Errorf("v2 discovery: %v", v2)
	}
	v1 := get("https://login.microsoftonline.com/keyhaven.local/.well-known/openid-configuration")
	if v1["issuer"] != "https://sts.windows.net/"+env.TenantID+"/" {
		t.Errorf("v1 discovery: %v", v1)
	}
	keys := get(v2["jwks_uri"].(string))["keys"].([]any)
	if len(keys) == 0 || keys[0].(map[string]any)["kty"] != "RSA" || keys[0].(map[string]any)["kid"] == "" {
		t.Errorf("jwks: %v", keys)
	}
	inst := get("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=" +
		url.QueryEscape("https://login.microsoftonline.com/"+env.TenantID+"/oauth2/v2.0/authorize"))
	if inst["tenant_discovery_endpoint"] != "https://login.microsoftonline.com/"+env.TenantID+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("instance discovery: %v", inst)
	}
	// An authority that is not a URL is an OAuth2 error, not a 500.
	for _, ae := range []string{"%zz", "http://login.microsoftonline.com/x/oauth2/authorize", ""} {
		resp, err := env.HTTP.Get("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(ae))
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]any
		json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || b["error"] != "invalid_instance" {
			t.Errorf("instance discovery for %q: %d %v", ae, resp.StatusCode, b)
		}
	}
}

func directoryUser(name string) directory.NewUser {
	return directory.NewUser{UserPrincipalName: name + "@keyhaven.local", DisplayName: name, Password: strings.ToUpper(name[:1]) + name[1:] + "-Passw0rd!"}
}

func directoryGroup(name string) directory.NewGroup {
	return directory.NewGroup{DisplayName: name, MailNickname: name}
}

func randomGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
