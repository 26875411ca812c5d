package arm

import (
	"context"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/storage"
)

// scopeCovers reports whether an assignment at scope applies to target: the same scope or one below it. Both are
// compared case-insensitively, on segment boundaries.
func scopeCovers(scope, target string) bool {
	scope = strings.ToLower(strings.TrimSuffix(scope, "/"))
	target = strings.ToLower(strings.TrimSuffix(target, "/"))
	if scope == "" || scope == "/" {
		return true
	}
	return target == scope || strings.HasPrefix(target, scope+"/")
}

// roleOf resolves an assignment's role definition id (a full id or a GUID) to the definition.
func (s *Service) roleOf(ctx context.Context, roleDefinitionID string) (RoleDefinition, bool) {
	guid := roleDefinitionGUID(roleDefinitionID)
	if r, ok := builtinByID(guid); ok {
		return r, true
	}
	r, _, err := storage.GetJSON[RoleDefinition](ctx, s.store, kindRoleDef, guid)
	return r, err == nil
}

// Allowed reports whether the principal (directly or through its groups) holds a role at or above scope that
// grants the action (data=false) or data action (data=true).
func (s *Service) Allowed(ctx context.Context, p Principal, action, scope string, data bool) (bool, error) {
	groups, err := s.dir.TransitiveGroups(ctx, p.TenantID, p.ObjectID)
	if err != nil {
		return false, err
	}
	all, err := s.allAssignments(ctx)
	if err != nil {
		return false, err
	}
	ids := map[string]bool{strings.ToLower(p.ObjectID): true}
	for _, g := range groups {
		ids[strings.ToLower(g)] = true
	}
	for _, a := range all {
		if !ids[strings.ToLower(a.Properties.PrincipalID)] || !scopeCovers(a.Properties.Scope, scope) {
			continue
		}
		role, ok := s.roleOf(ctx, a.Properties.RoleDefinitionID)
		if ok && role.Allows(action, data) {
			return true, nil
		}
	}
	return false, nil
}

// authorize refuses with ARM's AuthorizationFailed unless the principal may perform action over scope.
func (s *Service) authorize(ctx context.Context, p Principal, action, scope string) error {
	ok, err := s.Allowed(ctx, p, action, scope, false)
	if err != nil {
		return err
	}
	if !ok {
		return armErr(http.StatusForbidden, "AuthorizationFailed",
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
			p.Name, p.ObjectID, action, scope)
	}
	return nil
}

// action builds the action string of an operation on a resource type: Microsoft.Web/sites/write.
func action(id ID, verb string) string {
	return id.Canonical().FullType() + "/" + verb
}
