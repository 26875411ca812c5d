// Package audit is keyhaven's append-only audit trail: who did what to which target, and the outcome, for every
// management write (and, later, every data-plane call). Records never hold secret values.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	Target    string `json:"target"`
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
	r.Time = r.Time.UTC()
	b := make([]byte, 4)
	rand.Read(b)
	key := fmt.Sprintf("%020d-%s", r.Time.UnixNano(), hex.EncodeToString(b))
	return storage.CreateJSON(ctx, l.store, kind, key, r)
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
	all, err := storage.ListAll[Record](ctx, l.store, kind, "")
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, r := range all {
		if (!f.Since.IsZero() && r.Time.Before(f.Since)) || (!f.Until.IsZero() && r.Time.After(f.Until)) ||
			(f.CallerOID != "" && r.CallerOID != f.CallerOID) || (f.Target != "" && r.Target != f.Target) ||
			(f.Plane != "" && r.Plane != f.Plane) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
