// Package kvapi is the Key Vault data plane's HTTP API for secrets, as the Azure SDKs call it on
// https://<vault>.vault.azure.net (or <vault>.vault.<zone>): the 401 challenge that starts every conversation,
// token validation, the firewall, access policies or RBAC data actions, throttling, every secrets operation in
// Key Vault's shapes, and an audit record per call.
package kvapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/authn"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/keyvault"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Key Vault's error codes.
var (
	codeUnauthorized = httpx.Code{Name: "Unauthorized", Status: http.StatusUnauthorized}
	codeForbidden    = httpx.Code{Name: "Forbidden", Status: http.StatusForbidden}
	codeBadParameter = httpx.Code{Name: "BadParameter", Status: http.StatusBadRequest}
	codeSecretNF     = httpx.Code{Name: "SecretNotFound", Status: http.StatusNotFound}
	codeVaultNF      = httpx.Code{Name: "VaultNotFound", Status: http.StatusNotFound}
	codeNotFound     = httpx.Code{Name: "NotFound", Status: http.StatusNotFound}
	codeConflict     = httpx.Code{Name: "Conflict", Status: http.StatusConflict}
	codeThrottled    = httpx.Code{Name: "Throttled", Status: http.StatusTooManyRequests}
)

// Config configures the API.
type Config struct {
	Secrets   *keyvault.Store
	ARM       *arm.Service
	Directory *directory.Service
	Validator *token.Validator
	Sealer    keyvault.Sealer
	Audit     *audit.Batcher
	// DefaultTenant answers the challenge for vaults that do not exist.
	DefaultTenant string
	// Zone is the operator's DNS zone: vaults there challenge with login.<zone> and https://vault.<zone>.
	Zone string
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	// TrustedServices are the app ids that bypass a firewall with bypass=AzureServices.
	TrustedServices []string
	// RateLimit is the requests a vault may take per 10 seconds; 0 means no limit.
	RateLimit int
	Now       func() time.Time
}

// API serves the data plane.
type API struct {
	cfg Config

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{cfg: cfg, buckets: map[string]*bucket{}}
}

// op describes an operation: the access-policy permission and the RBAC data action it needs.
type op struct {
	name       string // for the audit trail, as Key Vault names operations
	permission string // secrets permission in an access policy
	dataAction string // RBAC data action
	objectName bool   // the RBAC scope includes /secrets/{name}
	handler    func(c *call) error
}

// call is one authorized data-plane request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	vault  arm.Vault
	claims *token.Claims
	host   string // the vault host as ids carry it
	name   string // the object name, if any
	ver    string // the version, if any
}

// Mount adds the data plane's routes.
func (a *API) Mount(mux *http.ServeMux) {
	s := "Microsoft.KeyVault/vaults/secrets/"
	routes := []struct {
		pattern string
		op      op
	}{
		{"PUT /secrets/{name}", op{"SecretSet", "set", s + "setSecret/action", true, a.setSecret}},
		{"GET /secrets/{name}", op{"SecretGet", "get", s + "getSecret/action", true, a.getSecret}},
		{"GET /secrets/{name}/{$}", op{"SecretGet", "get", s + "getSecret/action", true, a.getSecret}},
		{"GET /secrets/{name}/{version}", op{"SecretGet", "get", s + "getSecret/action", true, a.getSecret}},
		{"PATCH /secrets/{name}", op{"SecretUpdate", "set", s + "update/action", true, a.updateSecret}},
		{"PATCH /secrets/{name}/{$}", op{"SecretUpdate", "set", s + "update/action", true, a.updateSecret}},
		{"PATCH /secrets/{name}/{version}", op{"SecretUpdate", "set", s + "update/action", true, a.updateSecret}},
		{"DELETE /secrets/{name}", op{"SecretDelete", "delete", s + "delete", true, a.deleteSecret}},
		{"GET /secrets", op{"SecretList", "list", s + "readMetadata/action", false, a.listSecrets}},
		{"GET /secrets/{name}/versions", op{"SecretListVersions", "list", s + "readMetadata/action", true, a.listVersions}},
		{"POST /secrets/{name}/backup", op{"SecretBackup", "backup", s + "backup/action", true, a.backupSecret}},
		{"POST /secrets/restore", op{"SecretRestore", "restore", s + "restore/action", false, a.restoreSecret}},
		{"GET /deletedsecrets", op{"SecretListDeleted", "list", s + "readMetadata/action", false, a.listDeleted}},
		{"GET /deletedsecrets/{name}", op{"SecretGetDeleted", "list", s + "readMetadata/action", true, a.getDeleted}},
		{"DELETE /deletedsecrets/{name}", op{"SecretPurge", "purge", s + "purge/action", true, a.purgeSecret}},
		{"POST /deletedsecrets/{name}/recover", op{"SecretRecover", "recover", s + "recover/action", true, a.recoverSecret}},
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, httpx.Handle(httpx.ShapeAzure, a.guard(rt.op)))
	}
	// Everything else still starts with the challenge; authenticated, it is not found.
	mux.Handle("/", httpx.Handle(httpx.ShapeAzure, a.guard(op{name: "Unknown", handler: func(c *call) error {
		return httpx.E(codeNotFound, "The operation %s %s is not served by keyhaven's Key Vault data plane.", c.r.Method, c.r.URL.Path)
	}})))
}

