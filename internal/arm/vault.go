package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/storage"
)

// Vault is a key vault's configuration as the data plane needs it.
type Vault struct {
	ResourceID string
	Name       string
	Location   string
	VaultProperties
}

// VaultProperties are Microsoft.KeyVault/vaults properties.
type VaultProperties struct {
	TenantID                     string         `json:"tenantId"`
	SKU                          *VaultSKU      `json:"sku"`
	AccessPolicies               []AccessPolicy `json:"accessPolicies"`
	VaultURI                     string         `json:"vaultUri"`
	EnabledForDeployment         bool           `json:"enabledForDeployment"`
	EnabledForDiskEncryption     bool           `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment bool           `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             bool           `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    int            `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      bool           `json:"enableRbacAuthorization"`
	EnablePurgeProtection        *bool          `json:"enablePurgeProtection,omitempty"`
	NetworkAcls                  *NetworkAcls   `json:"networkAcls,omitempty"`
	PublicNetworkAccess          string         `json:"publicNetworkAccess"`
	ProvisioningState            string         `json:"provisioningState"`
}

// VaultSKU is a vault's pricing tier.
type VaultSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// AccessPolicy grants an object (optionally through an application: compound identity) permissions.
type AccessPolicy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions are an access policy's permissions per object kind.
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// NetworkAcls is a vault's firewall.
type NetworkAcls struct {
	Bypass              string     `json:"bypass"`
	DefaultAction       string     `json:"defaultAction"`
	IPRules             []IPRule   `json:"ipRules"`
	VirtualNetworkRules []VNetRule `json:"virtualNetworkRules"`
}

// IPRule is an address or CIDR range.
type IPRule struct {
	Value string `json:"value"`
}

// VNetRule is kept as given; keyhaven has no virtual networks to match it against.
type VNetRule struct {
	ID                               string `json:"id"`
	IgnoreMissingVnetServiceEndpoint bool   `json:"ignoreMissingVnetServiceEndpoint,omitempty"`
}

// Permission names per kind; "all" is accepted everywhere.
var (
	KeyPermissions         = []string{"encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"}
	SecretPermissions      = []string{"get", "list", "set", "delete", "backup", "restore", "recover", "purge"}
	CertificatePermissions = []string{"get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"}
	StoragePermissions     = []string{"get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore", "setsas", "listsas", "getsas", "deletesas"}
)

var vaultNameRule = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// ValidVaultName applies Key Vault's name rule.
func ValidVaultName(name string) bool {
	return vaultNameRule.MatchString(name) && !strings.Contains(name, "--")
}

func errVaultName(name string) error {
	return badRequest("VaultNameNotValid", "The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742", name)
}

// vaultRef is the global name index entry: vault names are unique across keyhaven (they are DNS names).
type vaultRef struct {
	ResourceID string `json:"resourceId"`
}

// deletedVault is a soft-deleted vault with everything needed to recover it.
type deletedVault struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Vault      Resource       `json:"vault"`
}

// vaultURI is the data-plane URL of a vault.
func (s *Service) vaultURI(name string) string {
	if s.zone != "" {
		return "https://" + strings.ToLower(name) + ".vault." + s.zone + "/"
	}
	return "https://" + strings.ToLower(name) + ".vault.azure.net/"
}

