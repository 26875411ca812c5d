package arm

import (
	"context"
	"strings"

	"github.com/keyhaven/keyhaven/internal/memo"
	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/storage"
)

// cache keeps what every data-plane call reads (vault configurations and role assignments) in memory. It is used
// only where this process is the database's only writer (SQLite): every write here empties it before returning,
// and a read that began before the write cannot put its older answer back, so the next request sees the change.
// With PostgreSQL, other nodes write too, and reads go to the database: the zero cache (nil maps) caches nothing.
type cache struct {
	vaults      *memo.Map[string, Vault]
	assignments *memo.Map[struct{}, []rbac.Assignment]
}

func newCache() cache {
	return cache{vaults: memo.New[string, Vault](100_000), assignments: memo.New[struct{}, []rbac.Assignment](1)}
}

// invalidate drops cached configuration after a write.
func (s *Service) invalidate() {
	s.cache.vaults.Clear()
	s.cache.assignments.Clear()
}

// VaultByName finds a vault by its (globally unique) name, for the data plane.
func (s *Service) VaultByName(ctx context.Context, name string) (Vault, error) {
	k := strings.ToLower(name)
	if v, ok := s.cache.vaults.Get(k); ok {
		return v, nil
	}
	gen := s.cache.vaults.Gen()
	v, err := s.loadVault(ctx, name)
	if err == nil {
		s.cache.vaults.Put(gen, k, v)
	}
	return v, err
}

// allAssignments lists every role assignment, from the cache when there is one.
func (s *Service) allAssignments(ctx context.Context) ([]rbac.Assignment, error) {
	if a, ok := s.cache.assignments.Get(struct{}{}); ok {
		return a, nil
	}
	gen := s.cache.assignments.Gen()
	all, err := storage.ListAll[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, "")
	if err == nil {
		s.cache.assignments.Put(gen, struct{}{}, all)
	}
	return all, err
}
