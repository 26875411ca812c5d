// Package storagetest is the conformance suite every storage.Store backend runs: the behaviour the domain packages
// rely on, checked the same way on SQLite and on PostgreSQL.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/storage"
)

// Run runs the conformance suite. newStore returns an empty store; it is called once per subtest, and the store is
// closed by the suite.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"CRUD", testCRUD},
		{"NotFound", testNotFound},
		{"Conflict", testConflict},
		{"InvalidKeys", testInvalidKeys},
		{"BinaryValues", testBinaryValues},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"UpdateLosesRace", testUpdateLosesRace},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Paging", testPaging},
		{"PagingTokens", testPagingTokens},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

func mustGet(t *testing.T, s storage.Reader, kind, key string) storage.Record {
	t.Helper()
	rec, err := s.Get(context.Background(), kind, key)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", kind, key, err)
	}
	return rec
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testCRUD(t *testing.T, s storage.Store) {
	ctx := context.Background()
	rec, err := s.Create(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("one")})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if rec.Version != 1 {
		t.Fatalf("Create version = %d, want 1", rec.Version)
	}
	got := mustGet(t, s, "widget", "a")
	if string(got.Value) != "one" || got.Version != 1 || got.Kind != "widget" || got.Key != "a" {
		t.Fatalf("Get = %+v", got)
	}
	rec, err = s.Put(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("two"), Version: 1})
	if err != nil {
		t.Fatalf("conditional Put: %v", err)
	}
	if rec.Version != 2 {
		t.Fatalf("Put version = %d, want 2", rec.Version)
	}
	rec, err = s.Put(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("three")})
	if err != nil || rec.Version != 3 {
		t.Fatalf("unconditional Put over existing: %+v, %v", rec, err)
	}
	rec, err = s.Put(ctx, storage.Record{Kind: "widget", Key: "b", Value: []byte("new")})
	if err != nil || rec.Version != 1 {
		t.Fatalf("unconditional Put of new key: %+v, %v", rec, err)
	}
	if got := mustGet(t, s, "widget", "a"); string(got.Value) != "three" || got.Version != 3 {
		t.Fatalf("after puts: %+v", got)
	}
	rec, err = storage.Update(ctx, s, "widget", "a", func(old []byte) ([]byte, error) {
		return append(old, '!'), nil
	})
	if err != nil || rec.Version != 4 || string(rec.Value) != "three!" {
		t.Fatalf("Update: %+v, %v", rec, err)
	}
	// The same key in another kind is another record.
	if _, err := s.Create(ctx, storage.Record{Kind: "gadget", Key: "a", Value: []byte("g")}); err != nil {
		t.Fatalf("Create in another kind: %v", err)
	}
	if err := s.Delete(ctx, "widget", "a", 4); err != nil {
		t.Fatalf("conditional Delete: %v", err)
	}
	if err := s.Delete(ctx, "widget", "b", 0); err != nil {
		t.Fatalf("unconditional Delete: %v", err)
	}
	_, err = s.Get(ctx, "widget", "a")
	wantErr(t, "Get after Delete", err, storage.ErrNotFound)
	if got := mustGet(t, s, "gadget", "a"); string(got.Value) != "g" {
		t.Fatalf("other kind changed: %+v", got)
	}
	// A deleted key can be created again, starting over at version 1.
	rec, err = s.Create(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("again")})
	if err != nil || rec.Version != 1 {
		t.Fatalf("re-Create: %+v, %v", rec, err)
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, err := s.Get(ctx, "widget", "missing")
	wantErr(t, "Get", err, storage.ErrNotFound)
	_, err = s.Put(ctx, storage.Record{Kind: "widget", Key: "missing", Value: []byte("x"), Version: 3})
	wantErr(t, "conditional Put", err, storage.ErrNotFound)
	err = s.Delete(ctx, "widget", "missing", 0)
	wantErr(t, "Delete", err, storage.ErrNotFound)
	err = s.Delete(ctx, "widget", "missing", 2)
	wantErr(t, "conditional Delete", err, storage.ErrNotFound)
	_, err = storage.Update(ctx, s, "widget", "missing", func(old []byte) ([]byte, error) {
		t.Error("Update called fn for a missing record")
		return old, nil
	})
	wantErr(t, "Update", err, storage.ErrNotFound)
	// Nothing was created on the way.
	page, err := s.List(ctx, "widget", storage.ListOptions{})
	if err != nil || len(page.Records) != 0 {
		t.Fatalf("List after failed writes: %+v, %v", page, err)
	}
}

