package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/cli"
)

// Web apps and function apps are both Microsoft.Web/sites; this file holds what their command groups share,
// following azure-cli's appservice module (custom.py): create, show, list, delete, identity and app settings.

// msiLocalID is how --identities and --assign-identity name the system-assigned identity.
const msiLocalID = "[system]"

// Managed identity types as the SDK's ManagedServiceIdentityType enum spells them.
const (
	identitySystem = "SystemAssigned"
	identityUser   = "UserAssigned"
	identityBoth   = "SystemAssigned, UserAssigned"
	identityNone   = "None"
)

// siteKind says which command group a site command belongs to.
type siteKind struct {
	group string // "webapp" or "functionapp"
}

func (k siteKind) function() bool { return k.group == "functionapp" }

// sitePath is a site's (or slot's) path.
func sitePath(a *armClient, rg, name, slot string) string {
	p := a.resourcePath(rg, "Microsoft.Web/sites", name)
	if slot != "" {
		p += "/slots/" + url.PathEscape(slot)
	}
	return p
}

// canonicalIdentityType spells an identity type as the SDK enum does, whatever case or spacing the
// service used, so that az's comparisons hold.
func canonicalIdentityType(t string) string {
	switch strings.ToLower(strings.ReplaceAll(t, " ", "")) {
	case "systemassigned":
		return identitySystem
	case "userassigned":
		return identityUser
	case "systemassigned,userassigned", "userassigned,systemassigned":
		return identityBoth
	case "none":
		return identityNone
	}
	return t
}

// identitiesInfo is appservice's _build_identities_info: the user-assigned ids, and whether the system
// identity is meant (no ids at all, or [system] among them).
func identitiesInfo(ids []string) (external []string, local bool) {
	local = len(ids) == 0
	for _, id := range ids {
		if id == msiLocalID {
			local = true
		} else {
			external = append(external, id)
		}
	}
	return external, local
}

// identityView prints a ManagedServiceIdentity as az does: every attribute, null where absent.
func identityView(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	withNulls(m, "principalId", "tenantId", "type", "userAssignedIdentities")
	if uai, ok := m["userAssignedIdentities"].(map[string]any); ok {
		for _, u := range uai {
			if um, ok := u.(map[string]any); ok {
				withNulls(um, "clientId", "principalId")
			}
		}
	}
	return m
}

// siteBody is what a site PUT sends back: the site as read, without the read-only envelope.
func siteBody(site map[string]any) map[string]any {
	body := map[string]any{}
	for k, v := range site {
		switch k {
		case "id", "name", "type", "systemData":
			continue
		}
		body[k] = v
	}
	return body
}

