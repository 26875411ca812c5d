// Package armapi is the management plane's HTTP API in Azure Resource Manager's shape: subscriptions and tenants,
// resource groups, App Service plans and sites (with identities and app settings), user-assigned identities, key
// vaults (access policies, deleted vaults, name checks), role definitions and assignments, and the /resources list.
// Paths match case-insensitively, every call needs an api-version, and operations finish synchronously.
package armapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/authn"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/msi"
	"github.com/keyhaven/keyhaven/internal/token"
	"github.com/keyhaven/keyhaven/storage"
)

// ARM's error codes used by the HTTP layer itself.
var (
	codeAuthFailed        = httpx.Code{Name: "AuthenticationFailed", Status: http.StatusUnauthorized}
	codeInvalidAuthToken  = httpx.Code{Name: "InvalidAuthenticationToken", Status: http.StatusUnauthorized}
	codeMissingAPIVersion = httpx.Code{Name: "MissingApiVersionParameter", Status: http.StatusBadRequest}
	codeBadAPIVersion     = httpx.Code{Name: "InvalidApiVersionParameter", Status: http.StatusBadRequest}
	codeNoRoute           = httpx.Code{Name: "InvalidResourceType", Status: http.StatusBadRequest}
	codeTooLarge          = httpx.Code{Name: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge}
)

// Config configures the API.
type Config struct {
	Store     storage.Store
	Directory *directory.Service
	ARM       *arm.Service
	// Runtime issues runner credentials (keyhaven webapp run).
	Runtime   *msi.Service
	Validator *token.Validator
	Audit     *audit.Log
	Zone      string
	Logger    *slog.Logger
	Now       func() time.Time
}

// API serves ARM.
type API struct {
	cfg  Config
	auth authn.Authenticator
}

// New returns the API.
func New(cfg Config) *API {
	res := []string{"https://management.azure.com", "https://management.core.windows.net", "797f4846-ba00-4fd7-ba43-dac1f8f63013"}
	if cfg.Zone != "" {
		res = append(res, "https://management."+cfg.Zone)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, auth: authn.Authenticator{Validator: cfg.Validator, Audiences: authn.Audiences(res...)}}
}

// Mount adds the routes: ARM's paths are case-insensitive, so one handler parses them.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle("/", httpx.Handle(httpx.ShapeAzure, a.serve))
}

// request is one authenticated ARM call.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	claims *token.Claims
	p      arm.Principal
	segs   []string // the path's segments, as sent
	body   []byte
	// audited operations record what they did.
	op, target string
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) error {
	claims, err := a.authenticate(r)
	if err != nil {
		return err
	}
	if err := checkAPIVersion(r.URL.Query().Get("api-version"), a.cfg.Now()); err != nil {
		return err
	}
	sw := &statusRecorder{ResponseWriter: w}
	req := &request{w: sw, r: r, claims: claims, segs: splitPath(r.URL.Path)}
	req.p = arm.Principal{TenantID: claims.Tid, ObjectID: claims.Oid, Name: callerName(claims)}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 4<<20))
		if err != nil {
			return httpx.E(codeTooLarge, "The request body is larger than 4 MiB.")
		}
		req.body = body
	}
	err = a.route(req)
	if isWrite(r) {
		a.record(req, err, sw.status)
	}
	return mapErr(err)
}

// statusRecorder remembers the status a handler wrote, for the audit record.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodPost:
		p := strings.ToLower(r.URL.Path)
		return !strings.HasSuffix(p, "/list") && !strings.HasSuffix(p, "/checknameavailability")
	}
	return false
}

// record appends the audit record of a management write.
func (a *API) record(req *request, err error, written int) {
	if a.cfg.Audit == nil {
		return
	}
	status, code := written, ""
	if status == 0 {
		status = http.StatusOK
	}
	var ae *arm.Error
	var he *httpx.Error
	switch {
	case errors.As(err, &ae):
		status, code = ae.HTTPStatus, ae.Code
	case errors.As(err, &he):
		status, code = he.Code.Status, he.Code.Name
	case err != nil:
		status, code = http.StatusInternalServerError, "InternalServerError"
	}
	rid := ""
	if info := httpx.InfoFrom(req.r.Context()); info != nil {
		rid = info.RequestID
	}
	host, _, _ := net.SplitHostPort(req.r.RemoteAddr)
	op := req.op
	if op == "" {
		op = req.r.Method + " " + req.r.URL.Path
	}
	target := req.target
	if target == "" {
		target = req.r.URL.Path
	}
	rec := audit.Record{Plane: "management", CallerOID: req.claims.Oid, CallerAppID: req.claims.ClientID(), CallerName: req.p.Name,
		ClientIP: host, Operation: op, Target: target, Status: status, Code: code, RequestID: rid}
	if err := a.cfg.Audit.Append(context.WithoutCancel(req.r.Context()), rec); err != nil {
		a.cfg.Logger.Error("audit record lost", "error", err.Error(), "request_id", rid)
	}
}

func callerName(c *token.Claims) string {
	switch {
	case c.Upn != "":
		return c.Upn
	case c.PreferredUsername != "":
		return c.PreferredUsername
	}
	return c.ClientID()
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
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

var apiVersionRule = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(-preview|-privatepreview|-beta|-alpha)?$`)

// checkAPIVersion requires an api-version that Azure could have shipped: a date from 2014 on, not more than a
// year ahead, optionally with a preview suffix. Which versions each provider shipped is not modelled: shapes are
// served in their latest form for every version.
func checkAPIVersion(v string, now time.Time) error {
	if v == "" {
		return httpx.E(codeMissingAPIVersion, "The api-version query parameter (?api-version=) is required for all requests.")
	}
	m := apiVersionRule.FindStringSubmatch(v)
	if m != nil {
		if t, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3]); err == nil && t.Year() >= 2014 && t.Before(now.AddDate(1, 0, 0)) {
			return nil
		}
	}
	return httpx.E(codeBadAPIVersion, "The api-version '%s' is invalid. The supported versions are dates from '2014-04-01' on, in the form 'yyyy-mm-dd' with an optional '-preview' suffix.", v)
}

// mapErr turns the domain's errors into the HTTP layer's.
func mapErr(err error) error {
	var ae *arm.Error
	if errors.As(err, &ae) {
		return &httpx.Error{Code: httpx.Code{Name: ae.Code, Status: ae.HTTPStatus}, Message: ae.Message}
	}
	var bad *arm.ErrBadID
	if errors.As(err, &bad) {
		return httpx.E(httpx.Code{Name: "InvalidResourceId", Status: http.StatusBadRequest}, "%s", bad.Error())
	}
	var de error = err
	if errors.Is(de, directory.ErrInvalid) {
		return httpx.E(httpx.Code{Name: "BadRequest", Status: http.StatusBadRequest}, "%s", err.Error())
	}
	return err
}

func noRoute(r *http.Request) error {
	return httpx.E(codeNoRoute, "The resource type or path '%s %s' is not served by keyhaven's management API.", r.Method, r.URL.Path)
}
