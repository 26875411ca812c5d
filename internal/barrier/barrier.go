package barrier

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

// ErrWrongRootKey means the root key does not open the store's data keys: keyhaven was started with a key other
// than the one its data was sealed with.
var ErrWrongRootKey = errors.New("barrier: the root key does not match this store")

// ErrSealed means a ciphertext failed to open: it was tampered with, truncated, or belongs to another record.
var ErrSealed = errors.New("barrier: ciphertext failed to open")

// dataKeyKind is the storage kind of wrapped data keys. Its records are wrapped by the root key, not sealed by the
// barrier, and the sealed store refuses to touch them.
const dataKeyKind = "barrier-datakey"

// Ciphertext layout: version (1 byte) | data key id (4 bytes, big endian) | nonce (12 bytes) | AES-GCM output.
const (
	formatV1   = 1
	headerSize = 1 + 4
	nonceSize  = 12
)

// wrappedKey is a data key record.
type wrappedKey struct {
	// RootKeyID is the ID of the root key that wraps Wrapped; a root-key rotation rewrites it.
	RootKeyID string `json:"rootKeyId"`
	// Wrapped is nonce || AES-GCM(root key, data key).
	Wrapped []byte    `json:"wrapped"`
	Created time.Time `json:"created"`
}

// Barrier seals and opens values.
type Barrier struct {
	raw storage.Store

	mu sync.RWMutex // guards the fields below
	// root wraps the data keys; RewrapRootKey replaces it.
	root RootKey
	// keys holds every data key, by id.
	keys map[uint32]cipher.AEAD
	// active is the id new seals use: the newest key.
	active uint32
}

// HasDataKeys reports whether a store already holds data keys, that is, whether a root key was ever used on it.
func HasDataKeys(ctx context.Context, raw storage.Store) (bool, error) {
	page, err := raw.List(ctx, dataKeyKind, storage.ListOptions{Limit: 1})
	if err != nil {
		return false, err
	}
	return len(page.Records) > 0, nil
}

