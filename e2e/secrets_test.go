package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	karm "github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/testenv"
)

// vaultFixture is a vault made through the management plane and a service principal to call it with.
type vaultFixture struct {
	env     *testenv.Env
	admin   string // management token of the administrator
	vaultID string
	spID    string
	appID   string
	client  *azsecrets.Client
	secret  string
	name    string
}

// freshClient is a new client (with no cached token) for the fixture's service principal.
func (f *vaultFixture) freshClient(t testing.TB) *azsecrets.Client {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(f.env.TenantID, f.appID, f.secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: sdkOptions(f.env, "")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := azsecrets.NewClient("https://"+f.name+".vault.azure.net", cred, &azsecrets.ClientOptions{ClientOptions: sdkOptions(f.env, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newVault creates a resource group and a vault (properties merged over the defaults) and a secrets client for
// a new service principal, with the SDK's challenge-resource verification on.
func newVault(t testing.TB, env *testenv.Env, name string, props map[string]any) *vaultFixture {
	t.Helper()
	admin := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	rg := "/subscriptions/" + env.SubscriptionID + "/resourceGroups/kv-rg"
	armCall(t, env, admin, "PUT", rg+api, map[string]any{"location": "westus"})
	p := map[string]any{"tenantId": env.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}, "accessPolicies": []any{}}
	for k, v := range props {
		p[k] = v
	}
	s, b := armCall(t, env, admin, "PUT", rg+"/providers/Microsoft.KeyVault/vaults/"+name+api, map[string]any{"location": "westus", "properties": p})
	if s != 201 {
		t.Fatalf("create vault: %d %v", s, b)
	}
	_, sp, secret := servicePrincipal(t, env, name+"-app")
	cred, err := azidentity.NewClientSecretCredential(env.TenantID, sp.AppID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: sdkOptions(env, "")})
	if err != nil {
		t.Fatal(err)
	}
	client, err := azsecrets.NewClient("https://"+name+".vault.azure.net", cred, &azsecrets.ClientOptions{ClientOptions: sdkOptions(env, "")})
	if err != nil {
		t.Fatal(err)
	}
	return &vaultFixture{env: env, admin: admin, vaultID: b["id"].(string), spID: sp.ID, appID: sp.AppID, client: client, secret: secret, name: name}
}

// setPolicy replaces the vault's access policy for an object with the given secret permissions.
func (f *vaultFixture) setPolicy(t testing.TB, objectID string, perms ...string) {
	t.Helper()
	s, b := armCall(t, f.env, f.admin, "PUT", f.vaultID+"/accessPolicies/replace"+api, map[string]any{"properties": map[string]any{"accessPolicies": []any{
		map[string]any{"tenantId": f.env.TenantID, "objectId": objectID, "permissions": map[string]any{"secrets": perms}}}}})
	if s != 200 {
		t.Fatalf("set policy: %d %v", s, b)
	}
	if len(perms) == 0 {
		armCall(t, f.env, f.admin, "PUT", f.vaultID+"/accessPolicies/remove"+api, map[string]any{"properties": map[string]any{"accessPolicies": []any{
			map[string]any{"tenantId": f.env.TenantID, "objectId": objectID, "permissions": map[string]any{"secrets": []any{"all"}}}}}})
	}
}

func (f *vaultFixture) patchVault(t testing.TB, props map[string]any) {
	t.Helper()
	if s, b := armCall(t, f.env, f.admin, "PATCH", f.vaultID+api, map[string]any{"properties": props}); s != 200 {
		t.Fatalf("patch vault: %d %v", s, b)
	}
}

// kvError returns the status, error code and inner error code of a failed call.
func kvError(t *testing.T, err error) (int, string, string) {
	t.Helper()
	re := respErr(err)
	if re == nil {
		t.Fatalf("expected a service error, got %v", err)
	}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError *struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(re.RawResponse.Body)
	json.Unmarshal(b, &body)
	inner := ""
	if body.Error.InnerError != nil {
		inner = body.Error.InnerError.Code
	}
	return re.StatusCode, re.ErrorCode, inner
}

func wantKVError(t *testing.T, what string, err error, status int, code, inner string) {
	t.Helper()
	s, c, i := kvError(t, err)
	if s != status || c != code || i != inner {
		t.Errorf("%s: %d %s/%s, want %d %s/%s", what, s, c, i, status, code, inner)
	}
}

func TestSecretsEndToEnd(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	f := newVault(t, env, "mykeyvault", map[string]any{"softDeleteRetentionInDays": 30})
	c := f.client

	// No policy at all: ForbiddenByPolicy naming the missing permission.
	_, err := c.GetSecret(ctx, "db", "", nil)
	wantKVError(t, "no policy", err, 403, "Forbidden", "ForbiddenByPolicy")

	f.setPolicy(t, f.spID, "get", "list", "set", "delete", "recover", "backup", "restore", "purge")
	set, err := c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("s3cr3t"), ContentType: to.Ptr("text/plain"),
		Tags: map[string]*string{"env": to.Ptr("test")}}, nil)
	if err != nil {
		t.Fatalf("set: %v", err)
	}
	id := *set.ID
	if !strings.HasPrefix(string(id), "https://mykeyvault.vault.azure.net/secrets/db/") || len(id.Version()) != 32 || id.Name() != "db" {
		t.Fatalf("id %s", id)
	}
	if *set.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || *set.Attributes.RecoverableDays != 30 || !*set.Attributes.Enabled {
		t.Errorf("attributes %+v", set.Attributes)
	}
	got, err := c.GetSecret(ctx, "db", "", nil)
	if err != nil || *got.Value != "s3cr3t" || *got.ID != id || *got.ContentType != "text/plain" || *got.Tags["env"] != "test" {
		t.Fatalf("get latest: %v %+v", err, got)
	}
	set2, _ := c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("rotated")}, nil)
	if v, err := c.GetSecret(ctx, "db", id.Version(), nil); err != nil || *v.Value != "s3cr3t" {
		t.Fatalf("get by version: %v", err)
	}
	if v, _ := c.GetSecret(ctx, "DB", "", nil); *v.Value != "rotated" {
		t.Errorf("names are case-insensitive: %v", *v.Value)
	}
	// Update attributes and tags; the value stays.
	upd, err := c.UpdateSecretProperties(ctx, "db", set2.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
		Tags: map[string]*string{"owner": to.Ptr("ops")}, SecretAttributes: &azsecrets.SecretAttributes{Expires: to.Ptr(set2.Attributes.Created.AddDate(1, 0, 0))}}, nil)
	if err != nil || upd.Value != nil || *upd.Tags["owner"] != "ops" || upd.Attributes.Expires == nil {
		t.Fatalf("update: %v %+v", err, upd)
	}
	// Disabled secrets refuse their value.
	c.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil)
	_, err = c.GetSecret(ctx, "db", "", nil)
	wantKVError(t, "disabled", err, 403, "Forbidden", "SecretDisabled")
	c.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true)}}, nil)

	// Paging across several pages (25 per page).
	for i := 0; i < 30; i++ {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("bulk-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pager := c.NewListSecretPropertiesPager(nil)
	names, pages := map[string]bool{}, 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		pages++
		for _, s := range page.Value {
			names[s.ID.Name()] = true
			if s.ID.Version() != "" {
				t.Errorf("list item id has a version: %s", *s.ID)
			}
		}
	}
	if len(names) != 31 || pages != 2 {
		t.Errorf("listed %d secrets on %d pages", len(names), pages)
	}
	vp := c.NewListSecretPropertiesVersionsPager("db", nil)
	vpage, err := vp.NextPage(ctx)
	if err != nil || len(vpage.Value) != 2 {
		t.Errorf("versions: %v %d", err, len(vpage.Value))
	}

	// Backup, then delete, get deleted, list deleted, recover.
	backup, err := c.BackupSecret(ctx, "db", nil)
	if err != nil || len(backup.Value) == 0 || strings.Contains(string(backup.Value), "rotated") {
		t.Fatalf("backup: %v", err)
	}
	del, err := c.DeleteSecret(ctx, "db", nil)
	if err != nil || *del.RecoveryID != "https://mykeyvault.vault.azure.net/deletedsecrets/db" || del.ScheduledPurgeDate.Sub(*del.DeletedDate).Hours() != 30*24 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	_, err = c.GetSecret(ctx, "db", "", nil)
	wantKVError(t, "get deleted secret", err, 404, "SecretNotFound", "")
	_, err = c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantKVError(t, "reuse a deleted name", err, 409, "Conflict", "ObjectIsDeletedButRecoverable")
	if d, err := c.GetDeletedSecret(ctx, "db", nil); err != nil || d.ID.Version() != set2.ID.Version() {
		t.Fatalf("get deleted: %v", err)
	}
	dp := c.NewListDeletedSecretPropertiesPager(nil)
	if dpage, err := dp.NextPage(ctx); err != nil || len(dpage.Value) != 1 {
		t.Fatalf("list deleted: %v", err)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetSecret(ctx, "db", "", nil); err != nil || *v.Value != "rotated" {
		t.Fatalf("after recover: %v", err)
	}
	// Delete and purge, then restore from the backup with every version and its id.
	c.DeleteSecret(ctx, "db", nil)
	if _, err := c.PurgeDeletedSecret(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDeletedSecret(ctx, "db", nil); err == nil {
		t.Fatal("purged secret is still deleted-recoverable")
	}
	restored, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil)
	if err != nil || restored.ID.Version() != set2.ID.Version() {
		t.Fatalf("restore: %v", err)
	}
	if v, err := c.GetSecret(ctx, "db", id.Version(), nil); err != nil || *v.Value != "s3cr3t" {
		t.Fatalf("restored old version: %v", err)
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil)
	wantKVError(t, "restore over an existing secret", err, 409, "Conflict", "")
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: []byte("garbage")}, nil)
	wantKVError(t, "restore garbage", err, 400, "BadParameter", "")

	// get but not list: get works, list is ForbiddenByPolicy.
	f.setPolicy(t, f.spID, "get")
	if _, err := c.GetSecret(ctx, "db", "", nil); err != nil {
		t.Fatalf("get with get: %v", err)
	}
	_, err = c.NewListSecretPropertiesPager(nil).NextPage(ctx)
	wantKVError(t, "list without list", err, 403, "Forbidden", "ForbiddenByPolicy")
	// A policy removed while the client keeps calling takes effect on the next request.
	f.setPolicy(t, f.spID)
	_, err = c.GetSecret(ctx, "db", "", nil)
	wantKVError(t, "after the policy is removed", err, 403, "Forbidden", "ForbiddenByPolicy")
}

