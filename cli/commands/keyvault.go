package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

// This file follows azure-cli's keyvault module (keyvault/custom.py) for the vaults themselves: create,
// show, list, delete, soft-delete recovery, update, access policies and network rules.

const vaultProvider = "Microsoft.KeyVault/vaults"

// softDeleteNotice is what az keyvault delete prints before deleting.
const softDeleteNotice = "Warning! If you have soft-delete protection enabled on this key vault, you will not be able to reuse this key vault name " +
	"until the key vault has been purged from the soft deleted state. Please see the following documentation for additional guidance.\n" +
	"https://docs.microsoft.com/azure/key-vault/general/soft-delete-overview"

// Permission values az accepts (the SDK enums of Microsoft.KeyVault).
var (
	keyPermissions = []string{"all", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update",
		"import", "delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"}
	secretPermissions      = []string{"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"}
	certificatePermissions = []string{"all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers",
		"listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"}
	storagePermissions = []string{"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore",
		"setsas", "listsas", "getsas", "deletesas"}
)

// vaultView prints a Vault as the SDK model does: every attribute of the vault and its properties.
func vaultView(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	withNulls(m, "id", "location", "name", "properties", "systemData", "tags", "type")
	props, ok := m["properties"].(map[string]any)
	if !ok {
		return m
	}
	withNulls(props, "accessPolicies", "createMode", "enablePurgeProtection", "enableRbacAuthorization", "enableSoftDelete",
		"enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment", "hsmPoolResourceId", "networkAcls",
		"privateEndpointConnections", "provisioningState", "publicNetworkAccess", "sku", "softDeleteRetentionInDays", "tenantId", "vaultUri")
	if aps, ok := props["accessPolicies"].([]any); ok {
		for _, ap := range aps {
			if apm, ok := ap.(map[string]any); ok {
				withNulls(apm, "applicationId", "objectId", "permissions", "tenantId")
				if p, ok := apm["permissions"].(map[string]any); ok {
					withNulls(p, "certificates", "keys", "secrets", "storage")
				}
			}
		}
	}
	if acls, ok := props["networkAcls"].(map[string]any); ok {
		networkACLsView(acls)
	}
	return m
}

func networkACLsView(acls map[string]any) map[string]any {
	withNulls(acls, "bypass", "defaultAction", "ipRules", "virtualNetworkRules")
	if rules, ok := acls["virtualNetworkRules"].([]any); ok {
		for _, r := range rules {
			if rm, ok := r.(map[string]any); ok {
				withNulls(rm, "id", "ignoreMissingVnetServiceEndpoint")
			}
		}
	}
	return acls
}

// deletedVaultView prints a DeletedVault as the SDK model does.
func deletedVaultView(m map[string]any) map[string]any {
	withNulls(m, "id", "name", "properties", "type")
	if p, ok := m["properties"].(map[string]any); ok {
		withNulls(p, "deletionDate", "location", "purgeProtectionEnabled", "scheduledPurgeDate", "tags", "vaultId")
	}
	return m
}

// vaultParams is a vault command's -n/--name and -g/--resource-group (which az finds when it is not given).
func vaultParams(extra ...cli.Param) []cli.Param {
	p := []cli.Param{
		{Name: "name", Short: "n", Required: true, Help: "Name of the Vault."},
		{Name: "resource-group", Short: "g", Help: "Proceed only if Key Vault belongs to the specified resource group."},
	}
	return append(p, extra...)
}

// vaultGroup is the vault's resource group: -g, or else found as azure-cli's validate_resource_group_name
// finds it, among the subscription's vaults (GET /resources filtered to Microsoft.KeyVault/vaults).
func vaultGroup(ctx *cli.Context, a *armClient, name string) (string, error) {
	if rg := ctx.String("resource-group"); rg != "" {
		return rg, nil
	}
	filter := "resourceType eq 'Microsoft.KeyVault/vaults' and name eq " + odataQuote(name)
	vaults, err := a.list(ctx, a.subPath()+"/resources?"+odataFilter(filter), apiResourcesLegacy)
	if err != nil {
		return "", err
	}
	for _, v := range vaults {
		id, _ := v["id"].(string)
		if rid, ok := parseResourceID(id); ok && strings.EqualFold(rid.Name, name) {
			return rid.ResourceGroup, nil
		}
	}
	return "", fmt.Errorf("The Resource 'Microsoft.KeyVault/vaults/%s' not found within subscription.", name)
}

func vaultPath(a *armClient, rg, name string) string { return a.resourcePath(rg, vaultProvider, name) }

// getVault reads the vault named by -n [-g].
func getVault(ctx *cli.Context, a *armClient) (string, map[string]any, error) {
	name := ctx.String("name")
	rg, err := vaultGroup(ctx, a, name)
	if err != nil {
		return "", nil, err
	}
	v, err := a.get(ctx, vaultPath(a, rg, name), apiKeyVault)
	return rg, v, err
}

