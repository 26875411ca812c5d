package barrier

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/storage"
)

// SealedStore is a storage.Store whose values are sealed by the barrier on the way in and opened on the way out,
// each bound to its kind and key. It is the store every domain package uses; the backend below it only ever holds
// ciphertext.
type SealedStore struct {
	raw storage.Store
	b   *Barrier
}

var _ storage.Store = (*SealedStore)(nil)

// Store returns the sealed view of the barrier's backend.
func (b *Barrier) Store() *SealedStore { return &SealedStore{raw: b.raw, b: b} }

// recordAAD binds a ciphertext to its record. Kinds and keys are printable ASCII, so the NUL separator is
// unambiguous.
func recordAAD(kind, key string) []byte { return []byte(kind + "\x00" + key) }

func checkKind(kind string) error {
	if strings.HasPrefix(kind, "barrier-") {
		return fmt.Errorf("%w: kind %q is reserved", storage.ErrInvalid, kind)
	}
	return nil
}

func (s *SealedStore) seal(rec storage.Record) (storage.Record, error) {
	if err := checkKind(rec.Kind); err != nil {
		return rec, err
	}
	if err := storage.ValidateKey(rec.Kind, rec.Key); err != nil {
		return rec, err
	}
	ct, err := s.b.Seal(recordAAD(rec.Kind, rec.Key), rec.Value)
	if err != nil {
		return rec, err
	}
	rec.Value = ct
	return rec, nil
}

func (s *SealedStore) open(ctx context.Context, rec storage.Record) (storage.Record, error) {
	pt, err := s.b.Open(ctx, recordAAD(rec.Kind, rec.Key), rec.Value)
	if err != nil {
		return storage.Record{}, fmt.Errorf("%s/%s: %w", rec.Kind, rec.Key, err)
	}
	rec.Value = pt
	return rec, nil
}

// sealedOps seals and opens around any reader/writer pair: the store itself or a transaction.
type sealedOps struct {
	s *SealedStore
	r storage.Reader
	w storage.Writer
}

func (o sealedOps) Get(ctx context.Context, kind, key string) (storage.Record, error) {
	if err := checkKind(kind); err != nil {
		return storage.Record{}, err
	}
	rec, err := o.r.Get(ctx, kind, key)
	if err != nil {
		return rec, err
	}
	return o.s.open(ctx, rec)
}

func (o sealedOps) List(ctx context.Context, kind string, opts storage.ListOptions) (storage.Page, error) {
	if err := checkKind(kind); err != nil {
		return storage.Page{}, err
	}
	page, err := o.r.List(ctx, kind, opts)
	if err != nil {
		return page, err
	}
	for i, rec := range page.Records {
		if page.Records[i], err = o.s.open(ctx, rec); err != nil {
			return storage.Page{}, err
		}
	}
	return page, nil
}

func (o sealedOps) Create(ctx context.Context, rec storage.Record) (storage.Record, error) {
	plain := rec.Value
	sealed, err := o.s.seal(rec)
	if err != nil {
		return storage.Record{}, err
	}
	out, err := o.w.Create(ctx, sealed)
	out.Value = plain
	return out, err
}

func (o sealedOps) Put(ctx context.Context, rec storage.Record) (storage.Record, error) {
	plain := rec.Value
	sealed, err := o.s.seal(rec)
	if err != nil {
		return storage.Record{}, err
	}
	out, err := o.w.Put(ctx, sealed)
	out.Value = plain
	return out, err
}

func (o sealedOps) Delete(ctx context.Context, kind, key string, version int64) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	return o.w.Delete(ctx, kind, key, version)
}

func (s *SealedStore) ops() sealedOps { return sealedOps{s: s, r: s.raw, w: s.raw} }

// Get implements storage.Reader.
func (s *SealedStore) Get(ctx context.Context, kind, key string) (storage.Record, error) {
	return s.ops().Get(ctx, kind, key)
}

// List implements storage.Reader.
func (s *SealedStore) List(ctx context.Context, kind string, opts storage.ListOptions) (storage.Page, error) {
	return s.ops().List(ctx, kind, opts)
}

// Create implements storage.Writer.
func (s *SealedStore) Create(ctx context.Context, rec storage.Record) (storage.Record, error) {
	return s.ops().Create(ctx, rec)
}

// Put implements storage.Writer.
func (s *SealedStore) Put(ctx context.Context, rec storage.Record) (storage.Record, error) {
	return s.ops().Put(ctx, rec)
}

// Delete implements storage.Writer.
func (s *SealedStore) Delete(ctx context.Context, kind, key string, version int64) error {
	return s.ops().Delete(ctx, kind, key, version)
}

// InTx implements storage.Store.
func (s *SealedStore) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.raw.InTx(ctx, func(tx storage.Tx) error {
		return fn(sealedOps{s: s, r: tx, w: tx})
	})
}

// Ping implements storage.Store.
func (s *SealedStore) Ping(ctx context.Context) error { return s.raw.Ping(ctx) }

// Close implements storage.Store: it closes the backend.
func (s *SealedStore) Close() error { return s.raw.Close() }
