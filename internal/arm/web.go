package arm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/storage"
)

// putPlan builds an App Service plan (Microsoft.Web/serverfarms).
func putPlan(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error) {
	res := Resource{Location: normalizeLocation(in.Location), Tags: in.Tags, Kind: in.Kind, SKU: in.SKU}
	props := map[string]any{}
	if old != nil {
		res.Location, props = old.Location, old.Properties
		if patch {
			res.Kind, res.SKU = old.Kind, old.SKU
			if !in.hasTags {
				res.Tags = old.Tags
			}
		}
	}
	props, err := mergeProperties(props, in.Properties)
	if err != nil {
		return change{}, err
	}
	if res.Kind == "" {
		res.Kind = "app"
	}
	if res.SKU == nil {
		res.SKU = map[string]any{"name": "B1", "tier": "Basic", "size": "B1", "family": "B", "capacity": 1}
	}
	props["provisioningState"] = "Succeeded"
	props["status"] = "Ready"
	props["numberOfSites"] = 0
	if _, ok := props["reserved"]; !ok {
		props["reserved"] = strings.Contains(strings.ToLower(res.Kind), "linux")
	}
	res.Properties = props
	return change{res: res}, nil
}

// putSite builds a web or function app (Microsoft.Web/sites) and applies its identity's lifecycle.
func putSite(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error) {
	res := Resource{Location: normalizeLocation(in.Location), Tags: in.Tags, Kind: in.Kind}
	props := map[string]any{}
	if old != nil {
		res.Location, props = old.Location, old.Properties
		if res.Kind == "" || patch {
			res.Kind = old.Kind
		}
		if patch && !in.hasTags {
			res.Tags = old.Tags
		}
	}
	props, err := mergeProperties(props, in.Properties)
	if err != nil {
		return change{}, err
	}
	if res.Kind == "" {
		res.Kind = "app"
	}
	if farm, _ := props["serverFarmId"].(string); farm != "" {
		fid, err := ParseID(farm)
		if err != nil || !strings.EqualFold(fid.Canonical().FullType(), "Microsoft.Web/serverfarms") {
			return change{}, badRequest("BadRequest", "The serverFarmId '%s' is not a Microsoft.Web/serverfarms resource id.", farm)
		}
		if _, err := s.store.Get(ctx, kindResource, fid.Key()); err != nil {
			return change{}, badRequest("BadRequest", "The server farm '%s' was not found.", fid.Name())
		}
		props["serverFarmId"] = fid.Canonical().String()
	}
	host := strings.ToLower(id.Name()) + ".azurewebsites.net"
	props["state"] = "Running"
	props["enabled"] = true
	props["defaultHostName"] = host
	props["hostNames"] = []string{host}
	props["resourceGroup"] = id.ResourceGroup
	props["provisioningState"] = "Succeeded"
	if ref, _ := props["keyVaultReferenceIdentity"].(string); ref == "" {
		props["keyVaultReferenceIdentity"] = "SystemAssigned"
	}
	res.Properties = props
	return s.withIdentity(ctx, p, id, old, res, in.Identity, patch)
}

