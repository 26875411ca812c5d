package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Session is a signed-in profile with its client: it hands out access tokens, renewing and caching them.
type Session struct {
	Profile *Profile
	Client  *Client
	dir     string
}

// OpenSession loads the profile in dir.
func OpenSession(dir string) (*Session, error) {
	p, err := LoadProfile(dir)
	if err != nil {
		return nil, err
	}
	c, err := ForProfile(p)
	if err != nil {
		return nil, err
	}
	return &Session{Profile: p, Client: c, dir: dir}, nil
}

// Credentials are what a sign-in uses.
type Credentials struct {
	Server, CAFile string
	// Tenant is required for service principals; for users it defaults to "organizations".
	Tenant string
	// Username and Password sign a user in.
	Username, Password string
	// ServicePrincipal signs in an application: Username is its app id, with Password (a secret) or CertificatePEM.
	ServicePrincipal bool
	CertificatePEM   string
}

// Login signs in, finds the subscriptions, and saves the profile in dir. It returns the accounts, and whether
// none were found (the profile then holds a tenant-level account, as az's --allow-no-subscriptions).
func Login(ctx context.Context, dir string, cred Credentials) ([]Account, bool, error) {
	c, err := New(cred.Server, cred.CAFile)
	if err != nil {
		return nil, false, err
	}
	p := &Profile{Server: cred.Server, CAFile: cred.CAFile, Tokens: map[string]CachedToken{}}
	var tok TokenResult
	switch {
	case cred.ServicePrincipal:
		if cred.Tenant == "" {
			return nil, false, errors.New("--tenant is required for a service principal")
		}
		p.User = UserInfo{Name: cred.Username, Type: "servicePrincipal"}
		if cred.CertificatePEM != "" {
			p.CertificatePEM = cred.CertificatePEM
			tok, err = c.CertificateToken(ctx, cred.Tenant, cred.Username, cred.CertificatePEM, ResourceManagement)
		} else {
			p.ClientSecret = cred.Password
			tok, err = c.SecretToken(ctx, cred.Tenant, cred.Username, cred.Password, ResourceManagement)
		}
	default:
		tenant := cred.Tenant
		if tenant == "" {
			tenant = "organizations"
		}
		tok, err = c.PasswordToken(ctx, tenant, cred.Username, cred.Password, ResourceManagement)
		p.RefreshToken = tok.RefreshToken
	}
	if err != nil {
		return nil, false, err
	}
	claims := unverifiedClaims(tok.AccessToken)
	p.TenantID = claims.Tid
	if !cred.ServicePrincipal {
		name := claims.PreferredUsername
		if name == "" {
			name = claims.Upn
		}
		p.User = UserInfo{Name: name, Type: "user"}
	}
	p.Tokens[ResourceManagement] = CachedToken{AccessToken: tok.AccessToken, ExpiresOn: tok.ExpiresOn}

	var subs struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
			TenantID       string `json:"tenantId"`
			DisplayName    string `json:"displayName"`
			State          string `json:"state"`
		} `json:"value"`
	}
	if err := c.Call(ctx, tok.AccessToken, "GET", ManagementHost, "/subscriptions?api-version=2022-12-01", nil, &subs); err != nil {
		return nil, false, err
	}
	var tenants struct {
		Value []struct {
			DefaultDomain string `json:"defaultDomain"`
			DisplayName   string `json:"displayName"`
		} `json:"value"`
	}
	c.Call(ctx, tok.AccessToken, "GET", ManagementHost, "/tenants?api-version=2022-12-01", nil, &tenants)
	var domain, tname string
	if len(tenants.Value) > 0 {
		domain, tname = tenants.Value[0].DefaultDomain, tenants.Value[0].DisplayName
	}
	for i, s := range subs.Value {
		p.Accounts = append(p.Accounts, Account{CloudName: "AzureCloud", HomeTenantID: s.TenantID, ID: s.SubscriptionID,
			IsDefault: i == 0, ManagedByTenants: []any{}, Name: s.DisplayName, State: s.State, TenantDefaultDomain: domain,
			TenantDisplayName: tname, TenantID: s.TenantID, User: p.User})
	}
	none := len(p.Accounts) == 0
	if none {
		p.Accounts = []Account{{CloudName: "AzureCloud", HomeTenantID: p.TenantID, ID: p.TenantID, IsDefault: true,
			ManagedByTenants: []any{}, Name: "N/A(tenant level account)", State: "Enabled", TenantID: p.TenantID, User: p.User}}
	}
	if err := p.Save(dir); err != nil {
		return nil, false, err
	}
	return p.Accounts, none, nil
}

