package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// This file follows azure-cli's role module (role/custom.py): role definitions and assignments at a scope.

const scopeWarning = "--scope argument will become required for creating a role assignment in the breaking change release of the fall of 2023. Please explicitly specify --scope."

func newAssignmentName() string { return uuid.NewString() }

// odataFilter encodes a $filter value as the Azure SDK does (spaces as %20).
func odataFilter(f string) string {
	return "$filter=" + strings.ReplaceAll(url.QueryEscape(f), "+", "%20")
}

// validScope checks a /subscriptions/... scope the way azure.mgmt.core's is_valid_resource_id accepts one:
// a subscription, a group in it, or a resource (with child resources) in a group.
func validScope(scope string) bool {
	parts := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || parts[1] == "" {
		return false
	}
	rest := parts[2:]
	if len(rest) == 0 {
		return true
	}
	if len(rest) < 2 || !strings.EqualFold(rest[0], "resourceGroups") || rest[1] == "" {
		return false
	}
	rest = rest[2:]
	if len(rest) == 0 {
		return true
	}
	if len(rest) < 4 || !strings.EqualFold(rest[0], "providers") {
		return false
	}
	rest = rest[2:] // providers/{namespace}
	if len(rest)%2 != 0 {
		return false
	}
	for _, p := range rest {
		if p == "" {
			return false
		}
	}
	return true
}

// roleScope is role's _build_role_scope.
func roleScope(a *armClient, rg, scope string) (string, error) {
	if scope != "" {
		if rg != "" {
			return "", fmt.Errorf("Resource group \"%s\" is redundant because scope is supplied", rg)
		}
		if strings.HasPrefix(scope, "/subscriptions/") && !validScope(scope) {
			return "", errors.New("Invalid scope. Please use --help to view the valid format.")
		}
		return scope, nil
	}
	if rg != "" {
		return a.subPath() + "/resourceGroups/" + rg, nil
	}
	return a.subPath(), nil
}

var roleDefinitionIDPattern = regexp.MustCompile(`(?i)^/subscriptions/.+/providers/Microsoft.Authorization/roleDefinitions/`)

