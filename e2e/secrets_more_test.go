package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/token"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

// TestTwoNodesSharePostgres: a policy removed through one node takes effect on the next request to the other.
func TestTwoNodesSharePostgres(t *testing.T) {
	dbURL := sqltest.PostgresURL(t)
	root := barrier.GenerateRootKey().String()
	node := func() *testenv.Env {
		return testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Database = dbURL; c.RootKey = root }})
	}
	a := node()
	b := node()
	if a.TenantID != b.TenantID || a.SubscriptionID != b.SubscriptionID {
		t.Fatalf("nodes disagree on the installation: %s/%s vs %s/%s", a.TenantID, a.SubscriptionID, b.TenantID, b.SubscriptionID)
	}
	ctx := context.Background()
	f := newVault(t, a, "sharedvault", nil) // made through node A
	// The SDK talks to node B.
	_, sp, secret := servicePrincipal(t, a, "node-b-client")
	cred, _ := azidentity.NewClientSecretCredential(b.TenantID, sp.AppID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: sdkOptions(b, "")})
	onB, _ := azsecrets.NewClient("https://sharedvault.vault.azure.net", cred, &azsecrets.ClientOptions{ClientOptions: sdkOptions(b, "")})
	f.setPolicy(t, sp.ID, "get", "set")
	if _, err := onB.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatalf("set on node B: %v", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := onB.GetSecret(ctx, "s", "", nil); err != nil {
			t.Fatalf("get on node B: %v", err)
		}
	}
	f.setPolicy(t, sp.ID) // removed through node A
	_, err := onB.GetSecret(ctx, "s", "", nil)
	wantKVError(t, "node B after the policy was removed on node A", err, 403, "Forbidden", "ForbiddenByPolicy")
	// A role assignment and a firewall rule changed on A apply on B at once too.
	f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny"}})
	f.setPolicy(t, sp.ID, "get")
	_, err = onB.GetSecret(ctx, "s", "", nil)
	wantKVError(t, "node B behind a firewall set on node A", err, 403, "Forbidden", "ForbiddenByFirewall")
}

// clock is a settable clock for the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestScheduledPurge: a soft-deleted secret is purged once its scheduled purge date passes.
func TestScheduledPurge(t *testing.T) {
	clk := &clock{t: time.Now()}
	env := testenv.Start(t, testenv.Options{Now: clk.Now})
	ctx := context.Background()
	f := newVault(t, env, "purgevault", map[string]any{"softDeleteRetentionInDays": 7})
	f.setPolicy(t, f.spID, "get", "set", "delete", "list", "recover")
	f.client.SetSecret(ctx, "old", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
	if _, err := f.client.DeleteSecret(ctx, "old", nil); err != nil {
		t.Fatal(err)
	}
	// Tokens issued before the clock moves have expired by then: each step uses a new client.
	clk.Advance(6 * 24 * time.Hour)
	env.App.PurgeExpired(ctx)
	if _, err := f.freshClient(t).GetDeletedSecret(ctx, "old", nil); err != nil {
		t.Fatalf("purged before its date: %v", err)
	}
	clk.Advance(24*time.Hour + time.Minute)
	env.App.PurgeExpired(ctx)
	c := f.freshClient(t)
	_, err := c.GetDeletedSecret(ctx, "old", nil)
	wantKVError(t, "after the purge date", err, 404, "SecretNotFound", "")
	// The name is free again.
	if _, err := c.SetSecret(ctx, "old", azsecrets.SetSecretParameters{Value: to.Ptr("new")}, nil); err != nil {
		t.Fatalf("reuse after purge: %v", err)
	}
}

// TestThrottling: over the vault's limit, 429 Throttled with Retry-After.
func TestThrottling(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.VaultRateLimit = "5" }})
	f := newVault(t, env, "busyvault", nil)
	f.setPolicy(t, f.spID, "get", "set")
	tok := spVaultToken(t, env, f)
	var last *http.Response
	for i := 0; i < 7; i++ {
		req, _ := http.NewRequest("GET", "https://busyvault.vault.azure.net/secrets?api-version=7.5", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

// spVaultToken is a vault token for the fixture's service principal, as the SDK would get it.
func spVaultToken(t testing.TB, env *testenv.Env, f *vaultFixture) string {
	t.Helper()
	_, sp, secret := servicePrincipal(t, env, "raw-client")
	f.setPolicy(t, sp.ID, "get", "set", "list", "delete")
	status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/token", map[string][]string{"grant_type": {"client_credentials"},
		"client_id": {sp.AppID}, "client_secret": {secret}, "resource": {"https://vault.azure.net"}})
	if status != 200 {
		t.Fatalf("token: %v", body)
	}
	return body["access_token"].(string)
}