// assignSiteIdentity is appservice's assign_identity: it reads the site, works out the new identity type
// keeping what is assigned, PUTs the site, and creates a role assignment for the system identity if scope
// is set. It returns the updated site.
func assignSiteIdentity(ctx *cli.Context, a *armClient, rg, name, slot string, ids []string, role, scope string) (map[string]any, error) {
	external, local := identitiesInfo(ids)
	path := sitePath(a, rg, name, slot)
	site, err := a.get(ctx, path, apiWeb)
	if err != nil {
		return nil, err
	}
	cur, _ := site["identity"].(map[string]any)
	curType := ""
	if cur != nil {
		curType, _ = cur["type"].(string)
		curType = canonicalIdentityType(curType)
	}
	var t string
	switch {
	case cur != nil && curType == identityBoth:
		t = identityBoth
	case cur != nil && curType == identitySystem && len(external) > 0:
		t = identityBoth
	case cur != nil && curType == identityUser && local:
		t = identityBoth
	case len(external) > 0 && local:
		t = identityBoth
	case len(external) > 0:
		t = identityUser
	default:
		t = identitySystem
	}
	identity := map[string]any{"type": t}
	// The identities already assigned stay (their read-only principalId/clientId are not sent back).
	uai := map[string]any{}
	if cur != nil {
		if old, ok := cur["userAssignedIdentities"].(map[string]any); ok {
			for id := range old {
				uai[id] = map[string]any{}
			}
		}
	}
	for _, id := range external {
		uai[id] = map[string]any{}
	}
	if len(uai) > 0 {
		identity["userAssignedIdentities"] = uai
	}
	body := siteBody(site)
	body["identity"] = identity
	out, err := a.put(ctx, path, apiWeb, body)
	if err != nil {
		return nil, err
	}
	if scope != "" {
		principal := ""
		if id, ok := out["identity"].(map[string]any); ok {
			principal, _ = id["principalId"].(string)
		}
		if err := assignIdentityRole(ctx, a, principal, role, scope); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// assignIdentityRole is azure.cli.core.commands.arm.assign_identity's role assignment: a new assignment
// of role at scope for the identity, retried while the directory has not seen the principal yet, and
// quiet if it exists.
func assignIdentityRole(ctx *cli.Context, a *armClient, principalID, role, scope string) error {
	roleID, err := resolveRoleID(ctx, a, role, scope)
	if err != nil {
		return err
	}
	ctx.Log.Info(fmt.Sprintf("Creating an assignment with a role '%s' on the scope of '%s'", roleID, scope))
	name := newAssignmentName()
	body := map[string]any{"properties": map[string]any{"roleDefinitionId": roleID, "principalId": principalID}}
	const retries = 36
	for i := 0; ; i++ {
		err := a.do(ctx, http.MethodPut, strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/roleAssignments/"+name, apiAuthorization, body, nil)
		if err == nil {
			return nil
		}
		if strings.Contains(err.Error(), "role assignment already exists") {
			ctx.Log.Info("Role assignment already exists")
			return nil
		}
		if i+1 < retries && strings.Contains(err.Error(), " does not exist in the directory ") {
			ctx.Log.Warn(fmt.Sprintf("Retrying role assignment creation: %d/%d", i+1, retries))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Second):
			}
			continue
		}
		return err
	}
}

// removeSiteIdentity is appservice's remove_identity. It returns nil, printing nothing, for a site without
// an identity.
func removeSiteIdentity(ctx *cli.Context, a *armClient, rg, name, slot string, ids []string) (map[string]any, error) {
	external, local := identitiesInfo(ids)
	path := sitePath(a, rg, name, slot)
	site, err := a.get(ctx, path, apiWeb)
	if err != nil {
		return nil, err
	}
	cur, _ := site["identity"].(map[string]any)
	if cur == nil {
		return nil, nil
	}
	t, _ := cur["type"].(string)
	t = canonicalIdentityType(t)
	existing := map[string]bool{}
	if old, ok := cur["userAssignedIdentities"].(map[string]any); ok {
		for id := range old {
			existing[strings.ToLower(id)] = true
		}
	}
	toRemove := map[string]bool{}
	if len(external) > 0 {
		var missing []string
		for _, id := range external {
			id = strings.ToLower(id)
			toRemove[id] = true
			if !existing[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, notFoundf("'%s' are not associated with '%s'", strings.Join(missing, ","), name)
		}
		left := 0
		for id := range existing {
			if !toRemove[id] {
				left++
			}
		}
		if left == 0 {
			switch t {
			case identityUser:
				t = identityNone
			case identityBoth:
				t = identitySystem
			}
		}
	}
	if local {
		if t == identitySystem || t == identityNone {
			t = identityNone
		} else {
			t = identityUser
		}
	}
	identity := map[string]any{"type": t}
	if t != identityNone && t != identitySystem {
		// The identities that stay are sent (lower-cased, as az does); removed ones are left out.
		uai := map[string]any{}
		for id := range existing {
			if !toRemove[id] {
				uai[id] = map[string]any{}
			}
		}
		identity["userAssignedIdentities"] = uai
	}
	body := siteBody(site)
	body["identity"] = identity
	return a.put(ctx, path, apiWeb, body)
}

// siteParams are the arguments naming one site (and slot): show, identity assign|remove|show and
// functionapp delete.
func siteParams(k siteKind, extra ...cli.Param) []cli.Param {
	p := []cli.Param{rgParam(true), {Name: "name", Short: "n", Required: true, Help: "Name of the " + siteNoun(k) + "."},
		{Name: "slot", Short: "s", Help: "The name of the slot. Default to the productions slot if not specified."}}
	return append(p, extra...)
}

func siteNoun(k siteKind) string {
	if k.function() {
		return "function app"
	}
	return "web app"
}

// registerSiteIdentity adds "<group> identity assign|remove|show".
func registerSiteIdentity(app *cli.App, k siteKind) {
	g := k.group
	app.Register(
		cli.Command{
			Name: g + " identity assign", Short: "Assign managed identities to the " + siteNoun(k) + ".",
			Params: siteParams(k,
				cli.Param{Name: "identities", Multi: true, Help: "Space-separated identities to assign. Use '[system]' to refer to the system assigned identity. Default: '[system]'"},
				cli.Param{Name: "role", Default: "Contributor", Help: "Role name or id the managed identity will be assigned."},
				cli.Param{Name: "scope", Help: "The scope the managed identity has access to."},
			),
			Examples: []cli.Example{{Name: "Assign a system identity and a user-assigned identity.",
				Text: "keyhaven " + g + " identity assign -g MyResourceGroup -n MyApp --identities [system] myAssignedId"}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				site, err := assignSiteIdentity(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot"),
					ctx.Strings("identities"), ctx.String("role"), ctx.String("scope"))
				if err != nil {
					return nil, err
				}
				return identityView(site["identity"]), nil
			}),
		},
		cli.Command{
			Name: g + " identity remove", Short: "Disable the " + siteNoun(k) + "'s managed identities.",
			Params: siteParams(k,
				cli.Param{Name: "identities", Multi: true, Help: "Space-separated identities to remove. Use '[system]' to refer to the system assigned identity. Default: '[system]'"},
			),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				site, err := removeSiteIdentity(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot"), ctx.Strings("identities"))
				if err != nil || site == nil {
					return nil, err
				}
				return identityView(site["identity"]), nil
			}),
		},
		cli.Command{
			Name: g + " identity show", Short: "Display the " + siteNoun(k) + "'s managed identity.",
			Params: siteParams(k),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				site, err := a.get(ctx, sitePath(a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot")), apiWeb)
				if err != nil {
					return nil, showErr(err)
				}
				return identityView(site["identity"]), nil
			}),
		},
	)
}

