package runner

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// identityHandler serves App Service's local token endpoint: the 2019-08-01 protocol (IDENTITY_ENDPOINT,
// X-IDENTITY-HEADER; client_id, principal_id/object_id, mi_res_id) and the 2017-09-01 one (MSI_ENDPOINT, secret
// header; clientid, where empty means the default identity).
type identityHandler struct {
	tokens *tokenSource
	header string // IDENTITY_HEADER and MSI_SECRET
}

// appServiceError is App Service's error body.
func appServiceError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": msg, "correlationId": uuid.NewString()})
}

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (h *identityHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		appServiceError(w, http.StatusMethodNotAllowed, "Only GET is supported.")
		return
	}
	q := r.URL.Query()
	var sel Selector
	switch q.Get("api-version") {
	case "2019-08-01":
		if !sameSecret(r.Header.Get("X-IDENTITY-HEADER"), h.header) {
			appServiceError(w, http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or does not match.")
			return
		}
		sel = Selector{ClientID: q.Get("client_id"), ObjectID: firstOf(q.Get("principal_id"), q.Get("object_id")), ResourceID: q.Get("mi_res_id")}
	case "2017-09-01":
		if !sameSecret(r.Header.Get("Secret"), h.header) {
			appServiceError(w, http.StatusUnauthorized, "The secret header is missing or does not match.")
			return
		}
		sel = Selector{ClientID: q.Get("clientid")}
	default:
		appServiceError(w, http.StatusBadRequest, "The api-version '"+q.Get("api-version")+"' is not supported: use 2019-08-01 or 2017-09-01.")
		return
	}
	if n := countSet(sel); n > 1 {
		appServiceError(w, http.StatusBadRequest, "Only one of client_id, principal_id/object_id and mi_res_id may be given.")
		return
	}
	resource := q.Get("resource")
	if resource == "" {
		appServiceError(w, http.StatusBadRequest, "The resource parameter is required.")
		return
	}
	t, err := h.tokens.get(r.Context(), sel, resource)
	if err != nil {
		appServiceError(w, tokenStatus(err), err.Error())
		return
	}
	writeToken(w, t, resource)
}

// tokenStatus is the status to answer a failed token request with: keyhaven's own, or 500.
func tokenStatus(err error) int {
	if te, ok := err.(*TokenError); ok {
		return te.Status
	}
	return http.StatusInternalServerError
}

func countSet(s Selector) int {
	n := 0
	for _, v := range []string{s.ClientID, s.ObjectID, s.ResourceID} {
		if v != "" {
			n++
		}
	}
	return n
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// writeToken answers with every field as a string, the shape both App Service and IMDS use, which the Go and JS
// SDKs parse: expires_on is epoch seconds (the 2017 date format is refused by current SDKs).
func writeToken(w http.ResponseWriter, t Token, resource string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	in := int64(time.Until(t.ExpiresOn).Seconds())
	json.NewEncoder(w).Encode(map[string]string{
		"access_token":   t.AccessToken,
		"client_id":      t.ClientID,
		"expires_in":     strconv.FormatInt(in, 10),
		"expires_on":     strconv.FormatInt(t.ExpiresOn.Unix(), 10),
		"ext_expires_in": strconv.FormatInt(in, 10),
		"not_before":     strconv.FormatInt(t.NotBefore.Unix(), 10),
		"resource":       resource,
		"token_type":     "Bearer",
	})
}

// imdsHandler serves a VM's Instance Metadata Service token endpoint: Metadata: true is required and a request
// that came through a proxy (X-Forwarded-For) is refused, as IMDS does.
type imdsHandler struct{ tokens *tokenSource }

func imdsError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (h *imdsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.ToLower(r.URL.Path), "/")
	if path != "/metadata/identity/oauth2/token" {
		imdsError(w, http.StatusNotFound, "not_found", "The requested path is not served by this instance metadata service.")
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Request contains X-Forwarded-For header, which is not allowed.")
		return
	}
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Missing api-version parameter")
		return
	}
	sel := Selector{ClientID: q.Get("client_id"), ObjectID: q.Get("object_id"), ResourceID: q.Get("msi_res_id")}
	if countSet(sel) > 1 {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Multiple identity parameters given.")
		return
	}
	resource := q.Get("resource")
	if resource == "" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Required audience parameter not specified")
		return
	}
	t, err := h.tokens.get(r.Context(), sel, resource)
	if err != nil {
		imdsError(w, tokenStatus(err), "invalid_request", err.Error())
		return
	}
	writeToken(w, t, resource)
}
