package armapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/bootstrap"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/storage"
)

// visibleSubscriptions are the subscriptions in which the caller (or a group it is in) holds any role.
func (a *API) visibleSubscriptions(req *request) ([]bootstrap.Subscription, error) {
	ctx := req.r.Context()
	groups, err := a.cfg.Directory.TransitiveGroups(ctx, req.claims.Tid, req.claims.Oid)
	if err != nil {
		return nil, err
	}
	assignments, err := rbac.ForPrincipals(ctx, a.cfg.Store, append(groups, req.claims.Oid))
	if err != nil {
		return nil, err
	}
	subs, err := storage.ListAll[bootstrap.Subscription](ctx, a.cfg.Store, bootstrap.KindSubscription, "")
	if err != nil {
		return nil, err
	}
	var out []bootstrap.Subscription
	for _, s := range subs {
		if s.TenantID != req.claims.Tid {
			continue
		}
		prefix := "/subscriptions/" + s.ID
		for _, as := range assignments {
			sc := strings.ToLower(as.Properties.Scope)
			if sc == "/" || sc == prefix || strings.HasPrefix(sc, prefix+"/") {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

func subscriptionView(s bootstrap.Subscription) map[string]any {
	return map[string]any{
		"id": "/subscriptions/" + s.ID, "authorizationSource": "RoleBased", "managedByTenants": []any{},
		"subscriptionId": s.ID, "tenantId": s.TenantID, "displayName": s.DisplayName, "state": s.State,
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

func (a *API) listSubscriptions(req *request) error {
	subs, err := a.visibleSubscriptions(req)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, s := range subs {
		items = append(items, subscriptionView(s))
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"value": items, "count": map[string]any{"type": "Total", "value": len(items)}})
	return nil
}

func (a *API) getSubscription(req *request, sub string) error {
	subs, err := a.visibleSubscriptions(req)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if strings.EqualFold(s.ID, sub) {
			httpx.WriteJSON(req.w, http.StatusOK, subscriptionView(s))
			return nil
		}
	}
	return &arm.Error{Code: "SubscriptionNotFound", HTTPStatus: http.StatusNotFound, Message: "The subscription '" + sub + "' could not be found."}
}

func (a *API) listTenants(req *request) error {
	t, err := a.cfg.Directory.Tenant(req.r.Context(), req.claims.Tid)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"value": []map[string]any{{
		"id": "/tenants/" + t.ID, "tenantId": t.ID, "tenantCategory": "Home", "displayName": t.DisplayName,
		"defaultDomain": t.Domain, "domains": []string{t.Domain}, "tenantType": "AAD",
	}}})
	return nil
}

func writeList(w http.ResponseWriter, items any) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": items})
}

func (a *API) listResourceGroups(req *request, sub string) error {
	groups, err := a.cfg.ARM.ListResourceGroups(req.r.Context(), req.p, sub)
	if err != nil {
		return err
	}
	writeList(req.w, groups)
	return nil
}

func (a *API) resourceGroup(req *request, sub, rg string) error {
	ctx := req.r.Context()
	req.target = "/subscriptions/" + sub + "/resourceGroups/" + rg
	switch req.r.Method {
	case http.MethodGet:
		res, err := a.cfg.ARM.GetResourceGroup(ctx, req.p, sub, rg)
		if err != nil {
			return err
		}
		httpx.WriteJSON(req.w, http.StatusOK, res)
		return nil
	case http.MethodHead:
		if _, err := a.cfg.ARM.GetResourceGroup(ctx, req.p, sub, rg); err != nil {
			return err
		}
		req.w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPut, http.MethodPatch:
		req.op = req.r.Method + " Microsoft.Resources/subscriptions/resourceGroups/write"
		body := req.body
		if req.r.Method == http.MethodPatch {
			// PATCH changes tags; the location stays.
			old, err := a.cfg.ARM.GetResourceGroup(ctx, req.p, sub, rg)
			if err != nil {
				return err
			}
			body = patchedRGBody(old, req.body)
		}
		res, created, err := a.cfg.ARM.PutResourceGroup(ctx, req.p, sub, rg, body)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		httpx.WriteJSON(req.w, status, res)
		return nil
	case http.MethodDelete:
		req.op = "DELETE Microsoft.Resources/subscriptions/resourceGroups/delete"
		err := a.cfg.ARM.DeleteResourceGroup(ctx, req.p, sub, rg)
		if err != nil {
			return err
		}
		req.w.WriteHeader(http.StatusOK)
		return nil
	}
	return noRoute(req.r)
}

func (a *API) listResources(req *request, sub, rg, typ string) error {
	res, err := a.cfg.ARM.ListResources(req.r.Context(), req.p, sub, rg, typ)
	if err != nil {
		return err
	}
	writeList(req.w, res)
	return nil
}

// listAllResources is GET /subscriptions/{s}[/resourceGroups/{rg}]/resources with $filter on resourceType and
// name (az finds a vault's resource group this way).
func (a *API) listAllResources(req *request, sub, rg string) error {
	typ, name, err := parseResourcesFilter(req.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	res, err := a.cfg.ARM.ListResources(req.r.Context(), req.p, sub, rg, typ)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, r := range res {
		if name != "" && !strings.EqualFold(r.Name, name) {
			continue
		}
		item := map[string]any{"id": r.ID, "name": r.Name, "type": r.Type, "location": r.Location, "tags": r.Tags}
		if r.Kind != "" {
			item["kind"] = r.Kind
		}
		items = append(items, item)
	}
	writeList(req.w, items)
	return nil
}

// parseResourcesFilter reads "resourceType eq 'X'", "name eq 'Y'" and both joined by "and".
func parseResourcesFilter(f string) (typ, name string, err error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return "", "", nil
	}
	for _, part := range strings.Split(f, " and ") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), " eq ")
		v = strings.TrimSpace(v)
		if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			return "", "", &arm.Error{Code: "InvalidFilterInQueryString", HTTPStatus: http.StatusBadRequest, Message: "Invalid $filter '" + f + "' specified in the query string."}
		}
		v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "resourcetype":
			typ = v
		case "name":
			name = v
		default:
			return "", "", &arm.Error{Code: "InvalidFilterInQueryString", HTTPStatus: http.StatusBadRequest, Message: "Invalid $filter '" + f + "' specified in the query string."}
		}
	}
	return typ, name, nil
}