// putVault writes a vault back whole, as az's setters do: location, tags and properties, without the
// read-only properties the SDK does not send.
func putVault(ctx *cli.Context, a *armClient, rg string, vault map[string]any) (map[string]any, error) {
	props := map[string]any{}
	if p, ok := vault["properties"].(map[string]any); ok {
		for k, v := range p {
			switch k {
			case "provisioningState", "hsmPoolResourceId", "privateEndpointConnections":
				continue
			}
			props[k] = v
		}
	}
	body := map[string]any{"location": vault["location"], "properties": props}
	if t, ok := vault["tags"]; ok && t != nil {
		body["tags"] = t
	}
	name, _ := vault["name"].(string)
	if name == "" {
		name = ctx.String("name")
	}
	path := vaultPath(a, rg, name)
	if ctx.Bool("no-wait") {
		return nil, a.do(ctx, http.MethodPut, path, apiKeyVault, body, nil)
	}
	out, err := a.put(ctx, path, apiKeyVault, body)
	return vaultView(out), err
}

// vaultProps returns the vault's properties object, creating it if needed.
func vaultProps(vault map[string]any) map[string]any {
	p, ok := vault["properties"].(map[string]any)
	if !ok {
		p = map[string]any{}
		vault["properties"] = p
	}
	return p
}

// defaultNetworkACLs is keyvault's _create_network_rule_set.
func defaultNetworkACLs(bypass, defaultAction string) map[string]any {
	if bypass == "" {
		bypass = "AzureServices"
	}
	if defaultAction == "" {
		defaultAction = "Allow"
	}
	return map[string]any{"bypass": bypass, "defaultAction": defaultAction}
}

func checkRetentionDays(v string) error {
	if _, err := strconv.Atoi(v); err != nil {
		return fmt.Errorf("invalid int value: '%s'", v)
	}
	return nil
}