func TestSecretsGroupsRBACAndFirewall(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	f := newVault(t, env, "teamvault", nil)
	c := f.client
	// A policy granted to a group works for its members, through nested groups too.
	outer, _ := env.App.Directory().CreateGroup(ctx, env.TenantID, directoryGroup("outer"))
	inner, _ := env.App.Directory().CreateGroup(ctx, env.TenantID, directoryGroup("inner"))
	env.App.Directory().AddMember(ctx, env.TenantID, outer.ID, inner.ID)
	env.App.Directory().AddMember(ctx, env.TenantID, inner.ID, f.spID)
	f.setPolicy(t, outer.ID, "get", "set")
	if _, err := c.SetSecret(ctx, "shared", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatalf("through a group: %v", err)
	}
	// Firewall: deny by default; a listed address gets in.
	f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []any{map[string]any{"value": "10.1.0.0/16"}}}})
	_, err := c.GetSecret(ctx, "shared", "", nil)
	wantKVError(t, "firewall", err, 403, "Forbidden", "ForbiddenByFirewall")
	f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny", "ipRules": []any{map[string]any{"value": "127.0.0.1"}}}})
	if _, err := c.GetSecret(ctx, "shared", "", nil); err != nil {
		t.Fatalf("listed address: %v", err)
	}
	f.patchVault(t, map[string]any{"networkAcls": map[string]any{"defaultAction": "Allow"}})

	// RBAC: access policies are ignored; a secret-scoped role grants that secret only; Owner grants no data.
	c.SetSecret(ctx, "other", azsecrets.SetSecretParameters{Value: to.Ptr("o")}, nil)
	f.patchVault(t, map[string]any{"enableRbacAuthorization": true})
	_, err = c.GetSecret(ctx, "shared", "", nil)
	wantKVError(t, "RBAC without a role", err, 403, "Forbidden", "ForbiddenByRbac")
	grant(t, env, f.spID, karm.RoleOwner, "/subscriptions/"+env.SubscriptionID)
	_, err = c.GetSecret(ctx, "shared", "", nil)
	wantKVError(t, "Owner reads data", err, 403, "Forbidden", "ForbiddenByRbac")
	grant(t, env, f.spID, karm.RoleKeyVaultSecretsUser, f.vaultID+"/secrets/shared")
	if v, err := c.GetSecret(ctx, "shared", "", nil); err != nil || *v.Value != "v" {
		t.Fatalf("secret-scoped role: %v", err)
	}
	_, err = c.GetSecret(ctx, "other", "", nil)
	wantKVError(t, "another secret", err, 403, "Forbidden", "ForbiddenByRbac")
	// A role at the resource group applies to every secret in its vaults.
	grant(t, env, f.spID, karm.RoleKeyVaultSecretsUser, "/subscriptions/"+env.SubscriptionID+"/resourceGroups/kv-rg")
	if _, err := c.GetSecret(ctx, "other", "", nil); err != nil {
		t.Fatalf("resource group role: %v", err)
	}
}

