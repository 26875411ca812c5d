package arm

import (
	"context"

	"github.com/keyhaven/keyhaven/internal/directory"
)

// putUAMI builds a user-assigned identity: the first PUT creates its ManagedIdentity service principal; later
// PUTs keep it and change only location-independent metadata (tags).
func putUAMI(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error) {
	res := Resource{Location: normalizeLocation(in.Location), Tags: in.Tags}
	if old != nil {
		res.Location, res.Properties = old.Location, old.Properties
		if patch && !in.hasTags {
			res.Tags = old.Tags
		}
		return change{res: res}, nil
	}
	sp, err := s.dir.CreateManagedIdentity(ctx, p.TenantID, directory.NewManagedIdentity{DisplayName: id.Name(), ResourceID: id.String()})
	if err != nil {
		return change{}, err
	}
	res.Properties = map[string]any{"tenantId": p.TenantID, "principalId": sp.ID, "clientId": sp.AppID, "isolationScope": "None"}
	return change{res: res, abort: func() { s.deletePrincipal(ctx, p.TenantID, sp.ID) }}, nil
}

// deleteUAMI deletes the identity's service principal: its tokens stop at once.
func deleteUAMI(s *Service, ctx context.Context, res Resource) error {
	if pid, _ := res.Properties["principalId"].(string); pid != "" {
		tid, _ := res.Properties["tenantId"].(string)
		s.deletePrincipal(ctx, tid, pid)
	}
	return nil
}
