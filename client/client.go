package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Hosts keyhaven answers to under Azure's names.
const (
	LoginHost      = "login.microsoftonline.com"
	GraphHost      = "graph.microsoft.com"
	ManagementHost = "management.azure.com"
)

// Resources the CLI asks tokens for.
const (
	ResourceManagement = "https://management.core.windows.net/"
	ResourceGraph      = "https://graph.microsoft.com/"
	// ResourceVault is Key Vault's data plane, whose challenge names it without a trailing slash.
	ResourceVault = "https://vault.azure.net"
)

// VaultDNSSuffix is what follows a vault's name in its data-plane host, as az's cloud suffix keyvault_dns.
const VaultDNSSuffix = ".vault.azure.net"

// Client talks to one keyhaven server.
type Client struct {
	// HTTP dials the server for every host name and trusts only its CA.
	HTTP *http.Client
	now  func() time.Time
}

// New returns a client for the server at serverURL (https://host:port) trusting the CA in caFile. Requests to
// Azure's host names are dialed to the server's address; a caFile of "" uses the system roots.
func New(serverURL, caFile string) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want https://host[:port]", serverURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &Client{now: time.Now, HTTP: &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   tlsConf,
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		},
	}}, nil
}

// ForProfile returns a client for a saved profile.
func ForProfile(p *Profile) (*Client, error) { return New(p.Server, p.CAFile) }

// TokenResult is a token endpoint's answer.
type TokenResult struct {
	AccessToken  string
	RefreshToken string
	ExpiresOn    time.Time
}

// Error is a failed call, with the service's error code and message (OAuth2, ARM, Graph or Key Vault shape).
type Error struct {
	Status  int
	Code    string
	Message string
	// Inner is the error's innererror object as the service sent it (Key Vault's nested inner codes), or nil.
	Inner json.RawMessage
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("(%s) %s", e.Code, e.Message)
	}
	return e.Message
}

// scopeFor turns a resource into a v2 .default scope: https://management.core.windows.net/ becomes
// https://management.core.windows.net//.default, as az asks.
func scopeFor(resource string) string {
	if strings.HasSuffix(resource, "/.default") {
		return resource
	}
	return resource + "/.default"
}

// token posts a token request to tenant's v2 endpoint.
func (c *Client) token(ctx context.Context, tenant string, form url.Values) (TokenResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+LoginHost+"/"+url.PathEscape(tenant)+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return TokenResult{}, err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		Error        string          `json:"error"`
		Description  string          `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return TokenResult{}, fmt.Errorf("token endpoint answered %s with a body that is not JSON", resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return TokenResult{}, &Error{Status: resp.StatusCode, Code: body.Error, Message: body.Description}
	}
	secs, _ := strconv.ParseInt(strings.Trim(string(body.ExpiresIn), `"`), 10, 64)
	return TokenResult{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken, ExpiresOn: c.now().Add(time.Duration(secs) * time.Second)}, nil
}

// PasswordToken signs a user in with the password grant.
func (c *Client) PasswordToken(ctx context.Context, tenant, username, password, resource string) (TokenResult, error) {
	return c.token(ctx, tenant, url.Values{"grant_type": {"password"}, "client_id": {AzureCLIClientID},
		"username": {username}, "password": {password}, "scope": {scopeFor(resource) + " offline_access openid profile"}})
}

// RefreshToken continues a user's session for a resource; the answer carries the next refresh token.
func (c *Client) RefreshToken(ctx context.Context, tenant, refreshToken, resource string) (TokenResult, error) {
	return c.token(ctx, tenant, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID},
		"refresh_token": {refreshToken}, "scope": {scopeFor(resource) + " offline_access"}})
}

// SecretToken signs a service principal in with a client secret.
func (c *Client) SecretToken(ctx context.Context, tenant, appID, secret, resource string) (TokenResult, error) {
	return c.token(ctx, tenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
		"client_secret": {secret}, "scope": {scopeFor(resource)}})
}

// CertificateToken signs a service principal in with a certificate: a client assertion signed by its key.
func (c *Client) CertificateToken(ctx context.Context, tenant, appID, certPEM, resource string) (TokenResult, error) {
	cert, key, err := ParseCertificatePEM([]byte(certPEM))
	if err != nil {
		return TokenResult{}, err
	}
	aud := "https://" + LoginHost + "/" + tenant + "/oauth2/v2.0/token"
	now := c.now()
	sum := sha256.Sum256(cert.Raw)
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{"aud": aud, "iss": appID, "sub": appID,
		"jti": uuid.NewString(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	tok.Header["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
	assertion, err := tok.SignedString(key)
	if err != nil {
		return TokenResult{}, err
	}
	return c.token(ctx, tenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion}, "scope": {scopeFor(resource)}})
}

// ParseCertificatePEM reads a certificate and its RSA private key from one PEM file, as az's --certificate takes.
func ParseCertificatePEM(data []byte) (*x509.Certificate, crypto.Signer, error) {
	var cert *x509.Certificate
	var key crypto.Signer
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if cert == nil {
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					return nil, nil, err
				}
				cert = c
			}
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, err
			}
			s, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, nil, errors.New("the certificate's private key must be RSA")
			}
			key = s
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, err
			}
			key = k
		}
	}
	if cert == nil || key == nil {
		return nil, nil, errors.New("the PEM file must hold a certificate and its private key")
	}
	return cert, key, nil
}

// Call sends a JSON request to https://host/path with a bearer token and decodes a JSON answer into out (which
// may be nil). A failure is an *Error with the service's code and message.
func (c *Client) Call(ctx context.Context, accessToken, method, host, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+host+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct {
				Code       string          `json:"code"`
				Message    string          `json:"message"`
				InnerError json.RawMessage `json:"innererror"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Inner: e.Error.InnerError}
		}
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s", method, path, resp.Status)}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
