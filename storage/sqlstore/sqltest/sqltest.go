// Package sqltest opens throwaway SQL stores for tests: a SQLite file in a temp dir, or a fresh schema in the
// PostgreSQL database named by KEYHAVEN_TEST_POSTGRES_URL (the test skips when it is unset).
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/storage/sqlstore"
)

// PostgresEnv names the variable that holds the test PostgreSQL URL.
const PostgresEnv = "KEYHAVEN_TEST_POSTGRES_URL"

// SQLitePath returns a path for a new SQLite database in a temp dir.
func SQLitePath(t testing.TB) string { return filepath.Join(t.TempDir(), "keyhaven.db") }

// OpenSQLite opens a new SQLite store; the caller closes it.
func OpenSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// PostgresURL returns a URL whose search_path is a fresh schema in the test database, dropped when the test ends.
// Without KEYHAVEN_TEST_POSTGRES_URL the test is skipped with a message.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set: skipping the PostgreSQL backend (.ci/run sets it)")
	}
	admin, err := sqlstore.OpenPostgres(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "kh_test_" + hex.EncodeToString(b)
	if _, err := admin.DB().Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
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

// OpenPostgres opens a store on a fresh schema, or skips; the caller closes it.
func OpenPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Backends lists both backends for table tests: name and opener.
var Backends = []struct {
	Name string
	Open func(testing.TB) *sqlstore.Store
}{
	{"sqlite", OpenSQLite},
	{"postgres", OpenPostgres},
}
