// Package sqlstore implements storage.Store on SQL: SQLite (the embedded default, through a pure-Go driver) and
// PostgreSQL (through pgx), with one schema and one set of ordered migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/keyhaven/keyhaven/storage"
)

// Store is a storage.Store on a SQL database.
type Store struct {
	d dialect
	// writer runs every write and every transaction. For SQLite it holds one connection, so writers queue in Go
	// instead of spinning on the database lock.
	writer *sql.DB
	// reader runs reads outside transactions. For SQLite it is a separate pool (WAL lets readers run beside the
	// writer); for PostgreSQL it is the same pool as writer.
	reader *sql.DB
	// rstmts and wstmts cache prepared statements on the two pools.
	rstmts, wstmts *stmtCache
	// txQueue feeds SQLite's group committer; nil for PostgreSQL.
	txQueue       chan txRequest
	committerDone chan struct{}
}

var _ storage.Store = (*Store)(nil)

// Open opens the database a URL names and brings its schema up to date. postgres:// and postgresql:// URLs select
// PostgreSQL; sqlite:PATH, sqlite://PATH, file:PATH or a bare path select SQLite.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		return OpenPostgres(ctx, dbURL)
	}
	path := dbURL
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(path, p) {
			path = strings.TrimPrefix(path, p)
			break
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return nil, fmt.Errorf("sqlite database %q: options in the URL are not supported", dbURL)
	}
	return OpenSQLite(ctx, path)
}

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	// Create the file ourselves so that it is private from its first byte.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	// WAL lets readers run beside the writer; synchronous=FULL makes every commit durable before it returns
	// (fsync of the WAL), which is what "acknowledged" means to callers.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	writer, err := sql.Open("sqlite", base+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{d: sqliteDialect, writer: writer}
	// Migrate before the reader opens so that WAL mode is set on the file by the one writer.
	if err := s.migrate(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(1)")
	reader, err := sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxIdleTime(0)
	s.reader = reader
	s.rstmts, s.wstmts = newStmtCache(reader), newStmtCache(writer)
	s.txQueue, s.committerDone = make(chan txRequest, maxGroup), make(chan struct{})
	go s.committer()
	return s, nil
}

// OpenPostgres connects to PostgreSQL.
func OpenPostgres(ctx context.Context, dbURL string) (*Store, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
	s := &Store{d: postgresDialect, writer: db, reader: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.wstmts = newStmtCache(db)
	s.rstmts = s.wstmts
	return s, nil
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Get implements storage.Reader.
func (s *Store) Get(ctx context.Context, kind, key string) (storage.Record, error) {
	return ops{s.d, poolQuerier{s.rstmts}, ""}.get(ctx, kind, key)
}

// List implements storage.Reader.
func (s *Store) List(ctx context.Context, kind string, opts storage.ListOptions) (storage.Page, error) {
	return ops{s.d, poolQuerier{s.rstmts}, ""}.list(ctx, kind, opts)
}

// Create implements storage.Writer.
func (s *Store) Create(ctx context.Context, rec storage.Record) (out storage.Record, err error) {
	if s.txQueue != nil {
		err = s.groupTx(ctx, func(tx storage.Tx) (err error) { out, err = tx.Create(ctx, rec); return err })
		return out, err
	}
	return ops{s.d, poolQuerier{s.wstmts}, ""}.create(ctx, rec)
}

// Put implements storage.Writer.
func (s *Store) Put(ctx context.Context, rec storage.Record) (out storage.Record, err error) {
	if s.txQueue != nil {
		err = s.groupTx(ctx, func(tx storage.Tx) (err error) { out, err = tx.Put(ctx, rec); return err })
		return out, err
	}
	return ops{s.d, poolQuerier{s.wstmts}, ""}.put(ctx, rec)
}

// Delete implements storage.Writer.
func (s *Store) Delete(ctx context.Context, kind, key string, version int64) error {
	if s.txQueue != nil {
		return s.groupTx(ctx, func(tx storage.Tx) error { return tx.Delete(ctx, kind, key, version) })
	}
	return ops{s.d, poolQuerier{s.wstmts}, ""}.delete(ctx, kind, key, version)
}

// maxTxAttempts bounds how often InTx reruns a transaction the database aborted as retryable.
const maxTxAttempts = 5

// InTx implements storage.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		err = s.inTx(ctx, fn)
		if err == nil || !s.d.retryable(err) {
			return err
		}
	}
	return fmt.Errorf("%w: transaction kept conflicting: %v", storage.ErrConflict, err)
}

func (s *Store) inTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	if s.txQueue != nil {
		return s.groupTx(ctx, fn)
	}
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(txOps{ops{s.d, txQuerier{sqlTx, s.wstmts}, s.d.forUpdate}}); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close implements storage.Store. For SQLite it also checkpoints the WAL into the main file.
func (s *Store) Close() error {
	var errs []error
	if s.txQueue != nil {
		close(s.txQueue) // in-flight groups finish first
		<-s.committerDone
	}
	s.rstmts.close()
	s.wstmts.close()
	if s.reader != s.writer && s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.d.name == "sqlite" {
		_, err := s.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, err)
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

// DB exposes the write pool for tests that inspect or tamper with rows directly.
func (s *Store) DB() *sql.DB { return s.writer }

// txOps is a storage.Tx.
type txOps struct{ ops }

func (t txOps) Get(ctx context.Context, kind, key string) (storage.Record, error) {
	return t.get(ctx, kind, key)
}
func (t txOps) List(ctx context.Context, kind string, opts storage.ListOptions) (storage.Page, error) {
	return t.list(ctx, kind, opts)
}
func (t txOps) Create(ctx context.Context, rec storage.Record) (storage.Record, error) {
	return t.create(ctx, rec)
}
func (t txOps) Put(ctx context.Context, rec storage.Record) (storage.Record, error) {
	return t.put(ctx, rec)
}
func (t txOps) Delete(ctx context.Context, kind, key string, version int64) error {
	return t.delete(ctx, kind, key, version)
}
