package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one step of the schema, shared by every dialect. Steps are applied in order, each once, each in its
// own transaction; a step is never edited after it has shipped, only followed by another.
type migration struct {
	version int
	name    string
	stmts   []string
}

var migrations = []migration{
	{
		version: 1,
		name:    "records",
		stmts: []string{
			`CREATE TABLE records (
				kind {{key}} NOT NULL,
				rkey {{key}} NOT NULL,
				version BIGINT NOT NULL,
				value {{blob}} NOT NULL,
				PRIMARY KEY (kind, rkey)
			)`,
		},
	},
}

// migrate brings the schema up to date in one transaction (both backends have transactional DDL), so a failed
// step leaves the schema as it was. Nodes starting together on one PostgreSQL database serialize on an advisory
// lock; SQLite's single writer connection serializes them already.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.d.name == "postgres" {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7295561)`); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {{time}} NOT NULL)`
	if _, err := tx.ExecContext(ctx, s.d.expand(create)); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	latest := migrations[len(migrations)-1].version
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this keyhaven knows (%d): upgrade keyhaven", current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.stmts {
			if _, err := tx.ExecContext(ctx, s.d.expand(stmt)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		_, err = tx.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().Unix())
		if err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
	}
	return tx.Commit()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