func testConflict(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("first")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("second")})
	wantErr(t, "Create existing", err, storage.ErrConflict)
	_, err = s.Put(ctx, storage.Record{Kind: "widget", Key: "a", Value: []byte("stale"), Version: 7})
	wantErr(t, "Put stale version", err, storage.ErrConflict)
	err = s.Delete(ctx, "widget", "a", 7)
	wantErr(t, "Delete stale version", err, storage.ErrConflict)
	if got := mustGet(t, s, "widget", "a"); string(got.Value) != "first" || got.Version != 1 {
		t.Fatalf("record changed by refused writes: %+v", got)
	}
	// An error from the update function aborts without writing.
	boom := errors.New("boom")
	_, err = storage.Update(ctx, s, "widget", "a", func([]byte) ([]byte, error) { return []byte("no"), boom })
	wantErr(t, "Update with failing fn", err, boom)
	if got := mustGet(t, s, "widget", "a"); string(got.Value) != "first" || got.Version != 1 {
		t.Fatalf("record changed by aborted update: %+v", got)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := context.Background()
	bad := []struct{ kind, key string }{
		{"", "k"}, {"widget", ""}, {"widget", "caf\u00e9"}, {"widget", "new\nline"}, {"widget", "nul\x00"},
		{"widget", string(bytes.Repeat([]byte("k"), 1025))},
	}
	for _, b := range bad {
		_, err := s.Create(ctx, storage.Record{Kind: b.kind, Key: b.key, Value: []byte("x")})
		wantErr(t, fmt.Sprintf("Create(%q, %q)", b.kind, b.key), err, storage.ErrInvalid)
		_, err = s.Get(ctx, b.kind, b.key)
		wantErr(t, fmt.Sprintf("Get(%q, %q)", b.kind, b.key), err, storage.ErrInvalid)
	}
	_, err := s.List(ctx, "widget", storage.ListOptions{Prefix: "\u00e9"})
	wantErr(t, "List with non-ASCII prefix", err, storage.ErrInvalid)
}

func testBinaryValues(t *testing.T, s storage.Store) {
	ctx := context.Background()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{"empty": {}, "bytes": all, "big": bytes.Repeat([]byte{0, 0xff, 'x'}, 100_000)}
	for k, v := range values {
		if _, err := s.Create(ctx, storage.Record{Kind: "blob", Key: k, Value: v}); err != nil {
			t.Fatalf("Create %s: %v", k, err)
		}
	}
	for k, v := range values {
		if got := mustGet(t, s, "blob", k); !bytes.Equal(got.Value, v) {
			t.Fatalf("%s: value did not round-trip (%d bytes, want %d)", k, len(got.Value), len(v))
		}
	}
}

func testTxCommit(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Record{Kind: "acct", Key: "alice", Value: []byte("100")}); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx storage.Tx) error {
		if _, err := storage.UpdateTx(ctx, tx, "acct", "alice", func([]byte) ([]byte, error) { return []byte("60"), nil }); err != nil {
			return err
		}
		if _, err := tx.Create(ctx, storage.Record{Kind: "acct", Key: "bob", Value: []byte("40")}); err != nil {
			return err
		}
		// A transaction reads its own writes.
		rec, err := tx.Get(ctx, "acct", "bob")
		if err != nil || string(rec.Value) != "40" {
			return fmt.Errorf("read own write: %+v, %v", rec, err)
		}
		page, err := tx.List(ctx, "acct", storage.ListOptions{})
		if err != nil || len(page.Records) != 2 {
			return fmt.Errorf("list own writes: %+v, %v", page, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if a, b := mustGet(t, s, "acct", "alice"), mustGet(t, s, "acct", "bob"); string(a.Value) != "60" || string(b.Value) != "40" {
		t.Fatalf("after commit: alice=%q bob=%q", a.Value, b.Value)
	}
}

func testTxRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Record{Kind: "acct", Key: "alice", Value: []byte("100")}); err != nil {
		t.Fatal(err)
	}
	// A failing write part-way through undoes the writes before it.
	err := s.InTx(ctx, func(tx storage.Tx) error {
		if _, err := tx.Put(ctx, storage.Record{Kind: "acct", Key: "alice", Value: []byte("0"), Version: 1}); err != nil {
			return err
		}
		if _, err := tx.Create(ctx, storage.Record{Kind: "acct", Key: "carol", Value: []byte("100")}); err != nil {
			return err
		}
		_, err := tx.Create(ctx, storage.Record{Kind: "acct", Key: "alice", Value: []byte("dup")})
		return err
	})
	wantErr(t, "InTx with a conflicting write", err, storage.ErrConflict)
	if a := mustGet(t, s, "acct", "alice"); string(a.Value) != "100" || a.Version != 1 {
		t.Fatalf("alice after rollback: %+v", a)
	}
	_, err = s.Get(ctx, "acct", "carol")
	wantErr(t, "carol after rollback", err, storage.ErrNotFound)

	// So does any error the function returns.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, "acct", "alice", 0); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "InTx returning an error", err, boom)
	mustGet(t, s, "acct", "alice")
}

