package barrier_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
	"github.com/keyhaven/keyhaven/storage/storagetest"
)

// The sealed store is itself a storage.Store, so it passes the same suite as the backends.
func TestSealedStoreConformance(t *testing.T) {
	for _, be := range sqltest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Store {
				b, err := barrier.Open(context.Background(), be.Open(t), barrier.GenerateRootKey())
				if err != nil {
					t.Fatal(err)
				}
				return b.Store()
			})
		})
	}
}

const needle = "correct-horse-battery-staple-8c1f"

// TestAtRest stores a known value through the sealed store and searches the raw bytes the backend holds for it.
func TestAtRest(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := sqltest.SQLitePath(t)
		raw, err := sqlstore.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		writeNeedles(t, raw)
		// Search the database file and its WAL before and after a checkpoint.
		searchFiles(t, filepath.Dir(path))
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		searchFiles(t, filepath.Dir(path))
	})
	t.Run("postgres", func(t *testing.T) {
		raw := sqltest.OpenPostgres(t)
		defer raw.Close()
		writeNeedles(t, raw)
		rows, err := raw.DB().Query(`SELECT kind, rkey, value FROM records`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var kind, key string
			var value []byte
			if err := rows.Scan(&kind, &key, &value); err != nil {
				t.Fatal(err)
			}
			n++
			if bytes.Contains(value, []byte(needle)) || strings.Contains(key, needle) {
				t.Fatalf("row %s/%s holds the plaintext", kind, key)
			}
		}
		if n < 3 {
			t.Fatalf("only %d rows: the needles were not written", n)
		}
	})
}

func writeNeedles(t *testing.T, raw storage.Store) {
	t.Helper()
	ctx := context.Background()
	b, err := barrier.Open(ctx, raw, barrier.GenerateRootKey())
	if err != nil {
		t.Fatal(err)
	}
	s := b.Store()
	if _, err := s.Create(ctx, storage.Record{Kind: "secret", Key: "v/one", Value: []byte(needle)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, storage.Record{Kind: "secret", Key: "v/two", Value: []byte("prefix " + needle + " suffix")}); err != nil {
		t.Fatal(err)
	}
	// The value reads back through the barrier.
	rec, err := s.Get(ctx, "secret", "v/one")
	if err != nil || string(rec.Value) != needle {
		t.Fatalf("read back: %q, %v", rec.Value, err)
	}
}

func searchFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	searched := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		searched += len(data)
		if bytes.Contains(data, []byte(needle)) {
			t.Fatalf("%s holds the plaintext", e.Name())
		}
	}
	if searched == 0 {
		t.Fatal("no database bytes to search")
	}
}

// TestMovedCiphertext copies one record's ciphertext onto another row, and tampers with one, directly in the
// database: both fail to open.
func TestMovedCiphertext(t *testing.T) {
	for _, be := range sqltest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			raw := be.Open(t)
			defer raw.Close()
			b, err := barrier.Open(ctx, raw, barrier.GenerateRootKey())
			if err != nil {
				t.Fatal(err)
			}
			s := b.Store()
			for _, k := range []string{"alice", "bob", "carol"} {
				if _, err := s.Create(ctx, storage.Record{Kind: "secret", Key: k, Value: []byte("value of " + k)}); err != nil {
					t.Fatal(err)
				}
			}
			alice, err := raw.Get(ctx, "secret", "alice")
			if err != nil {
				t.Fatal(err)
			}
			// bob's row gets alice's ciphertext.
			if _, err := raw.Put(ctx, storage.Record{Kind: "secret", Key: "bob", Value: alice.Value}); err != nil {
				t.Fatal(err)
			}
			_, err = s.Get(ctx, "secret", "bob")
			if !errors.Is(err, barrier.ErrSealed) {
				t.Fatalf("moved ciphertext: got %v, want ErrSealed", err)
			}
			if !strings.Contains(err.Error(), "secret/bob") {
				t.Errorf("error does not name the record: %v", err)
			}
			// The same ciphertext under another kind fails too.
			if _, err := raw.Put(ctx, storage.Record{Kind: "key", Key: "alice", Value: alice.Value}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "key", "alice"); !errors.Is(err, barrier.ErrSealed) {
				t.Fatalf("ciphertext moved to another kind: got %v", err)
			}
			// One flipped bit anywhere in carol's ciphertext.
			carol, _ := raw.Get(ctx, "secret", "carol")
			for _, i := range []int{0, 3, 10, len(carol.Value) / 2, len(carol.Value) - 1} {
				bad := bytes.Clone(carol.Value)
				bad[i] ^= 0x01
				if _, err := raw.Put(ctx, storage.Record{Kind: "secret", Key: "carol", Value: bad}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, "secret", "carol"); !errors.Is(err, barrier.ErrSealed) {
					t.Fatalf("bit %d flipped: got %v, want ErrSealed", i, err)
				}
			}
			// Truncated and empty values.
			for _, bad := range [][]byte{carol.Value[:20], {}} {
				raw.Put(ctx, storage.Record{Kind: "secret", Key: "carol", Value: bad})
				if _, err := s.Get(ctx, "secret", "carol"); !errors.Is(err, barrier.ErrSealed) {
					t.Fatalf("truncated to %d bytes: got %v", len(bad), err)
				}
			}
			// Listing fails rather than return a wrong value.
			if _, err := s.List(ctx, "secret", storage.ListOptions{}); !errors.Is(err, barrier.ErrSealed) {
				t.Fatalf("List over a moved ciphertext: got %v", err)
			}
			// alice is untouched.
			if rec, err := s.Get(ctx, "secret", "alice"); err != nil || string(rec.Value) != "value of alice" {
				t.Fatalf("alice: %q, %v", rec.Value, err)
			}
		})
	}
}