func (a *API) checkVaultName(req *request) error {
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := decodeJSON(req.body, &in); err != nil {
		return err
	}
	if !strings.EqualFold(in.Type, "Microsoft.KeyVault/vaults") {
		return &arm.Error{Code: "BadRequest", HTTPStatus: http.StatusBadRequest, Message: "The type must be 'Microsoft.KeyVault/vaults'."}
	}
	httpx.WriteJSON(req.w, http.StatusOK, a.cfg.ARM.CheckVaultName(req.r.Context(), in.Name))
	return nil
}

func (a *API) listDeletedVaults(req *request, sub string) error {
	items, err := a.cfg.ARM.DeletedVaults(req.r.Context(), req.p, sub)
	if err != nil {
		return err
	}
	writeList(req.w, items)
	return nil
}

func (a *API) getDeletedVault(req *request, sub, loc, name string) error {
	d, err := a.cfg.ARM.DeletedVault(req.r.Context(), req.p, sub, loc, name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, d)
	return nil
}

func (a *API) purgeDeletedVault(req *request, sub, loc, name string) error {
	req.op = "POST Microsoft.KeyVault/locations/deletedVaults/purge/action"
	req.target = "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/" + loc + "/deletedVaults/" + name
	if err := a.cfg.ARM.PurgeDeletedVault(req.r.Context(), req.p, sub, loc, name); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func appSettingsView(site arm.Resource, settings map[string]string) map[string]any {
	return map[string]any{"id": site.ID + "/config/appsettings", "name": "appsettings", "type": "Microsoft.Web/sites/config",
		"location": site.Location, "properties": settings}
}

func (a *API) listAppSettings(req *request, siteID string) error {
	settings, site, err := a.cfg.ARM.AppSettings(req.r.Context(), req.p, siteID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, appSettingsView(site, settings))
	return nil
}

func (a *API) setAppSettings(req *request, siteID string) error {
	req.op, req.target = "PUT Microsoft.Web/sites/config/write", siteID+"/config/appsettings"
	settings, site, err := a.cfg.ARM.SetAppSettings(req.r.Context(), req.p, siteID, req.body)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, appSettingsView(site, settings))
	return nil
}

func (a *API) accessPolicies(req *request, vaultID, kind string) error {
	req.op, req.target = "PUT Microsoft.KeyVault/vaults/accessPolicies/write", vaultID+"/accessPolicies/"+kind
	policies, err := a.cfg.ARM.UpdateAccessPolicies(req.r.Context(), req.p, vaultID, kind, req.body)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"id": vaultID + "/accessPolicies/", "type": "Microsoft.KeyVault/vaults/accessPolicies",
		"properties": map[string]any{"accessPolicies": policies}})
	return nil
}

func (a *API) checkSiteName(req *request) error {
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := decodeJSON(req.body, &in); err != nil {
		return err
	}
	out, err := a.cfg.ARM.CheckSiteName(req.r.Context(), in.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, out)
	return nil
}

func (a *API) slotConfigNames(req *request, siteID string) error {
	var names map[string]any
	var site arm.Resource
	var err error
	switch req.r.Method {
	case http.MethodGet:
		names, site, err = a.cfg.ARM.SlotConfigNames(req.r.Context(), req.p, siteID)
	case http.MethodPut:
		req.op, req.target = "PUT Microsoft.Web/sites/config/write", siteID+"/config/slotConfigNames"
		names, site, err = a.cfg.ARM.SetSlotConfigNames(req.r.Context(), req.p, siteID, req.body)
	default:
		return noRoute(req.r)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"id": site.ID + "/config/slotConfigNames", "name": "slotConfigNames",
		"type": "Microsoft.Web/sites/config", "location": site.Location, "properties": names})
	return nil
}