// AccessToken returns a token for a resource (https://vault.azure.net, https://graph.microsoft.com/, ...) from the
// cache while it has five minutes left, else a new one, saving the profile.
func (s *Session) AccessToken(ctx context.Context, resource string) (CachedToken, error) {
	if t, ok := s.Profile.Tokens[resource]; ok && time.Until(t.ExpiresOn) > 5*time.Minute {
		return t, nil
	}
	p := s.Profile
	var tok TokenResult
	var err error
	switch {
	case p.User.Type == "servicePrincipal" && p.CertificatePEM != "":
		tok, err = s.Client.CertificateToken(ctx, p.TenantID, p.User.Name, p.CertificatePEM, resource)
	case p.User.Type == "servicePrincipal":
		tok, err = s.Client.SecretToken(ctx, p.TenantID, p.User.Name, p.ClientSecret, resource)
	default:
		tok, err = s.Client.RefreshToken(ctx, p.TenantID, p.RefreshToken, resource)
		if err == nil && tok.RefreshToken != "" {
			p.RefreshToken = tok.RefreshToken
		}
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == "invalid_grant" {
			return CachedToken{}, errors.New("the sign-in session has expired or was revoked. Please run 'keyhaven login' to setup account.")
		}
		return CachedToken{}, err
	}
	if p.Tokens == nil {
		p.Tokens = map[string]CachedToken{}
	}
	t := CachedToken{AccessToken: tok.AccessToken, ExpiresOn: tok.ExpiresOn}
	p.Tokens[resource] = t
	return t, p.Save(s.dir)
}

// Graph calls the Graph API (path after /v1.0).
func (s *Session) Graph(ctx context.Context, method, path string, in, out any) error {
	t, err := s.AccessToken(ctx, ResourceGraph)
	if err != nil {
		return err
	}
	return s.Client.Call(ctx, t.AccessToken, method, GraphHost, "/v1.0"+path, in, out)
}

// VaultURL is the data-plane address of the vault named name: https://name.vault.azure.net, as az builds it
// from --vault-name.
func VaultURL(name string) string { return "https://" + name + VaultDNSSuffix }

// Vault calls a Key Vault data plane. vaultURL is the vault's address (VaultURL, or the origin of an object id)
// and pathAndQuery what follows it, api-version included; an absolute URL, such as a list's nextLink, is called
// as it is. The token for https://vault.azure.net goes with the first request, so the service's 401 challenge,
// which the Azure SDKs answer with a second request, never comes into play.
func (s *Session) Vault(ctx context.Context, method, vaultURL, pathAndQuery string, in, out any) error {
	target := pathAndQuery
	if !strings.HasPrefix(target, "https://") {
		target = strings.TrimSuffix(vaultURL, "/") + pathAndQuery
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not a vault address", target)
	}
	t, err := s.AccessToken(ctx, ResourceVault)
	if err != nil {
		return err
	}
	return s.Client.Call(ctx, t.AccessToken, method, u.Host, u.RequestURI(), in, out)
}

// claims are the few token claims the CLI reads (without verifying: the server it got them from did).
type claims struct {
	Tid               string `json:"tid"`
	Oid               string `json:"oid"`
	Upn               string `json:"upn"`
	PreferredUsername string `json:"preferred_username"`
}

func unverifiedClaims(tok string) claims {
	var c claims
	parts := strings.Split(tok, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			json.Unmarshal(b, &c)
		}
	}
	return c
}

// ARM calls the management API: path is everything after the host, including the query (api-version).
func (s *Session) ARM(ctx context.Context, method, path string, in, out any) error {
	t, err := s.AccessToken(ctx, ResourceManagement)
	if err != nil {
		return err
	}
	return s.Client.Call(ctx, t.AccessToken, method, ManagementHost, path, in, out)
}

// SubscriptionID is the default account's subscription, or the one named (by id or name).
func (s *Session) SubscriptionID(name string) (string, error) {
	if name == "" {
		a, ok := s.Profile.DefaultAccount()
		if !ok || a.ID == s.Profile.TenantID {
			return "", errors.New("no subscription: the signed-in account has none")
		}
		return a.ID, nil
	}
	for _, a := range s.Profile.Accounts {
		if strings.EqualFold(a.ID, name) || a.Name == name {
			return a.ID, nil
		}
	}
	return "", errors.New("Subscription '" + name + "' not found. Check the spelling and casing and try again.")
}

// ObjectID is the signed-in principal's object id (the oid of its management token).
func (s *Session) ObjectID(ctx context.Context) (string, error) {
	t, err := s.AccessToken(ctx, ResourceManagement)
	if err != nil {
		return "", err
	}
	return unverifiedClaims(t.AccessToken).Oid, nil
}
