package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/google/uuid"

	karm "github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/testenv"
)

// adminPrincipal is the bootstrap administrator as the resource manager sees it.
func adminPrincipal(t testing.TB, env *testenv.Env) karm.Principal {
	t.Helper()
	u, err := env.App.Directory().User(context.Background(), env.TenantID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return karm.Principal{TenantID: env.TenantID, ObjectID: u.ID, Name: u.UserPrincipalName}
}

// grant assigns a built-in role to a principal at a scope, as the administrator.
func grant(t testing.TB, env *testenv.Env, principalID, roleID, scope string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{
		"roleDefinitionId": "/subscriptions/" + env.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
		"principalId":      principalID}})
	if _, _, err := env.App.ARM().CreateRoleAssignment(context.Background(), adminPrincipal(t, env), scope, uuid.NewString(), body); err != nil {
		t.Fatalf("grant %s at %s: %v", roleID, scope, err)
	}
}

// armCredential is a service principal's credential for the management SDKs, with a role at subscription scope.
func armCredential(t *testing.T, env *testenv.Env, roleID string) (azcore.TokenCredential, string) {
	t.Helper()
	_, sp, secret := servicePrincipal(t, env, "arm-"+roleID[:8])
	if roleID != "" {
		grant(t, env, sp.ID, roleID, "/subscriptions/"+env.SubscriptionID)
	}
	cred, err := azidentity.NewClientSecretCredential(env.TenantID, sp.AppID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: sdkOptions(env, "")})
	if err != nil {
		t.Fatal(err)
	}
	return cred, sp.ID
}

func armOptions(env *testenv.Env) *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: sdkOptions(env, "")}
}