// FuzzVaultRequests sends arbitrary methods, paths and bodies to the data plane with a valid token: the answer
// is never a 5xx, and the store stays readable.
func FuzzVaultRequests(f *testing.F) {
	env := testenv.Start(f, testenv.Options{})
	fx := newVault(f, env, "fuzzvault", nil)
	f.Add("PUT", "/secrets/a?api-version=7.5", `{"value":"v","tags":{"a":"b"},"attributes":{"enabled":true,"exp":1}}`)
	f.Add("PATCH", "/secrets/a/?api-version=7.5", `{"attributes":{"nbf":"x"}}`)
	f.Add("POST", "/secrets/restore?api-version=7.5", `{"value":"AAAA"}`)
	f.Add("GET", "/secrets?api-version=7.5&maxresults=0&$skiptoken=zz", ``)
	f.Add("GET", "/deletedsecrets/%2e%2e?api-version=2025-07-01", ``)
	f.Add("GET", "/secrets/a/"+strings.Repeat("v", 1100)+"?api-version=7.5", ``) // longer than a storage key
	f.Add("GET", "/secrets/a/%C3%A9?api-version=7.5", ``)
	handler := env.App.Handler()
	tok := ""
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if tok == "" {
			tok = spVaultToken(t, env, fx)
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t") || len(method) == 0 || len(method) > 10 {
			return
		}
		req, err := http.NewRequest(method, "https://fuzzvault.vault.azure.net"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Host = "fuzzvault.vault.azure.net"
		req.RemoteAddr = "127.0.0.1:1234"
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body.String())
		}
	})
}

// A Host whose vault label cannot be a vault name is VaultNotFound, whatever its length or characters.
func TestVaultHostThatCannotBeAVault(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, label := range []string{strings.Repeat("a", 1100), "a_b", "-ab"} {
		req := httptest.NewRequest("GET", "https://x.vault.azure.net/secrets/s?api-version=7.5", nil)
		req.Host = label + ".vault.azure.net"
		req.Header.Set("Authorization", "Bearer x.y.z")
		rec := httptest.NewRecorder()
		env.App.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 || !strings.Contains(rec.Body.String(), "VaultNotFound") && rec.Code != http.StatusNotFound {
			t.Errorf("vault label %.20q: %d %s", label, rec.Code, rec.Body.String())
		}
	}
}

// rawGet sends GET secret with a token and optional headers; it returns the status and the inner error code.
func rawGet(t testing.TB, env *testenv.Env, vault, tok string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://"+vault+".vault.azure.net/secrets/s/?api-version=7.5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.InnerError.Code
}

// TestFirewallProxiesAndTrustedServices: X-Forwarded-For counts only from a configured trusted proxy, and a
// trusted Azure service passes a Deny firewall only with bypass=AzureServices.
func TestFirewallProxiesAndTrustedServices(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		env := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
			if trusted {
				c.TrustedProxies = "127.0.0.1"
			}
		}})
		f := newVault(t, env, "edgevault", nil)
		tok := spVaultToken(t, env, f)
		c := f.freshClient(t)
		f.setPolicy(t, f.spID, "get", "set")
		c.SetSecret(context.Background(), "s", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
		f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny", "bypass": "None", "ipRules": []any{map[string]any{"value": "203.0.113.0/24"}}}})
		status, inner := rawGet(t, env, "edgevault", tok, map[string]string{"X-Forwarded-For": "203.0.113.7"})
		if trusted && status != 200 {
			t.Errorf("forwarded address through a trusted proxy: %d %s", status, inner)
		}
		if !trusted && (status != 403 || inner != "ForbiddenByFirewall") {
			t.Errorf("X-Forwarded-For believed from an untrusted peer: %d %s", status, inner)
		}
		if status, inner := rawGet(t, env, "edgevault", tok, nil); status != 403 || inner != "ForbiddenByFirewall" {
			t.Errorf("unlisted address: %d %s", status, inner)
		}
		if !trusted {
			continue
		}
		// A token of a trusted Azure service (App Service's first-party app id) for an existing principal.
		_, sp, _ := servicePrincipal(t, env, "platform")
		f.setPolicy(t, sp.ID, "get")
		svc, _, err := token.NewIssuer(env.App.Keyring(), nil).Issue(token.Claims{Aud: "https://vault.azure.net", Iss: "https://sts.windows.net/" + env.TenantID + "/",
			Idtyp: "app", Oid: sp.ID, Sub: sp.ID, Tid: env.TenantID, AppID: "abfa0a7c-a6b6-4736-8310-5855508787cd", AppIDAcr: "2", Ver: "1.0"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if status, inner := rawGet(t, env, "edgevault", svc, nil); status != 403 || inner != "ForbiddenByFirewall" {
			t.Errorf("trusted service with bypass=None: %d %s", status, inner)
		}
		f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []any{}}})
		if status, inner := rawGet(t, env, "edgevault", svc, nil); status != 200 {
			t.Errorf("trusted service with bypass=AzureServices: %d %s", status, inner)
		}
		if status, _ := rawGet(t, env, "edgevault", tok, nil); status != 403 {
			t.Errorf("an ordinary caller with bypass=AzureServices: %d", status)
		}
	}
}