// testUpdateLosesRace is the optimistic-concurrency rule: a writer holding a stale version fails cleanly and the
// winner's write stays.
func testUpdateLosesRace(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Record{Kind: "doc", Key: "d", Value: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	a := mustGet(t, s, "doc", "d")
	b := mustGet(t, s, "doc", "d")
	if _, err := s.Put(ctx, storage.Record{Kind: "doc", Key: "d", Value: []byte("from a"), Version: a.Version}); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	_, err := s.Put(ctx, storage.Record{Kind: "doc", Key: "d", Value: []byte("from b"), Version: b.Version})
	wantErr(t, "second writer with stale version", err, storage.ErrConflict)
	if got := mustGet(t, s, "doc", "d"); string(got.Value) != "from a" || got.Version != 2 {
		t.Fatalf("after race: %+v", got)
	}
	// The same holds inside a transaction.
	err = s.InTx(ctx, func(tx storage.Tx) error {
		_, err := tx.Put(ctx, storage.Record{Kind: "doc", Key: "d", Value: []byte("stale tx"), Version: 1})
		return err
	})
	wantErr(t, "stale write in a transaction", err, storage.ErrConflict)
	if got := mustGet(t, s, "doc", "d"); string(got.Value) != "from a" {
		t.Fatalf("after stale tx: %+v", got)
	}
}

// testConcurrentUpdates races read-modify-writes on one counter: none may be lost.
func testConcurrentUpdates(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, storage.Record{Kind: "counter", Key: "c", Value: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := storage.Update(ctx, s, "counter", "c", func(old []byte) ([]byte, error) {
					n, err := strconv.Atoi(string(old))
					if err != nil {
						return nil, err
					}
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("Update: %v", err)
		}
		failed++ // a clean refusal is allowed; a lost update is not
	}
	got := mustGet(t, s, "counter", "c")
	if want := strconv.Itoa(workers*each - failed); string(got.Value) != want {
		t.Fatalf("counter = %s, want %s (%d updates refused)", got.Value, want, failed)
	}
	if got.Version != int64(workers*each-failed)+1 {
		t.Fatalf("version = %d, want %d", got.Version, workers*each-failed+1)
	}
	if failed > workers*each/10 {
		t.Fatalf("%d of %d updates refused: the backend should serialize, not fail", failed, workers*each)
	}
}

func testConcurrentWriters(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const workers, each = 8, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("w%02d-%03d", w, i)
				if _, err := s.Create(ctx, storage.Record{Kind: "item", Key: key, Value: []byte(key)}); err != nil {
					errs <- err
					return
				}
				// Readers run beside writers.
				if _, err := s.Get(ctx, "item", key); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := 0
	opts := storage.ListOptions{Limit: 100}
	for {
		page, err := s.List(ctx, "item", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if string(r.Value) != r.Key {
				t.Fatalf("%s holds %q", r.Key, r.Value)
			}
		}
		seen += len(page.Records)
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	if seen != workers*each {
		t.Fatalf("listed %d records, want %d", seen, workers*each)
	}
}

func testPaging(t *testing.T, s storage.Store) {
	ctx := context.Background()
	// Keys inserted out of order, under two prefixes, with names whose byte order differs from a
	// locale's order (upper case before lower case, '-' before digits).
	var want []string
	for i := 0; i < 53; i++ {
		k := fmt.Sprintf("vault1/%03d", (i*37)%53)
		if _, err := s.Create(ctx, storage.Record{Kind: "secret", Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 53; i++ {
		want = append(want, fmt.Sprintf("vault1/%03d", i))
	}
	for _, k := range []string{"vault1Z", "vault10/a", "vault2/a", "vault1-", "Vault1/b", "vault0/z"} {
		if _, err := s.Create(ctx, storage.Record{Kind: "secret", Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, storage.Record{Kind: "secretx", Key: "vault1/000", Value: []byte("other kind")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	opts := storage.ListOptions{Prefix: "vault1/", Limit: 10}
	pages := 0
	for {
		page, err := s.List(ctx, "secret", opts)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		pages++
		if len(page.Records) > 10 {
			t.Fatalf("page of %d records, limit 10", len(page.Records))
		}
		for _, r := range page.Records {
			got = append(got, r.Key)
			if string(r.Value) != r.Key || r.Version != 1 || r.Kind != "secret" {
				t.Fatalf("record %+v", r)
			}
		}
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	if pages != 6 {
		t.Errorf("%d pages, want 6", pages)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
	// Without a prefix: the whole kind in byte order.
	page, err := s.List(ctx, "secret", storage.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, r := range page.Records {
		all = append(all, r.Key)
	}
	wantAll := append([]string{"Vault1/b", "vault0/z", "vault1-"}, want...)
	wantAll = append(wantAll, "vault10/a", "vault1Z", "vault2/a")
	if fmt.Sprint(all) != fmt.Sprint(wantAll) || page.Next != "" {
		t.Fatalf("full listing\n%v\nwant\n%v (next %q)", all, wantAll, page.Next)
	}
	// A page that ends exactly at the last record has no Next.
	page, err = s.List(ctx, "secret", storage.ListOptions{Prefix: "vault1/", Limit: 53})
	if err != nil || len(page.Records) != 53 || page.Next != "" {
		t.Fatalf("exact page: %d records, next %q, %v", len(page.Records), page.Next, err)
	}
	// Default and capped limits.
	page, err = s.List(ctx, "secret", storage.ListOptions{Limit: storage.MaxPageSize * 10})
	if err != nil || len(page.Records) != len(wantAll) {
		t.Fatalf("capped limit: %d records, %v", len(page.Records), err)
	}
	// An empty kind lists nothing.
	page, err = s.List(ctx, "nothing", storage.ListOptions{})
	if err != nil || len(page.Records) != 0 || page.Next != "" {
		t.Fatalf("empty kind: %+v, %v", page, err)
	}
}

func testPagingTokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("p/%02d", i)
		if _, err := s.Create(ctx, storage.Record{Kind: "thing", Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.List(ctx, "thing", storage.ListOptions{Prefix: "p/", Limit: 4})
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	// Writes between pages neither repeat nor skip records that were already in place.
	if err := s.Delete(ctx, "thing", "p/01", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, storage.Record{Kind: "thing", Key: "p/055", Value: []byte("p/055")}); err != nil {
		t.Fatal(err)
	}
	var rest []string
	opts := storage.ListOptions{Prefix: "p/", Limit: 4, PageToken: first.Next}
	for {
		page, err := s.List(ctx, "thing", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			rest = append(rest, r.Key)
		}
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	if want := "[p/04 p/05 p/055 p/06 p/07 p/08 p/09]"; fmt.Sprint(rest) != want {
		t.Fatalf("after token: %v, want %s", rest, want)
	}
	// A token continues only the listing it came from.
	_, err = s.List(ctx, "thing", storage.ListOptions{Prefix: "q/", PageToken: first.Next})
	wantErr(t, "token on another prefix", err, storage.ErrInvalid)
	_, err = s.List(ctx, "other", storage.ListOptions{Prefix: "p/", PageToken: first.Next})
	wantErr(t, "token on another kind", err, storage.ErrInvalid)
	for _, bad := range []string{"!!!", "AAAA", "cDEAdGhpbmcAcC8AcS8"} {
		_, err = s.List(ctx, "thing", storage.ListOptions{Prefix: "p/", PageToken: bad})
		wantErr(t, fmt.Sprintf("token %q", bad), err, storage.ErrInvalid)
	}
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
