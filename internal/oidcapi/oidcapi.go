// Package oidcapi is the token service's HTTP API, as Entra ID serves it: the v1 and v2 token endpoints, OpenID
// Connect discovery, the JWKS, and the instance discovery MSAL calls. It turns credentials the directory accepts
// into tokens the token package signs.
package oidcapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Config configures the API.
type Config struct {
	Directory *directory.Service
	Issuer    *token.Issuer
	// DefaultTenant is the installation's tenant id.
	DefaultTenant string
	// Zone is the operator's DNS zone, if any: tokens requested on login.<zone> carry the zone's issuer.
	Zone string
	// Lifetime is the lifetime of user and service principal tokens.
	Lifetime time.Duration
	Now      func() time.Time
}

// API serves the token service.
type API struct {
	cfg Config
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = time.Hour
	}
	return &API{cfg: cfg}
}

// Mount adds the token service's routes to mux.
func (a *API) Mount(mux *http.ServeMux) {
	h := func(fn httpx.HandlerFunc) http.Handler { return httpx.Handle(httpx.ShapeOAuth2, fn) }
	mux.Handle("POST /{tenant}/oauth2/token", h(a.token(1)))
	mux.Handle("POST /{tenant}/oauth2/v2.0/token", h(a.token(2)))
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", h(a.discovery(2)))
	mux.Handle("GET /{tenant}/.well-known/openid-configuration", h(a.discovery(1)))
	mux.Handle("GET /{tenant}/discovery/v2.0/keys", h(a.keys))
	mux.Handle("GET /{tenant}/discovery/keys", h(a.keys))
	mux.Handle("GET /{tenant}/discovery/instance", h(a.instanceDiscovery))
	mux.Handle("GET /common/userrealm/{user}", h(a.userRealm))
}

// Issuers returns the iss values tokens of a tenant may carry, for the validator; nil for an unknown tenant.
func (a *API) Issuers(tid string) []string {
	if _, err := uuid.Parse(tid); err != nil {
		return nil
	}
	if _, err := a.cfg.Directory.Tenant(context.Background(), tid); err != nil {
		return nil
	}
	out := []string{"https://sts.windows.net/" + tid + "/", "https://login.microsoftonline.com/" + tid + "/v2.0"}
	if a.cfg.Zone != "" {
		out = append(out, "https://login."+a.cfg.Zone+"/"+tid+"/", "https://login."+a.cfg.Zone+"/"+tid+"/v2.0")
	}
	return out
}

// issuer is the iss of a token minted on host for tenant tid.
func (a *API) issuer(host, tid string, version int) string {
	if a.zoneHost(host) {
		if version == 1 {
			return "https://login." + a.cfg.Zone + "/" + tid + "/"
		}
		return "https://login." + a.cfg.Zone + "/" + tid + "/v2.0"
	}
	if version == 1 {
		return "https://sts.windows.net/" + tid + "/"
	}
	return "https://login.microsoftonline.com/" + tid + "/v2.0"
}

func (a *API) zoneHost(host string) bool {
	if a.cfg.Zone == "" {
		return false
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	return strings.EqualFold(h, "login."+a.cfg.Zone)
}

// tenantFor resolves the {tenant} path segment: a GUID or domain; "common" and "organizations" are allowed only
// where the grant names the tenant some other way (allowMulti).
func (a *API) tenantFor(ctx context.Context, segment string, allowMulti bool) (directory.Tenant, error) {
	switch strings.ToLower(segment) {
	case "common", "organizations":
		if allowMulti {
			return directory.Tenant{}, nil
		}
		return directory.Tenant{}, aadsts(codeInvalidRequest, 50194, "Application is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications. Use a tenant-specific endpoint or configure the application to be multi-tenant.")
	case "consumers":
		return directory.Tenant{}, errTenantNotFound(segment)
	}
	if !validTenantSegment(segment) {
		return directory.Tenant{}, aadsts(codeInvalidRequest, 900023, "Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", segment)
	}
	t, err := a.cfg.Directory.Tenant(ctx, segment)
	if errors.Is(err, directory.ErrNotFound) {
		return t, errTenantNotFound(segment)
	}
	if err != nil {
		return t, err
	}
	return t, nil
}

func validTenantSegment(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
