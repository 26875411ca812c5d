// Package storage defines the record store every keyhaven domain package builds on: the interface both backends
// implement, the errors they return, and the read-modify-write helper that keeps callers inside a transaction.
//
// A store holds records addressed by (kind, key). Kinds partition the key space (one per aggregate: "tenant",
// "secret", ...); keys are printable ASCII so that their byte order is the same on every backend, which is what
// makes paging stable. Values are opaque bytes: the barrier package seals them before they reach a backend, so a
// backend never sees plaintext.
package storage

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned when a record does not exist. Callers check it with errors.Is.
var ErrNotFound = errors.New("storage: not found")

// ErrConflict is returned when a write cannot apply: Create of a key that exists, or a write whose expected
// version is not the stored one (another writer got there first). Callers check it with errors.Is.
var ErrConflict = errors.New("storage: conflict")

// ErrInvalid is returned for a request the store refuses to run: an empty kind, a key outside printable ASCII,
// a malformed continuation token.
var ErrInvalid = errors.New("storage: invalid request")

// Record is one stored value.
type Record struct {
	// Kind names the aggregate the record belongs to.
	Kind string
	// Key identifies the record within its kind.
	Key string
	// Value is the record's opaque payload.
	Value []byte
	// Version increases by one with every write; 1 after Create. A write that names a version applies only if
	// the stored record still has it.
	Version int64
}

// ListOptions selects a page of records.
type ListOptions struct {
	// Prefix restricts the page to keys that start with it.
	Prefix string
	// PageToken continues a listing: the Next of the previous page. Empty starts at the beginning.
	PageToken string
	// Limit caps the number of records on the page; 0 means DefaultPageSize, and it is capped at MaxPageSize.
	Limit int
}

// Page is one page of a listing, in ascending key order.
type Page struct {
	Records []Record
	// Next is an opaque token for the following page; empty on the last page.
	Next string
}

// Paging limits.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Reader reads records.
type Reader interface {
	// Get returns the record, or ErrNotFound.
	Get(ctx context.Context, kind, key string) (Record, error)
	// List returns records of a kind in ascending key order.
	List(ctx context.Context, kind string, opts ListOptions) (Page, error)
}

// Writer writes records.
type Writer interface {
	// Create stores a new record with version 1, or fails with ErrConflict if the key exists.
	Create(ctx context.Context, rec Record) (Record, error)
	// Put stores rec. With rec.Version 0 it writes unconditionally (creating the record if needed); otherwise the
	// stored version must equal rec.Version, or Put fails with ErrConflict (ErrNotFound if the record is gone).
	// It returns the record as stored, with its new version.
	Put(ctx context.Context, rec Record) (Record, error)
	// Delete removes a record. With version 0 it deletes unconditionally; otherwise the stored version must match
	// (ErrConflict). A missing record is ErrNotFound.
	Delete(ctx context.Context, kind, key string, version int64) error
}

// Tx is a transaction: every read and write through it commits or rolls back together.
type Tx interface {
	Reader
	Writer
}

// Store is a record store backend.
type Store interface {
	Reader
	Writer
	// InTx runs fn in a transaction. The transaction commits if fn returns nil and rolls back otherwise. Reads
	// inside it lock what they read until it ends, so a read-modify-write inside InTx cannot lose an update. fn may
	// run more than once when the backend reports a retryable conflict, so it must not have side effects outside tx.
	// Inside fn, use only tx: a write through the Store itself may wait for the transaction forever.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend. In-flight calls finish first.
	Close() error
}

// maxUpdateAttempts bounds how often Update retries after losing a race.
const maxUpdateAttempts = 5

// Update is the one read-modify-write path: it reads the record inside a transaction, passes its value to fn and
// stores what fn returns. If another writer wins the race, it retries; after maxUpdateAttempts it fails with
// ErrConflict rather than overwrite. A missing record is ErrNotFound. An error from fn aborts without writing.
func Update(ctx context.Context, s Store, kind, key string, fn func(old []byte) ([]byte, error)) (Record, error) {
	var out Record
	var err error
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		err = s.InTx(ctx, func(tx Tx) error {
			out, err = UpdateTx(ctx, tx, kind, key, fn)
			return err
		})
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
	}
	return Record{}, fmt.Errorf("update %s/%s: gave up after %d attempts: %w", kind, key, maxUpdateAttempts, err)
}

// UpdateTx is Update inside a transaction the caller already holds.
func UpdateTx(ctx context.Context, tx Tx, kind, key string, fn func(old []byte) ([]byte, error)) (Record, error) {
	old, err := tx.Get(ctx, kind, key)
	if err != nil {
		return Record{}, err
	}
	val, err := fn(old.Value)
	if err != nil {
		return Record{}, err
	}
	return tx.Put(ctx, Record{Kind: kind, Key: key, Value: val, Version: old.Version})
}

// ValidateKey reports whether kind and key can be stored: both non-empty, printable ASCII, at most 1024 bytes.
func ValidateKey(kind, key string) error {
	if err := validatePart("kind", kind); err != nil {
		return err
	}
	return validatePart("key", key)
}

func validatePart(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(s) > 1024 {
		return fmt.Errorf("%w: %s longer than 1024 bytes", ErrInvalid, what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("%w: %s has a byte outside printable ASCII at %d", ErrInvalid, what, i)
		}
	}
	return nil
}

// PrefixEnd returns the smallest string greater than every string that starts with prefix, for a range scan.
// Keys are printable ASCII, so incrementing the last byte never overflows.
func PrefixEnd(prefix string) string {
	if prefix == "" {
		return ""
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}
