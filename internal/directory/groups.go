package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// Group is a security group. Members are users, service principals and other groups.
type Group struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenantId"`
	DisplayName     string    `json:"displayName"`
	MailNickname    string    `json:"mailNickname"`
	Description     string    `json:"description,omitempty"`
	SecurityEnabled bool      `json:"securityEnabled"`
	Created         time.Time `json:"createdDateTime"`
}

// NewGroup is what creating a group takes.
type NewGroup struct {
	DisplayName  string
	MailNickname string
	Description  string
}

// Principal is any directory object that can be granted access: a user, a group or a service principal.
type Principal struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	// UserPrincipalName is set for users.
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	// AppID is set for service principals.
	AppID string `json:"appId,omitempty"`
	// ServicePrincipalType is set for service principals: Application or ManagedIdentity.
	ServicePrincipalType string `json:"servicePrincipalType,omitempty"`
}

// CreateGroup adds a security group. Display names need not be unique, as in Entra ID.
func (s *Service) CreateGroup(ctx context.Context, tenantID string, in NewGroup) (Group, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return Group{}, err
	}
	if strings.TrimSpace(in.DisplayName) == "" || len(in.DisplayName) > 256 {
		return Group{}, invalid("Invalid value specified for property 'displayName' of resource 'Group'.")
	}
	if in.MailNickname == "" || len(in.MailNickname) > 64 || strings.ContainsAny(in.MailNickname, " @()\\[]\";:<>,") {
		return Group{}, invalid("Invalid value specified for property 'mailNickname' of resource 'Group'.")
	}
	g := Group{ID: newID(), TenantID: t.ID, DisplayName: in.DisplayName, MailNickname: in.MailNickname,
		Description: in.Description, SecurityEnabled: true, Created: s.now().UTC()}
	return g, storage.CreateJSON(ctx, s.store, kindGroup, key(t.ID, g.ID), g)
}

// Group finds a group by object id.
func (s *Service) Group(ctx context.Context, tenantID, id string) (Group, error) {
	id, ok := normalizeID(id)
	if !ok {
		return Group{}, fmt.Errorf("group: %w", ErrNotFound)
	}
	g, _, err := storage.GetJSON[Group](ctx, s.store, kindGroup, key(tenantID, id))
	return g, err
}

// Groups lists a tenant's groups.
func (s *Service) Groups(ctx context.Context, tenantID string) ([]Group, error) {
	return storage.ListAll[Group](ctx, s.store, kindGroup, tenantID+"/")
}

// DeleteGroup removes a group with its memberships, both ways.
func (s *Service) DeleteGroup(ctx context.Context, tenantID, id string) error {
	defer s.groups.Clear()
	g, err := s.Group(ctx, tenantID, id)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindGroup, key(tenantID, g.ID), 0); err != nil {
			return err
		}
		members, err := storage.ListAll[string](ctx, tx, kindGroupMember, key(tenantID, g.ID)+"/")
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := deleteIfPresent(ctx, tx, kindGroupMember, key(tenantID, g.ID)+"/"+m); err != nil {
				return err
			}
			if err := deleteIfPresent(ctx, tx, kindMemberOf, key(tenantID, m)+"/"+g.ID); err != nil {
				return err
			}
		}
		return deleteMembershipsTx(ctx, tx, tenantID, g.ID)
	})
}

