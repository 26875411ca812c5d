package directory

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// Service principal types.
const (
	SPTypeApplication     = "Application"
	SPTypeManagedIdentity = "ManagedIdentity"
)

// Application is an app registration: the client id and the credentials its service principals sign in with.
type Application struct {
	ID                  string               `json:"id"`
	AppID               string               `json:"appId"`
	TenantID            string               `json:"tenantId"`
	DisplayName         string               `json:"displayName"`
	SignInAudience      string               `json:"signInAudience"`
	PasswordCredentials []PasswordCredential `json:"passwordCredentials"`
	KeyCredentials      []KeyCredential      `json:"keyCredentials"`
	Created             time.Time            `json:"createdDateTime"`
}

// PasswordCredential is a client secret. The secret itself is shown once, when it is made; only its hash is kept.
type PasswordCredential struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Hint          string    `json:"hint"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	Hash          []byte    `json:"hash"`
}

// KeyCredential is a client certificate: the public certificate and its thumbprints.
type KeyCredential struct {
	KeyID               string    `json:"keyId"`
	DisplayName         string    `json:"displayName"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
	CustomKeyIdentifier string    `json:"customKeyIdentifier"` // SHA-1 thumbprint, upper-case hex, as az shows it
	ThumbprintSHA256    string    `json:"thumbprintSha256"`    // base64url, as x5t#S256 carries it
	StartDateTime       time.Time `json:"startDateTime"`
	EndDateTime         time.Time `json:"endDateTime"`
	Cert                []byte    `json:"key"` // DER
}

// ServicePrincipal is an identity that signs in as an application: an app registration's instance in a tenant, or
// a managed identity.
type ServicePrincipal struct {
	ID                    string   `json:"id"`
	AppID                 string   `json:"appId"`
	TenantID              string   `json:"tenantId"`
	DisplayName           string   `json:"displayName"`
	ServicePrincipalType  string   `json:"servicePrincipalType"`
	ServicePrincipalNames []string `json:"servicePrincipalNames"`
	AlternativeNames      []string `json:"alternativeNames"`
	AccountEnabled        bool     `json:"accountEnabled"`
	AppObjectID           string   `json:"appObjectId,omitempty"`
	// ResourceID is, for a managed identity, the ARM resource it belongs to (the xms_mirid claim).
	ResourceID string    `json:"resourceId,omitempty"`
	Created    time.Time `json:"createdDateTime"`
}

func (sp ServicePrincipal) principal() Principal {
	return Principal{ID: sp.ID, Type: TypeServicePrincipal, DisplayName: sp.DisplayName, AppID: sp.AppID, ServicePrincipalType: sp.ServicePrincipalType}
}

// appRef locates an application or service principal from its (globally unique) app id.
type appRef struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// CreateApplication registers an application.
func (s *Service) CreateApplication(ctx context.Context, tenantID, displayName string) (Application, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return Application{}, err
	}
	if strings.TrimSpace(displayName) == "" || len(displayName) > 256 {
		return Application{}, invalid("Invalid value specified for property 'displayName' of resource 'Application'.")
	}
	app := Application{ID: newID(), AppID: newID(), TenantID: t.ID, DisplayName: displayName, SignInAudience: "AzureADMyOrg",
		PasswordCredentials: []PasswordCredential{}, KeyCredentials: []KeyCredential{}, Created: s.now().UTC()}
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := storage.CreateJSON(ctx, tx, kindAppByAppID, app.AppID, appRef{t.ID, app.ID}); err != nil {
			return err
		}
		return storage.CreateJSON(ctx, tx, kindApplication, key(t.ID, app.ID), app)
	})
	return app, err
}

