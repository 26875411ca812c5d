package arm

import (
	"context"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/storage"
)

// cache keeps what every data-plane call reads (vault configurations and role assignments) in memory. It is used
// only where this process is the database's only writer (SQLite): every write here empties it, so the next
// request sees the change. With PostgreSQL, other nodes write too, and reads go to the database.
type cache struct {
	mu          sync.RWMutex // guards the fields below
	vaults      map[string]Vault
	assignments []rbac.Assignment
	haveAssign  bool
}

func (c *cache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.vaults = map[string]Vault{}
	c.assignments, c.haveAssign = nil, false
	c.mu.Unlock()
}

// invalidate drops cached configuration after a write.
func (s *Service) invalidate() { s.cache.invalidate() }

// cachedVault returns a cached vault configuration.
func (s *Service) cachedVault(name string) (Vault, bool) {
	if s.cache == nil {
		return Vault{}, false
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	v, ok := s.cache.vaults[strings.ToLower(name)]
	return v, ok
}

func (s *Service) storeVault(v Vault) {
	if s.cache == nil {
		return
	}
	s.cache.mu.Lock()
	s.cache.vaults[strings.ToLower(v.Name)] = v
	s.cache.mu.Unlock()
}

// allAssignments lists every role assignment, from the cache when there is one.
func (s *Service) allAssignments(ctx context.Context) ([]rbac.Assignment, error) {
	if s.cache != nil {
		s.cache.mu.RLock()
		a, ok := s.cache.assignments, s.cache.haveAssign
		s.cache.mu.RUnlock()
		if ok {
			return a, nil
		}
	}
	all, err := storage.ListAll[rbac.Assignment](ctx, s.store, rbac.KindRoleAssignment, "")
	if err != nil {
		return nil, err
	}
	if s.cache != nil {
		s.cache.mu.Lock()
		s.cache.assignments, s.cache.haveAssign = all, true
		s.cache.mu.Unlock()
	}
	return all, nil
}
