package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	karm "github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/testenv"
)

// armCall sends an ARM request with a bearer token; path includes the query.
func armCall(t testing.TB, env *testenv.Env, tok, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, "https://management.azure.com"+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
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

// spToken is a management token for a new service principal holding roleID at scope ("" for no role).
func spToken(t *testing.T, env *testenv.Env, name, roleID, scope string) (string, string) {
	t.Helper()
	_, sp, secret := servicePrincipal(t, env, name)
	if roleID != "" {
		grant(t, env, sp.ID, roleID, scope)
	}
	status, body := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {sp.AppID}, "client_secret": {secret}, "scope": {"https://management.azure.com/.default"}})
	if status != 200 {
		t.Fatalf("token: %v", body)
	}
	return body["access_token"].(string), sp.ID
}

const api = "?api-version=2024-04-01"

func TestSiteIdentityLifecycle(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tok := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	sub := "/subscriptions/" + env.SubscriptionID
	rg := sub + "/resourceGroups/myResourceGroup"
	if s, b := armCall(t, env, tok, "PUT", rg+api, map[string]any{"location": "westus"}); s != 201 {
		t.Fatalf("group: %d %v", s, b)
	}
	if s, b := armCall(t, env, tok, "PUT", rg+"/providers/Microsoft.Web/serverfarms/myPlan"+api, map[string]any{"location": "westus", "sku": map[string]any{"name": "B1"}}); s != 201 {
		t.Fatalf("plan: %d %v", s, b)
	}
	site := rg + "/providers/Microsoft.Web/sites/myApp"
	s, app := armCall(t, env, tok, "PUT", site+api, map[string]any{"location": "westus", "kind": "app",
		"properties": map[string]any{"serverFarmId": rg + "/providers/Microsoft.Web/serverfarms/myPlan"}})
	if s != 201 || app["identity"] != nil {
		t.Fatalf("site: %d %v", s, app)
	}
	s, uami := armCall(t, env, tok, "PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myId"+api, map[string]any{"location": "westus"})
	if s != 201 {
		t.Fatalf("uami: %d %v", s, uami)
	}
	uamiID := uami["id"].(string)
	uProps := uami["properties"].(map[string]any)

	identity := func(body map[string]any) map[string]any {
		t.Helper()
		body["location"] = "westus"
		s, out := armCall(t, env, tok, "PUT", site+api, body)
		if s != 200 {
			t.Fatalf("update site: %d %v", s, out)
		}
		id, _ := out["identity"].(map[string]any)
		return id
	}
	exists := func(oid string) bool {
		ok, _ := env.App.Directory().Exists(ctx, env.TenantID, oid)
		return ok
	}

	// System-assigned: a new ManagedIdentity principal whose resource is the site.
	id1 := identity(map[string]any{"identity": map[string]any{"type": "systemAssigned"}})
	p1, _ := id1["principalId"].(string)
	if id1["type"] != "SystemAssigned" || id1["tenantId"] != env.TenantID || p1 == "" {
		t.Fatalf("system identity: %v", id1)
	}
	sp, _ := env.App.Directory().ServicePrincipal(ctx, env.TenantID, p1)
	if sp.ServicePrincipalType != "ManagedIdentity" || !strings.EqualFold(sp.ResourceID, app["id"].(string)) {
		t.Fatalf("system principal: %+v", sp)
	}
	// Both, written without the space; the system principal stays the same.
	id2 := identity(map[string]any{"identity": map[string]any{"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": map[string]any{uamiID: map[string]any{}}}})
	ua := id2["userAssignedIdentities"].(map[string]any)[uamiID].(map[string]any)
	if id2["type"] != "SystemAssigned, UserAssigned" || id2["principalId"] != p1 || ua["principalId"] != uProps["principalId"] || ua["clientId"] != uProps["clientId"] {
		t.Fatalf("both: %v", id2)
	}
	// Remove the system identity: its principal leaves the directory.
	id3 := identity(map[string]any{"identity": map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{uamiID: map[string]any{}}}})
	if id3["type"] != "UserAssigned" || id3["principalId"] != nil || exists(p1) {
		t.Fatalf("user only: %v (system principal exists: %v)", id3, exists(p1))
	}
	// Re-enabling makes a new principal with a new id.
	id4 := identity(map[string]any{"identity": map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uamiID: map[string]any{}}}})
	p4, _ := id4["principalId"].(string)
	if p4 == "" || p4 == p1 {
		t.Fatalf("re-enabled: %v", id4)
	}
	// None removes everything; the user-assigned identity itself stays.
	id5 := identity(map[string]any{"identity": map[string]any{"type": "None"}})
	if id5["type"] != "None" || exists(p4) || !exists(uProps["principalId"].(string)) {
		t.Fatalf("none: %v", id5)
	}
	// Deleting the app deletes its system identity.
	id6 := identity(map[string]any{"identity": map[string]any{"type": "SystemAssigned"}})
	p6 := id6["principalId"].(string)
	if s, _ := armCall(t, env, tok, "DELETE", site+api, nil); s != 200 {
		t.Fatalf("delete site: %d", s)
	}
	if exists(p6) {
		t.Fatal("deleted app's principal is still in the directory")
	}
	// App settings on a function app: PUT replaces, POST list reads.
	fn := rg + "/providers/Microsoft.Web/sites/myFunc"
	if s, b := armCall(t, env, tok, "PUT", fn+api, map[string]any{"location": "westus", "kind": "functionapp"}); s != 201 || b["kind"] != "functionapp" {
		t.Fatalf("function app: %d %v", s, b)
	}
	if s, b := armCall(t, env, tok, "PUT", fn+"/config/appsettings"+api, map[string]any{"properties": map[string]any{"AZURE_CLIENT_ID": uProps["clientId"], "WEBSITE_DISABLE_MSI": "false"}}); s != 200 {
		t.Fatalf("set settings: %d %v", s, b)
	}
	s, set := armCall(t, env, tok, "POST", strings.ToUpper(fn[:14])+fn[14:]+"/config/appsettings/list"+api, nil)
	props, _ := set["properties"].(map[string]any)
	if s != 200 || props["AZURE_CLIENT_ID"] != uProps["clientId"] || set["name"] != "appsettings" {
		t.Fatalf("list settings: %d %v", s, set)
	}
}

