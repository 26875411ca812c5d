package sqlstore_test

import (
	"testing"

	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
	"github.com/keyhaven/keyhaven/storage/storagetest"
)

func TestSQLiteConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return sqltest.OpenSQLite(t) })
}

func TestPostgresConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return sqltest.OpenPostgres(t) })
}

func BenchmarkSQLite(b *testing.B) {
	s := sqltest.OpenSQLite(b)
	defer s.Close()
	storagetest.Bench(b, s)
}

func BenchmarkPostgres(b *testing.B) {
	s := sqltest.OpenPostgres(b)
	defer s.Close()
	storagetest.Bench(b, s)
}