// resolveRoleID is role's _resolve_role_id: a full role definition id as it is, a GUID under the
// subscription, or a role name looked up at scope.
func resolveRoleID(ctx context.Context, a *armClient, role, scope string) (string, error) {
	if roleDefinitionIDPattern.MatchString(role) {
		return role, nil
	}
	if isGUID(role) {
		return a.subPath() + "/providers/Microsoft.Authorization/roleDefinitions/" + role, nil
	}
	if scope == "" {
		scope = a.subPath()
	}
	defs, err := a.list(ctx, strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/roleDefinitions?"+odataFilter("roleName eq "+odataQuote(role)), apiAuthorization)
	if err != nil {
		return "", err
	}
	switch len(defs) {
	case 0:
		return "", fmt.Errorf("Role '%s' doesn't exist.", role)
	case 1:
		id, _ := defs[0]["id"].(string)
		return id, nil
	}
	ids := make([]string, len(defs))
	for i, d := range defs {
		id, _ := d["id"].(string)
		ids[i] = "'" + id + "'"
	}
	return "", fmt.Errorf("More than one role matches the given name '%s'. Please pick a value from '[%s]'", role, strings.Join(ids, ", "))
}

// roleDefinitionView prints a RoleDefinition as the SDK model does: properties flattened, the role's
// type as roleType.
func roleDefinitionView(m map[string]any) map[string]any {
	flatten(m, map[string]string{"type": "roleType"})
	withNulls(m, "assignableScopes", "createdBy", "createdOn", "description", "id", "name", "permissions", "roleName", "roleType", "type", "updatedBy", "updatedOn")
	if perms, ok := m["permissions"].([]any); ok {
		for _, p := range perms {
			if pm, ok := p.(map[string]any); ok {
				withNulls(pm, "actions", "notActions", "dataActions", "notDataActions")
			}
		}
	}
	return m
}

// assignmentView prints a RoleAssignment as the SDK model does: properties flattened, every attribute.
func assignmentView(m map[string]any) map[string]any {
	flatten(m, nil)
	return withNulls(m, "condition", "conditionVersion", "createdBy", "createdOn", "delegatedManagedIdentityResourceId", "description",
		"id", "name", "principalId", "principalType", "roleDefinitionId", "scope", "type", "updatedBy", "updatedOn")
}

func assignmentsPath(scope string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments"
}

// resolvePrincipal is role's _resolve_object_id_and_type: a user principal name, a service principal name
// (an app id is one), or an object id checked with directoryObjects/getByIds. When Graph fails and
// fallback is set, a GUID is taken as the object id (with no known type).
func resolvePrincipal(ctx *cli.Context, s *client.Session, assignee string, fallback bool) (string, string, error) {
	id, typ, err := lookupPrincipal(ctx, s, assignee)
	var ge *client.Error
	if err != nil && errors.As(err, &ge) {
		ctx.Log.Warn(fmt.Sprintf("Failed to query %s by invoking Graph API. If you don't have permission to query Graph API, please specify --assignee-object-id and --assignee-principal-type.", assignee))
		if fallback && isGUID(assignee) {
			ctx.Log.Warn(fmt.Sprintf("Assuming %s as an object ID.", assignee))
			return assignee, "", nil
		}
		return "", "", graphErr(err)
	}
	return id, typ, err
}

func lookupPrincipal(ctx *cli.Context, s *client.Session, assignee string) (string, string, error) {
	if strings.Contains(assignee, "@") {
		id, err := graphFirst(ctx, s, filterPath("/users", "userPrincipalName eq "+odataQuote(assignee)))
		if err != nil || id != "" {
			return id, "User", err
		}
	}
	id, err := graphFirst(ctx, s, filterPath("/servicePrincipals", "servicePrincipalNames/any(c:c eq "+odataQuote(assignee)+")"))
	if err != nil || id != "" {
		return id, "ServicePrincipal", err
	}
	if isGUID(assignee) {
		objs, err := graphObjectsByIDs(ctx, s, []string{assignee})
		if err != nil {
			return "", "", err
		}
		if len(objs) > 0 {
			id, _ := objs[0]["id"].(string)
			t, _ := objs[0]["@odata.type"].(string)
			return id, principalTypes[t], nil
		}
	}
	return "", "", fmt.Errorf("Cannot find user or service principal in graph database for '%s'. If the assignee is an appId, make sure the corresponding service principal is created with 'keyhaven ad sp create --id %s'.", assignee, assignee)
}

// searchRoleAssignments is role's _search_role_assignments.
func searchRoleAssignments(ctx *cli.Context, a *armClient, scope, assignee, role string, inherited, groups bool) ([]map[string]any, error) {
	objectID := ""
	if assignee != "" {
		var err error
		if objectID, _, err = resolvePrincipal(ctx, a.s, assignee, true); err != nil {
			return nil, err
		}
	}
	var path string
	switch {
	case scope != "":
		f := "atScope()"
		if objectID != "" && groups {
			f += " and assignedTo('" + objectID + "')"
		}
		path = assignmentsPath(scope) + "?" + odataFilter(f)
	case objectID != "":
		f := "principalId eq '" + objectID + "'"
		if groups {
			f = "assignedTo('" + objectID + "')"
		}
		path = assignmentsPath(a.subPath()) + "?" + odataFilter(f)
	default:
		path = assignmentsPath(a.subPath())
	}
	all, err := a.list(ctx, path, apiAuthorization)
	if err != nil {
		return nil, err
	}
	var roleID string
	if role != "" && len(all) > 0 {
		if roleID, err = resolveRoleID(ctx, a, role, scope); err != nil {
			return nil, err
		}
	}
	out := []map[string]any{}
	for _, as := range all {
		props, _ := as["properties"].(map[string]any)
		s, _ := props["scope"].(string)
		// include_inherited: the assignment's scope is a prefix of the one asked for (re.match, case-insensitive).
		if scope != "" && !(inherited && strings.HasPrefix(strings.ToLower(scope), strings.ToLower(s))) && !strings.EqualFold(s, scope) {
			continue
		}
		if roleID != "" {
			if rd, _ := props["roleDefinitionId"].(string); !strings.EqualFold(rd, roleID) {
				continue
			}
		}
		if objectID != "" && !groups {
			if p, _ := props["principalId"].(string); p != objectID {
				continue
			}
		}
		out = append(out, as)
	}
	return out, nil
}

// displayableName is role's _get_displayable_name.
func displayableName(o map[string]any) string {
	if upn, ok := o["userPrincipalName"].(string); ok {
		return upn
	}
	if spns, ok := o["servicePrincipalNames"].([]any); ok && len(spns) > 0 {
		s, _ := spns[0].(string)
		return s
	}
	s, _ := o["displayName"].(string)
	return s
}

// listRoleAssignments is role's list_role_assignments: the assignments, with roleDefinitionName and
// principalName filled in.
func listRoleAssignments(ctx *cli.Context, a *armClient, assignee, role, rg, scope string, inherited, all, groups bool) ([]map[string]any, error) {
	if all {
		if rg != "" || scope != "" {
			return nil, errors.New("group or scope are not required when --all is used")
		}
	} else {
		var err error
		if scope, err = roleScope(a, rg, scope); err != nil {
			return nil, err
		}
	}
	found, err := searchRoleAssignments(ctx, a, scope, assignee, role, inherited, groups)
	if err != nil || len(found) == 0 {
		return found, err
	}
	defsScope := scope
	if defsScope == "" {
		defsScope = a.subPath()
	}
	defs, err := a.list(ctx, strings.TrimSuffix(defsScope, "/")+"/providers/Microsoft.Authorization/roleDefinitions", apiAuthorization)
	if err != nil {
		return nil, err
	}
	names := map[string]any{}
	for _, d := range defs {
		id, _ := d["id"].(string)
		props, _ := d["properties"].(map[string]any)
		names[id] = props["roleName"]
	}
	principals := map[string]bool{}
	var ids []string
	for _, as := range found {
		assignmentView(as)
		rd, _ := as["roleDefinitionId"].(string)
		as["roleDefinitionName"] = names[rd]
		if p, _ := as["principalId"].(string); p != "" && !principals[p] {
			principals[p] = true
			ids = append(ids, p)
		}
	}
	if len(ids) > 0 {
		// Failing to resolve names (no Graph permission, say) does not fail the listing.
		objs, err := graphObjectsByIDs(ctx, a.s, ids)
		if err != nil {
			ctx.Log.Info(fmt.Sprintf("Failed to resolve graph object information per error '%v'", err))
		} else {
			byID := map[string]string{}
			for _, o := range objs {
				id, _ := o["id"].(string)
				byID[id] = displayableName(o)
			}
			for _, as := range found {
				p, _ := as["principalId"].(string)
				as["principalName"] = byID[p]
			}
		}
	}
	return found, nil
}

func registerRole(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "role definition list", Short: "List role definitions.",
			Params: []cli.Param{
				{Name: "name", Short: "n", Help: "The role's name (case sensitive), such as 'Reader', or its id."},
				{Name: "custom-role-only", Bool: true, Help: "Custom roles only(vs. build-in ones)."},
				{Name: "scope", Help: "Scope at which the role definitions are listed. Default: the subscription."},
				rgParam(false),
			},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				scope, err := roleScope(a, ctx.String("resource-group"), ctx.String("scope"))
				if err != nil {
					return nil, err
				}
				defs, err := a.list(ctx, strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/roleDefinitions", apiAuthorization)
				if err != nil {
					return nil, err
				}
				out := []map[string]any{}
				name := ctx.String("name")
				for _, d := range defs {
					roleDefinitionView(d)
					if name != "" && d["name"] != name && d["roleName"] != name {
						continue
					}
					if ctx.Bool("custom-role-only") && d["roleType"] != "CustomRole" {
						continue
					}
					out = append(out, d)
				}
				return out, nil
			}),
		},
		cli.Command{
			Name: "role assignment create", Short: "Create a new role assignment for a user, group, or service principal.",
			Params: []cli.Param{
				{Name: "role", Required: true, Help: "Role name or id."},
				{Name: "assignee", Help: "Represent a user or service principal. Supported format: object id, user sign-in name, or service principal name."},
				{Name: "assignee-object-id", Help: "Use this parameter instead of '--assignee' to bypass Graph API invocation in case of insufficient privileges. This parameter only works with object ids for users, groups, service principals, and managed identities."},
				{Name: "assignee-principal-type", Choices: []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}, Help: "Use with --assignee-object-id to avoid errors caused by propagation latency in Microsoft Graph."},
				{Name: "scope", Help: "Scope at which the role assignment or definition applies to, e.g., /subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/myGroup."},
				rgParam(false),
				{Name: "description", Help: "Description of role assignment."},
				{Name: "condition", Help: "Condition under which the user can be granted permission."},
				{Name: "condition-version", Help: "Version of the condition syntax. If --condition is specified without --condition-version, default to 2.0."},
				{Name: "name", Help: "A GUID for the role assignment. It must be unique and different for each role assignment. If omitted, a new GUID is generated."},
			},
			Examples: []cli.Example{{Name: "Grant a managed identity read access to a vault's secrets.",
				Text: "keyhaven role assignment create --assignee-object-id 00000000-0000-0000-0000-000000000000 --assignee-principal-type ServicePrincipal --role \"Key Vault Secrets User\" --scope /subscriptions/.../providers/Microsoft.KeyVault/vaults/myvault"}},
			Run: armCommand(createRoleAssignment),
		},
		cli.Command{
			Name: "role assignment list", Short: "List role assignments.",
			Params: []cli.Param{
				{Name: "assignee", Help: "Represent a user or service principal. Supported format: object id, user sign-in name, or service principal name."},
				{Name: "role", Help: "Role name or id."},
				{Name: "scope", Help: "Scope at which the role assignment applies to."},
				rgParam(false),
				{Name: "all", Bool: true, Help: "Show all assignments under the current subscription."},
				{Name: "include-inherited", Bool: true, Help: "Include assignments applied on parent scopes."},
				{Name: "include-groups", Bool: true, Help: "Include extra assignments to the groups of which the user is a member(transitively)."},
				{Name: "include-classic-administrators", Bool: true, Help: "List default role assignments for subscription classic administrators, aka co-admins."},
			},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return listRoleAssignments(ctx, a, ctx.String("assignee"), ctx.String("role"), ctx.String("resource-group"), ctx.String("scope"),
					ctx.Bool("include-inherited"), ctx.Bool("all"), ctx.Bool("include-groups"))
			}),
		},
		cli.Command{
			Name: "role assignment delete", Short: "Delete role assignments.",
			Params: []cli.Param{
				{Name: "ids", Multi: true, Help: "Space-separated role assignment ids."},
				{Name: "assignee", Help: "Represent a user or service principal. Supported format: object id, user sign-in name, or service principal name."},
				{Name: "role", Help: "Role name or id."},
				{Name: "scope", Help: "Scope at which the role assignment applies to."},
				rgParam(false),
				{Name: "include-inherited", Bool: true, Help: "Include assignments applied on parent scopes."},
				{Name: "yes", Short: "y", Bool: true, Help: "Currently no-op."},
			},
			Run: armCommand(deleteRoleAssignments),
		},
	)
}