// appSettings reads a site's app settings (POST config/appsettings/list), keeping the service's order.
func appSettings(ctx *cli.Context, a *armClient, rg, name, slot string) ([]string, map[string]any, error) {
	var raw struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := a.do(ctx, http.MethodPost, sitePath(a, rg, name, slot)+"/config/appsettings/list", apiWeb, nil, &raw); err != nil {
		return nil, nil, err
	}
	return orderedObject(raw.Properties)
}

// putAppSettings replaces a site's app settings and returns them as the service answers.
func putAppSettings(ctx *cli.Context, a *armClient, rg, name, slot string, keys []string, vals map[string]any) ([]string, map[string]any, error) {
	var raw struct {
		Properties json.RawMessage `json:"properties"`
	}
	props := map[string]any{}
	for _, k := range keys {
		props[k] = vals[k]
	}
	if err := a.do(ctx, http.MethodPut, sitePath(a, rg, name, slot)+"/config/appsettings", apiWeb, map[string]any{"properties": props}, &raw); err != nil {
		return nil, nil, err
	}
	return orderedObject(raw.Properties)
}

// slotConfigNames reads the production site's sticky setting names (GET config/slotConfigNames): the
// whole properties object, and its appSettingNames.
func slotConfigNames(ctx *cli.Context, a *armClient, rg, name string) (map[string]any, []string, error) {
	res, err := a.get(ctx, sitePath(a, rg, name, "")+"/config/slotConfigNames", apiWeb)
	if err != nil {
		return nil, nil, err
	}
	props, _ := res["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	var names []string
	if list, ok := props["appSettingNames"].([]any); ok {
		for _, n := range list {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	return props, names, nil
}

func putSlotConfigNames(ctx *cli.Context, a *armClient, rg, name string, props map[string]any, names []string) error {
	if names == nil {
		names = []string{}
	}
	props["appSettingNames"] = names
	return a.do(ctx, http.MethodPut, sitePath(a, rg, name, "")+"/config/slotConfigNames", apiWeb, map[string]any{"properties": props}, nil)
}

// appSettingsOutput is appservice's _build_app_settings_output: [{name, slotSetting, value}], values
// redacted after a change, the registry password masked in a listing.
func appSettingsOutput(ctx *cli.Context, keys []string, vals map[string]any, slotNames []string, redact bool) []map[string]any {
	if redact {
		ctx.Log.Warn("App settings have been redacted. Use `keyhaven webapp/logicapp/functionapp config appsettings list` to view.")
	}
	out := []map[string]any{}
	for _, key := range keys {
		v := vals[key]
		if redact || key == "DOCKER_REGISTRY_SERVER_PASSWORD" {
			v = nil
		}
		out = append(out, map[string]any{"name": key, "value": v, "slotSetting": slices.Contains(slotNames, key)})
	}
	return out
}

// orderedSettings is a dict that keeps insertion order, as the settings az builds do.
type orderedSettings struct {
	keys []string
	vals map[string]any
}

func newOrderedSettings() *orderedSettings { return &orderedSettings{vals: map[string]any{}} }

func (o *orderedSettings) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// truthy is Python's truth value of a setting value.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case float64:
		return t != 0
	}
	return true
}

// setAppSettings is appservice's update_app_settings.
func setAppSettings(ctx *cli.Context, a *armClient) (any, error) {
	rg, name, slot := ctx.String("resource-group"), ctx.String("name"), ctx.String("slot")
	settings, slotSettings := ctx.Strings("settings"), ctx.Strings("slot-settings")
	if len(settings) == 0 && len(slotSettings) == 0 {
		return nil, cli.Usagef("Usage Error: --settings |--slot-settings")
	}
	keys, vals, err := appSettings(ctx, a, rg, name, slot)
	if err != nil {
		return nil, err
	}
	result, slotResult := newOrderedSettings(), newOrderedSettings()
	for _, src := range []struct {
		values []string
		dest   *orderedSettings
		slot   bool
	}{{settings, result, false}, {slotSettings, slotResult, true}} {
		for _, s := range src.values {
			s, err := readArgFile(s)
			if err != nil {
				return nil, err
			}
			var parsed any
			if json.Unmarshal([]byte(s), &parsed) == nil {
				switch t := parsed.(type) {
				case []any: // the output of "config appsettings list"
					for _, e := range t {
						m, _ := e.(map[string]any)
						n, _ := m["name"].(string)
						if ss, ok := m["slotSetting"]; ok {
							slotResult.set(n, ss)
						} else if src.slot {
							slotResult.set(n, true)
						}
						result.set(n, m["value"])
					}
					continue
				case map[string]any:
					ks, _, _ := orderedObject(json.RawMessage(s))
					for _, k := range ks {
						src.dest.set(k, t[k])
					}
					continue
				}
			}
			n, v, ok := strings.Cut(s, "=")
			if !ok {
				// Not echoed: the argument may be a file's contents (@file) and hold secrets.
				return nil, errors.New("usage error: each setting must be in the format <name>=<value>")
			}
			src.dest.set(n, v)
			for _, k := range src.dest.keys {
				result.set(k, src.dest.vals[k])
			}
		}
	}
	for _, key := range result.keys {
		if _, ok := vals[key]; !ok {
			keys = append(keys, key)
		}
		vals[key] = result.vals[key]
	}
	keys, vals, err = putAppSettings(ctx, a, rg, name, slot, keys, vals)
	if err != nil {
		return nil, err
	}
	var slotNames []string
	if len(slotResult.keys) > 0 {
		props, names, err := slotConfigNames(ctx, a, rg, name)
		if err != nil {
			return nil, err
		}
		for _, n := range slotResult.keys {
			v := slotResult.vals[n]
			if truthy(v) && !slices.Contains(names, n) {
				names = append(names, n)
			} else if !truthy(v) && slices.Contains(names, n) {
				names = slices.DeleteFunc(names, func(x string) bool { return x == n })
			}
		}
		if err := putSlotConfigNames(ctx, a, rg, name, props, names); err != nil {
			return nil, err
		}
		slotNames = names
	}
	return appSettingsOutput(ctx, keys, vals, slotNames, true), nil
}

// deleteAppSettings is appservice's delete_app_settings.
func deleteAppSettings(ctx *cli.Context, a *armClient) (any, error) {
	rg, name, slot := ctx.String("resource-group"), ctx.String("name"), ctx.String("slot")
	keys, vals, err := appSettings(ctx, a, rg, name, slot)
	if err != nil {
		return nil, err
	}
	props, names, err := slotConfigNames(ctx, a, rg, name)
	if err != nil {
		return nil, err
	}
	slotChanged := false
	for _, n := range ctx.Strings("setting-names") {
		delete(vals, n)
		keys = slices.DeleteFunc(keys, func(x string) bool { return x == n })
		if slices.Contains(names, n) {
			names = slices.DeleteFunc(names, func(x string) bool { return x == n })
			slotChanged = true
		}
	}
	if slotChanged {
		if err := putSlotConfigNames(ctx, a, rg, name, props, names); err != nil {
			return nil, err
		}
	}
	keys, vals, err = putAppSettings(ctx, a, rg, name, slot, keys, vals)
	if err != nil {
		return nil, err
	}
	return appSettingsOutput(ctx, keys, vals, names, true), nil
}

// listAppSettings is appservice's get_app_settings.
func listAppSettings(ctx *cli.Context, a *armClient) (any, error) {
	rg, name, slot := ctx.String("resource-group"), ctx.String("name"), ctx.String("slot")
	keys, vals, err := appSettings(ctx, a, rg, name, slot)
	if err != nil {
		return nil, err
	}
	_, names, err := slotConfigNames(ctx, a, rg, name)
	if err != nil {
		return nil, err
	}
	return appSettingsOutput(ctx, keys, vals, names, false), nil
}

// registerAppSettings adds "<group> config appsettings set|list|delete".
func registerAppSettings(app *cli.App, k siteKind) {
	g := k.group
	base := func(extra ...cli.Param) []cli.Param {
		p := []cli.Param{rgParam(true), {Name: "name", Short: "n", Required: true, Help: "Name of the " + siteNoun(k) + "."},
			{Name: "slot", Short: "s", Help: "The name of the slot. Default to the productions slot if not specified."}}
		return append(p, extra...)
	}
	app.Register(
		cli.Command{
			Name: g + " config appsettings set", Short: "Set a " + siteNoun(k) + "'s settings.",
			Params: base(
				cli.Param{Name: "settings", Multi: true, Help: "Space-separated app settings in a format of `<name>=<value>`, or a JSON object or list (also as @file)."},
				cli.Param{Name: "slot-settings", Multi: true, Help: "Space-separated slot app settings in a format of either `<name>=<value>` or `@<json_file>`."},
			),
			Examples: []cli.Example{{Name: "Set the default NodeJS version to 6.9.1.",
				Text: "keyhaven " + g + " config appsettings set -g MyResourceGroup -n MyUniqueApp --settings WEBSITE_NODE_DEFAULT_VERSION=6.9.1"}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return setAppSettings(ctx, a) }),
		},
		cli.Command{
			Name: g + " config appsettings list", Short: "Get the details of a " + siteNoun(k) + "'s settings.",
			Params: base(),
			Run:    armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return listAppSettings(ctx, a) }),
		},
		cli.Command{
			Name: g + " config appsettings delete", Short: "Delete a " + siteNoun(k) + "'s settings.",
			Params: base(cli.Param{Name: "setting-names", Multi: true, Required: true, Help: "Space-separated app setting names."}),
			Run:    armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return deleteAppSettings(ctx, a) }),
		},
	)
}