// Open loads the store's data keys with the root key, creating the first one on an empty store. A root key that
// does not open them is ErrWrongRootKey, and nothing is written.
func Open(ctx context.Context, raw storage.Store, root RootKey) (*Barrier, error) {
	b := &Barrier{raw: raw, root: root}
	if err := b.load(ctx); err != nil {
		return nil, err
	}
	if len(b.keys) == 0 {
		if err := b.RotateDataKey(ctx); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// load reads and unwraps every data key.
func (b *Barrier) load(ctx context.Context) error {
	root := b.rootKey()
	keys := map[uint32]cipher.AEAD{}
	var active uint32
	opts := storage.ListOptions{Limit: storage.MaxPageSize}
	for {
		page, err := b.raw.List(ctx, dataKeyKind, opts)
		if err != nil {
			return fmt.Errorf("barrier: load data keys: %w", err)
		}
		for _, rec := range page.Records {
			id, aead, err := unwrap(rec, root)
			if err != nil {
				return err
			}
			keys[id] = aead
			active = max(active, id)
		}
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	b.mu.Lock()
	b.keys, b.active = keys, active
	b.mu.Unlock()
	return nil
}

func (b *Barrier) rootKey() RootKey {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.root
}

func dataKeyKey(id uint32) string { return fmt.Sprintf("%010d", id) }

func unwrap(rec storage.Record, root RootKey) (uint32, cipher.AEAD, error) {
	id64, err := strconv.ParseUint(rec.Key, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("barrier: data key record %q: bad id", rec.Key)
	}
	id := uint32(id64)
	var w wrappedKey
	if err := json.Unmarshal(rec.Value, &w); err != nil {
		return 0, nil, fmt.Errorf("barrier: data key %d: %w", id, err)
	}
	dk, err := openWith(root.key, w.Wrapped, dataKeyAAD(id))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: this store's data keys are wrapped by root key %s, and the root key given is %s; start keyhaven with the root key this data was created with",
			ErrWrongRootKey, w.RootKeyID, root.ID)
	}
	aead, err := newGCM(dk)
	if err != nil {
		return 0, nil, err
	}
	return id, aead, nil
}

// RotateDataKey adds a new data key, which seals everything written from now on. Older keys stay to open what
// they sealed.
func (b *Barrier) RotateDataKey(ctx context.Context) error {
	for attempt := 0; attempt < 5; attempt++ {
		b.mu.RLock()
		id, root := b.active+1, b.root
		b.mu.RUnlock()
		dk := make([]byte, 32)
		rand.Read(dk)
		wrapped, err := sealWith(root.key, dk, dataKeyAAD(id))
		if err != nil {
			return err
		}
		val, _ := json.Marshal(wrappedKey{RootKeyID: root.ID, Wrapped: wrapped, Created: time.Now().UTC()})
		_, err = b.raw.Create(ctx, storage.Record{Kind: dataKeyKind, Key: dataKeyKey(id), Value: val})
		if errors.Is(err, storage.ErrConflict) {
			// Another node added a key with this id first: load it and try the next id.
			if err := b.load(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("barrier: store data key: %w", err)
		}
		return b.load(ctx)
	}
	return fmt.Errorf("barrier: could not add a data key: %w", storage.ErrConflict)
}

// RewrapRootKey re-wraps every data key under a new root key. Ciphertexts do not change, so this is quick and
// needs no downtime; afterwards only the new root key opens the store, and this barrier wraps new data keys with it.
func (b *Barrier) RewrapRootKey(ctx context.Context, next RootKey) error {
	root := b.rootKey()
	opts := storage.ListOptions{Limit: storage.MaxPageSize}
	var recs []storage.Record
	for {
		page, err := b.raw.List(ctx, dataKeyKind, opts)
		if err != nil {
			return err
		}
		recs = append(recs, page.Records...)
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	err := b.raw.InTx(ctx, func(tx storage.Tx) error {
		for _, rec := range recs {
			id, _ := strconv.ParseUint(rec.Key, 10, 32)
			var w wrappedKey
			if err := json.Unmarshal(rec.Value, &w); err != nil {
				return err
			}
			dk, err := openWith(root.key, w.Wrapped, dataKeyAAD(uint32(id)))
			if err != nil {
				return fmt.Errorf("%w: data key %d", ErrWrongRootKey, id)
			}
			if w.Wrapped, err = sealWith(next.key, dk, dataKeyAAD(uint32(id))); err != nil {
				return err
			}
			w.RootKeyID = next.ID
			rec.Value, _ = json.Marshal(w)
			if _, err := tx.Put(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.root = next
	b.mu.Unlock()
	return nil
}

// Seal encrypts plaintext under the active data key, bound to aad (the record's identity).
func (b *Barrier) Seal(aad, plaintext []byte) ([]byte, error) {
	b.mu.RLock()
	id, aead := b.active, b.keys[b.active]
	b.mu.RUnlock()
	if aead == nil {
		return nil, errors.New("barrier: no data key")
	}
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:headerSize], id)
	nonce := out[headerSize : headerSize+nonceSize]
	rand.Read(nonce)
	return aead.Seal(out, nonce, plaintext, sealAAD(out[:headerSize], aad)), nil
}

// Open decrypts a ciphertext Seal made with the same aad. Any mismatch (another record's ciphertext, tampering,
// truncation) is ErrSealed.
func (b *Barrier) Open(ctx context.Context, aad, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < headerSize+nonceSize || ciphertext[0] != formatV1 {
		return nil, fmt.Errorf("%w: not a keyhaven ciphertext", ErrSealed)
	}
	id := binary.BigEndian.Uint32(ciphertext[1:headerSize])
	b.mu.RLock()
	aead := b.keys[id]
	b.mu.RUnlock()
	if aead == nil {
		// Another node may have rotated the data key since we loaded them.
		if err := b.load(ctx); err != nil {
			return nil, err
		}
		b.mu.RLock()
		aead = b.keys[id]
		b.mu.RUnlock()
		if aead == nil {
			return nil, fmt.Errorf("%w: unknown data key %d", ErrSealed, id)
		}
	}
	nonce := ciphertext[headerSize : headerSize+nonceSize]
	pt, err := aead.Open(nil, nonce, ciphertext[headerSize+nonceSize:], sealAAD(ciphertext[:headerSize], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: tampered with, or moved from another record", ErrSealed)
	}
	return pt, nil
}

// sealAAD binds the header (format and key id) and the caller's aad.
func sealAAD(header, aad []byte) []byte {
	out := make([]byte, 0, 16+len(header)+len(aad))
	out = append(out, "keyhaven-seal\x00"...)
	out = append(out, header...)
	return append(out, aad...)
}

func dataKeyAAD(id uint32) []byte { return []byte("keyhaven-datakey\x00" + dataKeyKey(id)) }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealWith(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

func openWith(key, ciphertext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < nonceSize {
		return nil, ErrSealed
	}
	return aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
}