// deleteSite releases the site's system-assigned identity and its app settings.
func deleteSite(s *Service, ctx context.Context, res Resource) error {
	if res.Identity != nil && res.Identity.PrincipalID != "" {
		s.deletePrincipal(ctx, res.Identity.TenantID, res.Identity.PrincipalID)
	}
	id, _ := ParseID(res.ID)
	err := s.store.Delete(ctx, kindAppSettings, id.Key(), 0)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// AppSettings reads a site's app settings (POST .../config/appsettings/list).
func (s *Service) AppSettings(ctx context.Context, p Principal, siteID string) (map[string]string, Resource, error) {
	id, site, err := s.siteFor(ctx, p, siteID, "Microsoft.Web/sites/config/list/action")
	if err != nil {
		return nil, Resource{}, err
	}
	settings, _, err := storage.GetJSON[map[string]string](ctx, s.store, kindAppSettings, id.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return map[string]string{}, site, nil
	}
	return settings, site, err
}

// SetAppSettings replaces a site's app settings (PUT .../config/appsettings).
func (s *Service) SetAppSettings(ctx context.Context, p Principal, siteID string, body []byte) (map[string]string, Resource, error) {
	id, site, err := s.siteFor(ctx, p, siteID, "Microsoft.Web/sites/config/write")
	if err != nil {
		return nil, Resource{}, err
	}
	var in struct {
		Properties map[string]any `json:"properties"`
	}
	if err := decodeBody(body, &in); err != nil {
		return nil, Resource{}, err
	}
	settings := map[string]string{}
	for k, v := range in.Properties {
		if k == "" || len(k) > 1024 {
			return nil, Resource{}, badRequest("BadRequest", "App setting names must be 1 to 1024 characters.")
		}
		switch v := v.(type) {
		case string:
			settings[k] = v
		case nil:
			settings[k] = ""
		default:
			b, _ := json.Marshal(v)
			settings[k] = string(b)
		}
	}
	return settings, site, storage.PutJSON(ctx, s.store, kindAppSettings, id.Key(), 0, settings)
}

func (s *Service) siteFor(ctx context.Context, p Principal, siteID, act string) (ID, Resource, error) {
	id, err := ParseID(siteID)
	if err != nil {
		return ID{}, Resource{}, badRequest("InvalidResourceId", "%s", err.Error())
	}
	id = id.Canonical()
	if err := s.authorize(ctx, p, act, id.Scope()); err != nil {
		return ID{}, Resource{}, err
	}
	site, _, err := s.getResource(ctx, s.store, id)
	return id, site, err
}

// Site reads a site without an authorization check, for the managed identity runtime.
func (s *Service) Site(ctx context.Context, siteID string) (Resource, map[string]string, error) {
	id, err := ParseID(siteID)
	if err != nil {
		return Resource{}, nil, err
	}
	site, _, err := s.getResource(ctx, s.store, id.Canonical())
	if err != nil {
		return Resource{}, nil, err
	}
	settings, _, err := storage.GetJSON[map[string]string](ctx, s.store, kindAppSettings, id.Canonical().Key())
	if errors.Is(err, storage.ErrNotFound) {
		settings, err = map[string]string{}, nil
	}
	return site, settings, err
}

const kindSlotConfig = "arm-slotconfig"

// SlotConfigNames reads a site's sticky setting names (config/slotConfigNames).
func (s *Service) SlotConfigNames(ctx context.Context, p Principal, siteID string) (map[string]any, Resource, error) {
	id, site, err := s.siteFor(ctx, p, siteID, "Microsoft.Web/sites/config/read")
	if err != nil {
		return nil, Resource{}, err
	}
	names, _, err := storage.GetJSON[map[string]any](ctx, s.store, kindSlotConfig, id.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return map[string]any{"appSettingNames": nil, "connectionStringNames": nil, "azureStorageConfigNames": nil}, site, nil
	}
	return names, site, err
}

// SetSlotConfigNames replaces a site's sticky setting names.
func (s *Service) SetSlotConfigNames(ctx context.Context, p Principal, siteID string, body []byte) (map[string]any, Resource, error) {
	id, site, err := s.siteFor(ctx, p, siteID, "Microsoft.Web/sites/config/write")
	if err != nil {
		return nil, Resource{}, err
	}
	var in struct {
		Properties struct {
			AppSettingNames         []string `json:"appSettingNames"`
			ConnectionStringNames   []string `json:"connectionStringNames"`
			AzureStorageConfigNames []string `json:"azureStorageConfigNames"`
		} `json:"properties"`
	}
	if err := decodeBody(body, &in); err != nil {
		return nil, Resource{}, err
	}
	names := map[string]any{"appSettingNames": in.Properties.AppSettingNames, "connectionStringNames": in.Properties.ConnectionStringNames,
		"azureStorageConfigNames": in.Properties.AzureStorageConfigNames}
	return names, site, storage.PutJSON(ctx, s.store, kindSlotConfig, id.Key(), 0, names)
}

// SiteConfig reads a site's web configuration (config/web).
func (s *Service) SiteConfig(ctx context.Context, p Principal, siteID string) (map[string]any, Resource, error) {
	_, site, err := s.siteFor(ctx, p, siteID, "Microsoft.Web/sites/config/read")
	if err != nil {
		return nil, Resource{}, err
	}
	cfg := map[string]any{"numberOfWorkers": 1, "netFrameworkVersion": "v4.0", "linuxFxVersion": "", "windowsFxVersion": nil,
		"alwaysOn": false, "http20Enabled": true, "minTlsVersion": "1.2", "ftpsState": "FtpsOnly", "appSettings": nil,
		"keyVaultReferenceIdentity": site.Properties["keyVaultReferenceIdentity"]}
	if sc, ok := site.Properties["siteConfig"].(map[string]any); ok {
		for k, v := range sc {
			if k != "appSettings" {
				cfg[k] = v
			}
		}
	}
	return cfg, site, nil
}

// CheckSiteName answers Microsoft.Web's checknameavailability: site names are global (<name>.azurewebsites.net).
func (s *Service) CheckSiteName(ctx context.Context, name string) (map[string]any, error) {
	if !nameRule.MatchString(name) || len(name) > 60 || strings.Contains(name, "_") || strings.Contains(name, ".") {
		return map[string]any{"nameAvailable": false, "reason": "Invalid", "message": "The name '" + name + "' is not a valid site name."}, nil
	}
	all, err := storage.ListAll[Resource](ctx, s.store, kindResource, "/subscriptions/")
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if strings.EqualFold(r.Type, "Microsoft.Web/sites") && strings.EqualFold(r.Name, name) {
			return map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": "Hostname '" + strings.ToLower(name) + "' already exists. Please select a different name."}, nil
		}
	}
	return map[string]any{"nameAvailable": true, "reason": "", "message": ""}, nil
}