// createRoleAssignment is role's create_role_assignment.
func createRoleAssignment(ctx *cli.Context, a *armClient) (any, error) {
	assignee, objectID := ctx.String("assignee"), ctx.String("assignee-object-id")
	principalType, scope, rg := ctx.String("assignee-principal-type"), ctx.String("scope"), ctx.String("resource-group")
	condition, conditionVersion := ctx.String("condition"), ctx.String("condition-version")
	if scope == "" {
		ctx.Log.Warn(scopeWarning)
	}
	if (assignee != "") == (objectID != "") {
		return nil, errors.New("usage error: --assignee STRING | --assignee-object-id GUID")
	}
	if principalType != "" && objectID == "" {
		return nil, errors.New("usage error: --assignee-object-id GUID --assignee-principal-type TYPE")
	}
	if condition != "" && conditionVersion == "" {
		conditionVersion = "2.0"
	}
	if conditionVersion != "" && condition == "" {
		return nil, errors.New("usage error: When --condition-version is set, --condition must be set as well.")
	}
	if assignee != "" {
		var err error
		if objectID, principalType, err = resolvePrincipal(ctx, a.s, assignee, true); err != nil {
			return nil, err
		}
	} else if principalType == "" {
		ctx.Log.Warn("RBAC service might reject creating role assignment without --assignee-principal-type in the future. Better to specify --assignee-principal-type manually.")
		objs, err := graphObjectsByIDs(ctx, a.s, []string{objectID})
		if err != nil {
			ctx.Log.Warn(fmt.Sprintf("Failed to query --assignee-principal-type for --assignee-object-id %s by invoking Graph API.", objectID))
		} else if len(objs) > 0 {
			t, _ := objs[0]["@odata.type"].(string)
			principalType = principalTypes[t]
		}
	}
	fullScope, err := roleScope(a, rg, scope)
	if err != nil {
		return nil, err
	}
	roleID, err := resolveRoleID(ctx, a, ctx.String("role"), fullScope)
	if err != nil {
		return nil, err
	}
	props := map[string]any{"roleDefinitionId": roleID, "principalId": objectID}
	for k, v := range map[string]string{"principalType": principalType, "description": ctx.String("description"),
		"condition": condition, "conditionVersion": conditionVersion} {
		if v != "" {
			props[k] = v
		}
	}
	name := ctx.String("name")
	if name == "" {
		name = newAssignmentName()
	}
	var out map[string]any
	err = a.do(ctx, http.MethodPut, assignmentsPath(fullScope)+"/"+url.PathEscape(name), apiAuthorization, map[string]any{"properties": props}, &out)
	if err != nil {
		// Idempotent: an existing assignment is listed instead (role's _error_caused_by_role_assignment_exists).
		var e *armError
		if errors.As(err, &e) && e.status == http.StatusConflict && strings.Contains(e.message, "role assignment already exists") {
			found, lerr := listRoleAssignments(ctx, a, assignee, ctx.String("role"), rg, scope, false, false, false)
			if lerr != nil {
				return nil, lerr
			}
			if len(found) > 0 {
				return found[0], nil
			}
		}
		return nil, err
	}
	return assignmentView(out), nil
}