// resolvePlan finds an App Service plan by id, or by name in the group and then in the subscription, as
// create_webapp does.
func resolvePlan(ctx *cli.Context, a *armClient, rg, plan string) (map[string]any, error) {
	if id, ok := parseResourceID(plan); ok {
		return a.get(ctx, a.resourcePath(id.ResourceGroup, "Microsoft.Web/serverfarms", id.Name), apiWeb)
	}
	p, err := a.get(ctx, a.resourcePath(rg, "Microsoft.Web/serverfarms", plan), apiWeb)
	if err == nil {
		return p, nil
	}
	if !isNotFound(err) {
		return nil, err
	}
	plans, err := a.list(ctx, a.subPath()+"/providers/Microsoft.Web/serverfarms?detailed=true", apiWeb)
	if err != nil {
		return nil, err
	}
	var found map[string]any
	for _, p := range plans {
		if n, _ := p["name"].(string); strings.EqualFold(n, plan) {
			if found != nil {
				return nil, fmt.Errorf("There are multiple plans with name %s.", plan)
			}
			id, _ := p["id"].(string)
			pid, ok := parseResourceID(id)
			if !ok {
				continue
			}
			if found, err = a.get(ctx, a.resourcePath(pid.ResourceGroup, "Microsoft.Web/serverfarms", pid.Name), apiWeb); err != nil {
				return nil, err
			}
		}
	}
	if found == nil {
		return nil, notFoundf("The plan '%s' doesn't exist.", plan)
	}
	return found, nil
}