func TestARMAuthorization(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	admin := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	sub := "/subscriptions/" + env.SubscriptionID
	rg := sub + "/resourceGroups/rg1"
	armCall(t, env, admin, "PUT", rg+api, map[string]any{"location": "westus"})
	armCall(t, env, admin, "PUT", sub+"/resourceGroups/rg2"+api, map[string]any{"location": "westus"})
	vault := func(tok, group, name string) (int, map[string]any) {
		return armCall(t, env, tok, "PUT", sub+"/resourceGroups/"+group+"/providers/Microsoft.KeyVault/vaults/"+name+"?api-version=2023-07-01", map[string]any{
			"location": "westus", "properties": map[string]any{"tenantId": env.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}}})
	}
	denied := func(what string, s int, b map[string]any) {
		t.Helper()
		e, _ := b["error"].(map[string]any)
		if s != 403 || e["code"] != "AuthorizationFailed" || !strings.Contains(e["message"].(string), "does not have authorization to perform action") {
			t.Errorf("%s: %d %v", what, s, b)
		}
	}

	// Reader reads but cannot write.
	reader, _ := spToken(t, env, "reader", karm.RoleReader, sub)
	if s, _ := armCall(t, env, reader, "GET", rg+api, nil); s != 200 {
		t.Errorf("reader read: %d", s)
	}
	s, b := vault(reader, "rg1", "reader-kv")
	denied("reader write", s, b)
	// Contributor writes resources but cannot assign roles.
	contrib, _ := spToken(t, env, "contrib", karm.RoleContributor, sub)
	if s, b := vault(contrib, "rg1", "contrib-kv"); s != 201 {
		t.Fatalf("contributor creates a vault: %d %v", s, b)
	}
	u, _ := env.App.Directory().CreateUser(ctx, env.TenantID, directoryUser("dave"))
	assign := func(tok, scope, role, principal string) (int, map[string]any) {
		return armCall(t, env, tok, "PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+randomGUID()+"?api-version=2022-04-01",
			map[string]any{"properties": map[string]any{"roleDefinitionId": sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role, "principalId": principal}})
	}
	s, b = assign(contrib, sub, karm.RoleReader, u.ID)
	denied("contributor assigns a role", s, b)
	// User Access Administrator may.
	uaa, _ := spToken(t, env, "uaa", karm.RoleUserAccessAdministrator, sub)
	if s, b := assign(uaa, sub, karm.RoleReader, u.ID); s != 201 {
		t.Errorf("user access administrator: %d %v", s, b)
	}
	// A role at resource group scope applies to a vault in it, not to another group.
	kvc, _ := spToken(t, env, "kvc", karm.RoleKeyVaultContributor, rg)
	if s, b := vault(kvc, "rg1", "kvc-vault"); s != 201 {
		t.Errorf("Key Vault Contributor in its group: %d %v", s, b)
	}
	s, b = vault(kvc, "rg2", "kvc-vault2")
	denied("Key Vault Contributor in another group", s, b)
	// ...and Key Vault Contributor cannot make other resources.
	s, b = armCall(t, env, kvc, "PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"+api, map[string]any{"location": "westus"})
	denied("Key Vault Contributor makes an identity", s, b)
	// A group's role applies to its members.
	g, _ := env.App.Directory().CreateGroup(ctx, env.TenantID, directoryGroup("ops"))
	_, member, secret := servicePrincipal(t, env, "member")
	env.App.Directory().AddMember(ctx, env.TenantID, g.ID, member.ID)
	grant(t, env, g.ID, karm.RoleContributor, rg)
	_, tok := tokenResponse(t, env, "/"+env.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {member.AppID}, "client_secret": {secret}, "scope": {"https://management.azure.com/.default"}})
	if s, b := vault(tok["access_token"].(string), "rg1", "group-kv"); s != 201 {
		t.Errorf("group member: %d %v", s, b)
	}
	// No role: not even the resource group is visible.
	none, _ := spToken(t, env, "nobody", "", "")
	s, b = armCall(t, env, none, "GET", rg+api, nil)
	denied("no role reads", s, b)

	// Every write is audited, refusals included.
	recs, err := env.App.Audit().List(ctx, audit.Filter{Plane: "management"})
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused bool
	for _, r := range recs {
		if strings.Contains(r.Target, "contrib-kv") && r.Status == 201 && r.CallerOID != "" && r.RequestID != "" {
			ok = true
		}
		if strings.Contains(r.Target, "reader-kv") && r.Status == 403 && r.Code == "AuthorizationFailed" {
			refused = true
		}
	}
	if !ok || !refused {
		t.Errorf("audit trail lacks the writes (ok %v, refused %v): %d records", ok, refused, len(recs))
	}
}