// Application finds an application by object id or app id.
func (s *Service) Application(ctx context.Context, tenantID, idOrAppID string) (Application, error) {
	id, ok := normalizeID(idOrAppID)
	if !ok {
		return Application{}, fmt.Errorf("application: %w", ErrNotFound)
	}
	app, _, err := storage.GetJSON[Application](ctx, s.store, kindApplication, key(tenantID, id))
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return app, err
	}
	ref, _, err := storage.GetJSON[appRef](ctx, s.store, kindAppByAppID, id)
	if err != nil || ref.TenantID != tenantID {
		return Application{}, fmt.Errorf("application %s: %w", id, ErrNotFound)
	}
	app, _, err = storage.GetJSON[Application](ctx, s.store, kindApplication, key(tenantID, ref.ID))
	return app, err
}

// Applications lists a tenant's applications.
func (s *Service) Applications(ctx context.Context, tenantID string) ([]Application, error) {
	return storage.ListAll[Application](ctx, s.store, kindApplication, tenantID+"/")
}

// DeleteApplication removes an application, its credentials and its service principal.
func (s *Service) DeleteApplication(ctx context.Context, tenantID, idOrAppID string) error {
	defer s.groups.Clear()
	app, err := s.Application(ctx, tenantID, idOrAppID)
	if err != nil {
		return err
	}
	sp, spErr := s.ServicePrincipal(ctx, tenantID, app.AppID)
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindApplication, key(tenantID, app.ID), 0); err != nil {
			return err
		}
		if err := tx.Delete(ctx, kindAppByAppID, app.AppID, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if spErr == nil {
			return deleteSPTx(ctx, tx, sp)
		}
		return nil
	})
}

// AddPassword adds a client secret valid for the given time and returns it: this is the only time it is seen.
func (s *Service) AddPassword(ctx context.Context, tenantID, appObjectID, displayName string, valid time.Duration) (PasswordCredential, string, error) {
	if valid <= 0 {
		valid = 365 * 24 * time.Hour
	}
	secret := newClientSecret()
	now := s.now().UTC()
	cred := PasswordCredential{KeyID: newID(), DisplayName: displayName, Hint: secret[:3], StartDateTime: now,
		EndDateTime: now.Add(valid), Hash: hashSecret(secret)}
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		_, err := storage.UpdateJSON(ctx, tx, kindApplication, key(tenantID, appObjectID), func(a *Application) error {
			a.PasswordCredentials = append(a.PasswordCredentials, cred)
			return nil
		})
		return err
	})
	if err != nil {
		return PasswordCredential{}, "", err
	}
	return cred, secret, nil
}

// AddCertificate registers a client certificate (DER).
func (s *Service) AddCertificate(ctx context.Context, tenantID, appObjectID, displayName string, der []byte) (KeyCredential, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyCredential{}, invalid("The certificate is not a valid X.509 certificate.")
	}
	sum1 := sha1.Sum(cert.Raw)
	sum256 := sha256.Sum256(cert.Raw)
	cred := KeyCredential{KeyID: newID(), DisplayName: displayName, Type: "AsymmetricX509Cert", Usage: "Verify",
		CustomKeyIdentifier: strings.ToUpper(hex.EncodeToString(sum1[:])),
		ThumbprintSHA256:    base64.RawURLEncoding.EncodeToString(sum256[:]),
		StartDateTime:       cert.NotBefore.UTC(), EndDateTime: cert.NotAfter.UTC(), Cert: cert.Raw}
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		_, err := storage.UpdateJSON(ctx, tx, kindApplication, key(tenantID, appObjectID), func(a *Application) error {
			for _, k := range a.KeyCredentials {
				if k.CustomKeyIdentifier == cred.CustomKeyIdentifier {
					return fmt.Errorf("%w: the certificate is already registered", ErrExists)
				}
			}
			a.KeyCredentials = append(a.KeyCredentials, cred)
			return nil
		})
		return err
	})
	return cred, err
}

