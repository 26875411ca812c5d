package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/storage"
)

// ops runs the record operations on one querier: the pools outside a transaction, or a *sql.Tx inside one.
type ops struct {
	d dialect
	q querier
	// lock is appended to reads (" FOR UPDATE" inside a PostgreSQL transaction).
	lock string
}

func (o ops) get(ctx context.Context, kind, key string) (storage.Record, error) {
	if err := storage.ValidateKey(kind, key); err != nil {
		return storage.Record{}, err
	}
	rec := storage.Record{Kind: kind, Key: key}
	err := o.q.QueryRowContext(ctx, o.d.rebind(`SELECT version, value FROM records WHERE kind = ? AND rkey = ?`+o.lock), kind, key).
		Scan(&rec.Version, &rec.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Record{}, fmt.Errorf("%s/%s: %w", kind, key, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Record{}, fmt.Errorf("get %s/%s: %w", kind, key, err)
	}
	return rec, nil
}

func (o ops) list(ctx context.Context, kind string, opts storage.ListOptions) (storage.Page, error) {
	if err := storage.ValidateKey(kind, "-"); err != nil {
		return storage.Page{}, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = storage.DefaultPageSize
	}
	limit = min(limit, storage.MaxPageSize)
	q := `SELECT rkey, version, value FROM records WHERE kind = ?`
	args := []any{kind}
	if opts.Prefix != "" {
		if err := storage.ValidateKey(kind, opts.Prefix); err != nil {
			return storage.Page{}, err
		}
		q += ` AND rkey >= ? AND rkey < ?`
		args = append(args, opts.Prefix, storage.PrefixEnd(opts.Prefix))
	}
	if opts.PageToken != "" {
		after, err := storage.DecodePageToken(kind, opts.Prefix, opts.PageToken)
		if err != nil {
			return storage.Page{}, err
		}
		q += ` AND rkey > ?`
		args = append(args, after)
	}
	q += ` ORDER BY rkey LIMIT ?`
	args = append(args, limit+1)
	rows, err := o.q.QueryContext(ctx, o.d.rebind(q), args...)
	if err != nil {
		return storage.Page{}, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	var page storage.Page
	for rows.Next() {
		rec := storage.Record{Kind: kind}
		if err := rows.Scan(&rec.Key, &rec.Version, &rec.Value); err != nil {
			return storage.Page{}, fmt.Errorf("list %s: %w", kind, err)
		}
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return storage.Page{}, fmt.Errorf("list %s: %w", kind, err)
	}
	if len(page.Records) > limit {
		page.Records = page.Records[:limit]
		page.Next = storage.EncodePageToken(kind, opts.Prefix, page.Records[limit-1].Key)
	}
	return page, nil
}

func (o ops) create(ctx context.Context, rec storage.Record) (storage.Record, error) {
	if err := storage.ValidateKey(rec.Kind, rec.Key); err != nil {
		return storage.Record{}, err
	}
	res, err := o.q.ExecContext(ctx, o.d.rebind(`INSERT INTO records (kind, rkey, version, value) VALUES (?, ?, 1, ?) ON CONFLICT (kind, rkey) DO NOTHING`),
		rec.Kind, rec.Key, nonNil(rec.Value))
	if err != nil {
		return storage.Record{}, fmt.Errorf("create %s/%s: %w", rec.Kind, rec.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return storage.Record{}, fmt.Errorf("create %s/%s: %w", rec.Kind, rec.Key, err)
	} else if n == 0 {
		return storage.Record{}, fmt.Errorf("%s/%s already exists: %w", rec.Kind, rec.Key, storage.ErrConflict)
	}
	rec.Version = 1
	return rec, nil
}

func (o ops) put(ctx context.Context, rec storage.Record) (storage.Record, error) {
	if err := storage.ValidateKey(rec.Kind, rec.Key); err != nil {
		return storage.Record{}, err
	}
	var err error
	var version int64
	if rec.Version == 0 {
		err = o.q.QueryRowContext(ctx, o.d.rebind(`INSERT INTO records (kind, rkey, version, value) VALUES (?, ?, 1, ?)
			ON CONFLICT (kind, rkey) DO UPDATE SET version = records.version + 1, value = excluded.value RETURNING version`),
			rec.Kind, rec.Key, nonNil(rec.Value)).Scan(&version)
	} else {
		err = o.q.QueryRowContext(ctx, o.d.rebind(`UPDATE records SET version = version + 1, value = ? WHERE kind = ? AND rkey = ? AND version = ? RETURNING version`),
			nonNil(rec.Value), rec.Kind, rec.Key, rec.Version).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.Record{}, o.missOrConflict(ctx, rec.Kind, rec.Key, rec.Version)
		}
	}
	if err != nil {
		return storage.Record{}, fmt.Errorf("put %s/%s: %w", rec.Kind, rec.Key, err)
	}
	rec.Version = version
	return rec, nil
}

func (o ops) delete(ctx context.Context, kind, key string, version int64) error {
	if err := storage.ValidateKey(kind, key); err != nil {
		return err
	}
	q := `DELETE FROM records WHERE kind = ? AND rkey = ?`
	args := []any{kind, key}
	if version != 0 {
		q += ` AND version = ?`
		args = append(args, version)
	}
	res, err := o.q.ExecContext(ctx, o.d.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", kind, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", kind, key, err)
	}
	if n == 0 {
		return o.missOrConflict(ctx, kind, key, version)
	}
	return nil
}

// missOrConflict explains why a conditional write touched no row: the record is gone, or its version moved on.
func (o ops) missOrConflict(ctx context.Context, kind, key string, want int64) error {
	var have int64
	err := o.q.QueryRowContext(ctx, o.d.rebind(`SELECT version FROM records WHERE kind = ? AND rkey = ?`), kind, key).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s/%s: %w", kind, key, storage.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s/%s: %w", kind, key, err)
	default:
		return fmt.Errorf("%s/%s is at version %d, not %d: %w", kind, key, have, want, storage.ErrConflict)
	}
}

// nonNil stores an empty value as an empty blob rather than NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
