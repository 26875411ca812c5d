package arm

import (
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in, canonical, typ, name string
		bad                      bool
	}{
		{"/subscriptions/s1", "/subscriptions/s1", "Microsoft.Resources/subscriptions", "s1", false},
		{"/subscriptions/s1/resourcegroups/rg", "/subscriptions/s1/resourceGroups/rg", "Microsoft.Resources/resourceGroups", "rg", false},
		{"/SUBSCRIPTIONS/s1/resourceGroups/rg/providers/microsoft.keyvault/VAULTS/kv", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", "Microsoft.KeyVault/vaults", "kv", false},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/db", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/db", "Microsoft.KeyVault/vaults/secrets", "db", false},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id", "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id", "Microsoft.ManagedIdentity/userAssignedIdentities", "id", false},
		{"/subscriptions/s1/providers/Microsoft.KeyVault/vaults", "/subscriptions/s1/providers/Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults", "s1", false},
		{"", "", "", "", true},
		{"/resourceGroups/rg", "", "", "", true},
		{"/subscriptions/", "", "", "", true},
		{"/subscriptions/s1/resourceGroups/", "", "", "", true},
		{"/subscriptions/s1/resourceGroups/rg/things/x", "", "", "", true},
		{"/subscriptions/s1/resourceGroups/rg/providers/", "", "", "", true},
		{"/subscriptions/s1/resourceGroups/rg/providers/NS/type//x", "", "", "", true},
	}
	for _, tt := range tests {
		id, err := ParseID(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseID(%q): %v", tt.in, err)
			continue
		}
		if tt.bad {
			continue
		}
		c := id.Canonical()
		if c.String() != tt.canonical || c.FullType() != tt.typ || c.Name() != tt.name {
			t.Errorf("ParseID(%q) = %s %s %s", tt.in, c.String(), c.FullType(), c.Name())
		}
		if c.Key() != strings.ToLower(c.String()) {
			t.Errorf("key %s", c.Key())
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/config/appsettings", "/subscriptions//x", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		// A parsed id prints as an id that parses to the same thing.
		again, err := ParseID(id.String())
		if err != nil || again.String() != id.String() {
			t.Fatalf("%q -> %q -> %v", s, id.String(), err)
		}
	})
}

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Web/sites/write", true},
		{"*/read", "Microsoft.Web/sites/read", true},
		{"*/read", "Microsoft.Web/sites/write", false},
		{"Microsoft.KeyVault/*", "Microsoft.KeyVault/vaults/write", true},
		{"Microsoft.KeyVault/*", "microsoft.keyvault/vaults/accessPolicies/write", true},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read", true},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/write", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/setSecret/action", false},
	}
	for _, tt := range tests {
		if got := matchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("matchAction(%q, %q) = %v", tt.pattern, tt.action, got)
		}
	}
}

func TestBuiltinRoles(t *testing.T) {
	role := func(id string) RoleDefinition {
		r, ok := builtinByID(id)
		if !ok {
			t.Fatalf("no built-in %s", id)
		}
		return r
	}
	contributor := role(RoleContributor)
	if !contributor.Allows("Microsoft.KeyVault/vaults/write", false) || contributor.Allows("Microsoft.Authorization/roleAssignments/write", false) {
		t.Error("Contributor: writes resources, not role assignments")
	}
	if role(RoleOwner).Allows("Microsoft.KeyVault/vaults/secrets/getSecret/action", true) {
		t.Error("Owner grants a data action")
	}
	if !role(RoleKeyVaultSecretsUser).Allows("Microsoft.KeyVault/vaults/secrets/getSecret/action", true) ||
		role(RoleKeyVaultSecretsUser).Allows("Microsoft.KeyVault/vaults/secrets/setSecret/action", true) {
		t.Error("Key Vault Secrets User: get, not set")
	}
	kvc := role(RoleKeyVaultContributor)
	if !kvc.Allows("Microsoft.KeyVault/vaults/accessPolicies/write", false) || kvc.Allows("Microsoft.KeyVault/locations/deletedVaults/purge/action", false) {
		t.Error("Key Vault Contributor: policies yes, purge no")
	}
	if !role(RoleReader).Allows("Microsoft.Web/sites/read", false) || role(RoleReader).Allows("Microsoft.Web/sites/write", false) {
		t.Error("Reader")
	}
}

func TestScopeCovers(t *testing.T) {
	for _, tt := range []struct {
		scope, target string
		want          bool
	}{
		{"/subscriptions/s", "/subscriptions/s/resourcegroups/rg", true},
		{"/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourcegroups/rg/providers/x/y/z", true},
		{"/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourcegroups/rg2", false},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/a", "/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv/secrets/ab", false},
		{"/", "/subscriptions/s", true},
	} {
		if got := scopeCovers(tt.scope, tt.target); got != tt.want {
			t.Errorf("scopeCovers(%q, %q) = %v", tt.scope, tt.target, got)
		}
	}
}

func TestVaultNames(t *testing.T) {
	for name, ok := range map[string]bool{"myKeyVault": true, "kv-1": true, "a1b": true, "ab": false, "1abc": false, "abc-": false, "a--b": false,
		strings.Repeat("a", 24): true, strings.Repeat("a", 25): false, "my_vault": false} {
		if ValidVaultName(name) != ok {
			t.Errorf("ValidVaultName(%q) = %v", name, !ok)
		}
	}
	for typ, want := range map[string]string{"systemassigned": IdentitySystem, "SystemAssigned,UserAssigned": IdentityBoth, "userAssigned, systemAssigned": IdentityBoth, "NONE": IdentityNone} {
		if got, ok := NormalizeIdentityType(typ); !ok || got != want {
			t.Errorf("NormalizeIdentityType(%q) = %q", typ, got)
		}
	}
	if _, ok := NormalizeIdentityType("Magic"); ok {
		t.Error("accepted Magic")
	}
}
