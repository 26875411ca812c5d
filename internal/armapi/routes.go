package armapi

import (
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/httpx"
)

func eq(a, b string) bool { return strings.EqualFold(a, b) }

// route dispatches an ARM path. The shapes served:
//
//	/subscriptions, /tenants, /subscriptions/{s}
//	/subscriptions/{s}/resources, /subscriptions/{s}/resourcegroups[/{rg}[/resources]]
//	/subscriptions/{s}/providers/{ns}/{type}                     list by subscription
//	/subscriptions/{s}/providers/Microsoft.KeyVault/...           deletedVaults, checkNameAvailability
//	/subscriptions/{s}/resourcegroups/{rg}/providers/{ns}/{type}[/{name}[/...]]
//	{scope}/providers/Microsoft.Authorization/role{Assignments,Definitions}[/{name}]
func (a *API) route(req *request) error {
	segs, m := req.segs, req.r.Method
	// Authorization resources hang off any scope.
	for i := 0; i+1 < len(segs); i++ {
		if eq(segs[i], "providers") && eq(segs[i+1], "Microsoft.Authorization") {
			scope := "/" + strings.Join(segs[:i], "/")
			return a.authorization(req, scope, segs[i+2:])
		}
	}
	switch {
	case len(segs) == 1 && eq(segs[0], "subscriptions") && m == http.MethodGet:
		return a.listSubscriptions(req)
	case len(segs) == 1 && eq(segs[0], "tenants") && m == http.MethodGet:
		return a.listTenants(req)
	case len(segs) < 2 || !eq(segs[0], "subscriptions"):
		return noRoute(req.r)
	}
	sub, rest := segs[1], segs[2:]
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		return a.getSubscription(req, sub)
	case len(rest) == 1 && eq(rest[0], "resources") && m == http.MethodGet:
		return a.listAllResources(req, sub, "")
	case len(rest) == 1 && eq(rest[0], "resourcegroups") && m == http.MethodGet:
		return a.listResourceGroups(req, sub)
	case len(rest) == 2 && eq(rest[0], "resourcegroups"):
		return a.resourceGroup(req, sub, rest[1])
	case len(rest) == 3 && eq(rest[0], "resourcegroups") && eq(rest[2], "resources") && m == http.MethodGet:
		return a.listAllResources(req, sub, rest[1])
	case len(rest) >= 3 && eq(rest[0], "providers"):
		return a.subscriptionProvider(req, sub, rest[1], rest[2:])
	case len(rest) >= 5 && eq(rest[0], "resourcegroups") && eq(rest[2], "providers"):
		return a.resourceGroupProvider(req, sub, rest[1], rest[3], rest[4:])
	}
	return noRoute(req.r)
}

// subscriptionProvider serves /subscriptions/{s}/providers/{ns}/...
func (a *API) subscriptionProvider(req *request, sub, ns string, rest []string) error {
	m := req.r.Method
	if eq(ns, "Microsoft.KeyVault") {
		switch {
		case len(rest) == 1 && eq(rest[0], "checkNameAvailability") && m == http.MethodPost:
			return a.checkVaultName(req)
		case len(rest) == 1 && eq(rest[0], "deletedVaults") && m == http.MethodGet:
			return a.listDeletedVaults(req, sub)
		case len(rest) == 4 && eq(rest[0], "locations") && eq(rest[2], "deletedVaults") && m == http.MethodGet:
			return a.getDeletedVault(req, sub, rest[1], rest[3])
		case len(rest) == 5 && eq(rest[0], "locations") && eq(rest[2], "deletedVaults") && eq(rest[4], "purge") && m == http.MethodPost:
			return a.purgeDeletedVault(req, sub, rest[1], rest[3])
		}
	}
	if eq(ns, "Keyhaven.Audit") && len(rest) == 1 && eq(rest[0], "records") && m == http.MethodGet {
		return a.auditRecords(req, sub)
	}
	if eq(ns, "Microsoft.Web") && len(rest) == 1 && eq(rest[0], "checknameavailability") && m == http.MethodPost {
		return a.checkSiteName(req)
	}
	if len(rest) == 1 && m == http.MethodGet {
		return a.listResources(req, sub, "", ns+"/"+rest[0])
	}
	return noRoute(req.r)
}