// deleteRoleAssignments is role's delete_role_assignments.
func deleteRoleAssignments(ctx *cli.Context, a *armClient) (any, error) {
	if ids := ctx.Strings("ids"); len(ids) > 0 {
		for _, arg := range []string{"assignee", "role", "resource-group", "scope", "include-inherited"} {
			if ctx.Has(arg) {
				ctx.Log.Warn(fmt.Sprintf("option '--%s' will be ignored due to use of '--ids'.", arg))
			}
		}
		for _, id := range ids {
			if err := a.do(ctx, http.MethodDelete, id, apiAuthorization, nil, nil); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	assignee, role, rg, scope := ctx.String("assignee"), ctx.String("role"), ctx.String("resource-group"), ctx.String("scope")
	if assignee == "" && role == "" && rg == "" && scope == "" && !ctx.Bool("yes") {
		if err := confirm(ctx, "This will delete all role assignments under the subscription. Are you sure?"); err != nil {
			return nil, err
		}
	}
	full, err := roleScope(a, rg, scope)
	if err != nil {
		return nil, err
	}
	found, err := searchRoleAssignments(ctx, a, full, assignee, role, ctx.Bool("include-inherited"), false)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, errors.New("No matched assignments were found to delete")
	}
	for _, as := range found {
		id, _ := as["id"].(string)
		if err := a.do(ctx, http.MethodDelete, id, apiAuthorization, nil, nil); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