func (a *API) siteConfig(req *request, siteID string) error {
	cfg, site, err := a.cfg.ARM.SiteConfig(req.r.Context(), req.p, siteID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"id": site.ID + "/config/web", "name": "web",
		"type": "Microsoft.Web/sites/config", "location": site.Location, "properties": cfg})
	return nil
}

// auditRecords serves keyhaven's audit trail: GET /subscriptions/{s}/providers/Keyhaven.Audit/records with
// optional vault, caller (object id), since and until (RFC 3339), result (a status code, or "success" /
// "failure") and plane filters. Reading it needs Microsoft.Insights/eventtypes/values/read on the subscription
// (Reader and above).
func (a *API) auditRecords(req *request, sub string) error {
	if ok, err := a.cfg.ARM.Allowed(req.r.Context(), req.p, "Microsoft.Insights/eventtypes/values/read", "/subscriptions/"+strings.ToLower(sub), false); err != nil {
		return err
	} else if !ok {
		return &arm.Error{Code: "AuthorizationFailed", HTTPStatus: http.StatusForbidden, Message: "The client '" + req.p.Name + "' with object id '" + req.p.ObjectID +
			"' does not have authorization to perform action 'Microsoft.Insights/eventtypes/values/read' over scope '/subscriptions/" + sub + "' or the scope is invalid."}
	}
	q := req.r.URL.Query()
	f := audit.Filter{CallerOID: q.Get("caller"), Plane: q.Get("plane")}
	for _, t := range []struct {
		name string
		into *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return &arm.Error{Code: "InvalidParameter", HTTPStatus: http.StatusBadRequest, Message: "'" + t.name + "' must be an RFC 3339 time."}
			}
			*t.into = ts
		}
	}
	recs, err := a.cfg.Audit.List(req.r.Context(), f)
	if err != nil {
		return err
	}
	vault, result := strings.ToLower(q.Get("vault")), strings.ToLower(q.Get("result"))
	out := []audit.Record{}
	for _, r := range recs {
		if !auditInSubscription(r, sub) || vault != "" && !auditTargetsVault(r.Target, vault) {
			continue
		}
		switch {
		case result == "":
		case result == "success" && r.Status < 400, result == "failure" && r.Status >= 400:
		case result == strconv.Itoa(r.Status):
		default:
			continue
		}
		r.Resource = "" // it places the record; the served shape stays as documented
		out = append(out, r)
	}
	writeList(req.w, out)
	return nil
}

// runtimeCredential is keyhaven's action POST {app id}/keyhavenRuntimeCredential: a credential for a runner of
// the app (keyhaven webapp run), for whoever may deploy to it (write on the app).
func (a *API) runtimeCredential(req *request, appID string) error {
	req.op, req.target = "POST keyhavenRuntimeCredential/action", appID
	id, err := arm.ParseID(appID)
	if err != nil {
		return err
	}
	id = id.Canonical()
	if ok, err := a.cfg.ARM.Allowed(req.r.Context(), req.p, id.FullType()+"/write", id.Scope(), false); err != nil {
		return err
	} else if !ok {
		return &arm.Error{Code: "AuthorizationFailed", HTTPStatus: http.StatusForbidden, Message: "The client '" + req.p.Name + "' with object id '" + req.p.ObjectID +
			"' does not have authorization to perform action '" + id.FullType() + "/write' over scope '" + id.String() + "' or the scope is invalid."}
	}
	site, err := a.cfg.ARM.GetResource(req.r.Context(), req.p, appID)
	if err != nil {
		return err
	}
	cred, exp, err := a.cfg.Runtime.IssueCredential(req.r.Context(), site.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(req.w, http.StatusOK, map[string]any{"credential": cred, "expiresOn": exp.Format(time.RFC3339), "resourceId": site.ID})
	return nil
}

// auditTargetsVault reports whether a record's target is the vault or something in it: data-plane targets are
// "<vault>/secrets/<name>", management targets resource ids ".../vaults/<vault>[/...]".
// auditInSubscription reports whether a record is about something in the subscription: a management call on a
// resource under it, or a data-plane call on one of its vaults. Reading a subscription's trail shows nothing else.
func auditInSubscription(r audit.Record, sub string) bool {
	id := r.Target
	if r.Plane == "data" {
		id = r.Resource
	}
	prefix := "/subscriptions/" + strings.ToLower(sub)
	id = strings.ToLower(id)
	return id == prefix || strings.HasPrefix(id, prefix+"/")
}

func auditTargetsVault(target, vault string) bool {
	t := strings.ToLower(target)
	if t == vault || strings.HasPrefix(t, vault+"/") {
		return true
	}
	i := strings.Index(t, "/vaults/"+vault)
	if i < 0 {
		return false
	}
	rest := t[i+len("/vaults/"+vault):]
	return rest == "" || strings.HasPrefix(rest, "/")
}
