package arm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/storage"
)

// ValidScope checks a role assignment scope: a subscription, a resource group, a resource, or an object inside a
// vault (/secrets/<name>, /keys/<name>, /certificates/<name>). It returns the scope in canonical form.
func (s *Service) ValidScope(ctx context.Context, scope string) (string, error) {
	if scope == "/" {
		return "/", nil
	}
	id, err := ParseID(scope)
	if err != nil {
		return "", badRequest("InvalidScope", "The scope '%s' is not valid: %s", scope, err.Error())
	}
	id = id.Canonical()
	if err := s.checkSubscription(ctx, id.Subscription); err != nil {
		return "", err
	}
	if id.IsCollection() {
		return "", badRequest("InvalidScope", "The scope '%s' is not valid: it names a collection, not a resource.", scope)
	}
	if id.Provider != "" && len(id.Names) == 2 && strings.EqualFold(id.FullType(), "Microsoft.KeyVault/vaults/"+id.Types[1]) {
		switch id.Types[1] {
		case "secrets", "keys", "certificates":
		default:
			return "", badRequest("InvalidScope", "The scope '%s' is not valid.", scope)
		}
	} else if id.Provider != "" && len(id.Names) != 1 {
		return "", badRequest("InvalidScope", "The scope '%s' is not valid.", scope)
	}
	return id.String(), nil
}

// roleDefinitionGUID extracts the GUID from a role definition id (full or bare).
func roleDefinitionGUID(id string) string { return strings.ToLower(id[strings.LastIndex(id, "/")+1:]) }

