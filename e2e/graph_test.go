package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// userToken signs in with the password grant as the Azure CLI would, for a resource.
func userToken(t testing.TB, env *testenv.Env, username, password, resource string) string {
	t.Helper()
	status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
		"username": {username}, "password": {password}, "resource": {resource},
	})
	if status != 200 {
		t.Fatalf("sign in %s: %d %v", username, status, body)
	}
	return body["access_token"].(string)
}

// graph calls the Graph API with a token and decodes the answer.
func graph(t *testing.T, env *testenv.Env, tok, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, "https://graph.microsoft.com/v1.0"+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestGraphDirectory(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	admin := userToken(t, env, "admin", testenv.AdminPassword, "https://graph.microsoft.com")

	status, me := graph(t, env, admin, "GET", "/me", nil)
	if status != 200 || me["userPrincipalName"] != "admin@keyhaven.local" {
		t.Fatalf("/me: %d %v", status, me)
	}
	// Users.
	status, alice := graph(t, env, admin, "POST", "/users", map[string]any{"accountEnabled": true, "displayName": "Alice",
		"mailNickname": "alice", "userPrincipalName": "alice@keyhaven.local", "passwordProfile": map[string]any{"password": "Alice-Passw0rd!"}})
	if status != 201 || alice["id"] == nil || alice["userPrincipalName"] != "alice@keyhaven.local" {
		t.Fatalf("create user: %d %v", status, alice)
	}
	if status, body := graph(t, env, admin, "POST", "/users", map[string]any{"displayName": "Alice 2", "userPrincipalName": "alice@keyhaven.local",
		"passwordProfile": map[string]any{"password": "Alice-Passw0rd!"}}); status != 400 || !strings.Contains(errMessage(body), "already exists") {
		t.Errorf("duplicate UPN: %d %v", status, body)
	}
	if status, body := graph(t, env, admin, "POST", "/users", map[string]any{"displayName": "Eve", "userPrincipalName": "eve@other.example",
		"passwordProfile": map[string]any{"password": "Eve-Passw0rd!"}}); status != 400 || !strings.Contains(errMessage(body), "domain") {
		t.Errorf("foreign domain: %d %v", status, body)
	}
	status, list := graph(t, env, admin, "GET", "/users?$filter="+url.QueryEscape("startswith(displayName,'ali')"), nil)
	if status != 200 || len(list["value"].([]any)) != 1 {
		t.Fatalf("filter users: %d %v", status, list)
	}
	status, byUPN := graph(t, env, admin, "GET", "/users/alice@keyhaven.local", nil)
	if status != 200 || byUPN["id"] != alice["id"] {
		t.Fatalf("user by UPN: %d %v", status, byUPN)
	}
	// Groups and nested membership.
	_, outer := graph(t, env, admin, "POST", "/groups", map[string]any{"displayName": "Readers", "mailNickname": "readers", "securityEnabled": true, "mailEnabled": false})
	_, inner := graph(t, env, admin, "POST", "/groups", map[string]any{"displayName": "Team", "mailNickname": "team", "securityEnabled": true, "mailEnabled": false})
	if outer["id"] == nil || inner["id"] == nil || outer["securityIdentifier"] == "" {
		t.Fatalf("groups: %v %v", outer, inner)
	}
	ref := func(id any) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id.(string)}
	}
	if status, body := graph(t, env, admin, "POST", "/groups/"+outer["id"].(string)+"/members/$ref", ref(inner["id"])); status != 204 {
		t.Fatalf("add group to group: %d %v", status, body)
	}
	if status, body := graph(t, env, admin, "POST", "/groups/"+inner["id"].(string)+"/members/$ref", ref(alice["id"])); status != 204 {
		t.Fatalf("add member: %d %v", status, body)
	}
	if status, body := graph(t, env, admin, "POST", "/groups/"+inner["id"].(string)+"/members/$ref", ref(alice["id"])); status != 400 {
		t.Errorf("duplicate member: %d %v", status, body)
	}
	status, check := graph(t, env, admin, "POST", "/directoryObjects/"+alice["id"].(string)+"/checkMemberGroups",
		map[string]any{"groupIds": []any{outer["id"], inner["id"]}})
	if status != 200 || len(check["value"].([]any)) != 2 {
		t.Fatalf("transitive membership: %d %v", status, check)
	}
	status, members := graph(t, env, admin, "GET", "/groups/"+inner["id"].(string)+"/members", nil)
	if status != 200 || len(members["value"].([]any)) != 1 || members["value"].([]any)[0].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("members: %d %v", status, members)
	}

	// Applications, secrets and service principals.
	status, app := graph(t, env, admin, "POST", "/applications", map[string]any{"displayName": "deployer"})
	if status != 201 || app["appId"] == nil {
		t.Fatalf("create app: %d %v", status, app)
	}
	status, pw := graph(t, env, admin, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "ci"}})
	secret, _ := pw["secretText"].(string)
	if status != 200 || len(secret) != 40 || pw["hint"] != secret[:3] {
		t.Fatalf("addPassword: %d %v", status, pw)
	}
	_, got := graph(t, env, admin, "GET", "/applications/"+app["id"].(string), nil)
	if b, _ := json.Marshal(got); strings.Contains(string(b), secret) || strings.Contains(string(b), "hash") {
		t.Fatalf("application shows its secret: %s", b)
	}
	status, sp := graph(t, env, admin, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	if status != 201 || sp["servicePrincipalType"] != "Application" {
		t.Fatalf("create sp: %d %v", status, sp)
	}
	status, spList := graph(t, env, admin, "GET", "/servicePrincipals?$filter="+url.QueryEscape("servicePrincipalNames/any(c:c eq '"+app["appId"].(string)+"')"), nil)
	if status != 200 || len(spList["value"].([]any)) != 1 {
		t.Fatalf("sp by name: %d %v", status, spList)
	}
	// The service principal signs in with the secret Graph showed once.
	status, tok := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {app["appId"].(string)}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != 200 {
		t.Fatalf("sp sign-in: %d %v", status, tok)
	}
	spToken := tok["access_token"].(string)

	// Authorization: no token, a non-admin user, a service principal.
	if status, body := graph(t, env, "", "GET", "/users", nil); status != 401 || errCode(body) != "InvalidAuthenticationToken" {
		t.Errorf("no token: %d %v", status, body)
	}
	vaultTok := userToken(t, env, "admin", testenv.AdminPassword, "https://vault.azure.net")
	if status, body := graph(t, env, vaultTok, "GET", "/users", nil); status != 401 {
		t.Errorf("token for another audience: %d %v", status, body)
	}
	aliceTok := userToken(t, env, "alice@keyhaven.local", "Alice-Passw0rd!", "https://graph.microsoft.com")
	if status, _ := graph(t, env, aliceTok, "GET", "/users", nil); status != 200 {
		t.Errorf("user read: %d", status)
	}
	if status, body := graph(t, env, aliceTok, "POST", "/groups", map[string]any{"displayName": "x", "mailNickname": "x"}); status != 403 || errCode(body) != "Authorization_RequestDenied" {
		t.Errorf("user write: %d %v", status, body)
	}
	if status, body := graph(t, env, spToken, "GET", "/users", nil); status != 403 {
		t.Errorf("service principal read without a role: %d %v", status, body)
	}
	// Deleting a user stops its tokens at once.
	if status, _ := graph(t, env, admin, "DELETE", "/users/"+alice["id"].(string), nil); status != 204 {
		t.Fatalf("delete user: %d", status)
	}
	if _, err := env.App.Validator().Validate(context.Background(), aliceTok, vaultAudience); err == nil {
		t.Error("a deleted user's token still validates")
	}
	if status, _ := graph(t, env, aliceTok, "GET", "/me", nil); status != 401 {
		t.Errorf("deleted user's token on Graph: %d", status)
	}
	status, check = graph(t, env, admin, "GET", "/groups/"+inner["id"].(string)+"/members", nil)
	if len(check["value"].([]any)) != 0 {
		t.Errorf("deleted user is still a member: %v", check)
	}
	// Bad input.
	if status, body := graph(t, env, admin, "GET", "/users?$filter=nonsense", nil); status != 400 {
		t.Errorf("bad filter: %d %v", status, body)
	}
	if status, body := graph(t, env, admin, "GET", "/users/not-a-user", nil); status != 404 || errCode(body) != "Request_ResourceNotFound" {
		t.Errorf("missing user: %d %v", status, body)
	}
	if status, body := graph(t, env, admin, "POST", "/groups", "not an object"); status != 400 {
		t.Errorf("bad body: %d %v", status, body)
	}
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}