func respErr(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func TestARMResourceGroupsAndIdentities(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	cred, _ := armCredential(t, env, karm.RoleOwner)
	groups, err := armresources.NewResourceGroupsClient(env.SubscriptionID, cred, armOptions(env))
	if err != nil {
		t.Fatal(err)
	}
	rg, err := groups.CreateOrUpdate(ctx, "myResourceGroup", armresources.ResourceGroup{Location: to.Ptr("West US"), Tags: map[string]*string{"env": to.Ptr("test")}}, nil)
	if err != nil {
		t.Fatalf("create resource group: %v", err)
	}
	if *rg.Name != "myResourceGroup" || *rg.Location != "westus" || *rg.Properties.ProvisioningState != "Succeeded" ||
		*rg.ID != "/subscriptions/"+env.SubscriptionID+"/resourceGroups/myResourceGroup" {
		t.Errorf("resource group: %+v", rg)
	}
	if ex, err := groups.CheckExistence(ctx, "myresourcegroup", nil); err != nil || !ex.Success {
		t.Errorf("exists (other case): %v %v", ex, err)
	}
	if ex, _ := groups.CheckExistence(ctx, "nope", nil); ex.Success {
		t.Error("missing group exists")
	}
	pager := groups.NewListPager(nil)
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Errorf("%d resource groups", n)
	}

	// A user-assigned identity is backed by a ManagedIdentity service principal.
	ids, err := armmsi.NewUserAssignedIdentitiesClient(env.SubscriptionID, cred, armOptions(env))
	if err != nil {
		t.Fatal(err)
	}
	uami, err := ids.CreateOrUpdate(ctx, "myResourceGroup", "myUserAssignedIdentity", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	if err != nil {
		t.Fatalf("create identity: %v", err)
	}
	pid, cid := *uami.Properties.PrincipalID, *uami.Properties.ClientID
	if !strings.Contains(*uami.ID, "/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myUserAssignedIdentity") || *uami.Properties.TenantID != env.TenantID {
		t.Errorf("identity: %s %+v", *uami.ID, uami.Properties)
	}
	sp, err := env.App.Directory().ServicePrincipal(ctx, env.TenantID, pid)
	if err != nil || sp.AppID != cid || sp.ServicePrincipalType != "ManagedIdentity" || !strings.EqualFold(sp.ResourceID, *uami.ID) {
		t.Fatalf("identity's principal: %+v %v", sp, err)
	}
	again, err := ids.CreateOrUpdate(ctx, "myResourceGroup", "myUserAssignedIdentity", armmsi.Identity{Location: to.Ptr("westus"), Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	if err != nil || *again.Properties.PrincipalID != pid {
		t.Fatalf("re-PUT changed the principal: %v", err)
	}
	got, err := ids.Get(ctx, "myResourceGroup", "myUserAssignedIdentity", nil)
	if err != nil || *got.Tags["a"] != "b" {
		t.Fatalf("get identity: %v", err)
	}
	if _, err := ids.Delete(ctx, "myResourceGroup", "myUserAssignedIdentity", nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := env.App.Directory().Exists(ctx, env.TenantID, pid); ok {
		t.Error("the deleted identity's principal is still in the directory")
	}
	if _, err := ids.Get(ctx, "myResourceGroup", "myUserAssignedIdentity", nil); respErr(err) == nil || respErr(err).ErrorCode != "ResourceNotFound" {
		t.Errorf("get deleted identity: %v", err)
	}

	// Deleting the group deletes what is in it.
	ids.CreateOrUpdate(ctx, "myResourceGroup", "second", armmsi.Identity{Location: to.Ptr("westus")}, nil)
	poller, err := groups.BeginDelete(ctx, "myResourceGroup", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := groups.Get(ctx, "myResourceGroup", nil); respErr(err) == nil || respErr(err).ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("deleted group: %v", err)
	}
}

func TestARMKeyVaults(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	cred, _ := armCredential(t, env, karm.RoleOwner)
	groups, _ := armresources.NewResourceGroupsClient(env.SubscriptionID, cred, armOptions(env))
	if _, err := groups.CreateOrUpdate(ctx, "rg", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil); err != nil {
		t.Fatal(err)
	}
	vaults, err := armkeyvault.NewVaultsClient(env.SubscriptionID, cred, armOptions(env))
	if err != nil {
		t.Fatal(err)
	}
	avail, err := vaults.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr("myKeyVault"), Type: to.Ptr("Microsoft.KeyVault/vaults")}, nil)
	if err != nil || !*avail.NameAvailable {
		t.Fatalf("name check: %+v %v", avail, err)
	}
	objectID := uuid.NewString()
	params := armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr("westus"),
		Properties: &armkeyvault.VaultProperties{
			TenantID: to.Ptr(env.TenantID),
			SKU:      &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(env.TenantID), ObjectID: to.Ptr(objectID),
				Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet), to.Ptr(armkeyvault.SecretPermissions("List"))}}}},
			NetworkACLs: &armkeyvault.NetworkRuleSet{DefaultAction: to.Ptr(armkeyvault.NetworkRuleActionDeny), Bypass: to.Ptr(armkeyvault.NetworkRuleBypassOptionsAzureServices),
				IPRules: []*armkeyvault.IPRule{{Value: to.Ptr("10.0.0.0/24")}}},
		},
	}
	poller, err := vaults.BeginCreateOrUpdate(ctx, "rg", "myKeyVault", params, nil)
	if err != nil {
		t.Fatalf("create vault: %v", err)
	}
	v, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := v.Properties
	if *p.VaultURI != "https://mykeyvault.vault.azure.net/" || !*p.EnableSoftDelete || *p.SoftDeleteRetentionInDays != 90 || *p.EnableRbacAuthorization ||
		*p.NetworkACLs.DefaultAction != "Deny" || *p.ProvisioningState != "Succeeded" || len(p.AccessPolicies) != 1 || *v.Type != "Microsoft.KeyVault/vaults" {
		t.Errorf("vault: %+v", p)
	}
	// The name is now taken everywhere.
	if avail, _ := vaults.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr("MYKEYVAULT"), Type: to.Ptr("Microsoft.KeyVault/vaults")}, nil); *avail.NameAvailable {
		t.Error("a taken name is available")
	}
	groups.CreateOrUpdate(ctx, "rg2", armresources.ResourceGroup{Location: to.Ptr("westus")}, nil)
	if _, err := vaults.BeginCreateOrUpdate(ctx, "rg2", "myKeyVault", params, nil); respErr(err) == nil || respErr(err).StatusCode != 409 {
		t.Errorf("same name in another group: %v", err)
	}
	// Access policies through the update-kind endpoint.
	newOID := uuid.NewString()
	upd, err := vaults.UpdateAccessPolicy(ctx, "rg", "myKeyVault", armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(env.TenantID), ObjectID: to.Ptr(newOID),
			Permissions: &armkeyvault.Permissions{Keys: []*armkeyvault.KeyPermissions{to.Ptr(armkeyvault.KeyPermissionsGet)}}}}}}, nil)
	if err != nil || len(upd.Properties.AccessPolicies) != 2 {
		t.Fatalf("add policy: %v", err)
	}
	if _, err := vaults.UpdateAccessPolicy(ctx, "rg", "myKeyVault", armkeyvault.AccessPolicyUpdateKindRemove, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(env.TenantID), ObjectID: to.Ptr(newOID),
			Permissions: &armkeyvault.Permissions{Keys: []*armkeyvault.KeyPermissions{to.Ptr(armkeyvault.KeyPermissionsGet)}}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	// PATCH: turn on RBAC and purge protection; purge protection cannot be turned off again.
	upv, err := vaults.Update(ctx, "rg", "myKeyVault", armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{
		EnableRbacAuthorization: to.Ptr(true), EnablePurgeProtection: to.Ptr(true)}}, nil)
	if err != nil || !*upv.Properties.EnableRbacAuthorization || !*upv.Properties.EnablePurgeProtection || len(upv.Properties.AccessPolicies) != 1 {
		t.Fatalf("patch: %+v %v", upv.Properties, err)
	}
	if _, err := vaults.Update(ctx, "rg", "myKeyVault", armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(false)}}, nil); respErr(err) == nil || respErr(err).StatusCode != 400 {
		t.Errorf("disable purge protection: %v", err)
	}
	// Listing, deleting (soft), deleted vaults, recover.
	pager := vaults.NewListByResourceGroupPager("rg", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("list: %v", err)
	}
	if _, err := vaults.Delete(ctx, "rg", "myKeyVault", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := vaults.Get(ctx, "rg", "myKeyVault", nil); respErr(err) == nil || respErr(err).StatusCode != 404 {
		t.Errorf("get deleted: %v", err)
	}
	dv, err := vaults.GetDeleted(ctx, "myKeyVault", "westus", nil)
	if err != nil || *dv.Properties.VaultID != *v.ID || !*dv.Properties.PurgeProtectionEnabled || dv.Properties.ScheduledPurgeDate == nil {
		t.Fatalf("deleted vault: %+v %v", dv, err)
	}
	if _, err := vaults.BeginCreateOrUpdate(ctx, "rg", "myKeyVault", params, nil); respErr(err) == nil || respErr(err).StatusCode != 409 {
		t.Errorf("re-create over a deleted vault: %v", err)
	}
	purge, err := vaults.BeginPurgeDeleted(ctx, "myKeyVault", "westus", nil)
	if err == nil {
		_, err = purge.PollUntilDone(ctx, nil)
	}
	if respErr(err) == nil || respErr(err).StatusCode != 409 {
		t.Errorf("purge under purge protection: %v", err)
	}
	recoverParams := params
	recoverParams.Properties = &armkeyvault.VaultProperties{TenantID: to.Ptr(env.TenantID), SKU: params.Properties.SKU, CreateMode: to.Ptr(armkeyvault.CreateModeRecover)}
	rp, err := vaults.BeginCreateOrUpdate(ctx, "rg", "myKeyVault", recoverParams, nil)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	rv, err := rp.PollUntilDone(ctx, nil)
	if err != nil || !*rv.Properties.EnableRbacAuthorization {
		t.Fatalf("recovered vault: %v", err)
	}

	// A vault without purge protection purges, and its name frees.
	poller, _ = vaults.BeginCreateOrUpdate(ctx, "rg", "purgeable-kv", params, nil)
	poller.PollUntilDone(ctx, nil)
	vaults.Delete(ctx, "rg", "purgeable-kv", nil)
	purge, err = vaults.BeginPurgeDeleted(ctx, "purgeable-kv", "westus", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := purge.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if avail, _ := vaults.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr("purgeable-kv"), Type: to.Ptr("Microsoft.KeyVault/vaults")}, nil); !*avail.NameAvailable {
		t.Error("purged name is not free")
	}
}