// resourceGroupProvider serves /subscriptions/{s}/resourcegroups/{rg}/providers/{ns}/{type}[/{name}[/...]].
func (a *API) resourceGroupProvider(req *request, sub, rg, ns string, rest []string) error {
	m := req.r.Method
	base := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + ns + "/" + strings.Join(rest, "/")
	switch {
	case len(rest) == 1 && m == http.MethodGet:
		return a.listResources(req, sub, rg, ns+"/"+rest[0])
	case len(rest) == 2:
		return a.resource(req, base)
	case len(rest) == 4 && eq(ns, "Microsoft.Web") && eq(rest[0], "sites") && eq(rest[2], "config") && eq(rest[3], "appsettings") && m == http.MethodPut:
		return a.setAppSettings(req, parentID(base, 2))
	case len(rest) == 5 && eq(ns, "Microsoft.Web") && eq(rest[0], "sites") && eq(rest[2], "config") && eq(rest[3], "appsettings") && eq(rest[4], "list") && m == http.MethodPost:
		return a.listAppSettings(req, parentID(base, 3))
	case len(rest) == 3 && (eq(ns, "Microsoft.Web") && eq(rest[0], "sites") || eq(ns, "Microsoft.Compute") && eq(rest[0], "virtualMachines")) &&
		eq(rest[2], "keyhavenRuntimeCredential") && m == http.MethodPost:
		return a.runtimeCredential(req, parentID(base, 1))
	case len(rest) == 4 && eq(ns, "Microsoft.Web") && eq(rest[0], "sites") && eq(rest[2], "config") && eq(rest[3], "slotConfigNames"):
		return a.slotConfigNames(req, parentID(base, 2))
	case len(rest) == 4 && eq(ns, "Microsoft.Web") && eq(rest[0], "sites") && eq(rest[2], "config") && eq(rest[3], "web") && m == http.MethodGet:
		return a.siteConfig(req, parentID(base, 2))
	case len(rest) == 4 && eq(ns, "Microsoft.KeyVault") && eq(rest[0], "vaults") && eq(rest[2], "accessPolicies") && m == http.MethodPut:
		return a.accessPolicies(req, parentID(base, 2), rest[3])
	}
	return noRoute(req.r)
}

// parentID drops the last n segments of an id.
func parentID(id string, n int) string {
	segs := strings.Split(id, "/")
	return strings.Join(segs[:len(segs)-n], "/")
}

// resource serves a top-level resource: PUT, PATCH, GET, DELETE.
func (a *API) resource(req *request, id string) error {
	ctx := req.r.Context()
	req.target = id
	switch req.r.Method {
	case http.MethodGet:
		res, err := a.cfg.ARM.GetResource(ctx, req.p, id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(req.w, http.StatusOK, res)
		return nil
	case http.MethodPut, http.MethodPatch:
		patch := req.r.Method == http.MethodPatch
		req.op = req.r.Method + " " + typeOfPath(id) + "/write"
		res, created, err := a.cfg.ARM.PutResource(ctx, req.p, id, req.body, patch)
		if err != nil {
			return err
		}
		req.target = res.ID
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		httpx.WriteJSON(req.w, status, res)
		return nil
	case http.MethodDelete:
		req.op = "DELETE " + typeOfPath(id) + "/delete"
		deleted, err := a.cfg.ARM.DeleteResource(ctx, req.p, id)
		if err != nil {
			return err
		}
		if deleted {
			req.w.WriteHeader(http.StatusOK)
		} else {
			req.w.WriteHeader(http.StatusNoContent)
		}
		return nil
	}
	return noRoute(req.r)
}

func typeOfPath(id string) string {
	if i, err := arm.ParseID(id); err == nil {
		return i.Canonical().FullType()
	}
	return id
}
