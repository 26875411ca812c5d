package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/storage"
)

// SQLite commits are durable (an fsync of the WAL each), and there is one writer, so under concurrent load the
// fsync, not the work, limits writes per second. Group commit runs the transactions that are waiting together in
// one SQLite transaction, each inside a savepoint of its own (so one that fails is undone alone), and commits
// once: every caller is answered after that commit is on disk, as before, but one fsync serves many writes.

// maxGroup bounds how many transactions share a commit.
const maxGroup = 128

type txRequest struct {
	ctx  context.Context
	fn   func(tx storage.Tx) error
	done chan error
}

// committer runs queued transactions in groups until the queue closes.
func (s *Store) committer() {
	defer close(s.committerDone)
	for first := range s.txQueue {
		group := []txRequest{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r, ok := <-s.txQueue:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		s.runGroup(group)
	}
}

func (s *Store) runGroup(group []txRequest) {
	ctx := context.Background()
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range group {
			r.done <- fmt.Errorf("begin: %w", err)
		}
		return
	}
	results := make([]error, len(group))
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT kh"); err != nil {
			results[i] = err
			continue
		}
		err := r.fn(txOps{ops{s.d, txQuerier{sqlTx, s.wstmts}, s.d.forUpdate}})
		if err != nil {
			results[i] = err
			if _, rerr := sqlTx.ExecContext(ctx, "ROLLBACK TO kh"); rerr != nil {
				// The savepoint cannot be undone: fail the whole group rather than commit half of it.
				sqlTx.Rollback()
				for j, r := range group {
					if results[j] == nil || j >= i {
						r.done <- errors.Join(fmt.Errorf("rollback to savepoint: %w", rerr), err)
					} else {
						r.done <- results[j]
					}
				}
				return
			}
		}
		sqlTx.ExecContext(ctx, "RELEASE kh")
	}
	commitErr := sqlTx.Commit()
	for i, r := range group {
		switch {
		case results[i] != nil:
			r.done <- results[i]
		case commitErr != nil:
			r.done <- fmt.Errorf("commit: %w", commitErr)
		default:
			r.done <- nil
		}
	}
}

// groupTx queues fn for the committer and waits for its result.
func (s *Store) groupTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	r := txRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.txQueue <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done
}
