// Package token mints and validates keyhaven's access tokens: RS256 JWTs with the claims Entra ID puts in them,
// signed by keys that are stored sealed, rotated on a schedule, published before first use and kept published
// until every token they signed has expired.
package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

const kindSigningKey = "signing-key"

// KeyPolicy sets the signing-key schedule.
type KeyPolicy struct {
	// RotateEvery is how long a key signs before its successor takes over.
	RotateEvery time.Duration
	// Prepublish is how long a new key sits in the JWKS before it signs anything, so validators that cache the
	// JWKS know it in time.
	Prepublish time.Duration
	// MaxTokenLifetime is the longest lifetime of any token; a retired key stays published this long (plus skew)
	// after its last signature.
	MaxTokenLifetime time.Duration
}

func (p KeyPolicy) withDefaults() KeyPolicy {
	if p.RotateEvery <= 0 {
		p.RotateEvery = 30 * 24 * time.Hour
	}
	if p.Prepublish <= 0 {
		p.Prepublish = 24 * time.Hour
	}
	if p.MaxTokenLifetime <= 0 {
		p.MaxTokenLifetime = 24 * time.Hour
	}
	return p
}

// storedKey is a signing key record (sealed by the barrier like every value).
type storedKey struct {
	KID        string    `json:"kid"`
	DER        []byte    `json:"der"` // PKCS#8
	Created    time.Time `json:"created"`
	ActiveFrom time.Time `json:"activeFrom"`
	// RetiredAt is when a successor took over; zero while the key is the newest active one.
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}

type signingKey struct {
	storedKey
	priv *rsa.PrivateKey
}

// Keyring holds the signing keys. It is shared by the issuer and the validator and refreshed from storage, so
// every node sharing a database signs and validates with the same keys.
type Keyring struct {
	store  storage.Store
	now    func() time.Time
	policy KeyPolicy

	mu          sync.RWMutex // guards the fields below
	keys        []signingKey // oldest first
	lastRefresh time.Time
}

// NewKeyring loads the signing keys, creating the first one (active at once) on an empty store.
func NewKeyring(ctx context.Context, store storage.Store, now func() time.Time, policy KeyPolicy) (*Keyring, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{store: store, now: now, policy: policy.withDefaults()}
	if err := k.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := k.Rotate(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Refresh reloads the keys from storage.
func (k *Keyring) Refresh(ctx context.Context) error {
	recs, err := storage.ListAll[storedKey](ctx, k.store, kindSigningKey, "")
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]signingKey, 0, len(recs))
	for _, r := range recs {
		priv, err := x509.ParsePKCS8PrivateKey(r.DER)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", r.KID, err)
		}
		rk, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s is not RSA", r.KID)
		}
		rk.Precompute()
		keys = append(keys, signingKey{storedKey: r, priv: rk})
	}
	slices.SortFunc(keys, func(a, b signingKey) int { return a.ActiveFrom.Compare(b.ActiveFrom) })
	k.mu.Lock()
	k.keys = keys
	k.lastRefresh = k.now()
	k.mu.Unlock()
	return nil
}

// Rotate applies the schedule: it adds a successor key Prepublish before the current one's time is up, marks keys
// retired once a successor is active, and deletes retired keys once no token they signed can still be valid.
func (k *Keyring) Rotate(ctx context.Context) error {
	now := k.now()
	k.mu.RLock()
	keys := slices.Clone(k.keys)
	k.mu.RUnlock()
	changed := false

	var newest *signingKey
	if len(keys) > 0 {
		newest = &keys[len(keys)-1]
	}
	if newest == nil || !now.Before(newest.ActiveFrom.Add(k.policy.RotateEvery-k.policy.Prepublish)) {
		activeFrom := now.Add(k.policy.Prepublish)
		if newest == nil {
			activeFrom = now // nothing has been published yet, so nothing can have cached a JWKS without it
		}
		if err := k.create(ctx, now, activeFrom); err != nil {
			return err
		}
		changed = true
	}
	// Retire keys that have an active successor; delete those retired long enough.
	var active *signingKey
	for i := range keys {
		if !keys[i].ActiveFrom.After(now) {
			active = &keys[i]
		}
	}
	for _, key := range keys {
		switch {
		case active != nil && key.KID != active.KID && key.ActiveFrom.Before(active.ActiveFrom) && key.RetiredAt.IsZero():
			if err := k.retire(ctx, key.KID, active.ActiveFrom); err != nil {
				return err
			}
			changed = true
		case !key.RetiredAt.IsZero() && now.After(key.RetiredAt.Add(k.policy.MaxTokenLifetime+2*maxSkew)):
			if err := k.store.Delete(ctx, kindSigningKey, key.KID, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			changed = true
		}
	}
	if changed {
		return k.Refresh(ctx)
	}
	return nil
}

func (k *Keyring) create(ctx context.Context, now, activeFrom time.Time) error {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	sum := sha256.Sum256(pubDER)
	kid := base64.RawURLEncoding.EncodeToString(sum[:20])
	return storage.CreateJSON(ctx, k.store, kindSigningKey, kid, storedKey{KID: kid, DER: der, Created: now.UTC(), ActiveFrom: activeFrom.UTC()})
}

func (k *Keyring) retire(ctx context.Context, kid string, at time.Time) error {
	return k.store.InTx(ctx, func(tx storage.Tx) error {
		_, err := storage.UpdateJSON(ctx, tx, kindSigningKey, kid, func(s *storedKey) error {
			if s.RetiredAt.IsZero() {
				s.RetiredAt = at.UTC()
			}
			return nil
		})
		return err
	})
}

// Run refreshes and rotates on a schedule until ctx is done.
func (k *Keyring) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.Refresh(ctx)
			k.Rotate(ctx)
		}
	}
}

// signer returns the key that signs now: the newest whose activation time has come.
func (k *Keyring) signer() (signingKey, error) {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.keys) - 1; i >= 0; i-- {
		if !k.keys[i].ActiveFrom.After(now) {
			return k.keys[i], nil
		}
	}
	return signingKey{}, errors.New("token: no active signing key")
}

// publicKey returns the verification key for a kid, reloading once (at most every few seconds) when the kid is
// unknown, since another node may have added it.
func (k *Keyring) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, bool) {
	if pub, ok := k.lookup(kid); ok {
		return pub, true
	}
	// Claim the reload before doing it, so that a burst of tokens with unknown kids (which anyone can send) costs
	// one reload, not one each.
	k.mu.Lock()
	now := k.now()
	recent := now.Sub(k.lastRefresh) < 5*time.Second
	if !recent {
		k.lastRefresh = now
	}
	k.mu.Unlock()
	if recent || k.Refresh(ctx) != nil {
		return nil, false
	}
	return k.lookup(kid)
}

func (k *Keyring) lookup(kid string) (*rsa.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.KID == kid {
			return &key.priv.PublicKey, true
		}
	}
	return nil, false
}

// JWK is a public key as the JWKS publishes it.
type JWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KID    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Alg    string   `json:"alg"`
	Issuer string   `json:"issuer,omitempty"`
	X5c    []string `json:"x5c,omitempty"`
}

// JWKS returns every published key: pending, active and retired-but-not-expired.
func (k *Keyring) JWKS() []JWK {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]JWK, 0, len(k.keys))
	for _, key := range k.keys {
		pub := key.priv.PublicKey
		out = append(out, JWK{Kty: "RSA", Use: "sig", KID: key.KID, X5t: key.KID, Alg: "RS256",
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	}
	return out
}
