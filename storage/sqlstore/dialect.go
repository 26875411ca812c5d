package sqlstore

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is everything that differs between the SQL backends. Queries are written once, with ? placeholders and
// {{name}} type markers, and the dialect turns them into its own SQL.
type dialect struct {
	name string
	// types fills the {{name}} markers in migrations.
	types map[string]string
	// forUpdate is appended to reads inside a transaction so they lock the rows they read.
	forUpdate string
	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool
	// retryable reports a transient failure after which the whole transaction may run again.
	retryable func(error) bool
}

var sqliteDialect = dialect{
	name: "sqlite",
	types: map[string]string{
		"key":  "TEXT", // SQLite compares TEXT bytewise (BINARY collation) by default.
		"blob": "BLOB",
		"time": "INTEGER",
	},
	retryable: func(err error) bool {
		// With a single writer connection and BEGIN IMMEDIATE, SQLite transactions do not deadlock; a busy
		// database past the busy timeout is reported to the caller rather than retried forever.
		return false
	},
}

var postgresDialect = dialect{
	name: "postgres",
	types: map[string]string{
		"key":  `TEXT COLLATE "C"`, // bytewise order, the same as SQLite, whatever the database's locale
		"blob": "BYTEA",
		"time": "BIGINT",
	},
	forUpdate: " FOR UPDATE",
	numbered:  true,
	retryable: func(err error) bool {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch pgErr.Code {
			case "40001", "40P01": // serialization_failure, deadlock_detected
				return true
			}
		}
		return false
	},
}

// rebind rewrites ? placeholders for dialects that number them. Queries here never contain ? in literals.
func (d dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// expand fills the {{name}} type markers of a migration.
func (d dialect) expand(q string) string {
	for k, v := range d.types {
		q = strings.ReplaceAll(q, "{{"+k+"}}", v)
	}
	return q
}
