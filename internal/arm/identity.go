package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/storage"
)

// Identity is a resource's managed identity block (ManagedServiceIdentity).
type Identity struct {
	Type                   string                   `json:"type"`
	TenantID               string                   `json:"tenantId,omitempty"`
	PrincipalID            string                   `json:"principalId,omitempty"`
	UserAssignedIdentities map[string]*UserAssigned `json:"userAssignedIdentities,omitempty"`
}

// UserAssigned is one user-assigned identity of a resource.
type UserAssigned struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// Identity types, as Azure spells them.
const (
	IdentitySystem = "SystemAssigned"
	IdentityUser   = "UserAssigned"
	IdentityBoth   = "SystemAssigned, UserAssigned"
	IdentityNone   = "None"
)

// NormalizeIdentityType accepts an identity type case-insensitively, with or without the space after the comma.
func NormalizeIdentityType(t string) (string, bool) {
	switch strings.ToLower(strings.ReplaceAll(t, " ", "")) {
	case "systemassigned":
		return IdentitySystem, true
	case "userassigned":
		return IdentityUser, true
	case "systemassigned,userassigned", "userassigned,systemassigned":
		return IdentityBoth, true
	case "none", "":
		return IdentityNone, true
	}
	return "", false
}

// identityRequest is the identity block of a request: user-assigned entries map to {} (add) or null (remove).
type identityRequest struct {
	Type                   string                     `json:"type"`
	UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities"`
}

// pendingIdentity is an identity change worked out before the resource is written: what to create in the
// directory has been created; what to delete is deleted once the write has succeeded.
type pendingIdentity struct {
	identity *Identity
	created  string // a system principal created for this write (undone if the write fails)
	release  string // the old system principal to delete once the write succeeds
}

// planIdentity applies the lifecycle rules of a resource's identity: enabling the system-assigned identity makes a
// ManagedIdentity service principal (one per resource); disabling it, or deleting the resource, deletes it;
// re-enabling makes a new one. User-assigned entries must name existing identities the caller may assign.
func (s *Service) planIdentity(ctx context.Context, p Principal, resID ID, old *Identity, raw json.RawMessage, patch bool) (pendingIdentity, error) {
	if raw == nil || string(raw) == "null" {
		return pendingIdentity{identity: old}, nil
	}
	var req identityRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return pendingIdentity{}, badRequest("InvalidRequestContent", "The identity property is not a valid ManagedServiceIdentity object.")
	}
	typ, ok := NormalizeIdentityType(req.Type)
	if !ok {
		return pendingIdentity{}, badRequest("BadRequest", "The identity type '%s' is not supported. Supported types are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.", req.Type)
	}
	wantSystem := typ == IdentitySystem || typ == IdentityBoth
	wantUser := typ == IdentityUser || typ == IdentityBoth
	out := &Identity{Type: typ}
	var pend pendingIdentity

	// User-assigned identities: a PUT lists them all; a PATCH adds ({}) and removes (null) relative to the old set.
	users := map[string]*UserAssigned{}
	if patch && old != nil {
		for k, v := range old.UserAssignedIdentities {
			users[k] = v
		}
	}
	if !wantUser && len(req.UserAssignedIdentities) > 0 {
		return pendingIdentity{}, badRequest("BadRequest", "userAssignedIdentities can only be given with the identity type 'UserAssigned' or 'SystemAssigned, UserAssigned'.")
	}
	for uid, v := range req.UserAssignedIdentities {
		if string(v) == "null" {
			delete(users, canonicalUAMIKey(users, uid))
			continue
		}
		ua, key, err := s.lookupUAMI(ctx, p, uid, old)
		if err != nil {
			return pendingIdentity{}, err
		}
		users[key] = ua
	}
	if wantUser {
		if len(users) == 0 {
			return pendingIdentity{}, badRequest("BadRequest", "The identity type 'UserAssigned' needs at least one entry in userAssignedIdentities.")
		}
		out.UserAssignedIdentities = users
	}

	hadSystem := old != nil && old.PrincipalID != ""
	switch {
	case wantSystem && hadSystem:
		out.PrincipalID, out.TenantID = old.PrincipalID, old.TenantID
	case wantSystem:
		sp, err := s.dir.CreateManagedIdentity(ctx, p.TenantID, directory.NewManagedIdentity{DisplayName: resID.Name(), ResourceID: resID.String(), SystemAssigned: true})
		if err != nil {
			return pendingIdentity{}, err
		}
		out.PrincipalID, out.TenantID = sp.ID, p.TenantID
		pend.created = sp.ID
	case hadSystem:
		pend.release = old.PrincipalID
	}
	if out.TenantID == "" && (wantUser || wantSystem) {
		out.TenantID = p.TenantID
	}
	if typ == IdentityNone {
		out = &Identity{Type: IdentityNone}
	}
	pend.identity = out
	return pend, nil
}

// canonicalUAMIKey finds the key of an existing entry for an identity id, compared case-insensitively.
func canonicalUAMIKey(m map[string]*UserAssigned, id string) string {
	for k := range m {
		if strings.EqualFold(k, id) {
			return k
		}
	}
	return id
}

// lookupUAMI resolves a user-assigned identity id to its principal and client ids. Assigning one that is not
// already on the resource needs the assign action on the identity.
func (s *Service) lookupUAMI(ctx context.Context, p Principal, uid string, old *Identity) (*UserAssigned, string, error) {
	id, err := ParseID(uid)
	if err != nil || !strings.EqualFold(id.Canonical().FullType(), "Microsoft.ManagedIdentity/userAssignedIdentities") || len(id.Names) != 1 || id.ResourceGroup == "" {
		return nil, "", badRequest("BadRequest", "The user-assigned identity id '%s' is not a valid Microsoft.ManagedIdentity/userAssignedIdentities resource id.", uid)
	}
	res, _, err := storage.GetJSON[Resource](ctx, s.store, kindResource, id.Key())
	if err != nil {
		return nil, "", badRequest("BadRequest", "Resource '%s' was not found.", uid)
	}
	already := old != nil && old.UserAssignedIdentities[canonicalUAMIKey(old.UserAssignedIdentities, res.ID)] != nil
	if !already {
		if err := s.authorize(ctx, p, "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", id.Scope()); err != nil {
			return nil, "", err
		}
	}
	pid, _ := res.Properties["principalId"].(string)
	cid, _ := res.Properties["clientId"].(string)
	return &UserAssigned{PrincipalID: pid, ClientID: cid}, res.ID, nil
}

// commit deletes the released principal after a successful write.
func (s *Service) commitIdentity(ctx context.Context, p Principal, pend pendingIdentity) {
	if pend.release != "" {
		s.deletePrincipal(ctx, p.TenantID, pend.release)
	}
}

// abort undoes a principal created for a write that failed.
func (s *Service) abortIdentity(ctx context.Context, p Principal, pend pendingIdentity) {
	if pend.created != "" {
		s.deletePrincipal(ctx, p.TenantID, pend.created)
	}
}

func (s *Service) deletePrincipal(ctx context.Context, tid, oid string) {
	s.dir.DeleteServicePrincipal(ctx, tid, oid)
	if s.forget != nil {
		s.forget(tid, oid)
	}
}

// sortedKeys is for stable output and tests.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = http.StatusOK