func TestARMRoles(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	cred, _ := armCredential(t, env, karm.RoleOwner)
	defs, err := armauthorization.NewRoleDefinitionsClient(cred, armOptions(env))
	if err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + env.SubscriptionID
	pager := defs.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Key Vault Secrets User'")})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || *page.Value[0].Name != karm.RoleKeyVaultSecretsUser ||
		*page.Value[0].Properties.Permissions[0].DataActions[0] != "Microsoft.KeyVault/vaults/secrets/getSecret/action" {
		t.Fatalf("role definitions: %v %+v", err, page.Value)
	}
	assignments, err := armauthorization.NewRoleAssignmentsClient(env.SubscriptionID, cred, armOptions(env))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := env.App.Directory().CreateUser(ctx, env.TenantID, directoryUser("carol"))
	name := uuid.NewString()
	roleID := scope + "/providers/Microsoft.Authorization/roleDefinitions/" + karm.RoleReader
	created, err := assignments.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(roleID), PrincipalID: to.Ptr(u.ID)}}, nil)
	if err != nil || *created.Properties.PrincipalType != armauthorization.PrincipalTypeUser || *created.Properties.Scope != scope {
		t.Fatalf("create assignment: %+v %v", created, err)
	}
	if _, err := assignments.Create(ctx, scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(roleID), PrincipalID: to.Ptr(u.ID)}}, nil); respErr(err) == nil || respErr(err).ErrorCode != "RoleAssignmentExists" {
		t.Errorf("duplicate assignment: %v", err)
	}
	if _, err := assignments.Create(ctx, scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(roleID), PrincipalID: to.Ptr(uuid.NewString())}}, nil); respErr(err) == nil || respErr(err).ErrorCode != "PrincipalNotFound" {
		t.Errorf("unknown principal: %v", err)
	}
	lp := assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + u.ID + "'")})
	lpage, err := lp.NextPage(ctx)
	if err != nil || len(lpage.Value) != 1 {
		t.Fatalf("list by principal: %v", err)
	}
	if _, err := assignments.Delete(ctx, scope, name, nil); err != nil {
		t.Fatal(err)
	}
	lp = assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + u.ID + "'")})
	if lpage, _ := lp.NextPage(ctx); len(lpage.Value) != 0 {
		t.Error("assignment not deleted")
	}
}
