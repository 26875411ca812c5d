package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// The management commands, run as the seed documents run them with az (App Service managed identities and
// Key Vault access): az replaced by keyhaven, against a real server, signed in as the administrator. The
// output checks are az's printed shapes: SDK models with every attribute, properties flattened where the
// SDK flattens them, and resourceGroup added to objects whose id names a group.

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// keysOf returns an object's keys, sorted.
func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hasKeys fails the test unless m has every key in want.
func hasKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q: keys %v", what, k, keysOf(m))
		}
	}
}

// exactKeys fails the test unless m's keys are exactly want.
func exactKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

// fails runs a command that must fail and returns its stderr.
func (k *kh) fails(code int, args ...string) string {
	k.t.Helper()
	_, errOut, got := k.run(args...)
	if got != code {
		k.t.Fatalf("keyhaven %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, errOut)
	}
	return errOut
}

func TestCLIManagementSeeds(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	k := newCLI(t)
	k.ok(nil, "login", "--server", "https://"+env.Addr, "--ca-file", env.CAPath, "-u", "admin", "-p", testenv.AdminPassword)
	adminOID := strings.TrimSpace(k.ok(nil, "ad", "signed-in-user", "show", "--query", "id", "-o", "tsv"))
	rg := "myResourceGroup"

	// az group create --name myResourceGroup --location westus
	var group map[string]any
	k.ok(&group, "group", "create", "--name", rg, "--location", "westus")
	exactKeys(t, "group create", group, "id", "location", "managedBy", "name", "properties", "tags", "type")
	if group["id"] != "/subscriptions/"+env.SubscriptionID+"/resourceGroups/"+rg || group["name"] != rg || group["type"] != "Microsoft.Resources/resourceGroups" {
		t.Errorf("group create: %v", group)
	}
	if p, _ := group["properties"].(map[string]any); p["provisioningState"] != "Succeeded" {
		t.Errorf("group create properties: %v", group["properties"])
	}
	if out := strings.TrimSpace(k.ok(nil, "group", "exists", "-n", rg)); out != "true" {
		t.Errorf("group exists: %q", out)
	}
	if out := strings.TrimSpace(k.ok(nil, "group", "exists", "-n", "noSuchGroup")); out != "false" {
		t.Errorf("group exists (missing): %q", out)
	}
	// An ARM error prints as azure-core prints it; a show command's not-found exits 3.
	errOut := k.fails(3, "group", "show", "-n", "noSuchGroup")
	if !strings.Contains(errOut, "ERROR: (ResourceGroupNotFound) Resource group 'noSuchGroup' could not be found.\nCode: ResourceGroupNotFound\nMessage: Resource group 'noSuchGroup' could not be found.") {
		t.Errorf("group show (missing): %q", errOut)
	}

	// az appservice plan create --name myPlan --resource-group myResourceGroup --sku S1
	var plan map[string]any
	k.ok(&plan, "appservice", "plan", "create", "--name", "myPlan", "--resource-group", rg, "--sku", "S1")
	hasKeys(t, "plan create", plan, "id", "name", "location", "sku", "resourceGroup")
	if _, nested := plan["properties"]; nested || plan["resourceGroup"] != rg || plan["name"] != "myPlan" {
		t.Errorf("plan create (flattened, with resourceGroup): %v", plan)
	}
	if sku, _ := plan["sku"].(map[string]any); sku["name"] != "S1" || sku["tier"] != "STANDARD" && sku["tier"] != "Standard" {
		t.Errorf("plan sku: %v", plan["sku"])
	}

	// az webapp create --name myApp --resource-group myResourceGroup --plan myPlan
	var app map[string]any
	k.ok(&app, "webapp", "create", "--name", "myApp", "--resource-group", rg, "--plan", "myPlan")
	if _, nested := app["properties"]; nested || app["resourceGroup"] != rg || app["name"] != "myApp" ||
		!strings.HasSuffix(strings.ToLower(app["serverFarmId"].(string)), "/providers/microsoft.web/serverfarms/myplan") {
		t.Errorf("webapp create: %v", app)
	}

	// az webapp identity assign --name myApp --resource-group myResourceGroup
	identityKeys := []string{"principalId", "tenantId", "type", "userAssignedIdentities"}
	var id map[string]any
	k.ok(&id, "webapp", "identity", "assign", "--name", "myApp", "--resource-group", rg)
	exactKeys(t, "identity assign", id, identityKeys...)
	sysPrincipal, _ := id["principalId"].(string)
	if !guidRE.MatchString(sysPrincipal) || id["tenantId"] != env.TenantID || id["type"] != "SystemAssigned" || id["userAssignedIdentities"] != nil {
		t.Fatalf("identity assign (system): %v", id)
	}
	// az functionapp identity assign --name myApp --resource-group myResourceGroup: the same call; the system
	// identity stays.
	k.ok(&id, "functionapp", "identity", "assign", "--name", "myApp", "--resource-group", rg)
	if id["principalId"] != sysPrincipal || id["type"] != "SystemAssigned" {
		t.Errorf("functionapp identity assign: %v", id)
	}

	// A user-assigned identity: az identity create flattens its properties.
	var uami map[string]any
	k.ok(&uami, "identity", "create", "--name", "myUserIdentity", "--resource-group", rg)
	hasKeys(t, "identity create", uami, "clientId", "id", "location", "name", "principalId", "resourceGroup", "tags", "tenantId", "type")
	if _, nested := uami["properties"]; nested || uami["resourceGroup"] != rg || uami["type"] != "Microsoft.ManagedIdentity/userAssignedIdentities" ||
		uami["tenantId"] != env.TenantID || uami["location"] != "westus" {
		t.Errorf("identity create: %v", uami)
	}
	uamiID, _ := uami["id"].(string)
	uamiPrincipal, _ := uami["principalId"].(string)
	var shown map[string]any
	k.ok(&shown, "identity", "show", "-g", rg, "-n", "myUserIdentity")
	if shown["clientId"] != uami["clientId"] || shown["principalId"] != uamiPrincipal {
		t.Errorf("identity show: %v", shown)
	}

	uai := func(id map[string]any) map[string]any {
		m, _ := id["userAssignedIdentities"].(map[string]any)
		for key, v := range m {
			if strings.EqualFold(key, uamiID) {
				vm, _ := v.(map[string]any)
				return vm
			}
		}
		return nil
	}
	// Assign the user-assigned identity: both types, the system identity kept.
	k.ok(&id, "webapp", "identity", "assign", "-g", rg, "-n", "myApp", "--identities", uamiID)
	exactKeys(t, "identity assign (user)", id, identityKeys...)
	if id["type"] != "SystemAssigned, UserAssigned" || id["principalId"] != sysPrincipal {
		t.Errorf("identity assign (user): %v", id)
	}
	if u := uai(id); u == nil || u["principalId"] != uamiPrincipal || u["clientId"] != uami["clientId"] {
		t.Errorf("identity assign (user) userAssignedIdentities: %v", id["userAssignedIdentities"])
	} else {
		exactKeys(t, "userAssignedIdentities value", u, "clientId", "principalId")
	}
	// Remove the system identity: the user-assigned one stays.
	k.ok(&id, "webapp", "identity", "remove", "-g", rg, "-n", "myApp", "--identities", "[system]")
	if id["type"] != "UserAssigned" || id["principalId"] != nil || uai(id) == nil {
		t.Errorf("identity remove [system]: %v", id)
	}
	// Both at once.
	k.ok(&id, "webapp", "identity", "assign", "-g", rg, "-n", "myApp", "--identities", "[system]", uamiID)
	if id["type"] != "SystemAssigned, UserAssigned" || uai(id) == nil {
		t.Errorf("identity assign (both): %v", id)
	}
	sysPrincipal, _ = id["principalId"].(string)
	// Remove the user-assigned one: back to the system identity.
	k.ok(&id, "webapp", "identity", "remove", "-g", rg, "-n", "myApp", "--identities", uamiID)
	if id["type"] != "SystemAssigned" || id["userAssignedIdentities"] != nil || id["principalId"] != sysPrincipal {
		t.Errorf("identity remove (user): %v", id)
	}
	errOut = k.fails(1, "webapp", "identity", "remove", "-g", rg, "-n", "myApp", "--identities", uamiID)
	if !strings.Contains(errOut, "are not associated with 'myApp'") {
		t.Errorf("identity remove (not assigned): %q", errOut)
	}
	// Remove the system identity: None.
	k.ok(&id, "webapp", "identity", "remove", "-g", rg, "-n", "myApp")
	if id["type"] != "None" {
		t.Errorf("identity remove (all): %v", id)
	}
	// And the system identity again, for the access policy.
	k.ok(&id, "webapp", "identity", "assign", "-g", rg, "-n", "myApp")
	appPrincipal, _ := id["principalId"].(string)
	if id["type"] != "SystemAssigned" || !guidRE.MatchString(appPrincipal) {
		t.Fatalf("identity assign (again): %v", id)
	}
	var shownID map[string]any
	k.ok(&shownID, "webapp", "identity", "show", "-g", rg, "-n", "myApp")
	if shownID["principalId"] != appPrincipal {
		t.Errorf("identity show: %v", shownID)
	}

	// App settings: set prints the names with values redacted; list prints the values.
	var settings []map[string]any
	out, errOut, code := k.run("webapp", "config", "appsettings", "set", "-g", rg, "-n", "myApp", "--settings", "VAULT_NAME=myKeyVault", "GREETING=hello=world")
	if code != 0 {
		t.Fatalf("appsettings set: %d %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &settings); err != nil {
		t.Fatalf("appsettings set output: %v %s", err, out)
	}
	if !strings.Contains(errOut, "WARNING: App settings have been redacted.") {
		t.Errorf("appsettings set warning: %q", errOut)
	}
	found := map[string]map[string]any{}
	for _, s := range settings {
		exactKeys(t, "appsettings set entry", s, "name", "slotSetting", "value")
		found[s["name"].(string)] = s
	}
	if s := found["VAULT_NAME"]; s == nil || s["value"] != nil || s["slotSetting"] != false {
		t.Errorf("appsettings set: %v", settings)
	}
	k.ok(&settings, "webapp", "config", "appsettings", "list", "-g", rg, "-n", "myApp")
	values := map[string]any{}
	for _, s := range settings {
		values[s["name"].(string)] = s["value"]
	}
	if values["VAULT_NAME"] != "myKeyVault" || values["GREETING"] != "hello=world" {
		t.Errorf("appsettings list: %v", settings)
	}
	k.ok(&settings, "webapp", "config", "appsettings", "delete", "-g", rg, "-n", "myApp", "--setting-names", "GREETING")
	for _, s := range settings {
		if s["name"] == "GREETING" {
			t.Errorf("appsettings delete: %v", settings)
		}
	}

	// az keyvault create: current az creates RBAC vaults by default, so the seed's access-policy flow asks
	// for an access-policy vault.
	vaultProps := []string{"accessPolicies", "createMode", "enablePurgeProtection", "enableRbacAuthorization", "enableSoftDelete",
		"enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment", "hsmPoolResourceId", "networkAcls",
		"privateEndpointConnections", "provisioningState", "publicNetworkAccess", "sku", "softDeleteRetentionInDays", "tenantId", "vaultUri"}
	var vault map[string]any
	k.ok(&vault, "keyvault", "create", "--name", "myKeyVault", "--resource-group", rg, "--enable-rbac-authorization", "false")
	exactKeys(t, "keyvault create", vault, "id", "location", "name", "properties", "resourceGroup", "systemData", "tags", "type")
	props, _ := vault["properties"].(map[string]any)
	exactKeys(t, "keyvault create properties", props, vaultProps...)
	if props["enableRbacAuthorization"] != false || props["tenantId"] != env.TenantID || vault["resourceGroup"] != rg {
		t.Errorf("keyvault create: %v", vault)
	}
	policies, _ := props["accessPolicies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("keyvault create access policies: %v", policies)
	}
	self, _ := policies[0].(map[string]any)
	perms, _ := self["permissions"].(map[string]any)
	if self["objectId"] != adminOID || len(perms["secrets"].([]any)) != 1 || !strings.EqualFold(perms["secrets"].([]any)[0].(string), "all") {
		t.Errorf("keyvault create self policy: %v (admin %s)", self, adminOID)
	}
	errOut = k.fails(1, "keyvault", "create", "--name", "myKeyVault", "--resource-group", rg)
	if !strings.Contains(errOut, "The specified vault: myKeyVault already exists") {
		t.Errorf("keyvault create (again): %q", errOut)
	}

	// az keyvault set-policy --name myKeyVault --object-id <PrincipalId> --secret-permissions get list
	// (no --resource-group: az finds the vault's group).
	k.ok(&vault, "keyvault", "set-policy", "--name", "myKeyVault", "--object-id", appPrincipal, "--secret-permissions", "get", "list")
	props, _ = vault["properties"].(map[string]any)
	var appPolicy map[string]any
	for _, p := range props["accessPolicies"].([]any) {
		if pm := p.(map[string]any); pm["objectId"] == appPrincipal {
			appPolicy = pm
		}
	}
	if appPolicy == nil {
		t.Fatalf("set-policy: no policy for %s: %v", appPrincipal, props["accessPolicies"])
	}
	exactKeys(t, "access policy", appPolicy, "applicationId", "objectId", "permissions", "tenantId")
	ap, _ := appPolicy["permissions"].(map[string]any)
	exactKeys(t, "access policy permissions", ap, "certificates", "keys", "secrets", "storage")
	if secrets, _ := ap["secrets"].([]any); len(secrets) != 2 || ap["keys"] != nil {
		t.Errorf("set-policy permissions: %v", ap)
	}
	// Given categories replace, the others stay.
	k.ok(&vault, "keyvault", "set-policy", "-n", "myKeyVault", "-g", rg, "--object-id", appPrincipal, "--key-permissions", "get")
	for _, p := range vault["properties"].(map[string]any)["accessPolicies"].([]any) {
		if pm := p.(map[string]any); pm["objectId"] == appPrincipal {
			pp := pm["permissions"].(map[string]any)
			if len(pp["secrets"].([]any)) != 2 || len(pp["keys"].([]any)) != 1 {
				t.Errorf("set-policy (keys): %v", pp)
			}
		}
	}
	var shownVault map[string]any
	k.ok(&shownVault, "keyvault", "show", "-n", "myKeyVault")
	if shownVault["id"] != vault["id"] {
		t.Errorf("keyvault show: %v", shownVault["id"])
	}
	var vaults []map[string]any
	k.ok(&vaults, "keyvault", "list", "-g", rg)
	if len(vaults) != 1 || vaults[0]["name"] != "myKeyVault" {
		t.Errorf("keyvault list: %v", vaults)
	}

	// An RBAC vault (az's default): set-policy refuses, a role assignment grants access instead.
	var rbacVault map[string]any
	k.ok(&rbacVault, "keyvault", "create", "--name", "myRbacVault", "--resource-group", rg)
	rp, _ := rbacVault["properties"].(map[string]any)
	if rp["enableRbacAuthorization"] != true || len(rp["accessPolicies"].([]any)) != 0 {
		t.Errorf("keyvault create (rbac): %v", rp)
	}
	errOut = k.fails(1, "keyvault", "set-policy", "--name", "myRbacVault", "--object-id", appPrincipal, "--secret-permissions", "get")
	if !strings.Contains(errOut, "Cannot set policies to a vault with '--enable-rbac-authorization' specified") {
		t.Errorf("set-policy on an RBAC vault: %q", errOut)
	}
	if out, errOut, code := k.run("keyvault", "set-policy", "--name", "myKeyVault", "--object-id", appPrincipal); code != 2 ||
		!strings.Contains(errOut, "specify at least one") {
		t.Errorf("set-policy without permissions: %d %s %s", code, out, errOut)
	}

	// az role definition list --name "Key Vault Secrets User"
	var defs []map[string]any
	k.ok(&defs, "role", "definition", "list", "--name", "Key Vault Secrets User")
	if len(defs) != 1 || defs[0]["name"] != "4633458b-17de-408a-b874-0445c86b69e6" || defs[0]["roleType"] != "BuiltInRole" {
		t.Fatalf("role definition list: %v", defs)
	}
	exactKeys(t, "role definition", defs[0], "assignableScopes", "createdBy", "createdOn", "description", "id", "name", "permissions",
		"roleName", "roleType", "type", "updatedBy", "updatedOn")

	// az role assignment create --assignee-object-id ... --assignee-principal-type ServicePrincipal --role ... --scope <vault>
	vaultScope, _ := rbacVault["id"].(string)
	var assignment map[string]any
	k.ok(&assignment, "role", "assignment", "create", "--assignee-object-id", uamiPrincipal, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Key Vault Secrets User", "--scope", vaultScope)
	exactKeys(t, "role assignment create", assignment, "condition", "conditionVersion", "createdBy", "createdOn",
		"delegatedManagedIdentityResourceId", "description", "id", "name", "principalId", "principalType", "resourceGroup",
		"roleDefinitionId", "scope", "type", "updatedBy", "updatedOn")
	if assignment["principalId"] != uamiPrincipal || assignment["principalType"] != "ServicePrincipal" || assignment["resourceGroup"] != rg ||
		!strings.HasSuffix(assignment["roleDefinitionId"].(string), "/4633458b-17de-408a-b874-0445c86b69e6") ||
		!strings.EqualFold(assignment["scope"].(string), vaultScope) {
		t.Errorf("role assignment create: %v", assignment)
	}
	// The same assignment again answers with the existing one (az lists it).
	var again map[string]any
	k.ok(&again, "role", "assignment", "create", "--assignee-object-id", uamiPrincipal, "--assignee-principal-type", "ServicePrincipal",
		"--role", "Key Vault Secrets User", "--scope", vaultScope)
	if again["id"] != assignment["id"] || again["roleDefinitionName"] != "Key Vault Secrets User" {
		t.Errorf("role assignment create (again): %v", again)
	}
	// --assignee by user principal name, at the group.
	var byUPN map[string]any
	k.ok(&byUPN, "role", "assignment", "create", "--assignee", "admin@keyhaven.local", "--role", "Reader", "-g", rg)
	if byUPN["principalId"] != adminOID || byUPN["principalType"] != "User" {
		t.Errorf("role assignment create --assignee: %v", byUPN)
	}
	var listed []map[string]any
	k.ok(&listed, "role", "assignment", "list", "--scope", vaultScope)
	if len(listed) != 1 || listed[0]["roleDefinitionName"] != "Key Vault Secrets User" || listed[0]["id"] != assignment["id"] {
		t.Errorf("role assignment list: %v", listed)
	}
	k.ok(&listed, "role", "assignment", "list", "--assignee", "admin@keyhaven.local", "-g", rg)
	if len(listed) != 1 || listed[0]["roleDefinitionName"] != "Reader" {
		t.Errorf("role assignment list --assignee: %v", listed)
	}
	k.ok(nil, "role", "assignment", "delete", "--ids", byUPN["id"].(string))
	k.ok(&listed, "role", "assignment", "list", "--assignee", "admin@keyhaven.local", "-g", rg)
	if len(listed) != 0 {
		t.Errorf("role assignment delete: %v", listed)
	}

	// Reading back: show and list commands print what create printed, in az's shapes.
	var groups []map[string]any
	k.ok(&groups, "group", "list")
	if !slices.ContainsFunc(groups, func(g map[string]any) bool { return g["name"] == rg }) {
		t.Errorf("group list: %v", groups)
	}
	var rawPlan map[string]any
	k.ok(&rawPlan, "appservice", "plan", "show", "-g", rg, "-n", "myPlan")
	if _, nested := rawPlan["properties"]; !nested || rawPlan["resourceGroup"] != rg {
		t.Errorf("plan show (az prints the raw resource): %v", rawPlan)
	}
	var plans []map[string]any
	k.ok(&plans, "appservice", "plan", "list", "-g", rg)
	if len(plans) != 1 || plans[0]["name"] != "myPlan" {
		t.Errorf("plan list: %v", plans)
	}
	var shownApp map[string]any
	k.ok(&shownApp, "webapp", "show", "-g", rg, "-n", "myApp")
	hasKeys(t, "webapp show", shownApp, "appServicePlanId", "siteConfig", "identity", "resourceGroup")
	if _, renamed := shownApp["serverFarmId"]; renamed {
		t.Errorf("webapp show keeps serverFarmId: %v", keysOf(shownApp))
	}
	var apps []map[string]any
	k.ok(&apps, "webapp", "list", "-g", rg)
	if len(apps) != 1 || apps[0]["name"] != "myApp" || apps[0]["appServicePlanId"] == nil {
		t.Errorf("webapp list: %v", apps)
	}
	var idents []map[string]any
	k.ok(&idents, "identity", "list", "-g", rg)
	if len(idents) != 1 || idents[0]["clientId"] != uami["clientId"] {
		t.Errorf("identity list: %v", idents)
	}

	// A function app on the same plan.
	var fn map[string]any
	k.ok(&fn, "functionapp", "create", "-g", rg, "-n", "myFunctions", "-p", "myPlan", "--runtime", "node", "--assign-identity", "[system]")
	if kind, _ := fn["kind"].(string); !strings.Contains(kind, "functionapp") || fn["resourceGroup"] != rg {
		t.Errorf("functionapp create: %v", fn)
	}
	if fid, _ := fn["identity"].(map[string]any); fid["type"] != "SystemAssigned" {
		t.Errorf("functionapp create --assign-identity: %v", fn["identity"])
	}
	k.ok(&apps, "functionapp", "list", "-g", rg)
	if len(apps) != 1 || apps[0]["name"] != "myFunctions" {
		t.Errorf("functionapp list: %v", apps)
	}
	k.ok(&apps, "webapp", "list", "-g", rg)
	if len(apps) != 1 {
		t.Errorf("webapp list leaves function apps out: %v", apps)
	}

	// Network rules.
	var acls map[string]any
	k.ok(&vault, "keyvault", "network-rule", "add", "-n", "myKeyVault", "--ip-address", "203.0.113.0/24")
	k.ok(&acls, "keyvault", "network-rule", "list", "-n", "myKeyVault")
	exactKeys(t, "network-rule list", acls, "bypass", "defaultAction", "ipRules", "virtualNetworkRules")
	if rules, _ := acls["ipRules"].([]any); len(rules) != 1 {
		t.Errorf("network-rule add: %v", acls)
	}
	k.ok(&vault, "keyvault", "network-rule", "remove", "-n", "myKeyVault", "--ip-address", "203.0.113.0/24")
	k.ok(&acls, "keyvault", "network-rule", "list", "-n", "myKeyVault")
	if rules, _ := acls["ipRules"].([]any); len(rules) != 0 {
		t.Errorf("network-rule remove: %v", acls)
	}
	k.ok(&vault, "keyvault", "update", "-n", "myKeyVault", "--default-action", "Deny")
	if na := vault["properties"].(map[string]any)["networkAcls"].(map[string]any); na["defaultAction"] != "Deny" {
		t.Errorf("keyvault update: %v", na)
	}
	k.ok(&vault, "keyvault", "delete-policy", "-n", "myKeyVault", "--object-id", appPrincipal)
	for _, p := range vault["properties"].(map[string]any)["accessPolicies"].([]any) {
		if p.(map[string]any)["objectId"] == appPrincipal {
			t.Errorf("delete-policy left the policy: %v", p)
		}
	}

	// Soft delete: delete, list-deleted, recover, delete again and purge.
	k.ok(nil, "keyvault", "delete", "-n", "myRbacVault")
	var deleted []map[string]any
	k.ok(&deleted, "keyvault", "list-deleted")
	if len(deleted) != 1 || deleted[0]["name"] != "myRbacVault" {
		t.Fatalf("keyvault list-deleted: %v", deleted)
	}
	exactKeys(t, "deleted vault", deleted[0], "id", "name", "properties", "type")
	k.ok(&rbacVault, "keyvault", "recover", "-n", "myRbacVault")
	if rbacVault["name"] != "myRbacVault" || rbacVault["resourceGroup"] != rg {
		t.Errorf("keyvault recover: %v", rbacVault)
	}
	k.ok(nil, "keyvault", "delete", "-n", "myRbacVault")
	k.ok(nil, "keyvault", "purge", "-n", "myRbacVault")
	k.ok(&deleted, "keyvault", "list-deleted")
	if len(deleted) != 0 {
		t.Errorf("keyvault purge: %v", deleted)
	}

	// Clean-up commands.
	k.ok(nil, "functionapp", "delete", "-g", rg, "-n", "myFunctions")
	k.ok(nil, "webapp", "delete", "-g", rg, "-n", "myApp")
	k.ok(nil, "identity", "delete", "-g", rg, "-n", "myUserIdentity")
	errOut = k.fails(1, "group", "delete", "-n", rg)
	if !strings.Contains(errOut, "Use --yes.") {
		t.Errorf("group delete without --yes: %q", errOut)
	}
	k.ok(nil, "group", "delete", "-n", rg, "--yes")
	if out := strings.TrimSpace(k.ok(nil, "group", "exists", "-n", rg)); out != "false" {
		t.Errorf("group exists after delete: %q", out)
	}
}
