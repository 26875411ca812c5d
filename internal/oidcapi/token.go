package oidcapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/token"
)

// maxFormBody bounds a token request (a client assertion with an x5c chain fits easily).
const maxFormBody = 64 << 10

// Well-known first-party public clients that may use the password and refresh-token grants.
var publicClients = map[string]string{
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
	"1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
	"872cd9fa-d31f-45e0-9eab-6e460a02d1f1": "Visual Studio",
	"aebc6443-996d-45c2-90f0-388ff96faa56": "Visual Studio Code",
}

// tokenRequest is the parsed form of a token request.
type tokenRequest struct {
	version   int
	host      string
	tenant    string // the {tenant} path segment
	form      url.Values
	clientID  string
	secret    string
	assertion string
}

// ParseTokenForm reads a token request body: application/x-www-form-urlencoded, at most 64 KiB, each parameter at
// most once. Client credentials may also come in an HTTP Basic header (client_secret_basic).
func ParseTokenForm(r *http.Request) (url.Values, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, aadsts(codeInvalidRequest, 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, aadsts(codeInvalidRequest, 90020, "The request body is too large.")
		}
		return nil, aadsts(codeInvalidRequest, 90014, "The request body is not a valid form.")
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, aadsts(codeInvalidRequest, 90015, "Requested query string is too long or has a repeated parameter '%s'.", k)
		}
	}
	return form, nil
}

func (a *API) token(version int) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		form, err := ParseTokenForm(r)
		if err != nil {
			return err
		}
		req := &tokenRequest{version: version, host: r.Host, tenant: r.PathValue("tenant"), form: form,
			clientID: form.Get("client_id"), secret: form.Get("client_secret"), assertion: form.Get("client_assertion")}
		if user, pass, ok := r.BasicAuth(); ok {
			if req.clientID != "" && req.clientID != user {
				return aadsts(codeInvalidRequest, 900144, "The client_id in the body and in the Authorization header differ.")
			}
			id, _ := url.QueryUnescape(user)
			sec, _ := url.QueryUnescape(pass)
			req.clientID, req.secret = id, sec
		}
		grant := form.Get("grant_type")
		var resp map[string]any
		switch grant {
		case "":
			return errMissing("grant_type")
		case "client_credentials":
			resp, err = a.clientCredentials(r.Context(), req)
		case "password":
			resp, err = a.password(r.Context(), req)
		case "refresh_token":
			resp, err = a.refresh(r.Context(), req)
		default:
			return aadsts(codeUnsupportedGrantType, 70003, "The app requested an unsupported grant type '%s'.", grant)
		}
		if err != nil {
			return err
		}
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, resp)
		return nil
	}
}

// target is what a token is for: the audience and, for delegated tokens, the scopes.
type target struct {
	aud      string
	scp      string
	resource string // echoed in v1 responses
	scope    string // echoed in v2 responses
}

// resolveTarget reads resource (v1) or scope (v2). App-only (client credentials) requests need a /.default scope.
func (a *API) resolveTarget(req *tokenRequest, appOnly bool) (target, error) {
	if req.version == 1 {
		res := req.form.Get("resource")
		if res == "" {
			return target{}, errMissing("resource")
		}
		if !token.KnownResource(res) {
			return target{}, errUnknownResource(res, req.tenant)
		}
		t := target{aud: res, resource: res}
		if !appOnly {
			t.scp = "user_impersonation"
		}
		return t, nil
	}
	scope := req.form.Get("scope")
	if scope == "" {
		return target{}, errMissing("scope")
	}
	var res string
	var scps []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		r, perm := splitScope(s)
		if res != "" && r != res {
			return target{}, aadsts(codeInvalidScope, 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope)
		}
		res = r
		if appOnly && perm != ".default" {
			return target{}, aadsts(codeInvalidScope, 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
		}
		if perm != ".default" {
			scps = append(scps, perm)
		}
	}
	if res == "" {
		return target{}, aadsts(codeInvalidScope, 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope)
	}
	if !token.KnownResource(res) {
		return target{}, errUnknownResource(res, req.tenant)
	}
	t := target{aud: res, scope: scope}
	if !appOnly {
		t.scp = strings.Join(scps, " ")
		if t.scp == "" {
			t.scp = "user_impersonation"
		}
	}
	return t, nil
}

// splitScope splits "https://vault.azure.net/.default" into the resource and the permission.
func splitScope(s string) (string, string) {
	i := strings.LastIndex(s, "/")
	if i <= 0 || i == len(s)-1 {
		return s, ".default"
	}
	// https://management.azure.com//.default: the resource keeps its trailing slash.
	return s[:i], s[i+1:]
}

