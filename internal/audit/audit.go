// Package audit is keyhaven's append-only audit trail: who did what to which target, and the outcome, for every
// management write (and, later, every data-plane call). Records never hold secret values.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/storage"
)

const kind = "audit"

// Record is one audited operation.
type Record struct {
	Time time.Time `json:"time"`
	// Plane is "management" or "data".
	Plane string `json:"plane"`
	// CallerOID and CallerAppID identify the caller; CallerName is its UPN or app id.
	CallerOID   string `json:"callerObjectId"`
	CallerAppID string `json:"callerAppId,omitempty"`
	CallerName  string `json:"callerName,omitempty"`
	ClientIP    string `json:"clientIp"`
	// Operation is the method and operation name, such as "PUT Microsoft.KeyVault/vaults/write".
	Operation string `json:"operation"`
	// Target is the resource id (or vault and object) the operation was on.
	Target string `json:"target"`
	// Resource is, for a data-plane call, the vault's resource id (it places the record in a subscription).
	Resource  string `json:"resourceId,omitempty"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"requestId"`
}

// Log appends and reads audit records.
type Log struct {
	store storage.Store
	now   func() time.Time
}

// New returns the audit log on a store.
func New(store storage.Store, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: store, now: now}
}

// Append stores a record durably before returning. Keys sort by time, so listing is chronological.
func (l *Log) Append(ctx context.Context, r Record) error {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	return l.appendAll(ctx, []Record{r})
}

// Filter selects records; zero fields match everything.
type Filter struct {
	Since, Until time.Time
	CallerOID    string
	Target       string
	Plane        string
}

// List returns the records that match, oldest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Record, error) {
	batches, err := storage.ListAll[[]Record](ctx, l.store, kind, "")
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, b := range batches {
		all = append(all, b...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	var out []Record
	for _, r := range all {
		if (!f.Since.IsZero() && r.Time.Before(f.Since)) || (!f.Until.IsZero() && r.Time.After(f.Until)) ||
			(f.CallerOID != "" && !strings.EqualFold(r.CallerOID, f.CallerOID)) || (f.Target != "" && r.Target != f.Target) ||
			(f.Plane != "" && r.Plane != f.Plane) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Batcher appends records in batches, off the request path: Add queues a record and returns; a background loop
// writes what has queued every interval (or sooner when max records wait) in one transaction. A crash loses at
// most the records of the last interval; a full queue makes Add wait rather than drop.
type Batcher struct {
	log      *Log
	interval time.Duration
	max      int
	queue    chan Record
	done     chan struct{}

	mu     sync.RWMutex // held for reading while Add sends, for writing while Close closes the queue
	closed bool
}

// NewBatcher returns a batcher for log; call Run to start it and Close to flush and stop.
func NewBatcher(log *Log, interval time.Duration, max int) *Batcher {
	return &Batcher{log: log, interval: interval, max: max, queue: make(chan Record, 16*max), done: make(chan struct{})}
}

// Add queues a record. After Close (a request that outlived the shutdown timeout) it appends the record directly.
func (b *Batcher) Add(r Record) {
	if r.Time.IsZero() {
		r.Time = b.log.now()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.log.Append(context.Background(), r)
		return
	}
	b.queue <- r
}

// Run writes batches until Close.
func (b *Batcher) Run(ctx context.Context, onError func(error)) {
	defer close(b.done)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	var batch []Record
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := b.log.appendAll(context.WithoutCancel(ctx), batch); err != nil && onError != nil {
			onError(err)
		}
		batch = nil
	}
	for {
		select {
		case r, ok := <-b.queue:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r)
			if len(batch) >= b.max {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// Close flushes what is queued and stops Run.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.done
}

// appendAll stores records as one batch: one row, sealed once, keyed by the first record's time.
func (l *Log) appendAll(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		recs[i].Time = recs[i].Time.UTC()
	}
	b := make([]byte, 4)
	rand.Read(b)
	key := fmt.Sprintf("%020d-%s", recs[0].Time.UnixNano(), hex.EncodeToString(b))
	return storage.CreateJSON(ctx, l.store, kind, key, recs)
}
