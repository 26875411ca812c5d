package storage

import (
	"context"
	"encoding/json"
	"fmt"
)

// The JSON helpers store typed values as JSON records, the way domain packages hold their aggregates.

// GetJSON reads a record and decodes it into a T. It returns the record's version for a later conditional write.
func GetJSON[T any](ctx context.Context, r Reader, kind, key string) (T, int64, error) {
	var v T
	rec, err := r.Get(ctx, kind, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return v, 0, fmt.Errorf("decode %s/%s: %w", kind, key, err)
	}
	return v, rec.Version, nil
}

// CreateJSON stores v as a new record (ErrConflict if the key exists).
func CreateJSON(ctx context.Context, w Writer, kind, key string, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", kind, key, err)
	}
	_, err = w.Create(ctx, Record{Kind: kind, Key: key, Value: val})
	return err
}

// PutJSON stores v, conditional on version unless it is 0.
func PutJSON(ctx context.Context, w Writer, kind, key string, version int64, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", kind, key, err)
	}
	_, err = w.Put(ctx, Record{Kind: kind, Key: key, Value: val, Version: version})
	return err
}

// UpdateJSON is Update for a JSON record of type T, inside a transaction the caller holds.
func UpdateJSON[T any](ctx context.Context, tx Tx, kind, key string, fn func(*T) error) (T, error) {
	var out T
	_, err := UpdateTx(ctx, tx, kind, key, func(old []byte) ([]byte, error) {
		if err := json.Unmarshal(old, &out); err != nil {
			return nil, fmt.Errorf("decode %s/%s: %w", kind, key, err)
		}
		if err := fn(&out); err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
	return out, err
}

// ListAll lists every record of a kind under prefix, following page tokens, and decodes each into a T.
func ListAll[T any](ctx context.Context, r Reader, kind, prefix string) ([]T, error) {
	var out []T
	opts := ListOptions{Prefix: prefix, Limit: MaxPageSize}
	for {
		page, err := r.List(ctx, kind, opts)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Records {
			var v T
			if err := json.Unmarshal(rec.Value, &v); err != nil {
				return nil, fmt.Errorf("decode %s/%s: %w", kind, rec.Key, err)
			}
			out = append(out, v)
		}
		if page.Next == "" {
			return out, nil
		}
		opts.PageToken = page.Next
	}
}