// TestCompoundIdentityAndAudit: a policy with an applicationId applies only through that application; the audit
// trail records every call, and never a value.
func TestCompoundIdentityAndAudit(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	f := newVault(t, env, "compound", nil)
	user, _ := env.App.Directory().CreateUser(ctx, env.TenantID, directoryUser("erin"))
	viaApp, _, _ := servicePrincipal(t, env, "erins-app")
	s, b := armCall(t, env, f.admin, "PUT", f.vaultID+"/accessPolicies/add"+api, map[string]any{"properties": map[string]any{"accessPolicies": []any{
		map[string]any{"tenantId": env.TenantID, "objectId": user.ID, "applicationId": viaApp.AppID, "permissions": map[string]any{"secrets": []any{"get"}}}}}})
	if s != 200 {
		t.Fatalf("compound policy: %d %v", s, b)
	}
	f.setPolicy(t, f.spID, "set")
	f.client.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: to.Ptr("needle-value-7f3a")}, nil)
	// Erin through the Azure CLI (another application): refused.
	cliTok := userToken(t, env, user.UserPrincipalName, "Erin-Passw0rd!", "https://vault.azure.net")
	if status, inner := rawGet(t, env, "compound", cliTok, nil); status != 403 || inner != "ForbiddenByPolicy" {
		t.Errorf("compound identity through another app: %d %s", status, inner)
	}
	// Erin through her application: allowed.
	status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/token", map[string][]string{"grant_type": {"password"}, "client_id": {viaApp.AppID},
		"username": {user.UserPrincipalName}, "password": {"Erin-Passw0rd!"}, "resource": {"https://vault.azure.net"}})
	if status != 200 {
		t.Fatalf("token through the app: %v", body)
	}
	if status, inner := rawGet(t, env, "compound", body["access_token"].(string), nil); status != 200 {
		t.Errorf("compound identity through its app: %d %s", status, inner)
	}
	// The audit trail: the calls are there, with caller and outcome, and no value anywhere.
	time.Sleep(300 * time.Millisecond) // data-plane records are batched
	recs, err := env.App.Audit().List(ctx, audit.Filter{Plane: "data"})
	if err != nil {
		t.Fatal(err)
	}
	var allowed, refused bool
	for _, r := range recs {
		if r.Target == "compound/secrets/s" && r.Operation == "SecretGet" && r.CallerOID == user.ID {
			if r.Status == 200 {
				allowed = true
			}
			if r.Status == 403 && strings.Contains(r.Code, "ForbiddenByPolicy") {
				refused = true
			}
		}
		if r.RequestID == "" || r.ClientIP == "" {
			t.Errorf("record without request id or client: %+v", r)
		}
	}
	if !allowed || !refused {
		t.Errorf("audit lacks the calls (allowed %v, refused %v) among %d records", allowed, refused, len(recs))
	}
	all, _ := env.App.Audit().List(ctx, audit.Filter{})
	if b, _ := json.Marshal(all); strings.Contains(string(b), "needle-value-7f3a") || strings.Contains(string(b), "Erin-Passw0rd") {
		t.Fatal("the audit trail holds a secret value or a password")
	}
}
