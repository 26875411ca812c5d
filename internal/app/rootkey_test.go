package app_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
)

func readKey(t *testing.T, path string) barrier.RootKey {
	t.Helper()
	k, err := barrier.ReadRootKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRotateRootKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	path := filepath.Join(dir, "root.key")
	s := start(t, cfg)
	first := s.app.Install()
	old := readKey(t, path)

	// Rotation while the server runs: it keeps serving from the data keys it holds.
	r, err := app.RotateRootKey(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.OldID != old.ID || r.NewID == old.ID || r.Resumed || r.Path != path {
		t.Fatalf("rotation report: %+v (old key %s)", r, old.ID)
	}
	if got := readKey(t, path); got.ID != r.NewID {
		t.Fatalf("%s holds %s, want %s", path, got.ID, r.NewID)
	}
	if _, err := os.Stat(path + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("side file left behind: %v", err)
	}
	if status, _, _ := get(t, client(t, filepath.Join(dir, "ca.pem"), s.addr), "https://"+s.addr+"/readyz"); status != http.StatusOK {
		t.Errorf("readyz after rotation: %d", status)
	}
	s.stop()

	s = start(t, cfg)
	if s.app.Install() != first {
		t.Error("installation differs after rotation")
	}
	s.stop()
	wrong := cfg
	wrong.RootKey = old.String()
	if _, err := app.New(ctx, app.Options{Config: wrong}); !errors.Is(err, barrier.ErrWrongRootKey) {
		t.Fatalf("the old root key after rotation: %v", err)
	}
	// A key given inline cannot be replaced by a file.
	if _, err := app.RotateRootKey(ctx, wrong); err == nil || !strings.Contains(err.Error(), "KEYHAVEN_ROOT_KEY") {
		t.Fatalf("rotation with KEYHAVEN_ROOT_KEY: %v", err)
	}
}

// rewrapWithoutReplacing does what a rotation does up to the moment it would replace the key file.
func rewrapWithoutReplacing(t *testing.T, dir string) barrier.RootKey {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "keyhaven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	b, err := barrier.Open(ctx, raw, readKey(t, filepath.Join(dir, "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	next := barrier.GenerateRootKey()
	if err := barrier.WriteRootKeyFile(filepath.Join(dir, "root.key.next"), next); err != nil {
		t.Fatal(err)
	}
	if err := b.RewrapRootKey(ctx, next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestInterruptedRootKeyRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	path := filepath.Join(dir, "root.key")
	s := start(t, cfg)
	first := s.app.Install()
	s.stop()

	// Stopped after the re-wrap: start-up finishes the rotation.
	next := rewrapWithoutReplacing(t, dir)
	s = start(t, cfg)
	if s.app.Install() != first {
		t.Error("installation differs after a finished rotation")
	}
	s.stop()
	if got := readKey(t, path); got.ID != next.ID {
		t.Fatalf("root.key holds %s, want the rotated key %s", got.ID, next.ID)
	}
	if _, err := os.Stat(path + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("side file left behind: %v", err)
	}

	// The same, finished by running the command again.
	next = rewrapWithoutReplacing(t, dir)
	r, err := app.RotateRootKey(ctx, cfg)
	if err != nil || !r.Resumed || r.NewID != next.ID {
		t.Fatalf("resumed rotation: %+v %v", r, err)
	}
	if got := readKey(t, path); got.ID != next.ID {
		t.Fatalf("root.key holds %s, want %s", got.ID, next.ID)
	}

	// Stopped before the re-wrap: the side file is ignored, and the next rotation starts afresh.
	if err := barrier.WriteRootKeyFile(path+".next", barrier.GenerateRootKey()); err != nil {
		t.Fatal(err)
	}
	start(t, cfg).stop()
	if got := readKey(t, path); got.ID != next.ID {
		t.Fatal("a side file whose rotation never re-wrapped replaced the key")
	}
	r, err = app.RotateRootKey(ctx, cfg)
	if err != nil || r.Resumed || r.OldID != next.ID {
		t.Fatalf("rotation over a stale side file: %+v %v", r, err)
	}
	start(t, cfg).stop()
}
