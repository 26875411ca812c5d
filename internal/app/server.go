package app

import (
	"context"
	"net/http"
	"time"

	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/metrics"
	"github.com/keyhaven/keyhaven/internal/msiapi"
	"github.com/keyhaven/keyhaven/internal/oidcapi"
	"github.com/keyhaven/keyhaven/storage"
)

// serverMux is the server's own endpoints: health, readiness and metrics.
func serverMux(store storage.Store, m *metrics.Metrics, oidc *oidcapi.API, runtime *msiapi.API) http.Handler {
	mux := http.NewServeMux()
	// The token service (and the runners' endpoint) also answer on the bare host, for clients pointed at
	// keyhaven's address.
	oidc.Mount(mux)
	runtime.Mount(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /readyz", httpx.Handle(httpx.ShapeAzure, func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			return httpx.E(httpx.CodeServiceUnavailable, "Storage is not answering.").WithCause(err)
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}))
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", httpx.Handle(httpx.ShapeAzure, func(w http.ResponseWriter, r *http.Request) error {
		return httpx.E(httpx.CodeNotFound, "There is no endpoint at %s %s. Vaults, the token service, the management and directory APIs are reached by host name: <vault>.vault.azure.net, login.microsoftonline.com, management.azure.com, graph.microsoft.com.", r.Method, r.URL.Path)
	}))
	return mux
}

// loginMux is the token service on its own host names (login.microsoftonline.com, login.<zone>, ...).
func loginMux(oidc *oidcapi.API, runtime *msiapi.API) http.Handler {
	mux := http.NewServeMux()
	oidc.Mount(mux)
	runtime.Mount(mux)
	mux.Handle("/", httpx.Handle(httpx.ShapeOAuth2, func(w http.ResponseWriter, r *http.Request) error {
		return httpx.E(httpx.CodeOAuthNotFound, "There is no token service endpoint at %s %s.", r.Method, r.URL.Path)
	}))
	return mux
}

// muxOf mounts an API on a mux of its own (one per host area).
func muxOf(api interface{ Mount(*http.ServeMux) }) http.Handler {
	mux := http.NewServeMux()
	api.Mount(mux)
	return mux
}