func TestARMBadInput(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tok := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	sub := "/subscriptions/" + env.SubscriptionID
	rg := sub + "/resourceGroups/rg"
	armCall(t, env, tok, "PUT", rg+api, map[string]any{"location": "westus"})
	spsBefore, _ := env.App.Directory().ServicePrincipals(ctx, env.TenantID)
	vaultBody := func(props map[string]any) map[string]any {
		p := map[string]any{"tenantId": env.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}}
		for k, v := range props {
			p[k] = v
		}
		return map[string]any{"location": "westus", "properties": p}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown identity type", "PUT", rg + "/providers/Microsoft.Web/sites/app1" + api, map[string]any{"location": "westus", "identity": map[string]any{"type": "Magic"}}, 400, "BadRequest"},
		{"user-assigned without entries", "PUT", rg + "/providers/Microsoft.Web/sites/app2" + api, map[string]any{"location": "westus", "identity": map[string]any{"type": "UserAssigned"}}, 400, "BadRequest"},
		{"unknown user-assigned identity", "PUT", rg + "/providers/Microsoft.Web/sites/app3" + api, map[string]any{"location": "westus",
			"identity": map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost": map[string]any{}}}}, 400, "BadRequest"},
		{"bad vault name", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/a--b" + api, vaultBody(nil), 400, "VaultNameNotValid"},
		{"vault name too short", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/ab" + api, vaultBody(nil), 400, "VaultNameNotValid"},
		{"retention 3", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-retention" + api, vaultBody(map[string]any{"softDeleteRetentionInDays": 3}), 400, "BadRequest"},
		{"soft delete off", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-softdelete" + api, vaultBody(map[string]any{"enableSoftDelete": false}), 400, "BadRequest"},
		{"unknown permission", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-perm" + api, vaultBody(map[string]any{"accessPolicies": []any{map[string]any{
			"tenantId": env.TenantID, "objectId": randomGUID(), "permissions": map[string]any{"secrets": []any{"get", "teleport"}}}}}), 400, "BadRequest"},
		{"bad ip rule", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-ip" + api, vaultBody(map[string]any{"networkAcls": map[string]any{"defaultAction": "Deny", "ipRules": []any{map[string]any{"value": "not-an-ip"}}}}), 400, "BadRequest"},
		{"missing tenant", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-tenant" + api, map[string]any{"location": "westus", "properties": map[string]any{"sku": map[string]any{"family": "A", "name": "standard"}}}, 400, "BadRequest"},
		{"malformed resource id", "GET", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault" + api, nil, 400, "InvalidResourceType"},
		{"malformed scope", "PUT", "/subscriptions/" + env.SubscriptionID + "/resourceGroups//providers/Microsoft.Authorization/roleAssignments/" + randomGUID() + api,
			map[string]any{"properties": map[string]any{"roleDefinitionId": karm.RoleReader, "principalId": randomGUID()}}, 400, "InvalidScope"},
		{"unknown api-version", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-version?api-version=2099-01-01", vaultBody(nil), 400, "InvalidApiVersionParameter"},
		{"garbage api-version", "GET", rg + "?api-version=latest", nil, 400, "InvalidApiVersionParameter"},
		{"missing api-version", "GET", rg, nil, 400, "MissingApiVersionParameter"},
		{"bad JSON", "PUT", rg + "/providers/Microsoft.KeyVault/vaults/kv-json" + api, "{not json", 400, "InvalidRequestContent"},
		{"no location", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/noloc" + api, map[string]any{}, 400, "LocationRequired"},
		{"unknown group", "PUT", sub + "/resourceGroups/ghost/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x" + api, map[string]any{"location": "westus"}, 404, "ResourceGroupNotFound"},
		{"unknown resource type", "PUT", rg + "/providers/Microsoft.Compute/disks/d" + api, map[string]any{"location": "westus"}, 400, "NoRegisteredProviderFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := armCall(t, env, tok, tt.method, tt.path, tt.body)
			e, _ := b["error"].(map[string]any)
			if s != tt.status || e["code"] != tt.code || e["message"] == "" {
				t.Errorf("%d %v, want %d %s", s, b, tt.status, tt.code)
			}
		})
	}
	// Nothing was half-created: no resource in the group, no new principal in the directory.
	if s, b := armCall(t, env, tok, "GET", sub+"/resources"+api, nil); s != 200 || len(b["value"].([]any)) != 0 {
		t.Errorf("resources after refused writes: %d %v", s, b)
	}
	if spsAfter, _ := env.App.Directory().ServicePrincipals(ctx, env.TenantID); len(spsAfter) != len(spsBefore) {
		t.Errorf("refused writes left %d service principals behind", len(spsAfter)-len(spsBefore))
	}
}

// Reading a subscription's audit trail shows only records about that subscription: management calls on its
// resources and data-plane calls on its vaults, not another subscription's or tenant's.
func TestAuditRecordsStayInTheirSubscription(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	sub := "/subscriptions/" + env.SubscriptionID
	other := "/subscriptions/" + randomGUID()
	for _, r := range []audit.Record{
		{Plane: "management", Target: sub + "/resourceGroups/mine", Status: 201},
		{Plane: "data", Target: "mine/secrets/s", Resource: sub + "/resourceGroups/mine/providers/Microsoft.KeyVault/vaults/mine", Status: 200},
		{Plane: "management", Target: other + "/resourceGroups/theirs", Status: 201},
		{Plane: "data", Target: "theirs/secrets/s", Resource: other + "/resourceGroups/theirs/providers/Microsoft.KeyVault/vaults/theirs", Status: 200},
		{Plane: "data", Target: "gone/secrets/s", Status: 404}, // no vault: in no subscription
	} {
		if err := env.App.Audit().Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tok := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	status, body := armCall(t, env, tok, "GET", sub+"/providers/Keyhaven.Audit/records?api-version=2022-09-01", nil)
	if status != 200 {
		t.Fatalf("audit records: %d %v", status, body)
	}
	var targets []string
	for _, r := range body["value"].([]any) {
		targets = append(targets, r.(map[string]any)["target"].(string))
	}
	if !slices.Contains(targets, sub+"/resourceGroups/mine") || !slices.Contains(targets, "mine/secrets/s") {
		t.Errorf("own subscription's records missing: %v", targets)
	}
	for _, tg := range targets {
		if strings.Contains(tg, "theirs") || strings.HasPrefix(tg, "gone") {
			t.Errorf("record from outside the subscription: %s", tg)
		}
	}
}