// putVault validates and builds a vault: defaults, immutable and irreversible settings, permission names,
// network rules, global name uniqueness, and recovery of a soft-deleted vault.
func putVault(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error) {
	if !ValidVaultName(id.Name()) {
		return change{}, errVaultName(id.Name())
	}
	var raw map[string]json.RawMessage
	if len(in.Properties) > 0 && string(in.Properties) != "null" {
		if err := json.Unmarshal(in.Properties, &raw); err != nil {
			return change{}, badRequest("InvalidRequestContent", "The vault properties are not a JSON object.")
		}
	} else if !patch {
		return change{}, badRequest("BadRequest", "The property 'properties' is required.")
	}
	var createMode string
	if m, ok := raw["createMode"]; ok {
		json.Unmarshal(m, &createMode)
		delete(raw, "createMode")
	}
	if strings.EqualFold(createMode, "recover") {
		return s.recoverVault(ctx, p, id, old, in)
	}
	if createMode != "" && !strings.EqualFold(createMode, "default") {
		return change{}, badRequest("BadRequest", "Invalid createMode '%s': use 'default' or 'recover'.", createMode)
	}

	// Start from the old properties (PATCH, or PUT of an existing vault for the immutable fields) or defaults.
	var prev *VaultProperties
	props := VaultProperties{EnableSoftDelete: true, SoftDeleteRetentionInDays: 90, PublicNetworkAccess: "Enabled", AccessPolicies: []AccessPolicy{}}
	if old != nil {
		// Decode the old properties twice: prev must not share pointers with what the request overwrites.
		var op VaultProperties
		b, _ := json.Marshal(old.Properties)
		json.Unmarshal(b, &op)
		prev = &op
		if patch {
			props = VaultProperties{}
			json.Unmarshal(b, &props)
		}
	}
	// Decode the given fields over the starting point, one by one so that absent ones keep their value.
	rawObj, _ := json.Marshal(raw)
	if err := json.Unmarshal(rawObj, &props); err != nil {
		return change{}, badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: %s", jsonProblem(err))
	}
	if v, ok := raw["enableSoftDelete"]; ok && string(v) == "false" {
		return change{}, badRequest("BadRequest", "The property \"enableSoftDelete\" cannot be set to false. Enabling the soft delete protection for this vault is required. Please see https://aka.ms/softdeletechange for more information.")
	}
	props.EnableSoftDelete = true
	if _, ok := raw["softDeleteRetentionInDays"]; !ok && prev != nil {
		props.SoftDeleteRetentionInDays = prev.SoftDeleteRetentionInDays
	}
	if props.SoftDeleteRetentionInDays < 7 || props.SoftDeleteRetentionInDays > 90 {
		return change{}, badRequest("BadRequest", "The property \"softDeleteRetentionInDays\" has an invalid value %d. It must be between 7 and 90.", props.SoftDeleteRetentionInDays)
	}
	if prev != nil && props.SoftDeleteRetentionInDays != prev.SoftDeleteRetentionInDays {
		return change{}, badRequest("BadRequest", "The property \"softDeleteRetentionInDays\" cannot be changed after the vault is created.")
	}
	if prev != nil && prev.EnablePurgeProtection != nil && *prev.EnablePurgeProtection {
		if props.EnablePurgeProtection == nil || !*props.EnablePurgeProtection {
			if _, given := raw["enablePurgeProtection"]; given {
				return change{}, badRequest("BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Once enabled, the purge protection of a vault cannot be disabled.")
			}
			props.EnablePurgeProtection = prev.EnablePurgeProtection
		}
	}
	if props.EnablePurgeProtection != nil && !*props.EnablePurgeProtection {
		props.EnablePurgeProtection = nil // Azure leaves the property out until it is enabled
	}
	if _, err := uuid.Parse(props.TenantID); err != nil {
		return change{}, badRequest("BadRequest", "The property 'tenantId' is required and must be a GUID.")
	}
	if _, err := s.dir.Tenant(ctx, props.TenantID); err != nil {
		return change{}, badRequest("BadRequest", "The tenant '%s' does not exist.", props.TenantID)
	}
	if props.SKU == nil || props.SKU.Name == "" {
		return change{}, badRequest("BadRequest", "The property 'sku' is required.")
	}
	switch strings.ToLower(props.SKU.Name) {
	case "standard":
		props.SKU.Name = "standard"
	case "premium":
		props.SKU.Name = "premium"
	default:
		return change{}, badRequest("BadRequest", "The sku name '%s' is invalid: use 'standard' or 'premium'.", props.SKU.Name)
	}
	props.SKU.Family = "A"
	if err := validatePolicies(props.AccessPolicies); err != nil {
		return change{}, err
	}
	if props.AccessPolicies == nil {
		props.AccessPolicies = []AccessPolicy{}
	}
	if err := validateNetworkAcls(props.NetworkAcls); err != nil {
		return change{}, err
	}
	switch strings.ToLower(props.PublicNetworkAccess) {
	case "", "enabled":
		props.PublicNetworkAccess = "Enabled"
	case "disabled":
		props.PublicNetworkAccess = "Disabled"
	default:
		return change{}, badRequest("BadRequest", "The property 'publicNetworkAccess' must be 'Enabled' or 'Disabled'.")
	}
	props.VaultURI = s.vaultURI(id.Name())
	props.ProvisioningState = "Succeeded"

	res := Resource{Location: normalizeLocation(in.Location), Tags: in.Tags}
	if old != nil {
		res.Location = old.Location
		if patch && !in.hasTags {
			res.Tags = old.Tags
		}
	}
	b, _ := json.Marshal(props)
	json.Unmarshal(b, &res.Properties)
	ch := change{res: res}
	if old == nil {
		ch.tx = func(ctx context.Context, tx storage.Tx) error { return s.claimVaultName(ctx, tx, id) }
	}
	return ch, nil
}

