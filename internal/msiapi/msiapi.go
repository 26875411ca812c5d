// Package msiapi is the runner-facing endpoint of the managed identity runtime: a runner presents the credential
// it was given for its app and gets tokens for the app's identities. Apps never call it: they call their runner.
package msiapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/msi"
)

var (
	codeUnauthorized = httpx.Code{Name: "Unauthorized", Status: http.StatusUnauthorized}
	codeBadRequest   = httpx.Code{Name: "BadRequest", Status: http.StatusBadRequest}
	codeNotFound     = httpx.Code{Name: "IdentityNotFound", Status: http.StatusBadRequest}
)

// Scheme is the Authorization scheme runners use: "KeyhavenRuntime <credential>".
const Scheme = "KeyhavenRuntime"

// API serves the runtime token endpoint.
type API struct{ svc *msi.Service }

// New returns the API.
func New(svc *msi.Service) *API { return &API{svc: svc} }

// Mount adds GET /keyhaven/runtime/token?resource=...[&client_id=|&object_id=|&mi_res_id=].
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("GET /keyhaven/runtime/token", httpx.Handle(httpx.ShapeAzure, a.token))
}

func (a *API) token(w http.ResponseWriter, r *http.Request) error {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, Scheme) || cred == "" {
		return httpx.E(codeUnauthorized, "A runtime credential is required.")
	}
	q := r.URL.Query()
	sel := msi.Selector{ClientID: q.Get("client_id"), ObjectID: q.Get("object_id"), ResourceID: q.Get("mi_res_id")}
	tok, err := a.svc.Mint(r.Context(), cred, sel, q.Get("resource"))
	switch {
	case errors.Is(err, msi.ErrBadCredential):
		return httpx.E(codeUnauthorized, "%s", err.Error())
	case errors.Is(err, msi.ErrNoIdentity):
		return httpx.E(codeNotFound, "%s", err.Error())
	case errors.Is(err, msi.ErrBadResource):
		return httpx.E(codeBadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok.AccessToken, "expires_on": tok.ExpiresOn.Unix(),
		"not_before": tok.NotBefore.Unix(), "resource": tok.Resource, "client_id": tok.ClientID, "token_type": "Bearer"})
	return nil
}