// planIsLinux is plan_info.reserved.
func planIsLinux(plan map[string]any) bool {
	props, _ := plan["properties"].(map[string]any)
	r, _ := props["reserved"].(bool)
	return r
}

// siteAvailability is get_site_availability: POST Microsoft.Web/checknameavailability for a Site.
func siteAvailability(ctx *cli.Context, a *armClient, name string) (available bool, reason, message string, err error) {
	var out struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason"`
		Message       string `json:"message"`
	}
	if err := a.do(ctx, http.MethodPost, a.subPath()+"/providers/Microsoft.Web/checknameavailability", apiWeb,
		map[string]any{"name": name, "type": "Site"}, &out); err != nil {
		return false, "", "", err
	}
	if strings.Contains(name, ".") {
		return false, "Invalid", "Site names only allow alphanumeric characters and hyphens, cannot start or end in a hyphen, and must be less than 64 chars.", nil
	}
	return out.NameAvailable, out.Reason, out.Message, nil
}

// existingAppSettings is create_webapp's path for a name already taken: find the app in the subscription
// (get_app_details), check its group, and keep its settings.
func existingAppSettings(ctx *cli.Context, a *armClient, rg, name string) ([]any, error) {
	sites, err := a.list(ctx, a.subPath()+"/providers/Microsoft.Web/sites", apiWeb)
	if err != nil {
		return nil, err
	}
	var found map[string]any
	for _, s := range sites {
		if n, _ := s["name"].(string); strings.EqualFold(n, name) {
			found = s
			break
		}
	}
	if found == nil {
		return nil, notFoundf("Unable to retrieve details of the existing app '%s'. Please check that the app is a part of the current subscription. If creating a new app, app names must be globally unique. Please try a more unique name", name)
	}
	id, _ := found["id"].(string)
	if pid, ok := parseResourceID(id); ok && !strings.EqualFold(pid.ResourceGroup, rg) {
		return nil, fmt.Errorf("The webapp '%s' exists in resource group '%s' and does not match the value entered '%s'. Please re-run command with the correct parameters.", name, pid.ResourceGroup, rg)
	}
	keys, vals, err := appSettings(ctx, a, rg, name, "")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, k := range keys {
		out = append(out, map[string]any{"name": k, "value": vals[k]})
	}
	return out, nil
}

