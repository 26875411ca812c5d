package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/storage"
)

// Error is a failure in ARM's terms: its error code, the HTTP status ARM sends it with, and the message.
type Error struct {
	Code       string
	HTTPStatus int
	Message    string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func armErr(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, HTTPStatus: status, Message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *Error {
	return armErr(http.StatusBadRequest, code, format, args...)
}

// Storage kinds.
const (
	kindResource     = "arm-resource"
	kindAppSettings  = "arm-appsettings"
	kindVaultName    = "arm-vault-name"
	kindDeletedVault = "arm-deleted-vault"
	kindRoleDef      = "arm-roledef"
)

// Principal is the caller of a management operation.
type Principal struct {
	TenantID string
	ObjectID string
	// Name is how ARM's messages name the caller: a UPN, or an application id.
	Name string
}

// Config configures the Service.
type Config struct {
	Store     storage.Store
	Directory *directory.Service
	Now       func() time.Time
	// Zone is the operator's DNS zone: vault URIs use vault.<zone> when it is set.
	Zone string
	// Forget is told when a principal is deleted, so token validation stops accepting it at once.
	Forget func(tenantID, objectID string)
	// VaultPurged is told when a vault is purged, so its objects go with it.
	VaultPurged func(ctx context.Context, name string) error
	// Cache keeps vault configurations and role assignments in memory, emptied on every write. Only for a
	// process that is its database's only writer (SQLite).
	Cache bool
}

// Service is the resource manager.
type Service struct {
	store  storage.Store
	dir    *directory.Service
	now    func() time.Time
	zone   string
	forget func(tenantID, objectID string)
	purged func(ctx context.Context, name string) error
	cache  cache
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{store: cfg.Store, dir: cfg.Directory, now: cfg.Now, zone: cfg.Zone, forget: cfg.Forget, purged: cfg.VaultPurged}
	if cfg.Cache {
		s.cache = newCache()
	}
	return s
}

// Resource is an ARM resource as stored and served.
type Resource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Kind       string            `json:"kind,omitempty"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags"`
	SKU        map[string]any    `json:"sku,omitempty"`
	Identity   *Identity         `json:"identity,omitempty"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Properties map[string]any    `json:"properties"`
	SystemData *SystemData       `json:"systemData,omitempty"`
}

// SystemData records who created and last changed a resource.
type SystemData struct {
	CreatedBy          string `json:"createdBy"`
	CreatedByType      string `json:"createdByType"`
	CreatedAt          string `json:"createdAt"`
	LastModifiedBy     string `json:"lastModifiedBy"`
	LastModifiedByType string `json:"lastModifiedByType"`
	LastModifiedAt     string `json:"lastModifiedAt"`
}

func (s *Service) systemData(p Principal, prev *SystemData) *SystemData {
	now := s.now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	typ := "User"
	if !strings.Contains(p.Name, "@") {
		typ = "Application"
	}
	sd := &SystemData{CreatedBy: p.Name, CreatedByType: typ, CreatedAt: now, LastModifiedBy: p.Name, LastModifiedByType: typ, LastModifiedAt: now}
	if prev != nil {
		sd.CreatedBy, sd.CreatedByType, sd.CreatedAt = prev.CreatedBy, prev.CreatedByType, prev.CreatedAt
	}
	return sd
}

// getResource reads a resource by id.
func (s *Service) getResource(ctx context.Context, r storage.Reader, id ID) (Resource, int64, error) {
	res, v, err := storage.GetJSON[Resource](ctx, r, kindResource, id.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return res, 0, s.notFound(ctx, id)
	}
	return res, v, err
}

// notFound explains a missing resource the way ARM does: the resource group first, then the resource.
func (s *Service) notFound(ctx context.Context, id ID) error {
	if id.ResourceGroup != "" && id.Provider != "" {
		if _, err := s.store.Get(ctx, kindResource, id.RGID().Key()); errors.Is(err, storage.ErrNotFound) {
			return armErr(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", id.ResourceGroup)
		}
	}
	if id.Provider == "" {
		return armErr(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", id.ResourceGroup)
	}
	if len(id.Names) > 1 {
		p := id.Parent()
		if _, err := s.store.Get(ctx, kindResource, p.Key()); errors.Is(err, storage.ErrNotFound) {
			return armErr(http.StatusNotFound, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '%s' not found.", p.Name())
		}
	}
	return armErr(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		id.Canonical().FullType(), strings.Join(id.Names, "/"), id.ResourceGroup)
}

// listUnder lists the resources whose ids start with prefix (a subscription's or resource group's), optionally of
// one type.
func (s *Service) listUnder(ctx context.Context, prefix, typ string) ([]Resource, error) {
	all, err := storage.ListAll[Resource](ctx, s.store, kindResource, strings.ToLower(prefix))
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, r := range all {
		if typ == "" || strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeBody reads a request body into v, refusing what is not JSON the way ARM does.
func decodeBody(body []byte, v any) error {
	if len(body) == 0 {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: %s", jsonProblem(err))
	}
	return nil
}

func jsonProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("'%s' has the wrong type (expected %s).", typ.Field, typ.Type)
	}
	return "the body is not valid JSON."
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// ResourceGroupOf returns the resource group part of an id, for az's resourceGroup field.
func ResourceGroupOf(id string) string {
	i, err := ParseID(id)
	if err != nil {
		return ""
	}
	return i.ResourceGroup
}
