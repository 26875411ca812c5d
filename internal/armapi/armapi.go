// Package armapi is the management plane's HTTP API in Azure Resource Manager's shape. This first part serves
// what sign-in needs: the subscriptions and tenants a caller can see.
package armapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/authn"
	"github.com/keyhaven/keyhaven/internal/bootstrap"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/rbac"
	"github.com/keyhaven/keyhaven/internal/token"
	"github.com/keyhaven/keyhaven/storage"
)

// ARM's error codes.
var (
	codeAuthFailed        = httpx.Code{Name: "AuthenticationFailed", Status: http.StatusUnauthorized}
	codeInvalidAuthToken  = httpx.Code{Name: "InvalidAuthenticationToken", Status: http.StatusUnauthorized}
	codeMissingAPIVersion = httpx.Code{Name: "MissingApiVersionParameter", Status: http.StatusBadRequest}
	codeSubNotFound       = httpx.Code{Name: "SubscriptionNotFound", Status: http.StatusNotFound}
	codeNoProvider        = httpx.Code{Name: "NoRegisteredProviderFound", Status: http.StatusBadRequest}
)

// Config configures the API.
type Config struct {
	Store     storage.Store
	Directory *directory.Service
	Validator *token.Validator
	Zone      string
	Logger    *slog.Logger
}

// API serves ARM.
type API struct {
	store storage.Store
	dir   *directory.Service
	auth  authn.Authenticator
}

// New returns the API.
func New(cfg Config) *API {
	res := []string{"https://management.azure.com", "https://management.core.windows.net", "797f4846-ba00-4fd7-ba43-dac1f8f63013"}
	if cfg.Zone != "" {
		res = append(res, "https://management."+cfg.Zone)
	}
	return &API{store: cfg.Store, dir: cfg.Directory, auth: authn.Authenticator{Validator: cfg.Validator, Audiences: authn.Audiences(res...)}}
}

type handler func(w http.ResponseWriter, r *http.Request, c *token.Claims) error

// Mount adds the routes.
func (a *API) Mount(mux *http.ServeMux) {
	h := func(fn handler) http.Handler {
		return httpx.Handle(httpx.ShapeAzure, func(w http.ResponseWriter, r *http.Request) error {
			c, err := a.authenticate(r)
			if err != nil {
				return err
			}
			if r.URL.Query().Get("api-version") == "" {
				return httpx.E(codeMissingAPIVersion, "The api-version query parameter (?api-version=) is required for all requests.")
			}
			return fn(w, r, c)
		})
	}
	mux.Handle("GET /subscriptions", h(a.listSubscriptions))
	mux.Handle("GET /subscriptions/{sub}", h(a.getSubscription))
	mux.Handle("GET /tenants", h(a.listTenants))
	mux.Handle("/", httpx.Handle(httpx.ShapeAzure, func(w http.ResponseWriter, r *http.Request) error {
		if _, err := a.authenticate(r); err != nil {
			return err
		}
		return httpx.E(codeNoProvider, "No registered resource provider found for location and API version for the request %s %s. keyhaven serves this part of the management API in a later version.", r.Method, r.URL.Path)
	}))
}

func (a *API) authenticate(r *http.Request) (*token.Claims, error) {
	auth := a.auth
	auth.Audiences = append(authn.Audiences("https://"+strings.TrimSuffix(r.Host, ":443")), a.auth.Audiences...)
	c, err := auth.Authenticate(r)
	switch {
	case errors.Is(err, authn.ErrNoToken):
		return nil, httpx.E(codeAuthFailed, "Authentication failed. The 'Authorization' header is missing.").
			WithHeader("WWW-Authenticate", `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
	case errors.Is(err, token.ErrInvalid):
		return nil, httpx.E(codeInvalidAuthToken, "The access token is invalid.").WithCause(err).
			WithHeader("WWW-Authenticate", `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."`)
	}
	return c, err
}

// visibleSubscriptions are the subscriptions in which the caller (or a group it is in) holds any role.
func (a *API) visibleSubscriptions(r *http.Request, c *token.Claims) ([]bootstrap.Subscription, error) {
	groups, err := a.dir.TransitiveGroups(r.Context(), c.Tid, c.Oid)
	if err != nil {
		return nil, err
	}
	assignments, err := rbac.ForPrincipals(r.Context(), a.store, append(groups, c.Oid))
	if err != nil {
		return nil, err
	}
	subs, err := storage.ListAll[bootstrap.Subscription](r.Context(), a.store, bootstrap.KindSubscription, "")
	if err != nil {
		return nil, err
	}
	var out []bootstrap.Subscription
	for _, s := range subs {
		if s.TenantID != c.Tid {
			continue
		}
		prefix := "/subscriptions/" + s.ID
		for _, as := range assignments {
			sc := strings.ToLower(as.Properties.Scope)
			if sc == prefix || strings.HasPrefix(sc, prefix+"/") {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

func subscriptionView(s bootstrap.Subscription) map[string]any {
	return map[string]any{
		"id": "/subscriptions/" + s.ID, "authorizationSource": "RoleBased", "managedByTenants": []any{},
		"subscriptionId": s.ID, "tenantId": s.TenantID, "displayName": s.DisplayName, "state": s.State,
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, c *token.Claims) error {
	subs, err := a.visibleSubscriptions(r, c)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, s := range subs {
		items = append(items, subscriptionView(s))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": items, "count": map[string]any{"type": "Total", "value": len(items)}})
	return nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request, c *token.Claims) error {
	subs, err := a.visibleSubscriptions(r, c)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if strings.EqualFold(s.ID, r.PathValue("sub")) {
			httpx.WriteJSON(w, http.StatusOK, subscriptionView(s))
			return nil
		}
	}
	return httpx.E(codeSubNotFound, "The subscription '%s' could not be found.", r.PathValue("sub"))
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, c *token.Claims) error {
	t, err := a.dir.Tenant(r.Context(), c.Tid)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{{
		"id": "/tenants/" + t.ID, "tenantId": t.ID, "tenantCategory": "Home", "displayName": t.DisplayName,
		"defaultDomain": t.Domain, "domains": []string{t.Domain}, "tenantType": "AAD",
	}}})
	return nil
}
