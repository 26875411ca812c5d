package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
)

// Root-key rotation replaces the key file only after the store's data keys are re-wrapped, and writes the new key
// to a side file (the key file's path + ".next") before it touches the store. A crash at any point leaves a state
// that start-up resolves: before the re-wrap commits, the old key still opens the store and the side file is
// ignored; after it, the old key no longer does, and start-up finishes the rotation with the side file.

// RotatedKeys reports a root-key rotation.
type RotatedKeys struct {
	Path  string
	OldID string
	NewID string
	// Resumed means an earlier rotation, stopped after its re-wrap, was finished instead of starting a new one.
	Resumed bool
}

// RotateRootKey re-wraps every data key under a newly generated root key and replaces the root key file. Sealed
// values do not change, so it is quick, and a server running on the same store keeps working (it holds its data
// keys in memory); it must be restarted with the new key file, which is where the old one was.
func RotateRootKey(ctx context.Context, cfg config.Config) (RotatedKeys, error) {
	if err := cfg.Validate(); err != nil {
		return RotatedKeys{}, err
	}
	if cfg.RootKey != "" {
		return RotatedKeys{}, errors.New("the root key comes from KEYHAVEN_ROOT_KEY, and rotate-root-key writes the new key to a file: put the key in a file (--root-key-file) first")
	}
	path := rootKeyPath(cfg)
	raw, err := sqlstore.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return RotatedKeys{}, fmt.Errorf("open storage: %w", err)
	}
	defer raw.Close()
	if sealed, err := barrier.HasDataKeys(ctx, raw); err != nil {
		return RotatedKeys{}, err
	} else if !sealed {
		return RotatedKeys{}, errors.New("this store holds no sealed data yet: start keyhaven serve once first")
	}
	cur, err := barrier.ReadRootKeyFile(path)
	if err != nil {
		return RotatedKeys{}, err
	}
	b, err := barrier.Open(ctx, raw, cur)
	if errors.Is(err, barrier.ErrWrongRootKey) {
		// An earlier rotation may have committed its re-wrap and stopped before replacing the file.
		_, next, ferr := finishRotation(ctx, raw, path)
		if ferr != nil {
			return RotatedKeys{}, err
		}
		return RotatedKeys{Path: path, OldID: cur.ID, NewID: next.ID, Resumed: true}, nil
	}
	if err != nil {
		return RotatedKeys{}, err
	}
	pending := path + ".next"
	if err := os.Remove(pending); err != nil && !errors.Is(err, os.ErrNotExist) {
		return RotatedKeys{}, err // left by a rotation that never re-wrapped: the current key still opens the store
	}
	next := barrier.GenerateRootKey()
	if err := barrier.WriteRootKeyFile(pending, next); err != nil {
		return RotatedKeys{}, fmt.Errorf("write the new root key: %w", err)
	}
	if err := syncDir(filepath.Dir(pending)); err != nil {
		os.Remove(pending)
		return RotatedKeys{}, err
	}
	if err := b.RewrapRootKey(ctx, next); err != nil {
		os.Remove(pending)
		return RotatedKeys{}, fmt.Errorf("re-wrap the data keys (nothing changed; the old key is still in use): %w", err)
	}
	if err := replaceKeyFile(pending, path); err != nil {
		return RotatedKeys{}, fmt.Errorf("the store now uses the root key in %s, but it could not replace %s (move it there before the next start): %w", pending, path, err)
	}
	return RotatedKeys{Path: path, OldID: cur.ID, NewID: next.ID}, nil
}

// finishRotation opens the store with the side file's key, left by a rotation that re-wrapped the data keys but
// stopped before replacing the key file, and moves that key into place.
func finishRotation(ctx context.Context, raw storage.Store, path string) (*barrier.Barrier, barrier.RootKey, error) {
	pending := path + ".next"
	next, err := barrier.ReadRootKeyFile(pending)
	if err != nil {
		return nil, next, err
	}
	b, err := barrier.Open(ctx, raw, next)
	if err != nil {
		return nil, next, err
	}
	return b, next, replaceKeyFile(pending, path)
}

func replaceKeyFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// rootKeyPath is where the root key file is: --root-key-file, else DATA/root.key.
func rootKeyPath(cfg config.Config) string {
	if cfg.RootKeyFile != "" {
		return cfg.RootKeyFile
	}
	return filepath.Join(cfg.DataDir, "root.key")
}

// openBarrier opens the barrier, finishing a root-key rotation that was interrupted after its re-wrap.
func (a *App) openBarrier(ctx context.Context, root barrier.RootKey) (*barrier.Barrier, error) {
	b, err := barrier.Open(ctx, a.raw, root)
	if !errors.Is(err, barrier.ErrWrongRootKey) || a.cfg.RootKey != "" {
		return b, err
	}
	path := rootKeyPath(a.cfg)
	nb, next, ferr := finishRotation(ctx, a.raw, path)
	if ferr != nil {
		return nil, err
	}
	a.logger.Warn("finished an interrupted root key rotation", slog.String("path", path), slog.String("root_key_id", next.ID))
	return nb, nil
}