var apiVersionRule = regexp.MustCompile(`^(\d+\.\d+(-preview(\.\d+)?)?|\d{4}-\d{2}-\d{2}(-preview)?)$`)

// guard runs the checks every data-plane call goes through, in Azure's order, before the operation.
func (a *API) guard(o op) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (err error) {
		start := a.cfg.Now()
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		vaultName, suffix := splitHost(r.Host)
		c := &call{w: w, r: r, host: idHost(r.Host), name: r.PathValue("name"), ver: r.PathValue("version")}
		defer func() { a.audit(c, o, vaultName, start, sw.status, err) }()

		// 1. The challenge, before anything else (the SDK's first request has no token and no body).
		raw, ok := authn.BearerToken(r)
		if !ok {
			return a.challenge(vaultName, suffix, r.Host, "Request is missing a Bearer or PoP token.")
		}
		// 2. api-version.
		if v := r.URL.Query().Get("api-version"); v == "" {
			return httpx.E(codeBadParameter, "The api-version query parameter is missing.")
		} else if !apiVersionRule.MatchString(v) {
			return httpx.E(codeBadParameter, "The specified version (%s) is not recognized. Consider using the latest supported version (2025-07-01).", v)
		}
		// 3. The vault (a name that cannot be a vault's is not looked up).
		if !arm.ValidVaultName(vaultName) {
			return httpx.E(codeVaultNF, "The vault '%s' does not exist.", vaultName)
		}
		vault, err := a.cfg.ARM.VaultByName(r.Context(), vaultName)
		if err != nil {
			if isStoreNotFound(err) {
				return httpx.E(codeVaultNF, "The vault '%s' does not exist.", vaultName)
			}
			return err
		}
		c.vault = vault
		// 4. The token: signature, issuer, audience (the vault resource), expiry, the vault's tenant.
		claims, err := a.cfg.Validator.Validate(r.Context(), raw, token.Expect{Audiences: a.audiences(suffix, r.Host), Tenant: vault.TenantID})
		if err != nil {
			if errors.Is(err, token.ErrInvalid) {
				return a.challenge(vaultName, suffix, r.Host, "Error validating token: the token is invalid, expired, for another audience or for another tenant.").WithCause(err)
			}
			return err
		}
		c.claims = claims
		// 5. The firewall, 6. access policies or RBAC.
		if err := a.firewall(c); err != nil {
			return err
		}
		if o.permission != "" {
			if err := a.authorize(c, o); err != nil {
				return err
			}
		}
		// 7. Throttling.
		if wait := a.throttle(vault.Name); wait > 0 {
			return httpx.E(codeThrottled, "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached").
				WithHeader("Retry-After", itoa(int(wait.Seconds()+0.999)))
		}
		if c.name != "" && !keyvault.ValidName(c.name) {
			return httpx.E(codeBadParameter, "The request URI contains an invalid name: %s", c.name)
		}
		if c.ver != "" && !keyvault.ValidName(c.ver) {
			return httpx.E(codeBadParameter, "The request URI contains an invalid version: %s", c.ver)
		}
		return o.handler(c)
	}
}

// splitHost splits myvault.vault.azure.net:8443 into the vault name and the suffix vault.azure.net:8443.
func splitHost(host string) (string, string) {
	name, suffix, _ := strings.Cut(strings.ToLower(host), ".")
	return name, suffix
}

// idHost is the host ids and nextLinks carry: the request's, lower case, without :443.
func idHost(host string) string { return strings.TrimSuffix(strings.ToLower(host), ":443") }

// challenge is the 401 that tells the SDK where to get a token: the tenant's login authority and the vault
// resource, which must be a DNS parent of the vault host (with the port, as the Go SDK compares them).
func (a *API) challenge(vaultName, suffix, host, msg string) *httpx.Error {
	tenant := a.cfg.DefaultTenant
	if v, err := a.cfg.ARM.VaultByName(context.Background(), vaultName); err == nil {
		tenant = v.TenantID
	}
	login := "https://login.microsoftonline.com/"
	bare := suffix
	if h, _, err := net.SplitHostPort(suffix); err == nil {
		bare = h
	}
	if a.cfg.Zone != "" && bare == "vault."+a.cfg.Zone {
		login = "https://login." + a.cfg.Zone + "/"
	}
	resource := "https://" + strings.TrimSuffix(suffix, ":443")
	return httpx.E(codeUnauthorized, "%s", msg).
		WithHeader("WWW-Authenticate", `Bearer authorization="`+login+tenant+`", resource="`+resource+`"`)
}

// audiences are the aud values a vault accepts: its challenge resource (with or without a trailing slash),
// Azure's public name, and Key Vault's first-party app id.
func (a *API) audiences(suffix, host string) []string {
	res := []string{"https://" + strings.TrimSuffix(suffix, ":443"), "https://vault.azure.net", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"}
	if a.cfg.Zone != "" {
		res = append(res, "https://vault."+a.cfg.Zone)
	}
	return authn.Audiences(res...)
}

func itoa(n int) string { return strconv.Itoa(max(n, 1)) }

// statusWriter remembers the status written, for the audit record.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