// CreateServicePrincipal makes the service principal of an application, so that it can sign in.
func (s *Service) CreateServicePrincipal(ctx context.Context, tenantID, appID string) (ServicePrincipal, error) {
	app, err := s.Application(ctx, tenantID, appID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	sp := ServicePrincipal{ID: newID(), AppID: app.AppID, TenantID: tenantID, DisplayName: app.DisplayName,
		ServicePrincipalType: SPTypeApplication, ServicePrincipalNames: []string{app.AppID}, AlternativeNames: []string{},
		AccountEnabled: true, AppObjectID: app.ID, Created: s.now().UTC()}
	return sp, s.createSP(ctx, sp)
}

// NewManagedIdentity is what the management plane gives when it enables an identity.
type NewManagedIdentity struct {
	DisplayName string
	// ResourceID is the ARM id of the user-assigned identity, or of the resource a system-assigned one belongs to.
	ResourceID string
	// SystemAssigned marks an identity that lives and dies with its resource.
	SystemAssigned bool
}

// CreateManagedIdentity makes a ManagedIdentity service principal with new client and object ids.
func (s *Service) CreateManagedIdentity(ctx context.Context, tenantID string, in NewManagedIdentity) (ServicePrincipal, error) {
	if in.ResourceID == "" || in.DisplayName == "" {
		return ServicePrincipal{}, invalid("a managed identity needs a display name and a resource id")
	}
	sp := ServicePrincipal{ID: newID(), AppID: newID(), TenantID: tenantID, DisplayName: in.DisplayName,
		ServicePrincipalType: SPTypeManagedIdentity, AccountEnabled: true, ResourceID: in.ResourceID, Created: s.now().UTC(),
		AlternativeNames: []string{fmt.Sprintf("isExplicit=%s", map[bool]string{true: "False", false: "True"}[in.SystemAssigned]), in.ResourceID}}
	sp.ServicePrincipalNames = []string{sp.AppID, "https://identity.azure.net/" + base64.StdEncoding.EncodeToString([]byte(sp.ID))}
	return sp, s.createSP(ctx, sp)
}

func (s *Service) createSP(ctx context.Context, sp ServicePrincipal) error {
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := storage.CreateJSON(ctx, tx, kindSPByAppID, sp.AppID, appRef{sp.TenantID, sp.ID}); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("%w: The service principal for this application already exists.", ErrExists)
			}
			return err
		}
		return storage.CreateJSON(ctx, tx, kindSP, key(sp.TenantID, sp.ID), sp)
	})
}

// ServicePrincipal finds a service principal by object id or app (client) id.
func (s *Service) ServicePrincipal(ctx context.Context, tenantID, idOrAppID string) (ServicePrincipal, error) {
	id, ok := normalizeID(idOrAppID)
	if !ok {
		return ServicePrincipal{}, fmt.Errorf("service principal: %w", ErrNotFound)
	}
	sp, _, err := storage.GetJSON[ServicePrincipal](ctx, s.store, kindSP, key(tenantID, id))
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return sp, err
	}
	ref, _, err := storage.GetJSON[appRef](ctx, s.store, kindSPByAppID, id)
	if err != nil || ref.TenantID != tenantID {
		return ServicePrincipal{}, fmt.Errorf("service principal %s: %w", id, ErrNotFound)
	}
	sp, _, err = storage.GetJSON[ServicePrincipal](ctx, s.store, kindSP, key(tenantID, ref.ID))
	return sp, err
}

// ServicePrincipals lists a tenant's service principals.
func (s *Service) ServicePrincipals(ctx context.Context, tenantID string) ([]ServicePrincipal, error) {
	return storage.ListAll[ServicePrincipal](ctx, s.store, kindSP, tenantID+"/")
}

// DeleteServicePrincipal removes a service principal and its memberships; the application stays.
func (s *Service) DeleteServicePrincipal(ctx context.Context, tenantID, idOrAppID string) error {
	defer s.groups.Clear()
	sp, err := s.ServicePrincipal(ctx, tenantID, idOrAppID)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx storage.Tx) error { return deleteSPTx(ctx, tx, sp) })
}

