// Package graphapi is the directory's HTTP API in Microsoft Graph's shape (/v1.0/users, groups, applications,
// servicePrincipals, me, directoryObjects): enough for the CLI and a principal search box. Any signed-in user of
// the tenant may read; writes need the Global Administrator directory role.
package graphapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/authn"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Graph's error codes.
var (
	codeInvalidAuthToken = httpx.Code{Name: "InvalidAuthenticationToken", Status: http.StatusUnauthorized}
	codeDenied           = httpx.Code{Name: "Authorization_RequestDenied", Status: http.StatusForbidden}
	codeNotFound         = httpx.Code{Name: "Request_ResourceNotFound", Status: http.StatusNotFound}
	codeBadRequest       = httpx.Code{Name: "Request_BadRequest", Status: http.StatusBadRequest}
	codeBadRequestPlain  = httpx.Code{Name: "BadRequest", Status: http.StatusBadRequest}
	codeConflict         = httpx.Code{Name: "Request_BadRequest", Status: http.StatusBadRequest}
)

// Config configures the API.
type Config struct {
	Directory *directory.Service
	Validator *token.Validator
	// Zone is the operator's DNS zone, if any (tokens for https://graph.<zone> are accepted).
	Zone string
}

// API serves Graph.
type API struct {
	dir  *directory.Service
	auth authn.Authenticator
	v    *token.Validator
}

// New returns the API.
func New(cfg Config) *API {
	res := []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}
	if cfg.Zone != "" {
		res = append(res, "https://graph."+cfg.Zone)
	}
	return &API{dir: cfg.Directory, v: cfg.Validator,
		auth: authn.Authenticator{Validator: cfg.Validator, Audiences: authn.Audiences(res...)}}
}

// caller is the authenticated principal of a request.
type caller struct {
	claims *token.Claims
}

type handler func(w http.ResponseWriter, r *http.Request, c caller) error

// Mount adds Graph's routes.
func (a *API) Mount(mux *http.ServeMux) {
	h := func(write bool, fn handler) http.Handler {
		return httpx.Handle(httpx.ShapeGraph, func(w http.ResponseWriter, r *http.Request) error {
			c, err := a.authenticate(r)
			if err != nil {
				return err
			}
			// Writes, and any call by an application, need the Global Administrator role; reads by users do not.
			if write || c.claims.IsApp() {
				admin, err := a.dir.HasDirectoryRole(r.Context(), c.claims.Tid, directory.GlobalAdministrator, c.claims.Oid)
				if err != nil {
					return err
				}
				if !admin {
					return httpx.E(codeDenied, "Insufficient privileges to complete the operation.")
				}
			}
			return fn(w, r, c)
		})
	}
	mux.Handle("GET /v1.0/me", h(false, a.me))
	mux.Handle("GET /v1.0/users", h(false, a.listUsers))
	mux.Handle("POST /v1.0/users", h(true, a.createUser))
	mux.Handle("GET /v1.0/users/{id}", h(false, a.getUser))
	mux.Handle("DELETE /v1.0/users/{id}", h(true, a.deleteUser))
	mux.Handle("GET /v1.0/groups", h(false, a.listGroups))
	mux.Handle("POST /v1.0/groups", h(true, a.createGroup))
	mux.Handle("GET /v1.0/groups/{id}", h(false, a.getGroup))
	mux.Handle("DELETE /v1.0/groups/{id}", h(true, a.deleteGroup))
	mux.Handle("GET /v1.0/groups/{id}/members", h(false, a.listMembers))
	mux.Handle("POST /v1.0/groups/{id}/members/$ref", h(true, a.addMember))
	mux.Handle("DELETE /v1.0/groups/{id}/members/{member}/$ref", h(true, a.removeMember))
	mux.Handle("POST /v1.0/directoryObjects/{id}/checkMemberGroups", h(false, a.checkMemberGroups))
	mux.Handle("POST /v1.0/users/{id}/checkMemberGroups", h(false, a.checkMemberGroups))
	mux.Handle("GET /v1.0/directoryObjects/{id}", h(false, a.getDirectoryObject))
	mux.Handle("POST /v1.0/directoryObjects/getByIds", h(false, a.getByIDs))
	mux.Handle("GET /v1.0/applications", h(false, a.listApplications))
	mux.Handle("POST /v1.0/applications", h(true, a.createApplication))
	mux.Handle("GET /v1.0/applications/{id}", h(false, a.getApplication))
	mux.Handle("PATCH /v1.0/applications/{id}", h(true, a.patchApplication))
	mux.Handle("DELETE /v1.0/applications/{id}", h(true, a.deleteApplication))
	mux.Handle("POST /v1.0/applications/{id}/addPassword", h(true, a.addPassword))
	mux.Handle("GET /v1.0/servicePrincipals", h(false, a.listServicePrincipals))
	mux.Handle("POST /v1.0/servicePrincipals", h(true, a.createServicePrincipal))
	mux.Handle("GET /v1.0/servicePrincipals/{id}", h(false, a.getServicePrincipal))
	mux.Handle("DELETE /v1.0/servicePrincipals/{id}", h(true, a.deleteServicePrincipal))
	mux.Handle("GET /v1.0/organization", h(false, a.organization))
	mux.Handle("/", httpx.Handle(httpx.ShapeGraph, func(w http.ResponseWriter, r *http.Request) error {
		return httpx.E(codeBadRequestPlain, "Resource not found for the segment '%s'.", lastSegment(r.URL.Path))
	}))
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

func (a *API) authenticate(r *http.Request) (caller, error) {
	auth := a.auth
	// Tokens for the host the request came to (graph.localhost:8443, say) are accepted too.
	auth.Audiences = append(authn.Audiences("https://"+strings.TrimSuffix(r.Host, ":443")), a.auth.Audiences...)
	claims, err := auth.Authenticate(r)
	switch {
	case errors.Is(err, authn.ErrNoToken):
		return caller{}, httpx.E(codeInvalidAuthToken, "Access token is empty.")
	case errors.Is(err, token.ErrInvalid):
		return caller{}, httpx.E(codeInvalidAuthToken, "Access token validation failure. Invalid audience, signature or expiry.").WithCause(err)
	case err != nil:
		return caller{}, err
	}
	return caller{claims: claims}, nil
}

// dirError maps the directory's errors to Graph's.
func dirError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrNotFound):
		return httpx.E(codeNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", what)
	case errors.Is(err, directory.ErrInvalid):
		return httpx.E(codeBadRequest, "%s", strings.TrimPrefix(err.Error(), directory.ErrInvalid.Error()+": ")).WithCause(err)
	case errors.Is(err, directory.ErrExists):
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return httpx.E(codeConflict, "%s", msg).WithCause(err)
	}
	return err
}
