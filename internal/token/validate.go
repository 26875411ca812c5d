package token

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrInvalid is wrapped by every validation failure. The wrapped message says precisely why, for the log; clients
// get only a generic refusal.
var ErrInvalid = errors.New("invalid token")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Expect is what a caller accepts.
type Expect struct {
	// Audiences lists the acceptable aud values (e.g. https://vault.azure.net and its trailing-slash form).
	Audiences []string
	// Tenant, if set, is the only tenant whose tokens are accepted (a vault's tenant, say).
	Tenant string
}

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	Keys *Keyring
	Now  func() time.Time
	// Issuers returns the acceptable iss values for a tenant id, or nil for an unknown tenant.
	Issuers func(tid string) []string
	// Exists reports whether a principal still exists. It is consulted at most once per ExistsTTL per principal.
	Exists func(ctx context.Context, tid, oid string) (bool, error)
	// ExistsTTL bounds how long a deleted principal's tokens may keep working on another node; 0 means 5 s.
	ExistsTTL time.Duration
	// CacheSize bounds the verified-token cache; 0 means 100,000 tokens.
	CacheSize int
}

// Validator checks access tokens: signature (RS256 only, by a key in the local keyring), issuer, audience, expiry
// with a small skew, tenant, and that the principal still exists. Verified tokens are cached so the hot path does
// not repeat the RSA verification.
type Validator struct {
	cfg ValidatorConfig

	mu     sync.RWMutex // guards the fields below
	cache  map[string]*Claims
	exists map[string]existence
	// forgets counts Forget calls, so that an existence check that began before one does not record its
	// (possibly stale) answer after it.
	forgets uint64
}

type existence struct {
	ok      bool
	checked time.Time
}

// NewValidator returns a validator.
func NewValidator(cfg ValidatorConfig) *Validator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExistsTTL <= 0 {
		cfg.ExistsTTL = 5 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 100_000
	}
	return &Validator{cfg: cfg, cache: map[string]*Claims{}, exists: map[string]existence{}}
}

// Validate checks a raw token and returns its claims. The claims are shared: callers must not modify them.
func (v *Validator) Validate(ctx context.Context, raw string, want Expect) (*Claims, error) {
	now := v.cfg.Now()
	v.mu.RLock()
	c := v.cache[raw]
	v.mu.RUnlock()
	if c == nil {
		var err error
		if c, err = v.verify(ctx, raw); err != nil {
			return nil, err
		}
	}
	// Time and audience are checked on every use: a cached token still expires, and one token may be offered to
	// several audiences.
	if now.After(time.Unix(c.Exp, 0).Add(maxSkew)) {
		return nil, refuse("expired at %s", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	}
	if now.Add(maxSkew).Before(time.Unix(c.Nbf, 0)) {
		return nil, refuse("not valid before %s", time.Unix(c.Nbf, 0).UTC().Format(time.RFC3339))
	}
	if !slices.Contains(want.Audiences, c.Aud) {
		return nil, refuse("audience %q is not one of %q", c.Aud, want.Audiences)
	}
	if want.Tenant != "" && !strings.EqualFold(want.Tenant, c.Tid) {
		return nil, refuse("token of tenant %s, expected tenant %s", c.Tid, want.Tenant)
	}
	ok, err := v.principalExists(ctx, c.Tid, c.Oid, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refuse("principal %s no longer exists in tenant %s", c.Oid, c.Tid)
	}
	return c, nil
}

// verify does the expensive part once per token: parse, algorithm, signature, issuer, tenant.
func (v *Validator) verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > 16<<10 {
		return nil, refuse("token longer than 16 KiB")
	}
	h64, rest, ok := strings.Cut(raw, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s64, ".") {
		return nil, refuse("not a JWS compact serialization")
	}
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(h64)
	if err != nil {
		return nil, refuse("header is not base64url")
	}
	var header struct {
		Alg  string `json:"alg"`
		Kid  string `json:"kid"`
		Crit any    `json:"crit"`
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, refuse("header is not JSON")
	}
	if header.Alg != "RS256" {
		return nil, refuse("algorithm %q is not accepted (only RS256)", header.Alg)
	}
	if header.Crit != nil {
		return nil, refuse("critical header extensions are not supported")
	}
	pub, ok := v.cfg.Keys.publicKey(ctx, header.Kid)
	if !ok {
		return nil, refuse("signing key %q is unknown or expired", header.Kid)
	}
	sig, err := enc.DecodeString(s64)
	if err != nil {
		return nil, refuse("signature is not base64url")
	}
	sum := sha256.Sum256([]byte(raw[:len(h64)+1+len(p64)]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, refuse("signature does not verify with key %q", header.Kid)
	}
	pb, err := enc.DecodeString(p64)
	if err != nil {
		return nil, refuse("payload is not base64url")
	}
	c := &Claims{}
	if err := json.Unmarshal(pb, c); err != nil {
		return nil, refuse("payload is not the expected JSON: %v", err)
	}
	issuers := v.cfg.Issuers(c.Tid)
	if issuers == nil {
		return nil, refuse("tenant %q is unknown", c.Tid)
	}
	if !slices.Contains(issuers, c.Iss) {
		return nil, refuse("issuer %q is not accepted for tenant %s", c.Iss, c.Tid)
	}
	if c.Oid == "" || c.Exp == 0 {
		return nil, refuse("oid or exp missing")
	}
	v.mu.Lock()
	if len(v.cache) >= v.cfg.CacheSize {
		v.cache = map[string]*Claims{} // crude but bounded; a hot set refills at once
	}
	v.cache[raw] = c
	v.mu.Unlock()
	return c, nil
}

func (v *Validator) principalExists(ctx context.Context, tid, oid string, now time.Time) (bool, error) {
	k := tid + "/" + oid
	v.mu.RLock()
	e, ok := v.exists[k]
	forgets := v.forgets
	v.mu.RUnlock()
	if ok && now.Sub(e.checked) < v.cfg.ExistsTTL {
		return e.ok, nil
	}
	found, err := v.cfg.Exists(ctx, tid, oid)
	if err != nil {
		return false, fmt.Errorf("check principal: %w", err)
	}
	v.mu.Lock()
	if v.forgets == forgets {
		if len(v.exists) >= v.cfg.CacheSize {
			v.exists = map[string]existence{}
		}
		v.exists[k] = existence{ok: found, checked: now}
	}
	v.mu.Unlock()
	return found, nil
}

// Forget drops what the validator knows of a principal, so that its deletion takes effect on this node at once.
func (v *Validator) Forget(tid, oid string) {
	v.mu.Lock()
	v.forgets++
	delete(v.exists, tid+"/"+oid)
	v.mu.Unlock()
}