func deleteSPTx(ctx context.Context, tx storage.Tx, sp ServicePrincipal) error {
	if err := tx.Delete(ctx, kindSP, key(sp.TenantID, sp.ID), 0); err != nil {
		return err
	}
	if err := tx.Delete(ctx, kindSPByAppID, sp.AppID, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return deleteMembershipsTx(ctx, tx, sp.TenantID, sp.ID)
}

// applicationByAppID finds an application by its app (client) id alone: the token path's lookup.
func (s *Service) applicationByAppID(ctx context.Context, tenantID, appID string) (Application, error) {
	id, ok := normalizeID(appID)
	if !ok {
		return Application{}, fmt.Errorf("application: %w", ErrNotFound)
	}
	ref, _, err := storage.GetJSON[appRef](ctx, s.store, kindAppByAppID, id)
	if err != nil || ref.TenantID != tenantID {
		return Application{}, fmt.Errorf("application %s: %w", id, ErrNotFound)
	}
	app, _, err := storage.GetJSON[Application](ctx, s.store, kindApplication, key(tenantID, ref.ID))
	return app, err
}

// AuthenticateClientSecret checks an application's client secret and returns its service principal.
// ErrNotFound: no such application in the tenant; ErrBadCredentials: no current secret matches.
func (s *Service) AuthenticateClientSecret(ctx context.Context, tenantID, appID, secret string) (ServicePrincipal, error) {
	app, err := s.applicationByAppID(ctx, tenantID, appID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	sum := hashSecret(secret)
	now := s.now()
	match := false
	for _, c := range app.PasswordCredentials {
		// Compare against every credential so the time taken does not depend on which one matches.
		if subtle.ConstantTimeCompare(c.Hash, sum) == 1 && !now.Before(c.StartDateTime.Add(-5*time.Minute)) && now.Before(c.EndDateTime) {
			match = true
		}
	}
	if !match {
		return ServicePrincipal{}, ErrBadCredentials
	}
	return s.servicePrincipalOf(ctx, app)
}

// ClientCertificates returns an application's current certificates and its service principal, for checking a
// client assertion.
func (s *Service) ClientCertificates(ctx context.Context, tenantID, appID string) ([]KeyCredential, ServicePrincipal, error) {
	app, err := s.applicationByAppID(ctx, tenantID, appID)
	if err != nil {
		return nil, ServicePrincipal{}, err
	}
	sp, err := s.servicePrincipalOf(ctx, app)
	if err != nil {
		return nil, ServicePrincipal{}, err
	}
	now := s.now()
	var out []KeyCredential
	for _, k := range app.KeyCredentials {
		if !now.Before(k.StartDateTime.Add(-5*time.Minute)) && now.Before(k.EndDateTime) {
			out = append(out, k)
		}
	}
	return out, sp, nil
}

func (s *Service) servicePrincipalOf(ctx context.Context, app Application) (ServicePrincipal, error) {
	var sp ServicePrincipal
	ref, _, err := storage.GetJSON[appRef](ctx, s.store, kindSPByAppID, app.AppID)
	if err == nil && ref.TenantID != app.TenantID {
		err = fmt.Errorf("service principal %s: %w", app.AppID, ErrNotFound)
	}
	if err == nil {
		sp, _, err = storage.GetJSON[ServicePrincipal](ctx, s.store, kindSP, key(app.TenantID, ref.ID))
	}
	if errors.Is(err, ErrNotFound) {
		return ServicePrincipal{}, fmt.Errorf("%w: the application has no service principal in the tenant", ErrDisabled)
	}
	if err == nil && !sp.AccountEnabled {
		return ServicePrincipal{}, ErrDisabled
	}
	return sp, err
}

// UseAssertionID records a client assertion's jti until it expires, so the same assertion cannot be used twice
// on any node. A replay is ErrExists.
func (s *Service) UseAssertionID(ctx context.Context, appID, jti string, expires time.Time) error {
	sum := sha256.Sum256([]byte(appID + "\x00" + jti))
	err := storage.CreateJSON(ctx, s.store, kindAssertionJTI, hex.EncodeToString(sum[:]), expires.Unix())
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: the client assertion was already used", ErrExists)
	}
	return err
}

// Exists reports whether a user, group or service principal still exists: a deleted principal's tokens stop
// working.
func (s *Service) Exists(ctx context.Context, tenantID, objectID string) (bool, error) {
	_, err := s.Principal(ctx, tenantID, objectID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
