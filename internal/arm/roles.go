package arm

import (
	"strings"
)

// Permission is one permissions block of a role definition.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleDefinition is a role: built in (Azure's GUIDs and permissions) or custom.
type RoleDefinition struct {
	// Name is the definition's GUID.
	Name             string       `json:"name"`
	RoleName         string       `json:"roleName"`
	Type             string       `json:"type"` // BuiltInRole or CustomRole
	Description      string       `json:"description"`
	AssignableScopes []string     `json:"assignableScopes"`
	Permissions      []Permission `json:"permissions"`
}

// Built-in role GUIDs.
const (
	RoleOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleKeyVaultSecretsUser     = "4633458b-17de-408a-b874-0445c86b69e6"
	RoleKeyVaultContributor     = "f25e0fa2-a7c8-4377-a976-54943a77a395"
)

var kvCommon = []string{
	"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
	"Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read",
	"Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read",
}

var generic = []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/deployments/*", "Microsoft.Support/*"}

func builtin(id, name, desc string, actions, notActions, dataActions []string) RoleDefinition {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return RoleDefinition{Name: id, RoleName: name, Type: "BuiltInRole", Description: desc, AssignableScopes: []string{"/"},
		Permissions: []Permission{{Actions: nz(actions), NotActions: nz(notActions), DataActions: nz(dataActions), NotDataActions: []string{}}}}
}

func kv(s ...string) []string {
	out := make([]string, len(s))
	for i, a := range s {
		out[i] = "Microsoft.KeyVault/vaults/" + a
	}
	return out
}

// BuiltinRoles are Azure's built-in roles that matter to keyhaven, with their real GUIDs and permissions.
var BuiltinRoles = []RoleDefinition{
	builtin(RoleOwner, "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", []string{"*"}, nil, nil),
	builtin(RoleContributor, "Contributor", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		[]string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete", "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}, nil),
	builtin(RoleReader, "Reader", "View all resources, but does not allow you to make any changes.", []string{"*/read"}, nil, nil),
	builtin(RoleUserAccessAdministrator, "User Access Administrator", "Lets you manage user access to Azure resources.", []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}, nil, nil),
	builtin("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator", "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.", kvCommon, nil, []string{"Microsoft.KeyVault/vaults/*"}),
	builtin("21090545-7ca7-4776-b22c-e363652d74d2", "Key Vault Reader", "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.", kvCommon, nil, kv("*/read", "secrets/readMetadata/action")),
	builtin("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.", kvCommon, nil, kv("secrets/*")),
	builtin(RoleKeyVaultSecretsUser, "Key Vault Secrets User", "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.", nil, nil, kv("secrets/getSecret/action", "secrets/readMetadata/action")),
	builtin("14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "Key Vault Crypto Officer", "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.", kvCommon, nil, kv("keys/*", "keyrotationpolicies/*")),
	builtin("12338af0-0e69-4776-bea7-57ae8d297424", "Key Vault Crypto User", "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.", nil, nil,
		kv("keys/read", "keys/update/action", "keys/backup/action", "keys/encrypt/action", "keys/decrypt/action", "keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action")),
	builtin("e147488a-f6f5-4113-8e2d-b22465e65bf6", "Key Vault Crypto Service Encryption User", "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		[]string{"Microsoft.EventGrid/eventSubscriptions/write", "Microsoft.EventGrid/eventSubscriptions/read", "Microsoft.EventGrid/eventSubscriptions/delete"}, nil, kv("keys/read", "keys/wrap/action", "keys/unwrap/action")),
	builtin("08bbd89e-9f13-488c-ac41-acfcb10c90ab", "Key Vault Crypto Service Release User", "Release keys. Only works for key vaults that use the 'Azure role-based access control' permission model.", nil, nil, kv("keys/release/action")),
	builtin("a4417e6f-fecd-4de8-b567-7b0420556985", "Key Vault Certificates Officer", "Perform any action on the certificates of a key vault, except managing permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.", kvCommon, nil, kv("certificatecas/*", "certificates/*", "certificatecontacts/write")),
	builtin("db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "Key Vault Certificate User", "Read entire certificate contents including secret and key portion. Only works for key vaults that use the 'Azure role-based access control' permission model.", nil, nil, kv("certificates/read", "secrets/getSecret/action", "secrets/readMetadata/action", "keys/read")),
	builtin(RoleKeyVaultContributor, "Key Vault Contributor", "Lets you manage key vaults, but not access to them.",
		[]string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
		[]string{"Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*", "Microsoft.KeyVault/managedHsms/*"}, nil),
	builtin("8b54135c-b56d-4d72-a534-26097cfdc8d8", "Key Vault Data Access Administrator", "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles.",
		[]string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/*/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Management/managementGroups/read", "Microsoft.Support/*", "Microsoft.KeyVault/vaults/*/read"}, nil, nil),
	builtin("f1a07417-d97a-45cb-824c-7a7467783830", "Managed Identity Operator", "Read and Assign User Assigned Identity",
		append([]string{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"}, generic...), nil, nil),
	builtin("e40ec5ca-96e0-45a2-b4ff-59039f2c2b59", "Managed Identity Contributor", "Create, Read, Update, and Delete User Assigned Identity",
		append([]string{"Microsoft.ManagedIdentity/userAssignedIdentities/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write", "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete", "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action"}, generic...), nil, nil),
}

// builtinByID finds a built-in role by GUID.
func builtinByID(id string) (RoleDefinition, bool) {
	for _, r := range BuiltinRoles {
		if strings.EqualFold(r.Name, id) {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// matchAction reports whether an action (or data action) matches a pattern with * wildcards, case-insensitively.
// A * matches any run of characters, slashes included, as in Azure's role definitions.
func matchAction(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	for {
		i := strings.IndexByte(p, '*')
		if i < 0 {
			return p == a
		}
		if !strings.HasPrefix(a, p[:i]) {
			return false
		}
		a, p = a[i:], p[i+1:]
		if p == "" {
			return true
		}
		// Try every position for the rest of the pattern.
		for k := 0; k <= len(a); k++ {
			if matchAction(p, a[k:]) {
				return true
			}
		}
		return false
	}
}

// Allows reports whether the role grants action (data=false) or data action (data=true).
func (r RoleDefinition) Allows(action string, data bool) bool {
	for _, p := range r.Permissions {
		allow, deny := p.Actions, p.NotActions
		if data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		granted := false
		for _, a := range allow {
			if matchAction(a, action) {
				granted = true
				break
			}
		}
		for _, a := range deny {
			if matchAction(a, action) {
				granted = false
				break
			}
		}
		if granted {
			return true
		}
	}
	return false
}
