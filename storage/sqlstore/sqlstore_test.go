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
