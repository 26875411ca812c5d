// Package bootstrap creates, on a store's first start, what every later start reuses: the installation's tenant and
// subscription, the local CA and the server certificate. Several nodes starting together on one database agree on
// one of each.
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/pki"
	"github.com/keyhaven/keyhaven/storage"
)

// Storage kinds this package writes.
const (
	KindInstall      = "install"
	KindSubscription = "subscription"
	KindPKI          = "pki"
)

// Install is the installation: the default tenant and subscription, created with random GUIDs on first start.
type Install struct {
	TenantID       string    `json:"tenantId"`
	TenantDomain   string    `json:"tenantDomain"`
	SubscriptionID string    `json:"subscriptionId"`
	Created        time.Time `json:"created"`
}

// Subscription is an ARM subscription as first created; the management plane owns it from then on.
type Subscription struct {
	ID          string    `json:"subscriptionId"`
	TenantID    string    `json:"tenantId"`
	DisplayName string    `json:"displayName"`
	State       string    `json:"state"`
	Created     time.Time `json:"created"`
}

// DefaultTenantDomain is the default tenant's domain when no zone is configured (users are name@domain).
const DefaultTenantDomain = "keyhaven.local"

// EnsureInstall returns the installation, creating it with its tenant and subscription on first start. created
// reports whether this call made it.
func EnsureInstall(ctx context.Context, s storage.Store, domain string, now time.Time) (inst Install, created bool, err error) {
	if rec, err := s.Get(ctx, KindInstall, "default"); err == nil {
		return inst, false, json.Unmarshal(rec.Value, &inst)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return inst, false, fmt.Errorf("read installation: %w", err)
	}
	inst = Install{TenantID: uuid.NewString(), TenantDomain: domain, SubscriptionID: uuid.NewString(), Created: now.UTC()}
	err = s.InTx(ctx, func(tx storage.Tx) error {
		if err := create(ctx, tx, KindInstall, "default", inst); err != nil {
			return err
		}
		if err := directory.CreateTenant(ctx, tx, directory.Tenant{ID: inst.TenantID, Domain: domain, DisplayName: "Default Directory", Created: inst.Created}); err != nil {
			return err
		}
		return create(ctx, tx, KindSubscription, inst.SubscriptionID, Subscription{
			ID: inst.SubscriptionID, TenantID: inst.TenantID, DisplayName: "keyhaven", State: "Enabled", Created: inst.Created,
		})
	})
	if errors.Is(err, storage.ErrConflict) {
		// Another node created it first; use theirs.
		return EnsureInstall(ctx, s, domain, now)
	}
	if err != nil {
		return Install{}, false, fmt.Errorf("create installation: %w", err)
	}
	return inst, true, nil
}

// EnsureCA returns the CA, generating it on first start.
func EnsureCA(ctx context.Context, s storage.Store, now time.Time) (pki.KeyPair, error) {
	var ca pki.KeyPair
	rec, err := s.Get(ctx, KindPKI, "ca")
	if err == nil {
		return ca, json.Unmarshal(rec.Value, &ca)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return ca, fmt.Errorf("read CA: %w", err)
	}
	if ca, err = pki.NewCA(now); err != nil {
		return ca, err
	}
	err = create(ctx, s, KindPKI, "ca", ca)
	if errors.Is(err, storage.ErrConflict) {
		return EnsureCA(ctx, s, now)
	}
	return ca, err
}

// EnsureServerCert returns a server certificate for names signed by ca, reusing the stored one while it covers
// exactly those names and is not near expiry.
func EnsureServerCert(ctx context.Context, s storage.Store, ca pki.KeyPair, names []string, now time.Time) (pki.KeyPair, error) {
	var kp pki.KeyPair
	rec, err := s.Get(ctx, KindPKI, "server")
	switch {
	case err == nil:
		if err := json.Unmarshal(rec.Value, &kp); err != nil {
			return kp, fmt.Errorf("read server certificate: %w", err)
		}
		if !pki.NeedsReissue(kp, ca, names, now) {
			return kp, nil
		}
	case !errors.Is(err, storage.ErrNotFound):
		return kp, fmt.Errorf("read server certificate: %w", err)
	}
	if kp, err = pki.IssueServer(ca, names, now); err != nil {
		return kp, err
	}
	val, _ := json.Marshal(kp)
	if _, err := s.Put(ctx, storage.Record{Kind: KindPKI, Key: "server", Value: val}); err != nil {
		return kp, fmt.Errorf("store server certificate: %w", err)
	}
	return kp, nil
}

func create(ctx context.Context, w storage.Writer, kind, key string, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Create(ctx, storage.Record{Kind: kind, Key: key, Value: val})
	return err
}