// claimVaultName reserves a vault's global name, refusing one in use or soft-deleted.
func (s *Service) claimVaultName(ctx context.Context, tx storage.Tx, id ID) error {
	key := strings.ToLower(id.Name())
	if _, err := tx.Get(ctx, kindDeletedVault, key); err == nil {
		return armErr(http.StatusConflict, "ConflictError", "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.")
	}
	err := storage.CreateJSON(ctx, tx, kindVaultName, key, vaultRef{ResourceID: id.String()})
	if errors.Is(err, storage.ErrConflict) {
		return armErr(http.StatusConflict, "VaultAlreadyExists", "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state.", id.Name())
	}
	return err
}

func validatePolicies(policies []AccessPolicy) error {
	if len(policies) > 1024 {
		return badRequest("BadRequest", "A vault can have at most 1024 access policies.")
	}
	for i := range policies {
		p := &policies[i]
		if _, err := uuid.Parse(p.TenantID); err != nil {
			return badRequest("BadRequest", "Invalid value found at accessPolicies[%d].tenantId: '%s' is not a GUID.", i, p.TenantID)
		}
		if _, err := uuid.Parse(p.ObjectID); err != nil {
			return badRequest("BadRequest", "Invalid value found at accessPolicies[%d].objectId: '%s' is not a GUID.", i, p.ObjectID)
		}
		p.TenantID, p.ObjectID = strings.ToLower(p.TenantID), strings.ToLower(p.ObjectID)
		if p.ApplicationID != "" {
			if _, err := uuid.Parse(p.ApplicationID); err != nil {
				return badRequest("BadRequest", "Invalid value found at accessPolicies[%d].applicationId: '%s' is not a GUID.", i, p.ApplicationID)
			}
			p.ApplicationID = strings.ToLower(p.ApplicationID)
		}
		for _, c := range []struct {
			name  string
			list  *[]string
			valid []string
		}{{"keys", &p.Permissions.Keys, KeyPermissions}, {"secrets", &p.Permissions.Secrets, SecretPermissions},
			{"certificates", &p.Permissions.Certificates, CertificatePermissions}, {"storage", &p.Permissions.Storage, StoragePermissions}} {
			for j, perm := range *c.list {
				canon, ok := canonicalPermission(perm, c.valid)
				if !ok {
					return badRequest("BadRequest", "Invalid value found at accessPolicies[%d].permissions.%s[%d]: '%s'. Valid values are: all, %s.", i, c.name, j, perm, strings.Join(c.valid, ", "))
				}
				(*c.list)[j] = canon
			}
		}
	}
	return nil
}

// canonicalPermission matches a permission name case-insensitively and returns it as given (Azure keeps the
// caller's case), or "all".
func canonicalPermission(perm string, valid []string) (string, bool) {
	if strings.EqualFold(perm, "all") {
		return perm, true
	}
	for _, v := range valid {
		if strings.EqualFold(v, perm) {
			return perm, true
		}
	}
	return "", false
}