func TestWrongRootKey(t *testing.T) {
	ctx := context.Background()
	raw := sqltest.OpenSQLite(t)
	defer raw.Close()
	right := barrier.GenerateRootKey()
	b, err := barrier.Open(ctx, raw, right)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store().Create(ctx, storage.Record{Kind: "secret", Key: "s", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	wrong := barrier.GenerateRootKey()
	_, err = barrier.Open(ctx, raw, wrong)
	if !errors.Is(err, barrier.ErrWrongRootKey) {
		t.Fatalf("Open with the wrong root key: %v", err)
	}
	if !strings.Contains(err.Error(), right.ID) || !strings.Contains(err.Error(), wrong.ID) {
		t.Errorf("error should name both key ids: %v", err)
	}
	if strings.Contains(err.Error(), right.String()) || strings.Contains(err.Error(), wrong.String()) {
		t.Fatalf("error reveals a key: %v", err)
	}
	// The refused open wrote nothing: the right key still opens the store and the value.
	b2, err := barrier.Open(ctx, raw, right)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := b2.Store().Get(ctx, "secret", "s"); err != nil || string(rec.Value) != "v" {
		t.Fatalf("after refused open: %q, %v", rec.Value, err)
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	raw := sqltest.OpenSQLite(t)
	defer raw.Close()
	root := barrier.GenerateRootKey()
	nodeA, err := barrier.Open(ctx, raw, root)
	if err != nil {
		t.Fatal(err)
	}
	nodeB, err := barrier.Open(ctx, raw, root)
	if err != nil {
		t.Fatal(err)
	}
	put := func(b *barrier.Barrier, k string) {
		if _, err := b.Store().Put(ctx, storage.Record{Kind: "s", Key: k, Value: []byte("v-" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(b *barrier.Barrier, keys ...string) {
		t.Helper()
		for _, k := range keys {
			rec, err := b.Store().Get(ctx, "s", k)
			if err != nil || string(rec.Value) != "v-"+k {
				t.Fatalf("%s: %q, %v", k, rec.Value, err)
			}
		}
	}
	put(nodeA, "before")
	// Node B rotates the data key; node A has never seen the new key but opens what B seals with it.
	if err := nodeB.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	put(nodeB, "after")
	check(nodeA, "before", "after")
	// Root key rotation re-wraps the data keys: the new root key opens everything, the old one nothing.
	next := barrier.GenerateRootKey()
	if err := nodeA.RewrapRootKey(ctx, next); err != nil {
		t.Fatal(err)
	}
	// A data key that node A adds after the rotation is wrapped with the new root key.
	if err := nodeA.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	put(nodeA, "rewrapped")
	check(nodeA, "before", "after", "rewrapped")
	if _, err := barrier.Open(ctx, raw, root); !errors.Is(err, barrier.ErrWrongRootKey) {
		t.Fatalf("old root key after rotation: %v", err)
	}
	nodeC, err := barrier.Open(ctx, raw, next)
	if err != nil {
		t.Fatal(err)
	}
	check(nodeC, "before", "after", "rewrapped")
}

func TestReservedKind(t *testing.T) {
	ctx := context.Background()
	raw := sqltest.OpenSQLite(t)
	defer raw.Close()
	b, err := barrier.Open(ctx, raw, barrier.GenerateRootKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store().List(ctx, "barrier-datakey", storage.ListOptions{}); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("listing data keys through the sealed store: %v", err)
	}
	if _, err := b.Store().Put(ctx, storage.Record{Kind: "barrier-datakey", Key: "0000000001", Value: []byte("x")}); !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("overwriting a data key through the sealed store: %v", err)
	}
}

func TestRootKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	k := barrier.GenerateRootKey()
	if err := barrier.WriteRootKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if err := barrier.WriteRootKeyFile(path, barrier.GenerateRootKey()); err == nil {
		t.Fatal("overwrote an existing root key file")
	}
	got, err := barrier.ReadRootKeyFile(path)
	if err != nil || got.ID != k.ID {
		t.Fatalf("read back: %v, %v", got.ID, err)
	}
	os.Chmod(path, 0o644)
	if _, err := barrier.ReadRootKeyFile(path); err == nil {
		t.Fatal("accepted a world-readable root key file")
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := barrier.ParseRootKey(bad); err == nil {
			t.Errorf("ParseRootKey(%q) accepted", bad)
		}
	}
	// fmt verbs never print the key.
	if out := fmt.Sprintf("%v %+v %s", k, k, k); strings.Contains(out, k.String()) {
		t.Fatalf("%%v printed the key: %s", out)
	}
}

// BenchmarkSealed measures the backends behind the barrier: what keyhaven's domain code actually pays.
func BenchmarkSealed(b *testing.B) {
	for _, be := range sqltest.Backends {
		b.Run(be.Name, func(b *testing.B) {
			raw := be.Open(b)
			defer raw.Close()
			br, err := barrier.Open(context.Background(), raw, barrier.GenerateRootKey())
			if err != nil {
				b.Fatal(err)
			}
			storagetest.Bench(b, br.Store())
		})
	}
}

func BenchmarkSealOpen(b *testing.B) {
	raw := sqltest.OpenSQLite(b)
	defer raw.Close()
	br, err := barrier.Open(context.Background(), raw, barrier.GenerateRootKey())
	if err != nil {
		b.Fatal(err)
	}
	aad, pt := []byte("secret\x00vault/name/0123456789abcdef"), make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		ct, _ := br.Seal(aad, pt)
		if _, err := br.Open(context.Background(), aad, ct); err != nil {
			b.Fatal(err)
		}
	}
}
