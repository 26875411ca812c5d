package oidcapi

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keyhaven/keyhaven/internal/directory"
)

// assertionSkew is the clock skew tolerated on a client assertion's exp and nbf.
const assertionSkew = 5 * time.Minute

// maxAssertionLifetime bounds how far ahead an assertion may expire, so a stolen one is not valid for long and
// the replay record need not be kept for long.
const maxAssertionLifetime = 24 * time.Hour

// checkAssertion verifies a client assertion (private_key_jwt): signed (RS256 or PS256, as MSAL signs) by a
// certificate registered on the application, identified by x5t#S256 or x5t; aud is this token endpoint; iss and
// sub are the client id; within its time range; and its jti never seen before.
func (a *API) checkAssertion(ctx context.Context, req *tokenRequest, t directory.Tenant) (directory.ServicePrincipal, error) {
	certs, sp, err := a.cfg.Directory.ClientCertificates(ctx, t.ID, req.clientID)
	if err != nil {
		return sp, a.clientError(err, req.clientID, t.ID)
	}
	now := a.cfg.Now()
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "PS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(assertionSkew),
		jwt.WithExpirationRequired(),
	)
	var used *x509.Certificate
	_, err = parser.ParseWithClaims(req.assertion, &claims, func(tok *jwt.Token) (any, error) {
		cert := matchCert(tok.Header, certs)
		if cert == nil {
			return nil, errors.New("no registered certificate matches the assertion's thumbprint")
		}
		used = cert
		return cert.PublicKey, nil
	})
	if err != nil {
		switch {
		case used == nil && !errors.Is(err, jwt.ErrTokenMalformed) && !errors.Is(err, jwt.ErrTokenSignatureInvalid):
			return sp, errBadAssertion("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]").WithCause(err)
		case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
			return sp, aadsts(codeInvalidClient, 700024, "Client assertion is not within its valid time range.").WithCause(err)
		case errors.Is(err, jwt.ErrTokenMalformed):
			return sp, aadsts(codeInvalidClient, 50027, "JWT token is invalid or malformed.").WithCause(err)
		default:
			return sp, errBadAssertion("Client assertion contains an invalid signature.").WithCause(err)
		}
	}
	if claims.Issuer != req.clientID || claims.Subject != req.clientID {
		return sp, aadsts(codeInvalidClient, 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
	}
	if !a.assertionAudience(claims.Audience, req, t) {
		return sp, aadsts(codeInvalidClient, 700027, "Client assertion failed signature validation. [Reason - The audience of the assertion is not this token endpoint.]")
	}
	if claims.ExpiresAt.After(now.Add(maxAssertionLifetime)) {
		return sp, aadsts(codeInvalidClient, 700024, "Client assertion is not within its valid time range. [Reason - it expires too far in the future.]")
	}
	if claims.ID == "" {
		return sp, aadsts(codeInvalidClient, 700027, "Client assertion failed signature validation. [Reason - The assertion has no jti.]")
	}
	if err := a.cfg.Directory.UseAssertionID(ctx, req.clientID, claims.ID, claims.ExpiresAt.Time); err != nil {
		if errors.Is(err, directory.ErrExists) {
			return sp, aadsts(codeInvalidClient, 700025, "Client assertion has already been used; assertions may be used only once (jti replay).")
		}
		return sp, err
	}
	return sp, nil
}

// matchCert finds the registered certificate an assertion's header names.
func matchCert(header map[string]any, certs []directory.KeyCredential) *x509.Certificate {
	s256, _ := header["x5t#S256"].(string)
	s1, _ := header["x5t"].(string)
	for _, k := range certs {
		cert, err := x509.ParseCertificate(k.Cert)
		if err != nil {
			continue
		}
		sum256 := sha256.Sum256(cert.Raw)
		sum1 := sha1.Sum(cert.Raw)
		switch {
		case s256 != "" && thumbEqual(s256, sum256[:]):
			return cert
		case s1 != "" && thumbEqual(s1, sum1[:]):
			return cert
		case s256 == "" && s1 == "" && len(certs) == 1:
			return cert
		}
	}
	return nil
}

// thumbEqual compares a thumbprint in any of the encodings clients use (base64url, base64) to a digest.
func thumbEqual(enc string, sum []byte) bool {
	for _, e := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := e.DecodeString(enc); err == nil && string(b) == string(sum) {
			return true
		}
	}
	return false
}

// assertionAudience accepts the token endpoint URL in any of its spellings: v1 or v2 path, the tenant by id, by
// domain or as in the request path, on one of the login hosts keyhaven answers to.
func (a *API) assertionAudience(aud jwt.ClaimStrings, req *tokenRequest, t directory.Tenant) bool {
	hosts := []string{strings.ToLower(req.host), "login.microsoftonline.com", "login.windows.net"}
	if h, _, err := net.SplitHostPort(req.host); err == nil {
		hosts = append(hosts, strings.ToLower(h))
	}
	if a.cfg.Zone != "" {
		hosts = append(hosts, "login."+a.cfg.Zone)
	}
	segs := []string{strings.ToLower(t.ID), strings.ToLower(t.Domain), strings.ToLower(req.tenant)}
	for _, s := range aud {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" {
			continue
		}
		hostOK := false
		for _, h := range hosts {
			if strings.EqualFold(u.Host, h) {
				hostOK = true
			}
		}
		if !hostOK {
			continue
		}
		path := strings.ToLower(strings.TrimSuffix(u.Path, "/"))
		for _, seg := range segs {
			if path == "/"+seg+"/oauth2/token" || path == "/"+seg+"/oauth2/v2.0/token" {
				return true
			}
		}
	}
	return false
}