func validateNetworkAcls(n *NetworkAcls) error {
	if n == nil {
		return nil
	}
	switch strings.ToLower(n.Bypass) {
	case "", "azureservices":
		n.Bypass = "AzureServices"
	case "none":
		n.Bypass = "None"
	default:
		return badRequest("BadRequest", "The property 'networkAcls.bypass' must be 'AzureServices' or 'None'.")
	}
	switch strings.ToLower(n.DefaultAction) {
	case "", "allow":
		n.DefaultAction = "Allow"
	case "deny":
		n.DefaultAction = "Deny"
	default:
		return badRequest("BadRequest", "The property 'networkAcls.defaultAction' must be 'Allow' or 'Deny'.")
	}
	if n.IPRules == nil {
		n.IPRules = []IPRule{}
	}
	if n.VirtualNetworkRules == nil {
		n.VirtualNetworkRules = []VNetRule{}
	}
	for i, r := range n.IPRules {
		if _, _, err := net.ParseCIDR(r.Value); err == nil {
			continue
		}
		if ip := net.ParseIP(r.Value); ip != nil && ip.To4() != nil {
			continue
		}
		return badRequest("BadRequest", "Invalid value found at networkAcls.ipRules[%d].value: '%s' is not an IPv4 address or CIDR range.", i, r.Value)
	}
	return nil
}

// deleteVault soft-deletes a vault: it leaves the resource list and its name stays reserved until it is purged
// (automatically when its retention ends) or recovered.
func deleteVault(s *Service, ctx context.Context, res Resource) error {
	var props VaultProperties
	b, _ := json.Marshal(res.Properties)
	json.Unmarshal(b, &props)
	id, _ := ParseID(res.ID)
	now := s.now().UTC()
	dv := deletedVault{
		ID:   fmt.Sprintf("/subscriptions/%s/providers/Microsoft.KeyVault/locations/%s/deletedVaults/%s", id.Subscription, res.Location, res.Name),
		Name: res.Name, Type: "Microsoft.KeyVault/deletedVaults",
		Properties: map[string]any{
			"vaultId": res.ID, "location": res.Location, "deletionDate": now.Format(time.RFC3339),
			"scheduledPurgeDate":     now.Add(time.Duration(props.SoftDeleteRetentionInDays) * 24 * time.Hour).Format(time.RFC3339),
			"tags":                   res.Tags,
			"purgeProtectionEnabled": props.EnablePurgeProtection != nil && *props.EnablePurgeProtection,
		},
		Vault: res,
	}
	return storage.PutJSON(ctx, s.store, kindDeletedVault, strings.ToLower(res.Name), 0, dv)
}

// recoverVault brings a soft-deleted vault back, with its properties, into the resource id it had.
func (s *Service) recoverVault(ctx context.Context, p Principal, id ID, old *Resource, in resourceBody) (change, error) {
	if old != nil {
		return change{}, armErr(http.StatusConflict, "VaultAlreadyExists", "The vault '%s' exists and is not deleted; there is nothing to recover.", id.Name())
	}
	dv, version, err := storage.GetJSON[deletedVault](ctx, s.store, kindDeletedVault, strings.ToLower(id.Name()))
	if err != nil {
		return change{}, armErr(http.StatusNotFound, "ResourceNotFound", "No deleted vault named '%s' was found.", id.Name())
	}
	if !strings.EqualFold(dv.Vault.ID, id.String()) {
		return change{}, badRequest("BadRequest", "The deleted vault '%s' belonged to '%s'; recover it into the same resource group.", id.Name(), dv.Vault.ID)
	}
	res := dv.Vault
	return change{res: res, tx: func(ctx context.Context, tx storage.Tx) error {
		return tx.Delete(ctx, kindDeletedVault, strings.ToLower(id.Name()), version)
	}}, nil
}

// DeletedVaults lists a subscription's soft-deleted vaults.
func (s *Service) DeletedVaults(ctx context.Context, p Principal, sub string) ([]map[string]any, error) {
	if err := s.authorize(ctx, p, "Microsoft.KeyVault/deletedVaults/read", "/subscriptions/"+strings.ToLower(sub)); err != nil {
		return nil, err
	}
	all, err := storage.ListAll[deletedVault](ctx, s.store, kindDeletedVault, "")
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, d := range all {
		if vid, err := ParseID(d.Vault.ID); err == nil && strings.EqualFold(vid.Subscription, sub) {
			out = append(out, d.view())
		}
	}
	return out, nil
}

