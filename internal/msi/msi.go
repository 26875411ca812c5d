// Package msi is the server side of the managed identity runtime: it hands a workload runner (keyhaven webapp
// run) a credential the server can revoke, and mints managed identity tokens for the runner, only for identities
// assigned to its app at that moment.
package msi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/token"
	"github.com/keyhaven/keyhaven/storage"
)

const kindCredential = "runtime-credential"

// CredentialLifetime is how long a runner credential works; a runner gets a new one each time it starts.
const CredentialLifetime = 7 * 24 * time.Hour

// Errors, which msiapi renders.
var (
	ErrBadCredential = errors.New("the runtime credential is unknown, expired or revoked")
	ErrNoIdentity    = errors.New("no managed identity found")
	ErrBadResource   = errors.New("unknown resource")
)

// credential is a stored runner credential (its hash is the key).
type credential struct {
	ResourceID string    `json:"resourceId"`
	Expires    time.Time `json:"expires"`
}

// Config configures the service.
type Config struct {
	Store     storage.Store
	ARM       *arm.Service
	Directory *directory.Service
	Issuer    *token.Issuer
	// Lifetime is the lifetime of managed identity tokens.
	Lifetime time.Duration
	Now      func() time.Time
}

// Service mints managed identity tokens for runners.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 24 * time.Hour
	}
	return &Service{cfg: cfg}
}

func credentialKey(secret string) string {
	sum := sha256.Sum256([]byte("keyhaven runtime credential\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// IssueCredential makes a credential for a runner of the app (a site or VM) with this resource id. The caller has
// been authorized to deploy to it.
func (s *Service) IssueCredential(ctx context.Context, resourceID string) (string, time.Time, error) {
	b := make([]byte, 32)
	rand.Read(b)
	secret := "khrc." + base64.RawURLEncoding.EncodeToString(b)
	exp := s.cfg.Now().Add(CredentialLifetime).UTC()
	err := storage.CreateJSON(ctx, s.cfg.Store, kindCredential, credentialKey(secret), credential{ResourceID: resourceID, Expires: exp})
	return secret, exp, err
}

// Selector names which of an app's identities a token is for; empty means the system-assigned one.
type Selector struct {
	ClientID   string
	ObjectID   string
	ResourceID string
}

// Token is a minted managed identity token.
type Token struct {
	AccessToken string
	ExpiresOn   time.Time
	NotBefore   time.Time
	Resource    string
	ClientID    string
}

// Mint returns a token for one of the identities assigned to the credential's app now. The app must still exist,
// the identity must still be assigned, and its principal must still exist.
func (s *Service) Mint(ctx context.Context, secret string, sel Selector, resource string) (Token, error) {
	cred, _, err := storage.GetJSON[credential](ctx, s.cfg.Store, kindCredential, credentialKey(secret))
	if err != nil || !s.cfg.Now().Before(cred.Expires) {
		return Token{}, ErrBadCredential
	}
	resource = strings.TrimSuffix(resource, "/.default")
	if resource == "" || !token.KnownResource(resource) {
		return Token{}, fmt.Errorf("%w: %s", ErrBadResource, resource)
	}
	site, _, err := s.cfg.ARM.Site(ctx, cred.ResourceID)
	if err != nil {
		return Token{}, fmt.Errorf("%w: the app no longer exists", ErrBadCredential)
	}
	oid, mirid, err := s.choose(ctx, site, sel)
	if err != nil {
		return Token{}, err
	}
	sp, err := s.cfg.Directory.ServicePrincipal(ctx, site.Identity.TenantID, oid)
	if err != nil || sp.ServicePrincipalType != directory.SPTypeManagedIdentity {
		return Token{}, fmt.Errorf("%w: its principal no longer exists", ErrNoIdentity)
	}
	tid := site.Identity.TenantID
	iss := "https://sts.windows.net/" + tid + "/"
	raw, exp, err := s.cfg.Issuer.Issue(token.Claims{Aud: resource, Iss: iss, Idp: iss, Idtyp: "app", Oid: sp.ID, Sub: sp.ID, Tid: tid,
		AppID: sp.AppID, AppIDAcr: "2", Ver: "1.0", XmsMirid: mirid}, s.cfg.Lifetime)
	if err != nil {
		return Token{}, err
	}
	return Token{AccessToken: raw, ExpiresOn: exp, NotBefore: s.cfg.Now(), Resource: resource, ClientID: sp.AppID}, nil
}

// choose picks the identity a request names among the app's: by client id, object (principal) id or user-assigned
// resource id; none named means the system-assigned identity.
func (s *Service) choose(ctx context.Context, site arm.Resource, sel Selector) (oid, mirid string, err error) {
	id := site.Identity
	if id == nil || (id.PrincipalID == "" && len(id.UserAssignedIdentities) == 0) {
		return "", "", fmt.Errorf("%w: the app has no managed identity", ErrNoIdentity)
	}
	switch {
	case sel.ClientID == "" && sel.ObjectID == "" && sel.ResourceID == "":
		if id.PrincipalID == "" {
			return "", "", fmt.Errorf("%w: the app has no system-assigned identity; name a user-assigned one", ErrNoIdentity)
		}
		return id.PrincipalID, site.ID, nil
	case sel.ObjectID != "":
		if strings.EqualFold(sel.ObjectID, id.PrincipalID) {
			return id.PrincipalID, site.ID, nil
		}
		for rid, ua := range id.UserAssignedIdentities {
			if strings.EqualFold(ua.PrincipalID, sel.ObjectID) {
				return ua.PrincipalID, rid, nil
			}
		}
	case sel.ClientID != "":
		for rid, ua := range id.UserAssignedIdentities {
			if strings.EqualFold(ua.ClientID, sel.ClientID) {
				return ua.PrincipalID, rid, nil
			}
		}
		if id.PrincipalID != "" {
			if sp, err := s.cfg.Directory.ServicePrincipal(ctx, id.TenantID, id.PrincipalID); err == nil && strings.EqualFold(sp.AppID, sel.ClientID) {
				return id.PrincipalID, site.ID, nil
			}
		}
	case sel.ResourceID != "":
		for rid, ua := range id.UserAssignedIdentities {
			if strings.EqualFold(rid, sel.ResourceID) {
				return ua.PrincipalID, rid, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w for the specified ClientId/ResourceId/PrincipalId", ErrNoIdentity)
}
