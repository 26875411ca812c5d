// Package directory is keyhaven's Entra ID (Azure AD) directory: tenants, users, groups, applications and service
// principals (including managed identities), their credentials, and group membership. It owns who principals are
// and how they prove it; the token package turns a proven principal into a signed token.
package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/memo"
	"github.com/keyhaven/keyhaven/storage"
)

// Errors the directory returns. Callers map them to their API's error codes with errors.Is.
var (
	// ErrNotFound: no such tenant, user, group, application or service principal.
	ErrNotFound = storage.ErrNotFound
	// ErrExists: the name or membership is taken.
	ErrExists = storage.ErrConflict
	// ErrInvalid: the input breaks a rule; the message says which.
	ErrInvalid = errors.New("invalid")
	// ErrBadCredentials: a password, secret or assertion did not match.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrLocked: too many recent failed sign-ins for the account.
	ErrLocked = errors.New("account locked")
	// ErrDisabled: the account is disabled.
	ErrDisabled = errors.New("account disabled")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Storage kinds.
const (
	KindTenant        = "tenant"
	kindUser          = "user"
	kindUserUPN       = "user-upn"
	kindGroup         = "group"
	kindGroupMember   = "group-member"
	kindMemberOf      = "member-of"
	kindApplication   = "application"
	kindAppByAppID    = "app-appid"
	kindSP            = "sp"
	kindSPByAppID     = "sp-appid"
	kindDirectoryRole = "directory-role"
	kindRefreshToken  = "refresh-token"
	kindAssertionJTI  = "assertion-jti"
)

// Object types, as Graph names them in @odata.type (without the prefix).
const (
	TypeUser             = "user"
	TypeGroup            = "group"
	TypeServicePrincipal = "servicePrincipal"
	TypeApplication      = "application"
)

// GlobalAdministrator is the role template id of Entra ID's Global Administrator directory role.
const GlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"

// Tenant is a directory tenant.
type Tenant struct {
	ID          string    `json:"id"`
	Domain      string    `json:"domain"`
	DisplayName string    `json:"displayName"`
	Created     time.Time `json:"created"`
}

// Config configures a Service.
type Config struct {
	// Store is the sealed store.
	Store storage.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lockout tunes sign-in throttling; zero values take the defaults.
	Lockout LockoutPolicy
	// Cache keeps group memberships in memory, emptied on every membership change. Only for a process that is
	// its database's only writer (SQLite).
	Cache bool
}

// Service is the directory.
type Service struct {
	store   storage.Store
	now     func() time.Time
	lockout *lockout
	groups  *memo.Map[string, []string] // transitive memberships; nil without caching
}

// New returns a directory on a store.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{store: cfg.Store, now: now, lockout: newLockout(cfg.Lockout, now)}
	if cfg.Cache {
		s.groups = memo.New[string, []string](100_000)
	}
	return s
}

// CreateTenant records a tenant (first start does this once).
func CreateTenant(ctx context.Context, w storage.Writer, t Tenant) error {
	return storage.CreateJSON(ctx, w, KindTenant, t.ID, t)
}

// Tenant finds a tenant by GUID or domain (case-insensitive).
func (s *Service) Tenant(ctx context.Context, nameOrID string) (Tenant, error) {
	id := strings.ToLower(nameOrID)
	if _, err := uuid.Parse(id); err == nil {
		t, _, err := storage.GetJSON[Tenant](ctx, s.store, KindTenant, id)
		return t, err
	}
	tenants, err := storage.ListAll[Tenant](ctx, s.store, KindTenant, "")
	if err != nil {
		return Tenant{}, err
	}
	for _, t := range tenants {
		if strings.EqualFold(t.Domain, nameOrID) {
			return t, nil
		}
	}
	return Tenant{}, fmt.Errorf("tenant %q: %w", nameOrID, ErrNotFound)
}

// Tenants lists every tenant.
func (s *Service) Tenants(ctx context.Context) ([]Tenant, error) {
	return storage.ListAll[Tenant](ctx, s.store, KindTenant, "")
}

// newID makes an object or application id.
func newID() string { return uuid.NewString() }

// normalizeID lower-cases a GUID and checks its form.
func normalizeID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return "", false
	}
	return u.String(), true
}

// key joins a tenant and an object id.
func key(tenantID, id string) string { return tenantID + "/" + id }

// nameKey makes a case-insensitive, storable key part from a name (UPNs may hold any character).
func nameKey(name string) string { return url.PathEscape(strings.ToLower(name)) }