// splitRuntime is _StackRuntimeHelper.remove_delimiters: "PYTHON:3.11" and "PYTHON|3.11" both become
// language and version.
func splitRuntime(runtime string) (string, string) {
	sep := ""
	switch {
	case strings.Contains(runtime, "|"):
		sep = "|"
	case strings.Contains(runtime, ":"):
		sep = ":"
	}
	if sep == "" {
		return runtime, ""
	}
	var parts []string
	for _, p := range strings.Split(runtime, sep) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "", ""
	}
	return parts[0], strings.Join(parts[1:], "|")
}

// applyRuntime sets the site config for --runtime. az resolves the runtime against the Web stacks API;
// keyhaven has no stacks catalogue, so it sets what the stack would: linuxFxVersion on Linux, and on
// Windows the setting each language uses.
func applyRuntime(siteConfig map[string]any, runtime string, linux bool) error {
	lang, version := splitRuntime(runtime)
	if lang == "" || version == "" {
		if linux {
			return fmt.Errorf("Linux Runtime '%s' is not supported.Run 'keyhaven webapp list-runtimes --os-type linux' to cross check", runtime)
		}
		return fmt.Errorf("Windows runtime '%s' is not supported.Run 'keyhaven webapp list-runtimes --os-type windows' to cross check", runtime)
	}
	if linux {
		siteConfig["linuxFxVersion"] = strings.ToUpper(lang) + "|" + version
		return nil
	}
	switch strings.ToLower(lang) {
	case "node":
		major, _, _ := strings.Cut(version, "-")
		major, _, _ = strings.Cut(major, ".")
		settings, _ := siteConfig["appSettings"].([]any)
		siteConfig["appSettings"] = append(settings, map[string]any{"name": "WEBSITE_NODE_DEFAULT_VERSION", "value": "~" + strings.TrimPrefix(major, "~")})
	case "dotnet", "aspnet", "dotnetcore":
		v := strings.TrimPrefix(strings.ToLower(version), "v")
		if !strings.Contains(v, ".") {
			v += ".0"
		}
		siteConfig["netFrameworkVersion"] = "v" + v
	case "php":
		siteConfig["phpVersion"] = version
	case "java":
		siteConfig["javaVersion"] = version
	default:
		return fmt.Errorf("Windows runtime '%s' is not supported.Run 'keyhaven webapp list-runtimes --os-type windows' to cross check", runtime)
	}
	return nil
}