func errUnknownResource(res, tenant string) *httpx.Error {
	return aadsts(codeInvalidResource, 500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", res, tenant)
}

func (a *API) clientCredentials(ctx context.Context, req *tokenRequest) (map[string]any, error) {
	t, err := a.tenantFor(ctx, req.tenant, false)
	if err != nil {
		return nil, err
	}
	if req.clientID == "" {
		return nil, errMissing("client_id")
	}
	tgt, err := a.resolveTarget(req, true)
	if err != nil {
		return nil, err
	}
	var sp directory.ServicePrincipal
	acr := "1"
	switch {
	case req.assertion != "":
		if at := req.form.Get("client_assertion_type"); at != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, aadsts(codeInvalidRequest, 700010, "Invalid client_assertion_type '%s'.", at)
		}
		sp, err = a.checkAssertion(ctx, req, t)
		acr = "2"
	case req.secret != "":
		sp, err = a.cfg.Directory.AuthenticateClientSecret(ctx, t.ID, req.clientID, req.secret)
		err = a.clientError(err, req.clientID, t.ID)
	default:
		return nil, aadsts(codeInvalidClient, 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if err != nil {
		return nil, err
	}
	c := token.Claims{Aud: tgt.aud, Iss: a.issuer(req.host, t.ID, req.version), Idtyp: "app", Oid: sp.ID, Sub: sp.ID, Tid: t.ID,
		Ver: versionString(req.version)}
	c.Idp = c.Iss
	if req.version == 1 {
		c.AppID, c.AppIDAcr = sp.AppID, acr
	} else {
		c.Azp, c.AzpAcr = sp.AppID, acr
	}
	if sp.ServicePrincipalType == directory.SPTypeManagedIdentity {
		c.XmsMirid = sp.ResourceID
	}
	return a.respond(c, tgt, req.version, nil)
}

// clientError maps the directory's answer about an application's credentials to Entra ID's errors.
func (a *API) clientError(err error, appID, tenant string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrNotFound):
		return errAppNotFound(appID, tenant)
	case errors.Is(err, directory.ErrBadCredentials):
		return errBadSecret(appID)
	case errors.Is(err, directory.ErrDisabled):
		return errNoServicePrincipal(appID, tenant)
	}
	return err
}

func (a *API) password(ctx context.Context, req *tokenRequest) (map[string]any, error) {
	if req.clientID == "" {
		return nil, errMissing("client_id")
	}
	username, pw := req.form.Get("username"), req.form.Get("password")
	if username == "" {
		return nil, errMissing("username")
	}
	if pw == "" {
		return nil, errMissing("password")
	}
	t, err := a.tenantFor(ctx, req.tenant, true)
	if err != nil {
		return nil, err
	}
	if t.ID == "" { // common or organizations: the user's domain names the tenant
		if _, domain, ok := strings.Cut(username, "@"); ok {
			if t, err = a.cfg.Directory.Tenant(ctx, domain); err != nil {
				return nil, aadsts(codeInvalidGrant, 50034, "The user account %s does not exist in the directory. To sign into this application, the account must be added to the directory.", username)
			}
		} else if t, err = a.cfg.Directory.Tenant(ctx, a.cfg.DefaultTenant); err != nil {
			return nil, err
		}
	}
	if err := a.checkPublicClient(ctx, req.clientID, t.ID); err != nil {
		return nil, err
	}
	tgt, err := a.resolveTarget(req, false)
	if err != nil {
		return nil, err
	}
	u, err := a.cfg.Directory.AuthenticateUser(ctx, t.ID, username, pw)
	switch {
	case errors.Is(err, directory.ErrLocked):
		return nil, aadsts(codeInvalidGrant, 50053, "The account is locked because the user tried to sign in too many times with an incorrect user ID or password.")
	case errors.Is(err, directory.ErrNotFound):
		return nil, aadsts(codeInvalidGrant, 50034, "The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", username, t.ID)
	case errors.Is(err, directory.ErrBadCredentials):
		return nil, aadsts(codeInvalidGrant, 50126, "Error validating credentials due to invalid username or password.")
	case errors.Is(err, directory.ErrDisabled):
		return nil, aadsts(codeInvalidGrant, 50057, "The user account is disabled.")
	case err != nil:
		return nil, err
	}
	return a.userToken(ctx, req, t, u, tgt)
}

