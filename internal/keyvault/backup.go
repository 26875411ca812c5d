package keyvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/keyhaven/keyhaven/storage"
)

// Sealer encrypts and authenticates backup blobs (the barrier).
type Sealer interface {
	Seal(aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, aad, ciphertext []byte) ([]byte, error)
}

// backupMagic starts every keyhaven secret backup.
var backupMagic = []byte("KHSB1")

type backup struct {
	Name     string    `json:"name"`
	Current  string    `json:"current"`
	Versions []Version `json:"versions"`
}

// backupAAD binds a backup to its subscription: it restores only into a vault of the same subscription, as
// Key Vault's do.
func backupAAD(subscriptionID string) []byte {
	return []byte("keyhaven secret backup\x00" + subscriptionID)
}

// Backup returns an opaque, encrypted and authenticated blob with every version of a secret.
func (s *Store) Backup(ctx context.Context, sealer Sealer, subscriptionID, vault, name string) ([]byte, error) {
	h, _, err := storage.GetJSON[head](ctx, s.store, kindSecret, skey(vault, name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	versions, err := storage.ListAll[Version](ctx, s.store, kindSecretVersion, skey(vault, name)+"/")
	if err != nil {
		return nil, err
	}
	b := backup{Name: h.Name, Current: h.Current, Versions: versions}
	plain, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	sealed, err := sealer.Seal(backupAAD(subscriptionID), plain)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, backupMagic...), sealed...), nil
}

// Restore puts every version of a backed-up secret into a vault, with their ids. The name must be free (not
// live, not soft-deleted); a blob from another subscription, or tampered with, is refused.
func (s *Store) Restore(ctx context.Context, sealer Sealer, subscriptionID, vault string, blob []byte) (Version, error) {
	defer s.cache.drop(vault, "")
	if !bytes.HasPrefix(blob, backupMagic) {
		return Version{}, ErrInvalidBackup
	}
	plain, err := sealer.Open(ctx, backupAAD(subscriptionID), blob[len(backupMagic):])
	if err != nil {
		return Version{}, ErrWrongSubscription
	}
	var b backup
	if err := json.Unmarshal(plain, &b); err != nil || !ValidName(b.Name) || len(b.Versions) == 0 {
		return Version{}, ErrInvalidBackup
	}
	var cur Version
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(ctx, kindDeletedSecret, skey(vault, b.Name)); err == nil {
			cur.Name = b.Name
			return ErrDeleted
		}
		if err := storage.CreateJSON(ctx, tx, kindSecret, skey(vault, b.Name), head{Name: b.Name, Current: b.Current}); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return ErrExists
			}
			return err
		}
		for _, v := range b.Versions {
			if err := storage.CreateJSON(ctx, tx, kindSecretVersion, verKey(vault, b.Name, v.Version), v); err != nil {
				return err
			}
			if v.Version == b.Current {
				cur = v
			}
		}
		return nil
	})
	return cur, err
}