func registerKeyVault(app *cli.App) {
	networkRule := []cli.Param{
		{Name: "bypass", Choices: []string{"AzureServices", "None"}, Group: "Network Rule", Help: "Bypass traffic for space-separated uses."},
		{Name: "default-action", Choices: []string{"Allow", "Deny"}, Group: "Network Rule", Help: "Default action to apply when no rule matches."},
	}
	settable := func(rbacDefault string) []cli.Param {
		return []cli.Param{
			{Name: "enabled-for-deployment", Bool: true, Help: "[Vault Only] Property to specify whether Azure Virtual Machines are permitted to retrieve certificates stored as secrets from the key vault."},
			{Name: "enabled-for-disk-encryption", Bool: true, Help: "[Vault Only] Property to specify whether Azure Disk Encryption is permitted to retrieve secrets from the vault and unwrap keys."},
			{Name: "enabled-for-template-deployment", Bool: true, Help: "[Vault Only] Property to specify whether Azure Resource Manager is permitted to retrieve secrets from the key vault."},
			{Name: "enable-rbac-authorization", Bool: true, Default: rbacDefault, Help: "Property that controls how data actions are authorized. When true, the key vault will use Role Based Access Control (RBAC) for authorization of data actions, and the access policies specified in vault properties will be ignored. When false, the key vault will use the access policies specified in vault properties. If null or not specified, the vault is created with the default value of true. Note that management actions are always authorized with RBAC."},
			{Name: "enable-purge-protection", Bool: true, Help: "Property specifying whether protection against purge is enabled for this vault. Enabling this functionality is irreversible."},
			{Name: "public-network-access", Choices: []string{"Enabled", "Disabled"}, Help: "Control permission for data plane traffic coming from public networks while private endpoint is enabled."},
			{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."},
		}
	}
	principal := []cli.Param{
		{Name: "object-id", Help: "A GUID that identifies the principal that will receive permissions."},
		{Name: "spn", Help: "Name of a service principal that will receive permissions."},
		{Name: "upn", Help: "Name of a user principal that will receive permissions."},
		{Name: "application-id", Help: "Application ID of the client making request on behalf of a principal. Exposed for compound identity using on-behalf-of authentication flow."},
		{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."},
	}
	createParams := append([]cli.Param{
		{Name: "name", Short: "n", Required: true, Help: "Name of the Vault."},
		rgParam(true),
		{Name: "location", Short: "l", Help: "Location. Values from: `keyhaven account list-locations`. Default: the resource group's location."},
		{Name: "sku", Help: "SKU details. Allowed values for Vault: premium, standard. Default: standard."},
		{Name: "retention-days", Default: "90", Check: checkRetentionDays, Help: "Soft delete data retention days. It accepts >=7 and <=90. Defaults to 90 for keyvault creation."},
		{Name: "no-self-perms", Bool: true, Help: "[Vault Only] Don't add permissions for the current user/service principal in the new vault."},
		{Name: "network-acls", Group: "Network Rule", Help: "Network ACLs. It accepts a JSON filename or a JSON string. JSON format: `{\"ip\":[<ip1>, <ip2>...],\"vnet\":[<vnet_name_1>/<subnet_name_1>,<subnet_id2>...]}`"},
		{Name: "network-acls-ips", Multi: true, Group: "Network Rule", Help: "Network ACLs IP rules. Space-separated list of IP addresses."},
		{Name: "network-acls-vnets", Multi: true, Group: "Network Rule", Help: "Network ACLS VNet rules. Space-separated list of Vnet/subnet pairs or subnet resource ids."},
		tagsParam,
	}, append(settable("true"), networkRule...)...)
	app.Register(
		cli.Command{
			Name: "keyvault create", Short: "Create a Vault.",
			Params: createParams,
			Examples: []cli.Example{{Name: "Create a key vault with network ACLs.",
				Text: "keyhaven keyvault create --location westus2 --name MyKeyVault --resource-group MyResourceGroup --network-acls-ips 3.4.5.0/24 4.5.6.0/24"}},
			Run: armCommand(createVault),
		},
		cli.Command{
			Name: "keyvault show", Short: "Show details of a Vault.",
			Params: vaultParams(),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				_, v, err := getVault(ctx, a)
				if err != nil {
					return nil, showErr(err)
				}
				return vaultView(v), nil
			}),
		},
		cli.Command{
			Name: "keyvault list", Short: "List Vaults and/or HSMs.",
			Params: []cli.Param{rgParam(false), {Name: "resource-type", Help: "When --resource-type is not present the command will list all Vaults and HSMs. Possible values for --resource-type are vault and hsm."}},
			Run:    armCommand(listVaults),
		},
		cli.Command{
			Name: "keyvault delete", Short: "Delete a Vault.",
			Params: vaultParams(),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				name := ctx.String("name")
				rg, err := vaultGroup(ctx, a, name)
				if err != nil {
					return nil, err
				}
				if !ctx.Bool("only-show-errors") {
					// az's deprecation-style notice on this command, printed as knack prints one.
					fmt.Fprintln(ctx.Stderr, softDeleteNotice)
				}
				return nil, a.do(ctx, http.MethodDelete, vaultPath(a, rg, name), apiKeyVault, nil, nil)
			}),
		},
		cli.Command{
			Name: "keyvault list-deleted", Short: "Get information about the deleted Vaults or HSMs in a subscription.",
			Params: []cli.Param{{Name: "resource-type", Help: "When --resource-type is not present the command will list all deleted Vaults and HSMs. Possible values for --resource-type are vault and hsm."}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				switch rt := ctx.String("resource-type"); rt {
				case "", "vault":
				case "hsm":
					return []map[string]any{}, nil
				default:
					return nil, fmt.Errorf("Unsupported resource type: %s", rt)
				}
				list, err := a.list(ctx, a.subPath()+"/providers/Microsoft.KeyVault/deletedVaults", apiKeyVault)
				for _, v := range list {
					deletedVaultView(v)
				}
				return list, err
			}),
		},
		cli.Command{
			Name: "keyvault show-deleted", Short: "Show details of a deleted Vault or HSM.",
			Params: []cli.Param{{Name: "name", Short: "n", Required: true, Help: "Name of the deleted Vault."},
				{Name: "location", Short: "l", Help: "Location of the deleted Vault or HSM."}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				loc, _, err := deletedVaultLocation(ctx, a)
				if err != nil {
					return nil, err
				}
				v, err := a.get(ctx, deletedVaultPath(a, loc, ctx.String("name")), apiKeyVault)
				if err != nil {
					return nil, showErr(err)
				}
				return deletedVaultView(v), nil
			}),
		},
		cli.Command{
			Name: "keyvault purge", Short: "Permanently delete the specified Vault or HSM. Aka Purges the deleted Vault or HSM.",
			Params: []cli.Param{{Name: "name", Short: "n", Required: true, Help: "Name of the deleted Vault."},
				{Name: "location", Short: "l", Help: "Location of the deleted Vault or HSM."},
				{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				loc, _, err := deletedVaultLocation(ctx, a)
				if err != nil {
					return nil, err
				}
				return nil, a.do(ctx, http.MethodPost, deletedVaultPath(a, loc, ctx.String("name"))+"/purge", apiKeyVault, nil, nil)
			}),
		},
		cli.Command{
			Name: "keyvault recover", Short: "Recover a Vault or HSM.",
			Params: []cli.Param{{Name: "name", Short: "n", Required: true, Help: "Name of the deleted Vault."},
				{Name: "resource-group", Short: "g", Help: "Resource group of the deleted Vault or HSM."},
				{Name: "location", Short: "l", Help: "Location of the deleted Vault or HSM."},
				{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."}},
			Run: armCommand(recoverVault),
		},
		cli.Command{
			Name: "keyvault update", Short: "Update the properties of a Vault.",
			Params: vaultParams(append(append(settable(""),
				cli.Param{Name: "retention-days", Check: checkRetentionDays, Help: "Soft delete data retention days. It accepts >=7 and <=90."}), networkRule...)...),
			Run: armCommand(updateVault),
		},
		cli.Command{
			Name: "keyvault set-policy", Short: "Update security policy settings for a Key Vault.",
			Params: vaultParams(append(principal,
				cli.Param{Name: "key-permissions", Multi: true, Choices: keyPermissions, Group: "Permission", Help: "Space-separated list of key permissions to assign."},
				cli.Param{Name: "secret-permissions", Multi: true, Choices: secretPermissions, Group: "Permission", Help: "Space-separated list of secret permissions to assign."},
				cli.Param{Name: "certificate-permissions", Multi: true, Choices: certificatePermissions, Group: "Permission", Help: "Space-separated list of certificate permissions to assign."},
				cli.Param{Name: "storage-permissions", Multi: true, Choices: storagePermissions, Group: "Permission", Help: "Space-separated list of storage permissions to assign."},
			)...),
			Examples: []cli.Example{{Name: "Assign secret permissions to an application's identity.",
				Text: "keyhaven keyvault set-policy -n MyVault --object-id {PrincipalId} --secret-permissions get list"}},
			Run: armCommand(setPolicy),
		},
		cli.Command{
			Name: "keyvault delete-policy", Short: "Delete security policy settings for a Key Vault.",
			Params: vaultParams(principal...),
			Run:    armCommand(deletePolicy),
		},
		cli.Command{
			Name: "keyvault network-rule add", Short: "Add a network rule to the network ACLs for a Key Vault or Managed HSM.",
			Params: vaultParams(networkRuleParams()...),
			Run:    armCommand(addNetworkRule),
		},
		cli.Command{
			Name: "keyvault network-rule remove", Short: "Remove a network rule from the network ACLs for a Key Vault or Managed HSM.",
			Params: vaultParams(networkRuleParams()...),
			Run:    armCommand(removeNetworkRule),
		},
		cli.Command{
			Name: "keyvault network-rule list", Short: "List the network rules from the network ACLs for a Key Vault or Managed HSM.",
			Params: vaultParams(),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				_, v, err := getVault(ctx, a)
				if err != nil {
					return nil, err
				}
				acls, ok := vaultProps(v)["networkAcls"].(map[string]any)
				if !ok {
					return nil, nil
				}
				return networkACLsView(acls), nil
			}),
		},
	)
}