func (d deletedVault) view() map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "type": d.Type, "properties": d.Properties}
}

// DeletedVault reads one soft-deleted vault.
func (s *Service) DeletedVault(ctx context.Context, p Principal, sub, location, name string) (map[string]any, error) {
	if err := s.authorize(ctx, p, "Microsoft.KeyVault/deletedVaults/read", "/subscriptions/"+strings.ToLower(sub)); err != nil {
		return nil, err
	}
	d, err := s.findDeleted(ctx, sub, location, name)
	if err != nil {
		return nil, err
	}
	return d.view(), nil
}

func (s *Service) findDeleted(ctx context.Context, sub, location, name string) (deletedVault, error) {
	d, _, err := storage.GetJSON[deletedVault](ctx, s.store, kindDeletedVault, strings.ToLower(name))
	if err == nil {
		vid, _ := ParseID(d.Vault.ID)
		if !strings.EqualFold(vid.Subscription, sub) || (location != "" && normalizeLocation(location) != d.Vault.Location) {
			err = storage.ErrNotFound
		}
	}
	if err != nil {
		return d, armErr(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/deletedVaults/%s' was not found.", name)
	}
	return d, nil
}

// PurgeDeletedVault deletes a soft-deleted vault for good, freeing its name; refused under purge protection.
func (s *Service) PurgeDeletedVault(ctx context.Context, p Principal, sub, location, name string) error {
	if err := s.authorize(ctx, p, "Microsoft.KeyVault/locations/deletedVaults/purge/action", "/subscriptions/"+strings.ToLower(sub)); err != nil {
		return err
	}
	d, err := s.findDeleted(ctx, sub, location, name)
	if err != nil {
		return err
	}
	if pp, _ := d.Properties["purgeProtectionEnabled"].(bool); pp {
		return armErr(http.StatusConflict, "Conflict", "The vault '%s' has purge protection enabled: it cannot be purged before its scheduled purge date %v.", name, d.Properties["scheduledPurgeDate"])
	}
	return s.purge(ctx, name)
}

func (s *Service) purge(ctx context.Context, name string) error {
	defer s.invalidate()
	key := strings.ToLower(name)
	if s.purged != nil {
		// The vault's objects go first: if this fails the vault stays deleted, and purging can be retried.
		if err := s.purged(ctx, key); err != nil {
			return err
		}
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindDeletedVault, key, 0); err != nil {
			return err
		}
		if err := tx.Delete(ctx, kindVaultName, key, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return nil
	})
}

