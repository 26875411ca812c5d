package keyvault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/keyvault"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, cache bool) (*keyvault.Store, *barrier.Barrier, *clock) {
	t.Helper()
	raw := sqltest.OpenSQLite(t)
	t.Cleanup(func() { raw.Close() })
	b, err := barrier.Open(context.Background(), raw, barrier.GenerateRootKey())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return keyvault.New(b.Store(), c.now, cache), b, c
}

// Every write is followed by reads, so with the cache on a stale entry would show.
func TestSecretLifecycle(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(map[bool]string{false: "uncached", true: "cached"}[cache], func(t *testing.T) {
			s, _, clk := open(t, cache)
			ctx := context.Background()
			get := func(version string) (keyvault.Version, error) { return s.Get(ctx, "V1", "Db-Pass", version) }
			v1, err := s.Set(ctx, "v1", "db-pass", keyvault.SetInput{Value: "one"})
			if err != nil {
				t.Fatal(err)
			}
			if cur, err := get(""); err != nil || cur.Value != "one" {
				t.Fatalf("current after first set: %+v %v", cur, err)
			}
			v2, err := s.Set(ctx, "v1", "db-pass", keyvault.SetInput{Value: "two"})
			if err != nil {
				t.Fatal(err)
			}
			if cur, _ := get(""); cur.Value != "two" || cur.Version != v2.Version || cur.Name != "db-pass" {
				t.Fatalf("current after second set: %+v", cur)
			}
			if old, _ := get(v1.Version); old.Value != "one" {
				t.Fatalf("first version: %+v", old)
			}
			off := false
			if _, err := s.Update(ctx, "v1", "db-pass", "", keyvault.UpdateInput{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
			if cur, _ := get(""); cur.Attributes.Enabled || cur.Value != "two" {
				t.Fatalf("after disabling: %+v", cur)
			}

			d, _, err := s.Delete(ctx, "v1", "db-pass", 7)
			if err != nil {
				t.Fatal(err)
			}
			if want := clk.t.Add(7 * 24 * time.Hour).Unix(); d.ScheduledPurgeDate != want {
				t.Errorf("scheduled purge %d, want %d", d.ScheduledPurgeDate, want)
			}
			for _, version := range []string{"", v1.Version} {
				if _, err := get(version); !errors.Is(err, keyvault.ErrNotFound) {
					t.Fatalf("get %q of a deleted secret: %v", version, err)
				}
			}
			if _, err := s.Set(ctx, "v1", "db-pass", keyvault.SetInput{Value: "x"}); !errors.Is(err, keyvault.ErrDeleted) {
				t.Fatalf("set on a soft-deleted name: %v", err)
			}
			if cur, err := s.Recover(ctx, "v1", "db-pass"); err != nil || cur.Version != v2.Version {
				t.Fatalf("recover: %+v %v", cur, err)
			}
			if old, err := get(v1.Version); err != nil || old.Value != "one" {
				t.Fatalf("first version after recovery: %+v %v", old, err)
			}

			if _, _, err := s.Delete(ctx, "v1", "db-pass", 7); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(6 * 24 * time.Hour)
			if n, err := s.PurgeExpired(ctx); err != nil || n != 0 {
				t.Fatalf("purged %d (%v) before the date", n, err)
			}
			clk.t = clk.t.Add(24 * time.Hour)
			if n, err := s.PurgeExpired(ctx); err != nil || n != 1 {
				t.Fatalf("purged %d (%v) on the date, want 1", n, err)
			}
			if _, _, err := s.GetDeleted(ctx, "v1", "db-pass"); !errors.Is(err, keyvault.ErrNotFound) {
				t.Fatalf("deleted secret after purge: %v", err)
			}
			// The name is free again and starts with no history.
			v3, err := s.Set(ctx, "v1", "db-pass", keyvault.SetInput{Value: "three"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := get(v1.Version); !errors.Is(err, keyvault.ErrNotFound) {
				t.Fatalf("a purged version came back: %v", err)
			}
			page, err := s.Versions(ctx, "v1", "db-pass", 25, "")
			if err != nil || len(page.Items) != 1 || page.Items[0].Version != v3.Version {
				t.Fatalf("versions after purge and set: %+v %v", page, err)
			}
		})
	}
}

func TestBackupRestore(t *testing.T) {
	s, b, _ := open(t, true)
	ctx := context.Background()
	v1, _ := s.Set(ctx, "src", "api-key", keyvault.SetInput{Value: "one"})
	v2, _ := s.Set(ctx, "src", "api-key", keyvault.SetInput{Value: "two", ContentType: "text/plain"})
	blob, err := s.Backup(ctx, b, "sub-1", "src", "api-key")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.Restore(ctx, b, "sub-2", "dst", blob); !errors.Is(err, keyvault.ErrWrongSubscription) {
		t.Fatalf("restore into another subscription: %v", err)
	}
	tampered := append([]byte{}, blob...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Restore(ctx, b, "sub-1", "dst", tampered); err == nil {
		t.Fatal("a tampered backup restored")
	}
	if _, err := s.Restore(ctx, b, "sub-1", "dst", []byte("not a backup")); !errors.Is(err, keyvault.ErrInvalidBackup) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := s.Restore(ctx, b, "sub-1", "src", blob); !errors.Is(err, keyvault.ErrExists) {
		t.Fatalf("restore over a live secret: %v", err)
	}
	// Refused restores leave nothing behind.
	if _, err := s.Get(ctx, "dst", "api-key", ""); !errors.Is(err, keyvault.ErrNotFound) {
		t.Fatalf("after refused restores: %v", err)
	}

	cur, err := s.Restore(ctx, b, "sub-1", "dst", blob)
	if err != nil || cur.Version != v2.Version || cur.Value != "two" || cur.ContentType != "text/plain" {
		t.Fatalf("restore: %+v %v", cur, err)
	}
	if old, err := s.Get(ctx, "dst", "api-key", v1.Version); err != nil || old.Value != "one" {
		t.Fatalf("older version after restore: %+v %v", old, err)
	}

	if _, _, err := s.Delete(ctx, "src", "api-key", 90); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, b, "sub-1", "src", blob); !errors.Is(err, keyvault.ErrDeleted) {
		t.Fatalf("restore over a soft-deleted name: %v", err)
	}
}