func networkRuleParams() []cli.Param {
	return []cli.Param{
		{Name: "ip-address", Multi: true, Check: checkIPRule, Help: "IPv4 address or CIDR range. Can supply a list: --ip-address ip1 [ip2]..."},
		{Name: "subnet", Help: "Name or ID of subnet. If name is supplied, `--vnet-name` must be supplied."},
		{Name: "vnet-name", Help: "Name of a virtual network."},
		{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."},
	}
}

// ipNetwork is Python's ip_network for an address or CIDR range.
func ipNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

func checkIPRule(v string) error {
	if _, err := ipNetwork(v); err != nil {
		return fmt.Errorf("'%s' is not a valid IP address or CIDR range", v)
	}
	return nil
}

// createVault is keyvault's create_vault.
func createVault(ctx *cli.Context, a *armClient) (any, error) {
	rg, name := ctx.String("resource-group"), ctx.String("name")
	path := vaultPath(a, rg, name)
	// A vault that exists is an error; any failure to read it means there is none.
	if v, err := a.get(ctx, path, apiKeyVault); err == nil && v != nil {
		return nil, fmt.Errorf("The specified vault: %s already exists", name)
	}
	location := ctx.String("location")
	if location == "" {
		var err error
		if location, err = a.groupLocation(ctx, rg); err != nil {
			return nil, err
		}
	}
	tenant := a.s.Profile.TenantID
	var acls map[string]any
	if ctx.Has("network-acls") || ctx.Has("network-acls-ips") || ctx.Has("network-acls-vnets") {
		var err error
		if acls, err = parseNetworkACLs(ctx, a, rg); err != nil {
			return nil, err
		}
	} else {
		acls = defaultNetworkACLs(ctx.String("bypass"), ctx.String("default-action"))
	}
	rbac := ctx.Bool("enable-rbac-authorization")
	policies := []any{}
	if !ctx.Bool("no-self-perms") && !rbac {
		oid, err := a.s.ObjectID(ctx)
		if err != nil {
			return nil, err
		}
		if oid == "" {
			return nil, errors.New("Cannot create vault.\nUnable to query active directory for information about the current user.\nYou may try the --no-self-perms flag to create a vault without permissions.")
		}
		all := []string{"all"}
		policies = append(policies, map[string]any{"tenantId": tenant, "objectId": oid,
			"permissions": map[string]any{"keys": all, "secrets": all, "certificates": all, "storage": all}})
	}
	sku := ctx.String("sku")
	if sku == "" {
		sku = "standard"
	}
	retention, _ := strconv.Atoi(ctx.String("retention-days"))
	props := map[string]any{"tenantId": tenant, "sku": map[string]any{"name": sku, "family": "A"}, "accessPolicies": policies,
		"enableRbacAuthorization": rbac, "softDeleteRetentionInDays": retention, "networkAcls": acls}
	for flag, prop := range map[string]string{"enabled-for-deployment": "enabledForDeployment", "enabled-for-disk-encryption": "enabledForDiskEncryption",
		"enabled-for-template-deployment": "enabledForTemplateDeployment", "enable-purge-protection": "enablePurgeProtection"} {
		if ctx.Has(flag) {
			props[prop] = ctx.Bool(flag)
		}
	}
	if v := ctx.String("public-network-access"); v != "" {
		props["publicNetworkAccess"] = v
	}
	body := map[string]any{"location": location, "properties": props}
	if ctx.Has("tags") {
		body["tags"] = parseTags(ctx.Strings("tags"))
	}
	if ctx.Bool("no-wait") {
		return nil, a.do(ctx, http.MethodPut, path, apiKeyVault, body, nil)
	}
	out, err := a.put(ctx, path, apiKeyVault, body)
	return vaultView(out), err
}

// parseNetworkACLs is keyvault's _parse_network_acls: --network-acls JSON plus --network-acls-ips and
// --network-acls-vnets.
func parseNetworkACLs(ctx *cli.Context, a *armClient, rg string) (map[string]any, error) {
	var spec struct {
		IP   []string `json:"ip"`
		VNet []string `json:"vnet"`
	}
	if v := ctx.String("network-acls"); v != "" {
		text, err := readArgFile(v)
		if err != nil {
			return nil, err
		}
		if data, err := readFileIfExists(text); err == nil {
			text = data
		}
		if err := json.Unmarshal([]byte(text), &spec); err != nil {
			return nil, fmt.Errorf("Failed to parse string as JSON: %s", v)
		}
	}
	add := func(list []string, vals ...string) []string {
		for _, v := range vals {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
		return list
	}
	spec.IP = add(spec.IP, ctx.Strings("network-acls-ips")...)
	spec.VNet = add(spec.VNet, ctx.Strings("network-acls-vnets")...)
	acls := defaultNetworkACLs(ctx.String("bypass"), ctx.String("default-action"))
	vnets := []any{}
	for _, rule := range spec.VNet {
		if parts := strings.Split(rule, "/"); len(parts) == 2 {
			vnets = append(vnets, map[string]any{"id": a.groupPath(rg) + "/providers/Microsoft.Network/virtualNetworks/" +
				strings.ToLower(parts[0]) + "/subnets/" + strings.ToLower(parts[1])})
			continue
		}
		id := strings.ToLower(rule)
		if !validScope(id) || !strings.Contains(id, "/providers/") {
			return nil, fmt.Errorf("Invalid VNet rule: %s. Format: {vnet_name}/{subnet_name} or {subnet_id}", rule)
		}
		vnets = append(vnets, map[string]any{"id": id})
	}
	ips := []any{}
	for _, ip := range spec.IP {
		ips = append(ips, map[string]any{"value": ip})
	}
	acls["virtualNetworkRules"] = vnets
	acls["ipRules"] = ips
	return acls, nil
}

// readFileIfExists reads path when it names a file (az's validate_file_or_dict).
func readFileIfExists(path string) (string, error) {
	return readArgFile("@" + path)
}

// listVaults is keyvault's list_vault_or_hsm for vaults.
func listVaults(ctx *cli.Context, a *armClient) (any, error) {
	rt := ctx.String("resource-type")
	switch rt {
	case "", "vault":
	case "hsm":
		return []map[string]any{}, nil
	default:
		return nil, fmt.Errorf("Unsupported resource type: %s", rt)
	}
	var out []map[string]any
	var err error
	if rg := ctx.String("resource-group"); rg != "" {
		out, err = a.list(ctx, a.groupPath(rg)+"/providers/"+vaultProvider, apiKeyVault)
		for _, v := range out {
			vaultView(v)
		}
	} else {
		// Vaults.list: the generic resources listing, which prints id, location, name, tags and type.
		out, err = a.list(ctx, a.subPath()+"/resources?"+odataFilter("resourceType eq 'Microsoft.KeyVault/vaults'"), apiResourcesLegacy)
		for _, v := range out {
			withNulls(v, "id", "location", "name", "tags", "type")
		}
	}
	if err != nil && rt == "" {
		// Without --resource-type az swallows listing failures (a bare except around vaults and HSMs).
		ctx.Log.Debug("listing vaults failed", "error", err)
		return []map[string]any{}, nil
	}
	return out, err
}

func deletedVaultPath(a *armClient, location, name string) string {
	return a.subPath() + "/providers/Microsoft.KeyVault/locations/" + url.PathEscape(location) + "/deletedVaults/" + url.PathEscape(name)
}

// deletedVaultLocation is validate_deleted_vault_or_hsm_name: --location, or the deleted vault's location
// found in the subscription's deleted vaults. It also returns the deleted vault's resource group.
func deletedVaultLocation(ctx *cli.Context, a *armClient) (string, string, error) {
	name := ctx.String("name")
	loc := ctx.String("location")
	deleted, err := a.list(ctx, a.subPath()+"/providers/Microsoft.KeyVault/deletedVaults", apiKeyVault)
	if err != nil {
		if loc != "" {
			return loc, "", nil
		}
		return "", "", err
	}
	for _, d := range deleted {
		if n, _ := d["name"].(string); !strings.EqualFold(n, name) {
			continue
		}
		props, _ := d["properties"].(map[string]any)
		if loc == "" {
			loc, _ = props["location"].(string)
		}
		vaultID, _ := props["vaultId"].(string)
		rg := ""
		if rid, ok := parseResourceID(vaultID); ok {
			rg = rid.ResourceGroup
		}
		return loc, rg, nil
	}
	if loc != "" {
		return loc, "", nil
	}
	return "", "", fmt.Errorf("No deleted Vault or HSM was found with name %s", name)
}

// recoverVault is keyvault's recover_vault: a PUT of the vault with createMode recover.
func recoverVault(ctx *cli.Context, a *armClient) (any, error) {
	loc, rg, err := deletedVaultLocation(ctx, a)
	if err != nil {
		return nil, err
	}
	if g := ctx.String("resource-group"); g != "" {
		rg = g
	}
	if rg == "" {
		return nil, cli.Usagef("the following arguments are required: --resource-group/-g")
	}
	body := map[string]any{"location": loc, "properties": map[string]any{"tenantId": a.s.Profile.TenantID,
		"sku": map[string]any{"name": "standard", "family": "A"}, "createMode": "recover"}}
	path := vaultPath(a, rg, ctx.String("name"))
	if ctx.Bool("no-wait") {
		return nil, a.do(ctx, http.MethodPut, path, apiKeyVault, body, nil)
	}
	out, err := a.put(ctx, path, apiKeyVault, body)
	return vaultView(out), err
}

// updateVault is keyvault's update_vault through az's generic update (GET, change, PUT).
func updateVault(ctx *cli.Context, a *armClient) (any, error) {
	rg, v, err := getVault(ctx, a)
	if err != nil {
		return nil, err
	}
	props := vaultProps(v)
	for flag, prop := range map[string]string{"enabled-for-deployment": "enabledForDeployment", "enabled-for-disk-encryption": "enabledForDiskEncryption",
		"enabled-for-template-deployment": "enabledForTemplateDeployment", "enable-rbac-authorization": "enableRbacAuthorization",
		"enable-purge-protection": "enablePurgeProtection"} {
		if ctx.Has(flag) {
			props[prop] = ctx.Bool(flag)
		}
	}
	if ctx.Has("retention-days") {
		n, _ := strconv.Atoi(ctx.String("retention-days"))
		props["softDeleteRetentionInDays"] = n
	}
	bypass, action := ctx.String("bypass"), ctx.String("default-action")
	if bypass != "" || action != "" {
		acls, ok := props["networkAcls"].(map[string]any)
		if !ok {
			props["networkAcls"] = defaultNetworkACLs(bypass, action)
		} else {
			if bypass != "" {
				acls["bypass"] = bypass
			}
			if action != "" {
				acls["defaultAction"] = action
			}
		}
	}
	if p := ctx.String("public-network-access"); p != "" {
		props["publicNetworkAccess"] = p
	}
	return putVault(ctx, a, rg, v)
}

// policyObjectID is keyvault's validate_principal and _object_id_args_helper: exactly one of --object-id,
// --spn and --upn, the names looked up in Graph.
func policyObjectID(ctx *cli.Context, a *armClient) (string, error) {
	set := 0
	for _, p := range []string{"object-id", "spn", "upn"} {
		if ctx.String(p) != "" {
			set++
		}
	}
	if set != 1 {
		return "", cli.Usagef("specify exactly one: --object-id, --spn, --upn")
	}
	if oid := ctx.String("object-id"); oid != "" {
		return oid, nil
	}
	var path, what, name string
	if spn := ctx.String("spn"); spn != "" {
		path, what, name = filterPath("/servicePrincipals", "servicePrincipalNames/any(c:c eq "+odataQuote(spn)+")"), "spn", spn
	} else {
		upn := ctx.String("upn")
		path, what, name = filterPath("/users", "userPrincipalName eq "+odataQuote(upn)), "upn", upn
	}
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := a.s.Graph(ctx, http.MethodGet, path, nil, &page); err != nil {
		return "", graphErr(err)
	}
	switch len(page.Value) {
	case 0:
		ctx.Log.Warn(fmt.Sprintf("Unable to find user with %s '%s'", what, name))
	case 1:
		id, _ := page.Value[0]["id"].(string)
		return id, nil
	default:
		kind := "service principals"
		if what == "upn" {
			kind = "users principals"
		}
		ctx.Log.Warn(fmt.Sprintf("Multiple %s found with %s '%s'. You can avoid this by specifying object id.", kind, what, name))
	}
	return "", errors.New("Unable to get object id from principal name.")
}

// rbacVault reports whether a vault authorizes data actions with RBAC.
func rbacVault(v map[string]any) bool {
	b, _ := vaultProps(v)["enableRbacAuthorization"].(bool)
	return b
}

// matchesPolicy is the policy match of set_policy and delete_policy: tenant, object and application.
func matchesPolicy(p map[string]any, tenant, objectID, appID string) bool {
	ptenant, _ := p["tenantId"].(string)
	poid, _ := p["objectId"].(string)
	papp, _ := p["applicationId"].(string)
	return strings.EqualFold(ptenant, tenant) && strings.EqualFold(poid, objectID) && strings.EqualFold(papp, appID)
}

// distinct removes repeated permissions (set_policy's _permissions_distinct).
func distinct(perms []string) []any {
	if perms == nil {
		return nil
	}
	out := []any{}
	seen := map[string]bool{}
	for _, p := range perms {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// setPolicy is keyvault's set_policy: the given permission categories replace the principal's, the others
// stay; the vault is written back whole.
func setPolicy(ctx *cli.Context, a *armClient) (any, error) {
	perms := map[string]string{"keys": "key-permissions", "secrets": "secret-permissions", "certificates": "certificate-permissions", "storage": "storage-permissions"}
	given := false
	for _, flag := range perms {
		given = given || ctx.Has(flag)
	}
	if !given {
		return nil, cli.Usagef("specify at least one: --key-permissions, --secret-permissions, --certificate-permissions --storage-permissions")
	}
	oid, err := policyObjectID(ctx, a)
	if err != nil {
		return nil, err
	}
	rg, v, err := getVault(ctx, a)
	if err != nil {
		return nil, err
	}
	if rbacVault(v) {
		return nil, errors.New("Cannot set policies to a vault with '--enable-rbac-authorization' specified")
	}
	props := vaultProps(v)
	tenant, _ := props["tenantId"].(string)
	appID := ctx.String("application-id")
	policies, _ := props["accessPolicies"].([]any)
	var policy map[string]any
	for _, p := range policies {
		if pm, ok := p.(map[string]any); ok && matchesPolicy(pm, tenant, oid, appID) {
			policy = pm
			break
		}
	}
	// A new policy has no old permissions: reading the nil map finds none.
	old, _ := policy["permissions"].(map[string]any)
	newPerms := map[string]any{}
	for cat, flag := range perms {
		if ctx.Has(flag) {
			newPerms[cat] = distinct(ctx.Strings(flag))
		} else if v, ok := old[cat]; ok && v != nil {
			newPerms[cat] = v
		}
	}
	if policy == nil {
		entry := map[string]any{"tenantId": tenant, "objectId": oid, "permissions": newPerms}
		if appID != "" {
			entry["applicationId"] = appID
		}
		policies = append(policies, entry)
	} else {
		policy["permissions"] = newPerms
	}
	props["accessPolicies"] = policies
	return putVault(ctx, a, rg, v)
}

// deletePolicy is keyvault's delete_policy.
func deletePolicy(ctx *cli.Context, a *armClient) (any, error) {
	oid, err := policyObjectID(ctx, a)
	if err != nil {
		return nil, err
	}
	rg, v, err := getVault(ctx, a)
	if err != nil {
		return nil, err
	}
	if rbacVault(v) {
		return nil, errors.New("Cannot delete policies to a vault with '--enable-rbac-authorization' specified")
	}
	props := vaultProps(v)
	tenant, _ := props["tenantId"].(string)
	policies, _ := props["accessPolicies"].([]any)
	kept := []any{}
	for _, p := range policies {
		if pm, ok := p.(map[string]any); ok && matchesPolicy(pm, tenant, oid, ctx.String("application-id")) {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == len(policies) {
		return nil, errors.New("No matching policies found")
	}
	props["accessPolicies"] = kept
	return putVault(ctx, a, rg, v)
}

// subnetID is keyvault's validate_subnet: a subnet id, or a name under --vnet-name in the vault's group.
func subnetID(ctx *cli.Context, a *armClient, rg string) (string, error) {
	subnet := ctx.String("subnet")
	if subnet == "" || strings.HasPrefix(subnet, "/subscriptions/") {
		return subnet, nil
	}
	vnet := ctx.String("vnet-name")
	if vnet == "" {
		return "", cli.Usagef("usage error: --subnet ID | --subnet NAME --vnet-name NAME")
	}
	return a.groupPath(rg) + "/providers/Microsoft.Network/virtualNetworks/" + vnet + "/subnets/" + subnet, nil
}

// addNetworkRule is keyvault's add_network_rule.
func addNetworkRule(ctx *cli.Context, a *armClient) (any, error) {
	rg, v, err := getVault(ctx, a)
	if err != nil {
		return nil, err
	}
	subnet, err := subnetID(ctx, a, rg)
	if err != nil {
		return nil, err
	}
	props := vaultProps(v)
	rules, ok := props["networkAcls"].(map[string]any)
	if !ok {
		rules = defaultNetworkACLs("", "")
		props["networkAcls"] = rules
	}
	ips := ctx.Strings("ip-address")
	if subnet == "" && len(ips) == 0 {
		ctx.Log.Warn("No subnet or ip address supplied.")
	}
	changed := false
	if subnet != "" {
		vnets, _ := rules["virtualNetworkRules"].([]any)
		exists := false
		for _, r := range vnets {
			if rm, ok := r.(map[string]any); ok {
				if id, _ := rm["id"].(string); strings.EqualFold(id, subnet) {
					exists = true
				}
			}
		}
		if !exists {
			rules["virtualNetworkRules"] = append(vnets, map[string]any{"id": subnet})
			changed = true
		}
	}
	if len(ips) > 0 {
		list, _ := rules["ipRules"].([]any)
		for _, ip := range ips {
			n, _ := ipNetwork(ip)
			dup := false
			for _, r := range list {
				rm, _ := r.(map[string]any)
				val, _ := rm["value"].(string)
				if old, err := ipNetwork(val); err == nil && old.Overlaps(n) {
					ctx.Log.Warn(fmt.Sprintf("IP/CIDR %s overlaps with %s, which exists already. Not adding duplicates.", ip, val))
					dup = true
					break
				}
			}
			if !dup {
				list = append(list, map[string]any{"value": ip})
				changed = true
			}
		}
		rules["ipRules"] = list
	}
	if !changed {
		return vaultView(v), nil
	}
	return putVault(ctx, a, rg, v)
}

// removeNetworkRule is keyvault's remove_network_rule.
func removeNetworkRule(ctx *cli.Context, a *armClient) (any, error) {
	rg, v, err := getVault(ctx, a)
	if err != nil {
		return nil, err
	}
	subnet, err := subnetID(ctx, a, rg)
	if err != nil {
		return nil, err
	}
	rules, ok := vaultProps(v)["networkAcls"].(map[string]any)
	if !ok {
		return vaultView(v), nil
	}
	changed := false
	if vnets, ok := rules["virtualNetworkRules"].([]any); ok && subnet != "" && len(vnets) > 0 {
		kept := []any{}
		for _, r := range vnets {
			rm, _ := r.(map[string]any)
			if id, _ := rm["id"].(string); strings.EqualFold(id, subnet) {
				continue
			}
			kept = append(kept, r)
		}
		if len(kept) != len(vnets) {
			rules["virtualNetworkRules"] = kept
			changed = true
		}
	}
	if list, ok := rules["ipRules"].([]any); ok && len(ctx.Strings("ip-address")) > 0 && len(list) > 0 {
		var remove []netip.Prefix
		for _, ip := range ctx.Strings("ip-address") {
			n, _ := ipNetwork(ip)
			remove = append(remove, n)
		}
		kept := []any{}
		for _, r := range list {
			rm, _ := r.(map[string]any)
			val, _ := rm["value"].(string)
			n, err := ipNetwork(val)
			drop := false
			for _, x := range remove {
				if err == nil && n.Masked() == x.Masked() {
					drop = true
				}
			}
			if !drop {
				kept = append(kept, r)
			}
		}
		if len(kept) != len(list) {
			rules["ipRules"] = kept
			changed = true
		}
	}
	if !changed {
		return vaultView(v), nil
	}
	return putVault(ctx, a, rg, v)
}
