package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/bootstrap"
	"github.com/keyhaven/keyhaven/internal/pki"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
)

// writeServerPair reads the server certificate a stopped keyhaven stored and writes it as PEM files, the way an
// operator would hand keyhaven their own.
func writeServerPair(t *testing.T, dataDir string) (certPath, keyPath string) {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "keyhaven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	root, err := barrier.ReadRootKeyFile(filepath.Join(dataDir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := barrier.Open(ctx, raw, root)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := b.Store().Get(ctx, bootstrap.KindPKI, "server")
	if err != nil {
		t.Fatal(err)
	}
	var kp pki.KeyPair
	if err := json.Unmarshal(rec.Value, &kp); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, kp.CertPEM, 0o600)
	os.WriteFile(keyPath, kp.KeyPEM, 0o600)
	return certPath, keyPath
}
