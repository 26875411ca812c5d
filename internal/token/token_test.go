package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const (
	tenantA = "11111111-1111-1111-1111-111111111111"
	tenantB = "22222222-2222-2222-2222-222222222222"
	oid     = "33333333-3333-3333-3333-333333333333"
)

type fixture struct {
	store   storage.Store
	clk     *clock
	keys    *Keyring
	issuer  *Issuer
	v       *Validator
	deleted map[string]bool
	mu      sync.Mutex
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	raw := sqltest.OpenSQLite(t)
	t.Cleanup(func() { raw.Close() })
	b, err := barrier.Open(context.Background(), raw, barrier.GenerateRootKey())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: b.Store(), clk: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, deleted: map[string]bool{}}
	f.keys, err = NewKeyring(context.Background(), f.store, f.clk.Now, KeyPolicy{RotateEvery: 30 * 24 * time.Hour, Prepublish: 24 * time.Hour, MaxTokenLifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.issuer = NewIssuer(f.keys, f.clk.Now)
	f.v = NewValidator(ValidatorConfig{
		Keys: f.keys, Now: f.clk.Now,
		Issuers: func(tid string) []string {
			if tid == tenantA || tid == tenantB {
				return []string{"https://sts.windows.net/" + tid + "/"}
			}
			return nil
		},
		Exists: func(_ context.Context, tid, id string) (bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return !f.deleted[tid+"/"+id], nil
		},
		ExistsTTL: time.Second,
	})
	return f
}

func (f *fixture) claims(tid string) Claims {
	return Claims{Aud: "https://vault.azure.net", Iss: "https://sts.windows.net/" + tid + "/", Oid: oid, Sub: oid, Tid: tid,
		AppID: "44444444-4444-4444-4444-444444444444", AppIDAcr: "1", Idtyp: "app", Ver: "1.0"}
}

func (f *fixture) issue(t testing.TB, c Claims, lifetime time.Duration) string {
	t.Helper()
	tok, _, err := f.issuer.Issue(c, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var vault = Expect{Audiences: []string{"https://vault.azure.net", "https://vault.azure.net/"}}

func mustRefuse(t *testing.T, f *fixture, tok, why string) {
	t.Helper()
	_, err := f.v.Validate(context.Background(), tok, vault)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%s: got %v, want a refusal", why, err)
	}
	if !strings.Contains(err.Error(), why) {
		t.Fatalf("refusal does not say %q: %v", why, err)
	}
}

func TestValidTokenAndClaims(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.claims(tenantA), time.Hour)
	c, err := f.v.Validate(context.Background(), tok, vault)
	if err != nil {
		t.Fatal(err)
	}
	if c.Oid != oid || c.Tid != tenantA || c.Exp-c.Iat != 3600 || c.Nbf != c.Iat || c.Uti == "" {
		t.Errorf("claims %+v", c)
	}
	// The header names the key, as Entra ID's tokens do.
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var header map[string]string
	json.Unmarshal(h, &header)
	if header["alg"] != "RS256" || header["kid"] == "" || header["typ"] != "JWT" || header["x5t"] != header["kid"] {
		t.Errorf("header %v", header)
	}
	// Valid through the cache, again.
	if _, err := f.v.Validate(context.Background(), tok, vault); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	good := f.issue(t, f.claims(tenantA), time.Hour)
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding

	// Tampered payload: oid changed, signature kept.
	p, _ := enc.DecodeString(parts[1])
	tampered := enc.EncodeToString([]byte(strings.Replace(string(p), oid, "55555555-5555-5555-5555-555555555555", 1)))
	mustRefuse(t, f, parts[0]+"."+tampered+"."+parts[2], "signature does not verify")

	// Tampered signature.
	sig, _ := enc.DecodeString(parts[2])
	sig[10] ^= 1
	mustRefuse(t, f, parts[0]+"."+parts[1]+"."+enc.EncodeToString(sig), "signature does not verify")

	// alg none, with and without a signature.
	var hdr map[string]string
	hb, _ := enc.DecodeString(parts[0])
	json.Unmarshal(hb, &hdr)
	none := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + hdr["kid"] + `"}`))
	mustRefuse(t, f, none+"."+parts[1]+".", "algorithm")
	mustRefuse(t, f, none+"."+parts[1]+"."+parts[2], "algorithm")

	// HS256 keyed with the public key (the classic algorithm confusion).
	pub, _ := f.keys.lookup(hdr["kid"])
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	hs := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + hdr["kid"] + `"}`))
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(hs + "." + parts[1]))
	mustRefuse(t, f, hs+"."+parts[1]+"."+enc.EncodeToString(mac.Sum(nil)), "algorithm")

	// Unknown kid.
	unknown := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"nope"}`))
	mustRefuse(t, f, unknown+"."+parts[1]+"."+parts[2], "unknown or expired")

	// Malformed.
	for _, bad := range []string{"", "a", "a.b", "a.b.c.d", "!!!.b.c", parts[0] + ".!!!." + parts[2]} {
		if _, err := f.v.Validate(context.Background(), bad, vault); !errors.Is(err, ErrInvalid) {
			t.Errorf("malformed %q: %v", bad, err)
		}
	}

	// Wrong audience.
	c := f.claims(tenantA)
	c.Aud = "https://management.azure.com/"
	mustRefuse(t, f, f.issue(t, c, time.Hour), "audience")

	// Another tenant's issuer on this tenant's token, and an unknown tenant.
	c = f.claims(tenantA)
	c.Iss = "https://sts.windows.net/" + tenantB + "/"
	mustRefuse(t, f, f.issue(t, c, time.Hour), "issuer")
	mustRefuse(t, f, f.issue(t, f.claims("99999999-9999-9999-9999-999999999999"), time.Hour), "tenant")

	// A valid token of another tenant, offered where this tenant's are expected.
	other := f.issue(t, f.claims(tenantB), time.Hour)
	if _, err := f.v.Validate(context.Background(), other, vault); err != nil {
		t.Fatalf("tenant B's token on its own: %v", err)
	}
	onlyA := vault
	onlyA.Tenant = tenantA
	if _, err := f.v.Validate(context.Background(), other, onlyA); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "expected tenant") {
		t.Fatalf("another tenant's token: %v", err)
	}

	// Expired (beyond the skew), and not yet valid.
	short := f.issue(t, f.claims(tenantA), 10*time.Minute)
	if _, err := f.v.Validate(context.Background(), short, vault); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(10*time.Minute + maxSkew + time.Second)
	mustRefuse(t, f, short, "expired")
	f.clk.Advance(-(10*time.Minute + maxSkew + time.Second))
	future := f.issue(t, f.claims(tenantA), time.Hour)
	f.clk.Advance(-time.Hour)
	mustRefuse(t, f, future, "not valid before")
	f.clk.Advance(time.Hour)
}

func TestDeletedPrincipal(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.claims(tenantA), time.Hour)
	if _, err := f.v.Validate(context.Background(), tok, vault); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.deleted[tenantA+"/"+oid] = true
	f.mu.Unlock()
	// On this node, Forget makes it immediate; elsewhere the existence TTL bounds it.
	f.v.Forget(tenantA, oid)
	mustRefuse(t, f, tok, "no longer exists")

	f.mu.Lock()
	f.deleted[tenantA+"/"+oid] = false
	f.mu.Unlock()
	f.v.Forget(tenantA, oid)
	if _, err := f.v.Validate(context.Background(), tok, vault); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.deleted[tenantA+"/"+oid] = true
	f.mu.Unlock()
	f.clk.Advance(2 * time.Second) // past ExistsTTL, without Forget
	mustRefuse(t, f, tok, "no longer exists")
}

// A deletion that lands while an existence check is in flight: the check read "exists", the principal was deleted
// and forgotten, and only then did the check finish. Its stale answer must not be remembered.
func TestDeletionDuringExistenceCheck(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.claims(tenantA), time.Hour)
	check := f.v.cfg.Exists
	first := true
	f.v.cfg.Exists = func(ctx context.Context, tid, id string) (bool, error) {
		ok, err := check(ctx, tid, id)
		if first {
			first = false
			f.mu.Lock()
			f.deleted[tid+"/"+id] = true
			f.mu.Unlock()
			f.v.Forget(tid, id)
		}
		return ok, err
	}
	if _, err := f.v.Validate(context.Background(), tok, vault); err != nil {
		t.Fatal(err) // the check began before the deletion
	}
	mustRefuse(t, f, tok, "no longer exists")
}

// TestKeyRotation walks the schedule: a successor is published a day before it signs; the old key keeps
// validating its tokens until they have expired, then disappears, and its tokens are refused.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.keys.JWKS()
	if len(first) != 1 {
		t.Fatalf("%d keys at start", len(first))
	}
	oldTok := f.issue(t, f.claims(tenantA), 24*time.Hour)

	// 29 days on: the successor is published but does not sign yet.
	f.clk.Advance(29*24*time.Hour + time.Minute)
	if err := f.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.keys.JWKS()); n != 2 {
		t.Fatalf("%d keys after prepublish, want 2", n)
	}
	if kidOf(f.issue(t, f.claims(tenantA), time.Hour)) != first[0].KID {
		t.Fatal("the prepublished key signs before its time")
	}
	// A day later it signs; the old key is retired but still published.
	f.clk.Advance(24 * time.Hour)
	f.keys.Rotate(ctx)
	newTok := f.issue(t, f.claims(tenantA), time.Hour)
	if kidOf(newTok) == first[0].KID {
		t.Fatal("the successor does not sign")
	}
	if n := len(f.keys.JWKS()); n != 2 {
		t.Fatalf("%d keys after the switch, want 2 (old one kept for its tokens)", n)
	}
	// Past the grace period (max token lifetime + skew) the old key goes; a token it signed is refused, even by
	// a fresh validator (no cache) on a node that reloads the keys.
	f.clk.Advance(24*time.Hour + 2*maxSkew + time.Minute)
	f.keys.Rotate(ctx)
	if n := len(f.keys.JWKS()); n != 1 {
		t.Fatalf("%d keys after the grace period, want 1", n)
	}
	fresh := NewValidator(ValidatorConfig{Keys: f.keys, Now: f.clk.Now, Issuers: f.v.cfg.Issuers, Exists: f.v.cfg.Exists})
	if _, err := fresh.Validate(ctx, oldTok, vault); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token of a rotated-out key: %v", err)
	}
	// Another keyring on the same store (another node) sees the same keys.
	other, err := NewKeyring(ctx, f.store, f.clk.Now, KeyPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if len(other.JWKS()) != 1 || other.JWKS()[0].KID != kidOf(newTok) {
		t.Fatalf("other node's keys: %+v", other.JWKS())
	}
}

func kidOf(tok string) string {
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var header map[string]string
	json.Unmarshal(h, &header)
	return header["kid"]
}

func FuzzValidate(f *testing.F) {
	fx := newFixture(f)
	good := fx.issue(f, fx.claims(tenantA), time.Hour)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.v.Validate(context.Background(), raw, vault)
		if err == nil && raw != good {
			t.Fatalf("accepted a token it did not issue: %q (%+v)", raw, c)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error is not a refusal: %v", err)
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	c := f.claims(tenantA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := f.issuer.Issue(c, time.Hour); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkValidateCached(b *testing.B) {
	f := newFixture(b)
	tok := f.issue(b, f.claims(tenantA), time.Hour)
	ctx := context.Background()
	f.v.Validate(ctx, tok, vault)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.v.Validate(ctx, tok, vault); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkValidateUncached(b *testing.B) {
	f := newFixture(b)
	tok := f.issue(b, f.claims(tenantA), time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.v.mu.Lock()
		f.v.cache = map[string]*Claims{}
		f.v.mu.Unlock()
		if _, err := f.v.Validate(ctx, tok, vault); err != nil {
			b.Fatal(err)
		}
	}
}