func (a *API) refresh(ctx context.Context, req *tokenRequest) (map[string]any, error) {
	rt := req.form.Get("refresh_token")
	if rt == "" {
		return nil, errMissing("refresh_token")
	}
	if req.clientID == "" {
		return nil, errMissing("client_id")
	}
	// The request is checked before the refresh token is redeemed: redeeming replaces it.
	tgt, err := a.resolveTarget(req, false)
	if err != nil {
		return nil, err
	}
	sess, next, err := a.cfg.Directory.RedeemRefreshToken(ctx, rt, req.clientID)
	switch {
	case errors.Is(err, directory.ErrBadCredentials), errors.Is(err, directory.ErrNotFound):
		return nil, aadsts(codeInvalidGrant, 70000, "Provided grant is invalid or malformed.").WithCause(err)
	case errors.Is(err, directory.ErrDisabled):
		return nil, aadsts(codeInvalidGrant, 50057, "The user account is disabled.").WithCause(err)
	case err != nil:
		return nil, err
	}
	t, err := a.cfg.Directory.Tenant(ctx, sess.TenantID)
	if err != nil {
		return nil, err
	}
	if seg := strings.ToLower(req.tenant); seg != "common" && seg != "organizations" {
		if pt, err := a.tenantFor(ctx, req.tenant, false); err != nil || pt.ID != t.ID {
			return nil, aadsts(codeInvalidGrant, 70000, "Provided grant is invalid or malformed.")
		}
	}
	u, err := a.cfg.Directory.User(ctx, t.ID, sess.PrincipalID)
	if err != nil {
		return nil, aadsts(codeInvalidGrant, 70000, "Provided grant is invalid or malformed.").WithCause(err)
	}
	return a.userTokenWithRefresh(req, t, u, tgt, next)
}

func (a *API) checkPublicClient(ctx context.Context, clientID, tenantID string) error {
	if _, ok := publicClients[clientID]; ok {
		return nil
	}
	if _, err := a.cfg.Directory.Application(ctx, tenantID, clientID); err == nil {
		return nil
	}
	return errAppNotFound(clientID, tenantID)
}

func (a *API) userToken(ctx context.Context, req *tokenRequest, t directory.Tenant, u directory.User, tgt target) (map[string]any, error) {
	rt, err := a.cfg.Directory.NewRefreshToken(ctx, directory.Session{TenantID: t.ID, PrincipalID: u.ID, ClientID: req.clientID})
	if err != nil {
		return nil, err
	}
	return a.userTokenWithRefresh(req, t, u, tgt, rt)
}

func (a *API) userTokenWithRefresh(req *tokenRequest, t directory.Tenant, u directory.User, tgt target, refreshToken string) (map[string]any, error) {
	c := token.Claims{Aud: tgt.aud, Iss: a.issuer(req.host, t.ID, req.version), Idtyp: "user", Oid: u.ID, Tid: t.ID,
		Sub: pairwiseSub(u.ID, req.clientID), Name: u.DisplayName, Scp: tgt.scp, Amr: []string{"pwd"}, Ver: versionString(req.version)}
	if req.version == 1 {
		c.AppID, c.AppIDAcr = req.clientID, "0"
		c.Upn, c.UniqueName = u.UserPrincipalName, u.UserPrincipalName
	} else {
		c.Azp, c.AzpAcr = req.clientID, "0"
		c.PreferredUsername = u.UserPrincipalName
	}
	extra := map[string]any{"refresh_token": refreshToken}
	if req.version == 2 {
		idToken, _, err := a.cfg.Issuer.Issue(token.Claims{Aud: req.clientID, Iss: a.issuer(req.host, t.ID, 2), Idtyp: "user",
			Oid: u.ID, Tid: t.ID, Sub: c.Sub, Name: u.DisplayName, PreferredUsername: u.UserPrincipalName, Ver: "2.0"}, a.cfg.Lifetime)
		if err != nil {
			return nil, err
		}
		info, _ := json.Marshal(map[string]string{"uid": u.ID, "utid": t.ID})
		extra["id_token"] = idToken
		extra["client_info"] = base64.RawURLEncoding.EncodeToString(info)
	}
	return a.respond(c, tgt, req.version, extra)
}

// respond signs the claims and builds the token response in the version's shape: v1 sends numbers as strings.
func (a *API) respond(c token.Claims, tgt target, version int, extra map[string]any) (map[string]any, error) {
	raw, exp, err := a.cfg.Issuer.Issue(c, a.cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	expiresIn := exp.Unix() - a.cfg.Now().Unix()
	resp := map[string]any{"token_type": "Bearer", "access_token": raw}
	if version == 1 {
		resp["expires_in"] = strconv.FormatInt(expiresIn, 10)
		resp["ext_expires_in"] = strconv.FormatInt(expiresIn, 10)
		resp["expires_on"] = strconv.FormatInt(exp.Unix(), 10)
		resp["not_before"] = strconv.FormatInt(exp.Add(-a.cfg.Lifetime).Unix(), 10) // Issue sets nbf = now = exp - lifetime
		resp["resource"] = tgt.resource
	} else {
		resp["expires_in"] = expiresIn
		resp["ext_expires_in"] = expiresIn
		if c.Scp != "" {
			resp["scope"] = tgt.aud + "/" + strings.ReplaceAll(c.Scp, " ", " "+tgt.aud+"/")
		}
	}
	for k, v := range extra {
		resp[k] = v
	}
	return resp, nil
}

func versionString(v int) string {
	if v == 1 {
		return "1.0"
	}
	return "2.0"
}

// pairwiseSub is a user's subject for one application: stable, and different per application, as Entra ID's.
func pairwiseSub(oid, clientID string) string {
	sum := sha256.Sum256([]byte("keyhaven sub\x00" + oid + "\x00" + clientID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
