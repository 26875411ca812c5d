// Package rbac holds Azure role assignments: who has which role at which scope. The management plane's full role
// model (definitions, actions, inheritance, checks) builds on it.
package rbac

import (
	"context"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// KindRoleAssignment is where role assignments are stored, in ARM's shape, keyed by assignment name (a GUID).
const KindRoleAssignment = "role-assignment"

// Built-in role definition ids (Azure's GUIDs).
const (
	RoleOwner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)

// Assignment is an ARM role assignment.
type Assignment struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Properties Properties `json:"properties"`
}

// Properties are an assignment's ARM properties.
type Properties struct {
	RoleDefinitionID string    `json:"roleDefinitionId"`
	PrincipalID      string    `json:"principalId"`
	PrincipalType    string    `json:"principalType"`
	Scope            string    `json:"scope"`
	Description      string    `json:"description,omitempty"`
	CreatedOn        time.Time `json:"createdOn"`
	UpdatedOn        time.Time `json:"updatedOn"`
	CreatedBy        string    `json:"createdBy,omitempty"`
	UpdatedBy        string    `json:"updatedBy,omitempty"`
}

// NewAssignment builds an assignment of a built-in or custom role (by definition GUID) at a scope.
func NewAssignment(name, scope, subscriptionID, roleID, principalID, principalType string, now time.Time) Assignment {
	return Assignment{
		ID: strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name, Name: name,
		Type: "Microsoft.Authorization/roleAssignments",
		Properties: Properties{
			RoleDefinitionID: "/subscriptions/" + subscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
			PrincipalID:      principalID, PrincipalType: principalType, Scope: scope, CreatedOn: now.UTC(), UpdatedOn: now.UTC(),
		},
	}
}

// Create stores an assignment.
func Create(ctx context.Context, w storage.Writer, a Assignment) error {
	return storage.CreateJSON(ctx, w, KindRoleAssignment, a.Name, a)
}

// ForPrincipals lists the assignments held by any of the given principal ids (a caller and its groups).
func ForPrincipals(ctx context.Context, r storage.Reader, ids []string) ([]Assignment, error) {
	all, err := storage.ListAll[Assignment](ctx, r, KindRoleAssignment, "")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[strings.ToLower(id)] = true
	}
	var out []Assignment
	for _, a := range all {
		if want[strings.ToLower(a.Properties.PrincipalID)] {
			out = append(out, a)
		}
	}
	return out, nil
}
