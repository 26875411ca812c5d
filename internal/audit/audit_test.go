package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

func TestListFiltersAndOrders(t *testing.T) {
	for _, be := range sqltest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			store := be.Open(t)
			defer store.Close()
			ctx := context.Background()
			base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			log := audit.New(store, nil)
			// Appended out of order: listing is by record time, not by insertion.
			recs := []audit.Record{
				{Time: base.Add(2 * time.Minute), Plane: "data", CallerOID: "A", Target: "v1/secrets/s", Status: 200},
				{Time: base, Plane: "management", CallerOID: "b", Target: "/subscriptions/x", Status: 201},
				{Time: base.Add(time.Minute), Plane: "data", CallerOID: "a", Target: "v1/secrets/t", Status: 403, Code: "Forbidden"},
			}
			for _, r := range recs {
				if err := log.Append(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			all, err := log.List(ctx, audit.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if got := targets(all); got != "[/subscriptions/x v1/secrets/t v1/secrets/s]" {
				t.Fatalf("order: %s", got)
			}
			cases := []struct {
				f    audit.Filter
				want string
			}{
				{audit.Filter{CallerOID: "a"}, "[v1/secrets/t v1/secrets/s]"}, // object ids compare case-insensitively
				{audit.Filter{Plane: "management"}, "[/subscriptions/x]"},
				{audit.Filter{Since: base.Add(time.Minute)}, "[v1/secrets/t v1/secrets/s]"},
				{audit.Filter{Until: base.Add(time.Minute)}, "[/subscriptions/x v1/secrets/t]"},
				{audit.Filter{Target: "v1/secrets/s"}, "[v1/secrets/s]"},
				{audit.Filter{Plane: "data", CallerOID: "b"}, "[]"},
			}
			for _, c := range cases {
				got, err := log.List(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				if targets(got) != c.want {
					t.Errorf("%+v: got %s, want %s", c.f, targets(got), c.want)
				}
			}
		})
	}
}

func TestBatcherWritesEveryRecordInFewRows(t *testing.T) {
	store := sqltest.OpenSQLite(t)
	defer store.Close()
	ctx := context.Background()
	log := audit.New(store, nil)
	// A long interval: only the size bound and Close flush.
	b := audit.NewBatcher(log, time.Hour, 10)
	go b.Run(ctx, func(err error) { t.Error(err) })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				b.Add(audit.Record{Plane: "data", Target: fmt.Sprintf("w%d-%d", w, i), Status: 200})
			}
		}()
	}
	wg.Wait()
	b.Close()
	got, err := log.List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range got {
		if r.Time.IsZero() {
			t.Errorf("record %s has no time", r.Target)
		}
		seen[r.Target] = true
	}
	if len(got) != 100 || len(seen) != 100 {
		t.Fatalf("%d records (%d distinct), want 100", len(got), len(seen))
	}
	rows, err := storage.ListAll[[]audit.Record](ctx, store, "audit", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 {
		t.Errorf("%d rows for 100 records in batches of 10, want 10", len(rows))
	}
}

func TestBatcherFlushesOnInterval(t *testing.T) {
	store := sqltest.OpenSQLite(t)
	defer store.Close()
	ctx := context.Background()
	log := audit.New(store, nil)
	b := audit.NewBatcher(log, 10*time.Millisecond, 1000)
	go b.Run(ctx, func(err error) { t.Error(err) })
	defer b.Close()
	b.Add(audit.Record{Plane: "data", Target: "one", Status: 200})
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := log.List(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Target == "one" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a queued record was not written by the interval flush: %v", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func targets(rs []audit.Record) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Target
	}
	return fmt.Sprint(out)
}

// A request that outlives the shutdown timeout may still record its call after Close: it is written, not lost,
// and nothing panics.
func TestBatcherAddAfterClose(t *testing.T) {
	store := sqltest.OpenSQLite(t)
	defer store.Close()
	ctx := context.Background()
	log := audit.New(store, nil)
	b := audit.NewBatcher(log, time.Hour, 10)
	go b.Run(ctx, func(err error) { t.Error(err) })
	b.Add(audit.Record{Plane: "data", Target: "before", Status: 200})
	b.Close()
	b.Close() // idempotent
	b.Add(audit.Record{Plane: "data", Target: "after", Status: 200})
	got, err := log.List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if targets(got) != "[before after]" {
		t.Fatalf("records: %s", targets(got))
	}
}