// CreateRoleAssignment is PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}.
func (s *Service) CreateRoleAssignment(ctx context.Context, p Principal, scope, name string, body []byte) (rbac.Assignment, bool, error) {
	defer s.invalidate()
	scope, err := s.ValidScope(ctx, scope)
	if err != nil {
		return rbac.Assignment{}, false, err
	}
	if _, err := uuid.Parse(name); err != nil {
		return rbac.Assignment{}, false, badRequest("InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	name = strings.ToLower(name)
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleAssignments/write", strings.ToLower(scope)); err != nil {
		return rbac.Assignment{}, false, err
	}
	var in struct {
		Properties struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			PrincipalID      string `json:"principalId"`
			PrincipalType    string `json:"principalType"`
			Description      string `json:"description"`
		} `json:"properties"`
	}
	if err := decodeBody(body, &in); err != nil {
		return rbac.Assignment{}, false, err
	}
	guid := roleDefinitionGUID(in.Properties.RoleDefinitionID)
	if _, ok := s.roleOf(ctx, guid); !ok || in.Properties.RoleDefinitionID == "" {
		return rbac.Assignment{}, false, badRequest("RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid)
	}
	principal, err := s.dir.Principal(ctx, p.TenantID, in.Properties.PrincipalID)
	if errors.Is(err, directory.ErrNotFound) {
		return rbac.Assignment{}, false, badRequest("PrincipalNotFound", "Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype", strings.ReplaceAll(in.Properties.PrincipalID, "-", ""), p.TenantID)
	}
	if err != nil {
		return rbac.Assignment{}, false, err
	}
	ptype := map[string]string{directory.TypeUser: "User", directory.TypeGroup: "Group", directory.TypeServicePrincipal: "ServicePrincipal"}[principal.Type]
	id, _ := ParseID(scope)
	sub := id.Subscription
	a := rbac.NewAssignment(name, scope, sub, guid, principal.ID, ptype, s.now())
	if scope == "/" {
		a.ID = "/providers/Microsoft.Authorization/roleAssignments/" + name
		a.Properties.RoleDefinitionID = "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	a.Properties.Description = in.Properties.Description
	a.Properties.CreatedBy = p.ObjectID
	a.Properties.UpdatedOn = a.Properties.CreatedOn
	a.Properties.UpdatedBy = p.ObjectID
	created := false
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		all, err := storage.ListAll[rbac.Assignment](ctx, tx, rbac.KindRoleAssignment, "")
		if err != nil {
			return err
		}
		for _, o := range all {
			same := strings.EqualFold(o.Properties.Scope, scope) && strings.EqualFold(o.Properties.PrincipalID, principal.ID) &&
				roleDefinitionGUID(o.Properties.RoleDefinitionID) == guid
			if o.Name == name {
				if same {
					a = o // idempotent re-PUT
					return nil
				}
				return badRequest("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			if same {
				return armErr(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
			}
		}
		created = true
		return rbac.Create(ctx, tx, a)
	})
	return a, created, err
}

// RoleAssignment reads one assignment by scope and name.
func (s *Service) RoleAssignment(ctx context.Context, p Principal, scope, name string) (rbac.Assignment, error) {
	a, _, err := storage.GetJSON[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, strings.ToLower(name))
	if err != nil || !strings.EqualFold(strings.TrimSuffix(a.Properties.Scope, "/"), strings.TrimSuffix(scope, "/")) && scope != "" {
		return rbac.Assignment{}, armErr(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
	}
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleAssignments/read", strings.ToLower(a.Properties.Scope)); err != nil {
		return rbac.Assignment{}, err
	}
	return a, nil
}

// DeleteRoleAssignment removes an assignment; it returns the deleted assignment, or found=false.
func (s *Service) DeleteRoleAssignment(ctx context.Context, p Principal, scope, name string) (rbac.Assignment, bool, error) {
	defer s.invalidate()
	a, _, err := storage.GetJSON[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, strings.ToLower(name))
	if errors.Is(err, storage.ErrNotFound) || err == nil && scope != "" && !strings.EqualFold(strings.TrimSuffix(a.Properties.Scope, "/"), strings.TrimSuffix(scope, "/")) {
		return rbac.Assignment{}, false, nil
	}
	if err != nil {
		return rbac.Assignment{}, false, err
	}
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleAssignments/delete", strings.ToLower(a.Properties.Scope)); err != nil {
		return rbac.Assignment{}, false, err
	}
	if err := s.store.Delete(ctx, rbac.KindRoleAssignment, a.Name, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return rbac.Assignment{}, false, err
	}
	return a, true, nil
}

// ListRoleAssignments lists assignments that apply at scope (at it and above it) and below it. filter is ARM's
// $filter: atScope(), principalId eq '{id}', assignedTo('{id}') (the principal and its groups).
func (s *Service) ListRoleAssignments(ctx context.Context, p Principal, scope, filter string) ([]rbac.Assignment, error) {
	scopeKey := strings.ToLower(strings.TrimSuffix(scope, "/"))
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleAssignments/read", scopeKey); err != nil {
		return nil, err
	}
	atScope, principals, err := s.parseAssignmentFilter(ctx, p, filter)
	if err != nil {
		return nil, err
	}
	all, err := storage.ListAll[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, "")
	if err != nil {
		return nil, err
	}
	out := []rbac.Assignment{}
	for _, a := range all {
		as := strings.ToLower(strings.TrimSuffix(a.Properties.Scope, "/"))
		above := scopeCovers(as, scopeKey)
		below := scopeCovers(scopeKey, as)
		if !(above || (below && !atScope)) {
			continue
		}
		if principals != nil && !principals[strings.ToLower(a.Properties.PrincipalID)] {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *Service) parseAssignmentFilter(ctx context.Context, p Principal, filter string) (bool, map[string]bool, error) {
	f := strings.TrimSpace(filter)
	if f == "" {
		return false, nil, nil
	}
	atScope := false
	var principals map[string]bool
	for _, part := range strings.Split(f, " and ") {
		part = strings.TrimSpace(part)
		lower := strings.ToLower(part)
		switch {
		case lower == "atscope()":
			atScope = true
		case strings.HasPrefix(lower, "principalid eq '") && strings.HasSuffix(part, "'"):
			principals = map[string]bool{strings.ToLower(part[len("principalId eq '") : len(part)-1]): true}
		case strings.HasPrefix(lower, "assignedto('") && strings.HasSuffix(part, "')"):
			id := strings.ToLower(part[len("assignedTo('") : len(part)-2])
			groups, err := s.dir.TransitiveGroups(ctx, p.TenantID, id)
			if err != nil {
				return false, nil, err
			}
			principals = map[string]bool{id: true}
			for _, g := range groups {
				principals[g] = true
			}
		default:
			return false, nil, badRequest("InvalidFilter", "The filter '%s' is not supported.", filter)
		}
	}
	return atScope, principals, nil
}

// RoleDefinitionView is a role definition in ARM's shape at a scope.
func RoleDefinitionView(r RoleDefinition, subscription string) map[string]any {
	id := "/providers/Microsoft.Authorization/roleDefinitions/" + r.Name
	if subscription != "" {
		id = "/subscriptions/" + subscription + id
	}
	return map[string]any{"id": id, "name": r.Name, "type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{"roleName": r.RoleName, "type": r.Type, "description": r.Description,
			"assignableScopes": r.AssignableScopes, "permissions": r.Permissions,
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2024-01-01T00:00:00.0000000Z", "createdBy": nil, "updatedBy": nil}}
}

// RoleDefinitions lists built-in and custom roles, filtered by roleName eq '...' or type eq 'BuiltInRole|CustomRole'.
func (s *Service) RoleDefinitions(ctx context.Context, p Principal, scope, filter string) ([]RoleDefinition, error) {
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleDefinitions/read", strings.ToLower(strings.TrimSuffix(scope, "/"))); err != nil {
		return nil, err
	}
	custom, err := storage.ListAll[RoleDefinition](ctx, s.store, kindRoleDef, "")
	if err != nil {
		return nil, err
	}
	all := append(append([]RoleDefinition{}, BuiltinRoles...), custom...)
	f := strings.TrimSpace(filter)
	var field, value string
	if f != "" {
		k, v, ok := strings.Cut(f, " eq ")
		if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			return nil, badRequest("InvalidFilter", "The filter '%s' is not supported.", filter)
		}
		field, value = strings.ToLower(strings.TrimSpace(k)), strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		if field != "rolename" && field != "type" {
			return nil, badRequest("InvalidFilter", "The filter '%s' is not supported.", filter)
		}
	}
	out := []RoleDefinition{}
	for _, r := range all {
		switch field {
		case "rolename":
			if !strings.EqualFold(r.RoleName, value) {
				continue
			}
		case "type":
			if !strings.EqualFold(r.Type, value) {
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// RoleDefinition reads one role by GUID.
func (s *Service) RoleDefinition(ctx context.Context, p Principal, guid string) (RoleDefinition, error) {
	r, ok := s.roleOf(ctx, guid)
	if !ok {
		return r, armErr(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid)
	}
	return r, nil
}

// PutRoleDefinition creates or updates a custom role.
func (s *Service) PutRoleDefinition(ctx context.Context, p Principal, scope, guid string, body []byte) (RoleDefinition, error) {
	defer s.invalidate()
	if _, err := uuid.Parse(guid); err != nil {
		return RoleDefinition{}, badRequest("InvalidRoleDefinitionId", "The role definition ID '%s' is not valid. The role definition ID must be a GUID.", guid)
	}
	if _, ok := builtinByID(guid); ok {
		return RoleDefinition{}, badRequest("RoleDefinitionUpdateNotPermitted", "Built-in roles cannot be changed.")
	}
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleDefinitions/write", strings.ToLower(strings.TrimSuffix(scope, "/"))); err != nil {
		return RoleDefinition{}, err
	}
	var in struct {
		Properties struct {
			RoleName         string       `json:"roleName"`
			Description      string       `json:"description"`
			AssignableScopes []string     `json:"assignableScopes"`
			Permissions      []Permission `json:"permissions"`
		} `json:"properties"`
	}
	if err := decodeBody(body, &in); err != nil {
		return RoleDefinition{}, err
	}
	if in.Properties.RoleName == "" || len(in.Properties.AssignableScopes) == 0 || len(in.Properties.Permissions) == 0 {
		return RoleDefinition{}, badRequest("InvalidRoleDefinition", "A custom role needs roleName, assignableScopes and permissions.")
	}
	for _, sc := range in.Properties.AssignableScopes {
		if _, err := s.ValidScope(ctx, sc); err != nil {
			return RoleDefinition{}, err
		}
	}
	r := RoleDefinition{Name: strings.ToLower(guid), RoleName: in.Properties.RoleName, Type: "CustomRole", Description: in.Properties.Description,
		AssignableScopes: in.Properties.AssignableScopes, Permissions: in.Properties.Permissions}
	for i := range r.Permissions {
		for _, l := range []*[]string{&r.Permissions[i].Actions, &r.Permissions[i].NotActions, &r.Permissions[i].DataActions, &r.Permissions[i].NotDataActions} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return r, storage.PutJSON(ctx, s.store, kindRoleDef, r.Name, 0, r)
}

// DeleteRoleDefinition deletes a custom role that no assignment uses.
func (s *Service) DeleteRoleDefinition(ctx context.Context, p Principal, scope, guid string) (RoleDefinition, bool, error) {
	defer s.invalidate()
	if _, ok := builtinByID(guid); ok {
		return RoleDefinition{}, false, badRequest("RoleDefinitionUpdateNotPermitted", "Built-in roles cannot be deleted.")
	}
	if err := s.authorize(ctx, p, "Microsoft.Authorization/roleDefinitions/delete", strings.ToLower(strings.TrimSuffix(scope, "/"))); err != nil {
		return RoleDefinition{}, false, err
	}
	r, _, err := storage.GetJSON[RoleDefinition](ctx, s.store, kindRoleDef, strings.ToLower(guid))
	if errors.Is(err, storage.ErrNotFound) {
		return r, false, nil
	}
	all, err := storage.ListAll[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, "")
	if err != nil {
		return r, false, err
	}
	for _, a := range all {
		if roleDefinitionGUID(a.Properties.RoleDefinitionID) == r.Name {
			return r, false, armErr(http.StatusConflict, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).")
		}
	}
	return r, true, s.store.Delete(ctx, kindRoleDef, r.Name, 0)
}

var _ = json.Marshal