// Principal finds a user, group or service principal by object id.
func (s *Service) Principal(ctx context.Context, tenantID, id string) (Principal, error) {
	id, ok := normalizeID(id)
	if !ok {
		return Principal{}, fmt.Errorf("principal: %w", ErrNotFound)
	}
	if sp, _, err := storage.GetJSON[ServicePrincipal](ctx, s.store, kindSP, key(tenantID, id)); err == nil {
		return sp.principal(), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Principal{}, err
	}
	if u, _, err := storage.GetJSON[User](ctx, s.store, kindUser, key(tenantID, id)); err == nil {
		return Principal{ID: u.ID, Type: TypeUser, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Principal{}, err
	}
	g, _, err := storage.GetJSON[Group](ctx, s.store, kindGroup, key(tenantID, id))
	if err != nil {
		return Principal{}, fmt.Errorf("principal %s: %w", id, err)
	}
	return Principal{ID: g.ID, Type: TypeGroup, DisplayName: g.DisplayName}, nil
}

// AddMember puts a user, service principal or group into a group. Adding a member twice is ErrExists, as Graph's
// "One or more added object references already exist".
func (s *Service) AddMember(ctx context.Context, tenantID, groupID, memberID string) error {
	defer s.groups.Clear()
	g, err := s.Group(ctx, tenantID, groupID)
	if err != nil {
		return err
	}
	m, err := s.Principal(ctx, tenantID, memberID)
	if err != nil {
		return err
	}
	if m.ID == g.ID {
		return invalid("A group cannot be a member of itself.")
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := storage.CreateJSON(ctx, tx, kindGroupMember, key(tenantID, g.ID)+"/"+m.ID, m.ID); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("%w: One or more added object references already exist for the following modified properties: 'members'.", ErrExists)
			}
			return err
		}
		return storage.CreateJSON(ctx, tx, kindMemberOf, key(tenantID, m.ID)+"/"+g.ID, g.ID)
	})
}

// RemoveMember takes a member out of a group.
func (s *Service) RemoveMember(ctx context.Context, tenantID, groupID, memberID string) error {
	defer s.groups.Clear()
	g, err := s.Group(ctx, tenantID, groupID)
	if err != nil {
		return err
	}
	mid, ok := normalizeID(memberID)
	if !ok {
		return fmt.Errorf("member: %w", ErrNotFound)
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindGroupMember, key(tenantID, g.ID)+"/"+mid, 0); err != nil {
			return err
		}
		return tx.Delete(ctx, kindMemberOf, key(tenantID, mid)+"/"+g.ID, 0)
	})
}

// Members lists a group's direct members.
func (s *Service) Members(ctx context.Context, tenantID, groupID string) ([]Principal, error) {
	g, err := s.Group(ctx, tenantID, groupID)
	if err != nil {
		return nil, err
	}
	ids, err := storage.ListAll[string](ctx, s.store, kindGroupMember, key(tenantID, g.ID)+"/")
	if err != nil {
		return nil, err
	}
	out := make([]Principal, 0, len(ids))
	for _, id := range ids {
		p, err := s.Principal(ctx, tenantID, id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// TransitiveGroups returns the ids of every group the principal is in, directly or through nested groups.
func (s *Service) TransitiveGroups(ctx context.Context, tenantID, principalID string) ([]string, error) {
	k := tenantID + "/" + principalID
	if g, ok := s.groups.Get(k); ok {
		return g, nil
	}
	gen := s.groups.Gen()
	out, err := s.transitiveGroups(ctx, tenantID, principalID)
	if err != nil {
		return nil, err
	}
	// Callers share the cached slice: with no spare capacity, an append to it copies instead of writing into it.
	out = slices.Clip(out)
	s.groups.Put(gen, k, out)
	return out, nil
}

func (s *Service) transitiveGroups(ctx context.Context, tenantID, principalID string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	queue := []string{principalID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		groups, err := storage.ListAll[string](ctx, s.store, kindMemberOf, key(tenantID, id)+"/")
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	return out, nil
}

// IsMember reports whether principalID is in groupID, directly or transitively.
func (s *Service) IsMember(ctx context.Context, tenantID, groupID, principalID string) (bool, error) {
	groups, err := s.TransitiveGroups(ctx, tenantID, principalID)
	if err != nil {
		return false, err
	}
	gid, _ := normalizeID(groupID)
	for _, g := range groups {
		if g == gid {
			return true, nil
		}
	}
	return false, nil
}

// deleteMembershipsTx removes every group membership of a deleted principal.
func deleteMembershipsTx(ctx context.Context, tx storage.Tx, tenantID, id string) error {
	groups, err := storage.ListAll[string](ctx, tx, kindMemberOf, key(tenantID, id)+"/")
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := deleteIfPresent(ctx, tx, kindMemberOf, key(tenantID, id)+"/"+g); err != nil {
			return err
		}
		if err := deleteIfPresent(ctx, tx, kindGroupMember, key(tenantID, g)+"/"+id); err != nil {
			return err
		}
	}
	return nil
}

// deleteIfPresent deletes a record; one that is already gone is not an error.
func deleteIfPresent(ctx context.Context, tx storage.Tx, kind, k string) error {
	if err := tx.Delete(ctx, kind, k, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}
