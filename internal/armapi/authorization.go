package armapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/httpx"
)

// authorization serves {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}].
func (a *API) authorization(req *request, scope string, rest []string) error {
	ctx := req.r.Context()
	m := req.r.Method
	if scope == "" {
		scope = "/"
	}
	sub := ""
	if id, err := arm.ParseID(scope); err == nil {
		sub = id.Subscription
	}
	if len(rest) == 0 {
		return noRoute(req.r)
	}
	switch {
	case eq(rest[0], "roleAssignments") && len(rest) == 1 && m == http.MethodGet:
		list, err := a.cfg.ARM.ListRoleAssignments(ctx, req.p, scope, req.r.URL.Query().Get("$filter"))
		if err != nil {
			return err
		}
		writeList(req.w, list)
		return nil
	case eq(rest[0], "roleAssignments") && len(rest) == 2:
		name := rest[1]
		req.target = strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
		switch m {
		case http.MethodPut:
			req.op = "PUT Microsoft.Authorization/roleAssignments/write"
			as, created, err := a.cfg.ARM.CreateRoleAssignment(ctx, req.p, scope, name, req.body)
			if err != nil {
				return err
			}
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			httpx.WriteJSON(req.w, status, as)
			return nil
		case http.MethodGet:
			as, err := a.cfg.ARM.RoleAssignment(ctx, req.p, scope, name)
			if err != nil {
				return err
			}
			httpx.WriteJSON(req.w, http.StatusOK, as)
			return nil
		case http.MethodDelete:
			req.op = "DELETE Microsoft.Authorization/roleAssignments/delete"
			as, found, err := a.cfg.ARM.DeleteRoleAssignment(ctx, req.p, scopeOrAny(scope), name)
			if err != nil {
				return err
			}
			if !found {
				req.w.WriteHeader(http.StatusNoContent)
				return nil
			}
			httpx.WriteJSON(req.w, http.StatusOK, as)
			return nil
		}
	case eq(rest[0], "roleDefinitions") && len(rest) == 1 && m == http.MethodGet:
		defs, err := a.cfg.ARM.RoleDefinitions(ctx, req.p, scope, req.r.URL.Query().Get("$filter"))
		if err != nil {
			return err
		}
		items := make([]map[string]any, 0, len(defs))
		for _, d := range defs {
			items = append(items, arm.RoleDefinitionView(d, sub))
		}
		writeList(req.w, items)
		return nil
	case eq(rest[0], "roleDefinitions") && len(rest) == 2:
		guid := rest[1]
		req.target = strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
		switch m {
		case http.MethodGet:
			d, err := a.cfg.ARM.RoleDefinition(ctx, req.p, guid)
			if err != nil {
				return err
			}
			httpx.WriteJSON(req.w, http.StatusOK, arm.RoleDefinitionView(d, sub))
			return nil
		case http.MethodPut:
			req.op = "PUT Microsoft.Authorization/roleDefinitions/write"
			d, err := a.cfg.ARM.PutRoleDefinition(ctx, req.p, scope, guid, req.body)
			if err != nil {
				return err
			}
			httpx.WriteJSON(req.w, http.StatusCreated, arm.RoleDefinitionView(d, sub))
			return nil
		case http.MethodDelete:
			req.op = "DELETE Microsoft.Authorization/roleDefinitions/delete"
			d, found, err := a.cfg.ARM.DeleteRoleDefinition(ctx, req.p, scope, guid)
			if err != nil {
				return err
			}
			if !found {
				req.w.WriteHeader(http.StatusNoContent)
				return nil
			}
			httpx.WriteJSON(req.w, http.StatusOK, arm.RoleDefinitionView(d, sub))
			return nil
		}
	}
	return noRoute(req.r)
}

// scopeOrAny lets DELETE by assignment id work from the tenant root (/providers/.../roleAssignments/{name}).
func scopeOrAny(scope string) string {
	if scope == "/" {
		return ""
	}
	return scope
}

// patchedRGBody turns a resource group PATCH (tags) into the PUT body that keeps the location.
func patchedRGBody(old arm.Resource, patch []byte) []byte {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	json.Unmarshal(patch, &in)
	tags := old.Tags
	if in.Tags != nil {
		tags = in.Tags
	}
	b, _ := json.Marshal(map[string]any{"location": old.Location, "tags": tags, "managedBy": old.ManagedBy})
	return b
}

func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &arm.Error{Code: "InvalidRequestContent", HTTPStatus: http.StatusBadRequest, Message: "The request content was invalid and could not be deserialized."}
	}
	return nil
}
