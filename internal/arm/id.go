// Package arm is keyhaven's Azure Resource Manager: resource groups and the resources in them (App Service plans,
// web and function apps with their managed identities and app settings, user-assigned identities, key vaults), role
// definitions and assignments, and the authorization that guards them. It has no HTTP: armapi serves it.
package arm

import (
	"fmt"
	"strings"
)

// ID is a parsed ARM resource id:
// /subscriptions/{s}[/resourceGroups/{rg}][/providers/{ns}/{type}/{name}[/{type}/{name}...]].
type ID struct {
	Subscription  string
	ResourceGroup string
	// Provider is the resource provider namespace, such as Microsoft.KeyVault.
	Provider string
	// Types and Names alternate below the provider: sites/app/config/appsettings.
	Types []string
	Names []string
}

// ErrBadID reports a malformed resource id.
type ErrBadID struct{ ID, Why string }

func (e *ErrBadID) Error() string {
	return fmt.Sprintf("The resource id '%s' is invalid: %s", e.ID, e.Why)
}

// ParseID parses a resource id. Segment names are matched case-insensitively, as ARM does.
func ParseID(id string) (ID, error) {
	var out ID
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") || segs[1] == "" {
		return out, &ErrBadID{id, "it must start with /subscriptions/{subscriptionId}"}
	}
	out.Subscription = segs[1]
	rest := segs[2:]
	if len(rest) >= 2 && strings.EqualFold(rest[0], "resourceGroups") {
		if rest[1] == "" {
			return out, &ErrBadID{id, "empty resource group name"}
		}
		out.ResourceGroup = rest[1]
		rest = rest[2:]
	}
	if len(rest) == 0 {
		return out, nil
	}
	if !strings.EqualFold(rest[0], "providers") || len(rest) < 2 || rest[1] == "" {
		return out, &ErrBadID{id, "expected /providers/{namespace}/..."}
	}
	out.Provider = rest[1]
	rest = rest[2:]
	for len(rest) > 0 {
		if rest[0] == "" {
			return out, &ErrBadID{id, "empty segment"}
		}
		out.Types = append(out.Types, rest[0])
		if len(rest) == 1 {
			break // a collection: .../providers/ns/type
		}
		if rest[1] == "" {
			return out, &ErrBadID{id, "empty name"}
		}
		out.Names = append(out.Names, rest[1])
		rest = rest[2:]
	}
	return out, nil
}

// IsCollection reports whether the id names a collection (a type without a name at its end).
func (i ID) IsCollection() bool { return len(i.Types) > len(i.Names) }

// FullType is the resource type: Microsoft.Web/sites/config.
func (i ID) FullType() string {
	if i.Provider == "" {
		if i.ResourceGroup != "" {
			return "Microsoft.Resources/resourceGroups"
		}
		return "Microsoft.Resources/subscriptions"
	}
	return i.Provider + "/" + strings.Join(i.Types, "/")
}

// Name is the last name segment.
func (i ID) Name() string {
	if len(i.Names) > 0 {
		return i.Names[len(i.Names)-1]
	}
	if i.ResourceGroup != "" {
		return i.ResourceGroup
	}
	return i.Subscription
}

// String is the canonical form, with Azure's casing of the fixed segments.
func (i ID) String() string {
	var b strings.Builder
	b.WriteString("/subscriptions/" + i.Subscription)
	if i.ResourceGroup != "" {
		rg := "/resourceGroups/"
		if strings.EqualFold(i.Provider, "Microsoft.ManagedIdentity") {
			rg = "/resourcegroups/" // Azure returns managed identity ids in lower case
		}
		b.WriteString(rg + i.ResourceGroup)
	}
	if i.Provider != "" {
		b.WriteString("/providers/" + i.Provider)
		for k, t := range i.Types {
			b.WriteString("/" + t)
			if k < len(i.Names) {
				b.WriteString("/" + i.Names[k])
			}
		}
	}
	return b.String()
}

// Key is the storage key: the canonical id in lower case, since ARM ids compare case-insensitively.
func (i ID) Key() string { return strings.ToLower(i.String()) }

// Scope is the id as an authorization scope (lower case, no trailing slash).
func (i ID) Scope() string { return i.Key() }

// RGID is the id of the resource group the resource is in.
func (i ID) RGID() ID { return ID{Subscription: i.Subscription, ResourceGroup: i.ResourceGroup} }

// Parent is the id of the resource a child resource belongs to.
func (i ID) Parent() ID {
	p := i
	if len(p.Names) > 1 {
		p.Types = p.Types[:len(p.Types)-1]
		p.Names = p.Names[:len(p.Names)-1]
	}
	return p
}

// namespaces maps lower-case provider namespaces to their canonical spelling.
var namespaces = map[string]string{
	"microsoft.web": "Microsoft.Web", "microsoft.keyvault": "Microsoft.KeyVault",
	"microsoft.managedidentity": "Microsoft.ManagedIdentity", "microsoft.authorization": "Microsoft.Authorization",
	"microsoft.resources": "Microsoft.Resources", "microsoft.compute": "Microsoft.Compute",
}

func canonicalNamespace(ns string) string {
	if c, ok := namespaces[strings.ToLower(ns)]; ok {
		return c
	}
	return ns
}

// Canonical returns the id with namespace and known types in Azure's spelling; names keep the caller's case.
func (i ID) Canonical() ID {
	c := i
	c.Provider = canonicalNamespace(i.Provider)
	c.Types = make([]string, len(i.Types))
	for k, t := range i.Types {
		c.Types[k] = canonicalType(t)
	}
	c.Names = append([]string(nil), i.Names...)
	return c
}

var types = map[string]string{
	"sites": "sites", "serverfarms": "serverfarms", "config": "config", "vaults": "vaults",
	"userassignedidentities": "userAssignedIdentities", "accesspolicies": "accessPolicies",
	"roleassignments": "roleAssignments", "roledefinitions": "roleDefinitions", "deletedvaults": "deletedVaults",
	"locations": "locations", "secrets": "secrets", "keys": "keys", "certificates": "certificates",
	"virtualmachines": "virtualMachines",
}

func canonicalType(t string) string {
	if c, ok := types[strings.ToLower(t)]; ok {
		return c
	}
	return t
}
