package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
	"github.com/keyhaven/keyhaven/storage/storagetest"
)

func TestSQLiteConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openSQLite(t) })
}

func TestPostgresConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openPostgres(t) })
}

func openSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// postgresURL returns a URL for a fresh schema in the test database, dropped when the test ends, or skips.
func postgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("KEYHAVEN_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("KEYHAVEN_TEST_POSTGRES_URL is not set: skipping the PostgreSQL backend (.ci/run sets it)")
	}
	admin, err := sqlstore.OpenPostgres(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "kh_test_" + hex.EncodeToString(b)
	if _, err := admin.DB().Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.DB().Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