func newVMID() string { return uuid.NewString() }

// putVM builds a minimal virtual machine (Microsoft.Compute/virtualMachines): no compute, only what keyhaven needs
// to run a process as it, chiefly the same identity model as sites.
func putVM(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error) {
	res := Resource{Location: normalizeLocation(in.Location), Tags: in.Tags}
	props := map[string]any{}
	if old != nil {
		res.Location, props = old.Location, old.Properties
		if patch && !in.hasTags {
			res.Tags = old.Tags
		}
	}
	props, err := mergeProperties(props, in.Properties)
	if err != nil {
		return change{}, err
	}
	if _, ok := props["vmId"]; !ok {
		props["vmId"] = newVMID()
	}
	props["provisioningState"] = "Succeeded"
	res.Properties = props
	return s.withIdentity(ctx, p, id, old, res, in.Identity, patch)
}

// withIdentity applies the identity lifecycle to a resource being written (sites and VMs share it): the change
// creates what the new identity needs before the write, and releases the old system principal after it.
func (s *Service) withIdentity(ctx context.Context, p Principal, id ID, old *Resource, res Resource, raw json.RawMessage, patch bool) (change, error) {
	var oldIdentity *Identity
	if old != nil {
		oldIdentity = old.Identity
	}
	pend, err := s.planIdentity(ctx, p, id, oldIdentity, raw, patch)
	if err != nil {
		return change{}, err
	}
	res.Identity = pend.identity
	if res.Identity != nil && res.Identity.Type == IdentityNone && oldIdentity == nil {
		res.Identity = nil
	}
	return change{res: res, commit: func() { s.commitIdentity(ctx, p, pend) }, abort: func() { s.abortIdentity(ctx, p, pend) }}, nil
}