// alwaysOnOff are the plan SKUs on which create_webapp leaves alwaysOn unset.
var alwaysOnOff = []string{"F1", "FREE", "SHARED", "D1", "B1", "B2", "B3", "BASIC"}

// siteView prints a site as the SDK's Site model does: properties flattened.
func siteView(site map[string]any) map[string]any { return flatten(site, nil) }

// createSite ends webapp create and functionapp create: it adds --tags to body, puts the site, assigns
// --assign-identity and returns the site's view.
func createSite(ctx *cli.Context, a *armClient, rg, name string, body map[string]any) (any, error) {
	if ctx.Has("tags") {
		body["tags"] = parseTags(ctx.Strings("tags"))
	}
	site, err := a.put(ctx, sitePath(a, rg, name, ""), apiWeb, body)
	if err != nil {
		return nil, err
	}
	if ctx.Has("assign-identity") {
		updated, err := assignSiteIdentity(ctx, a, rg, name, "", ctx.Strings("assign-identity"), ctx.String("role"), ctx.String("scope"))
		if err != nil {
			return nil, err
		}
		site["identity"] = identityView(updated["identity"])
	}
	return siteView(site), nil
}

// renameServerFarm is _rename_server_farm_props: the listing and show commands print serverFarmId as
// appServicePlanId.
func renameServerFarm(site map[string]any) map[string]any {
	if site == nil {
		return nil
	}
	site["appServicePlanId"] = site["serverFarmId"]
	delete(site, "serverFarmId")
	return site
}

// showSite is show_app: the site, its configuration (config/web) as siteConfig, the plan renamed and
// the outbound addresses de-duplicated.
func showSite(ctx *cli.Context, a *armClient, rg, name, slot string) (any, error) {
	path := sitePath(a, rg, name, slot)
	site, err := a.get(ctx, path, apiWeb)
	if err != nil {
		return nil, showErr(err)
	}
	cfg, err := a.get(ctx, path+"/config/web", apiWeb)
	if err != nil {
		return nil, err
	}
	site = siteView(site)
	site["siteConfig"] = flatten(cfg, nil)
	renameServerFarm(site)
	if ips, ok := site["possibleOutboundIpAddresses"].(string); ok {
		seen := map[string]bool{}
		var list []string
		for _, ip := range strings.Split(ips, ",") {
			if !seen[ip] {
				seen[ip] = true
				list = append(list, ip)
			}
		}
		sort.Strings(list)
		site["possibleOutboundIpAddresses"] = strings.Join(list, ",")
	}
	return site, nil
}

// listSites lists the sites of a group or subscription whose kind the command group owns.
func listSites(ctx *cli.Context, a *armClient, k siteKind) (any, error) {
	path := a.subPath() + "/providers/Microsoft.Web/sites"
	if rg := ctx.String("resource-group"); rg != "" {
		path = a.groupPath(rg) + "/providers/Microsoft.Web/sites"
	}
	sites, err := a.list(ctx, path, apiWeb)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, s := range sites {
		kind, ok := s["kind"].(string)
		if !ok {
			continue // apps with kind null are left out
		}
		kind = strings.ToLower(kind)
		isFunc := strings.Contains(kind, "functionapp") && !strings.Contains(kind, "workflowapp")
		if k.function() != isFunc || (!k.function() && strings.Contains(kind, "function")) {
			continue
		}
		out = append(out, renameServerFarm(siteView(s)))
	}
	return out, nil
}

// deleteSite is delete_webapp / delete_function_app.
func deleteSite(ctx *cli.Context, a *armClient, k siteKind) (any, error) {
	q := url.Values{}
	if ctx.Bool("keep-empty-plan") {
		q.Set("deleteEmptyServerFarm", "false")
	}
	if !k.function() && ctx.Bool("keep-metrics") {
		q.Set("deleteMetrics", "false")
	}
	path := sitePath(a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot"))
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return nil, a.do(ctx, http.MethodDelete, path, apiWeb, nil, nil)
}