// PurgeExpiredVaults purges soft-deleted vaults whose scheduled purge date has passed.
func (s *Service) PurgeExpiredVaults(ctx context.Context) (int, error) {
	all, err := storage.ListAll[deletedVault](ctx, s.store, kindDeletedVault, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range all {
		at, err := time.Parse(time.RFC3339, fmt.Sprint(d.Properties["scheduledPurgeDate"]))
		if err == nil && !s.now().Before(at) {
			if err := s.purge(ctx, d.Name); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// CheckVaultName answers checkNameAvailability.
func (s *Service) CheckVaultName(ctx context.Context, name string) map[string]any {
	if !ValidVaultName(name) {
		return map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid", "message": errVaultName(name).(*Error).Message}
	}
	if _, err := s.store.Get(ctx, kindVaultName, strings.ToLower(name)); err == nil {
		return map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": fmt.Sprintf("The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name)}
	}
	return map[string]any{"nameAvailable": true}
}

// UpdateAccessPolicies applies PUT .../vaults/{name}/accessPolicies/{add|replace|remove}.
func (s *Service) UpdateAccessPolicies(ctx context.Context, p Principal, vaultID, kind string, body []byte) ([]AccessPolicy, error) {
	defer s.invalidate()
	id, err := ParseID(vaultID)
	if err != nil {
		return nil, badRequest("InvalidResourceId", "%s", err.Error())
	}
	id = id.Canonical()
	kind = strings.ToLower(kind)
	if kind != "add" && kind != "replace" && kind != "remove" {
		return nil, badRequest("BadRequest", "The access policy update kind '%s' is invalid: use add, replace or remove.", kind)
	}
	if err := s.authorize(ctx, p, "Microsoft.KeyVault/vaults/accessPolicies/write", id.Scope()); err != nil {
		return nil, err
	}
	var in struct {
		Properties struct {
			AccessPolicies []AccessPolicy `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := decodeBody(body, &in); err != nil {
		return nil, err
	}
	if err := validatePolicies(in.Properties.AccessPolicies); err != nil {
		return nil, err
	}
	var out []AccessPolicy
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		res, version, err := s.getResource(ctx, tx, id)
		if err != nil {
			return err
		}
		var props VaultProperties
		b, _ := json.Marshal(res.Properties)
		json.Unmarshal(b, &props)
		for _, np := range in.Properties.AccessPolicies {
			i := slices.IndexFunc(props.AccessPolicies, func(op AccessPolicy) bool {
				return strings.EqualFold(op.TenantID, np.TenantID) && strings.EqualFold(op.ObjectID, np.ObjectID) && strings.EqualFold(op.ApplicationID, np.ApplicationID)
			})
			switch {
			case i < 0 && kind != "remove":
				props.AccessPolicies = append(props.AccessPolicies, np)
			case i < 0:
			case kind == "add":
				props.AccessPolicies[i].Permissions = mergePermissions(props.AccessPolicies[i].Permissions, np.Permissions)
			case kind == "replace":
				props.AccessPolicies[i].Permissions = np.Permissions
			case kind == "remove":
				left := subtractPermissions(props.AccessPolicies[i].Permissions, np.Permissions)
				if len(left.Keys)+len(left.Secrets)+len(left.Certificates)+len(left.Storage) == 0 {
					props.AccessPolicies = slices.Delete(props.AccessPolicies, i, i+1)
				} else {
					props.AccessPolicies[i].Permissions = left
				}
			}
		}
		if props.AccessPolicies == nil {
			props.AccessPolicies = []AccessPolicy{}
		}
		pb, _ := json.Marshal(props)
		res.Properties = nil
		json.Unmarshal(pb, &res.Properties)
		res.SystemData = s.systemData(p, res.SystemData)
		out = props.AccessPolicies
		return storage.PutJSON(ctx, tx, kindResource, id.Key(), version, res)
	})
	return out, err
}

func mergePermissions(a, b Permissions) Permissions {
	u := func(x, y []string) []string {
		out := append([]string(nil), x...)
		for _, v := range y {
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, v) }) {
				out = append(out, v)
			}
		}
		return out
	}
	return Permissions{Keys: u(a.Keys, b.Keys), Secrets: u(a.Secrets, b.Secrets), Certificates: u(a.Certificates, b.Certificates), Storage: u(a.Storage, b.Storage)}
}

func subtractPermissions(a, b Permissions) Permissions {
	d := func(x, y []string) []string {
		var out []string
		for _, v := range x {
			if !slices.ContainsFunc(y, func(o string) bool { return strings.EqualFold(o, v) }) {
				out = append(out, v)
			}
		}
		return out
	}
	return Permissions{Keys: d(a.Keys, b.Keys), Secrets: d(a.Secrets, b.Secrets), Certificates: d(a.Certificates, b.Certificates), Storage: d(a.Storage, b.Storage)}
}

func (s *Service) loadVault(ctx context.Context, name string) (Vault, error) {
	ref, _, err := storage.GetJSON[vaultRef](ctx, s.store, kindVaultName, strings.ToLower(name))
	if err != nil {
		return Vault{}, err
	}
	id, err := ParseID(ref.ResourceID)
	if err != nil {
		return Vault{}, err
	}
	res, _, err := storage.GetJSON[Resource](ctx, s.store, kindResource, id.Key())
	if err != nil {
		return Vault{}, err
	}
	v := Vault{ResourceID: res.ID, Name: res.Name, Location: res.Location}
	b, _ := json.Marshal(res.Properties)
	return v, json.Unmarshal(b, &v.VaultProperties)
}
