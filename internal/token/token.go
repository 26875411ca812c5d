package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// maxSkew is the clock skew tolerated on exp and nbf.
const maxSkew = 5 * time.Minute

// Claims are the claims of a keyhaven access token, named as Entra ID names them. Fields that do not apply to a
// token's version or principal type are left empty and omitted.
type Claims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	// Idp is the identity provider; for app tokens, the issuer.
	Idp string `json:"idp,omitempty"`
	// AppID (v1) and Azp (v2) are the client id of the calling application; AppIDAcr and AzpAcr say how it proved
	// itself: "0" public client, "1" client secret, "2" certificate.
	AppID    string `json:"appid,omitempty"`
	AppIDAcr string `json:"appidacr,omitempty"`
	Azp      string `json:"azp,omitempty"`
	AzpAcr   string `json:"azpacr,omitempty"`
	// Idtyp is "app" for app-only tokens and "user" for tokens of a signed-in user.
	Idtyp      string   `json:"idtyp"`
	Name       string   `json:"name,omitempty"`
	Oid        string   `json:"oid"`
	Scp        string   `json:"scp,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	Sub        string   `json:"sub"`
	Tid        string   `json:"tid"`
	UniqueName string   `json:"unique_name,omitempty"`
	Upn        string   `json:"upn,omitempty"`
	// PreferredUsername is the v2 form of upn.
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Amr               []string `json:"amr,omitempty"`
	Uti               string   `json:"uti"`
	Ver               string   `json:"ver"`
	// XmsMirid is, for a managed identity, the ARM resource id of the identity (user-assigned) or of the resource
	// it belongs to (system-assigned).
	XmsMirid string `json:"xms_mirid,omitempty"`
}

// IsApp reports whether the token is app-only (a service principal or managed identity).
func (c *Claims) IsApp() bool { return c.Idtyp == "app" }

// ClientID is the calling application's client id, whichever version the token is.
func (c *Claims) ClientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// Issuer mints tokens.
type Issuer struct {
	keys *Keyring
	now  func() time.Time
}

// NewIssuer returns an issuer signing with keys.
func NewIssuer(keys *Keyring, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{keys: keys, now: now}
}

// Issue fills iat, nbf, exp (now + lifetime) and uti, signs the claims and returns the token with its expiry.
func (i *Issuer) Issue(c Claims, lifetime time.Duration) (string, time.Time, error) {
	key, err := i.keys.signer()
	if err != nil {
		return "", time.Time{}, err
	}
	now := i.now()
	exp := now.Add(lifetime)
	c.Iat = now.Unix()
	c.Nbf = now.Unix()
	c.Exp = exp.Unix()
	c.Uti = randomID()
	header, _ := json.Marshal(struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		X5t string `json:"x5t"`
		Kid string `json:"kid"`
	}{"JWT", "RS256", key.KID, key.KID})
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, err
	}
	enc := base64.RawURLEncoding
	var b strings.Builder
	b.Grow(enc.EncodedLen(len(header)) + enc.EncodedLen(len(payload)) + 350)
	b.WriteString(enc.EncodeToString(header))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(payload))
	sum := sha256.Sum256([]byte(b.String()))
	sig, err := rsa.SignPKCS1v15(nil, key.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sig))
	return b.String(), exp, nil
}

// JWKS is the keyring's published keys.
func (i *Issuer) JWKS() []JWK { return i.keys.JWKS() }

// Keyring returns the keys the issuer signs with.
func (i *Issuer) Keyring() *Keyring { return i.keys }

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Refresh is a convenience for callers holding only the issuer.
// KnownResource accepts the resources keyhaven serves tokens for: Key Vault, ARM and Graph under Azure's names
// or a zone's (any vault.*, management.* or graph.* host, for development zones such as vault.localhost), and
// their first-party app ids.
func KnownResource(res string) bool {
	switch strings.TrimSuffix(res, "/") {
	case "https://vault.azure.net", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
		"https://management.azure.com", "https://management.core.windows.net", "797f4846-ba00-4fd7-ba43-dac1f8f63013",
		"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000":
		return true
	}
	u, err := url.Parse(res)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return false
	}
	host := u.Hostname()
	return strings.HasPrefix(host, "vault.") || strings.HasPrefix(host, "management.") || strings.HasPrefix(host, "graph.")
}