// TestChallenge is the 401 that starts every SDK conversation, checked on the wire.
func TestChallenge(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	newVault(t, env, "challenged", nil)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/secrets/x/?api-version=2026-04-01", ""},
		{"PUT", "/secrets/x?api-version=2026-04-01", ""},
		{"PUT", "/secrets/x?api-version=2026-04-01", "{not json at all"},
		{"GET", "/keys?api-version=2025-07-01", ""},
	} {
		req, _ := http.NewRequest(tc.method, "https://challenged.vault.azure.net"+tc.path, strings.NewReader(tc.body))
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := `Bearer authorization="https://login.microsoftonline.com/` + env.TenantID + `", resource="https://vault.azure.net"`
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// A token for another audience gets the challenge again.
	tok := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	req, _ := http.NewRequest("GET", "https://challenged.vault.azure.net/secrets?api-version=7.4", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ := env.HTTP.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong audience: %d", resp.StatusCode)
	}
	// A malformed api-version is BadParameter.
	vt := userToken(t, env, "admin", testenv.AdminPassword, "https://vault.azure.net")
	req, _ = http.NewRequest("GET", "https://challenged.vault.azure.net/secrets?api-version=banana", nil)
	req.Header.Set("Authorization", "Bearer "+vt)
	resp, _ = env.HTTP.Do(req)
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body["error"].(map[string]any)["code"] != "BadParameter" {
		t.Errorf("bad api-version: %d %v", resp.StatusCode, body)
	}
}

var _ azcore.TokenCredential
