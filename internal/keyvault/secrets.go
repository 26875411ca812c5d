// Package keyvault is the Key Vault data plane's domain: secrets with versions, attributes and tags, soft delete,
// recovery, purge, backup and restore. Values are stored through the barrier like everything else, so they are
// sealed at rest and bound to their row. It knows nothing of HTTP or authorization; kvapi does both.
package keyvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/memo"
	"github.com/keyhaven/keyhaven/storage"
)

// Errors. kvapi maps them to Key Vault's codes.
var (
	ErrNotFound          = errors.New("not found")
	ErrDeleted           = errors.New("deleted but recoverable")
	ErrExists            = errors.New("already exists")
	ErrInvalidBackup     = errors.New("invalid backup")
	ErrWrongSubscription = errors.New("backup from another subscription")
)

// Storage kinds: the head of a secret (its current version), each version, and a soft-deleted secret's record.
const (
	kindSecret        = "kv-secret"
	kindSecretVersion = "kv-secret-version"
	kindDeletedSecret = "kv-deleted-secret"
)

// Limits Key Vault applies.
const (
	MaxValueBytes       = 25 * 1024
	MaxTags             = 15
	MaxContentTypeChars = 255
)

var nameRule = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// ValidName applies Key Vault's object name rule.
func ValidName(name string) bool { return nameRule.MatchString(name) }

// Attributes are a secret version's attributes; times are Unix seconds, nil when unset.
type Attributes struct {
	Enabled bool   `json:"enabled"`
	NBF     *int64 `json:"nbf,omitempty"`
	Exp     *int64 `json:"exp,omitempty"`
	Created int64  `json:"created"`
	Updated int64  `json:"updated"`
}

// Version is one version of a secret.
type Version struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attributes  Attributes        `json:"attributes"`
}

// head is a secret's current state: its name as first written and its latest version.
type head struct {
	Name    string `json:"name"`
	Current string `json:"current"`
}

// Deleted is a soft-deleted secret.
type Deleted struct {
	Name               string `json:"name"`
	Current            string `json:"current"`
	DeletedDate        int64  `json:"deletedDate"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate"`
}

// Store keeps secrets.
type Store struct {
	store storage.Store
	now   func() time.Time
	cache versionCache
}

// New returns the secrets store. With cache set (only for a process that is its database's only writer, SQLite),
// current versions are kept in memory and dropped on every write to their secret.
func New(store storage.Store, now func() time.Time, cache bool) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{store: store, now: now}
	if cache {
		s.cache.m = memo.New[string, map[string]Version](100_000)
	}
	return s
}

// versionCache keeps, per secret (vault/name), the versions read ("" for the current one). Each secret's map is
// replaced, never modified, so readers may hold it without the lock. A nil m caches nothing.
type versionCache struct {
	m *memo.Map[string, map[string]Version]
}

// maxCachedVersions bounds the versions cached for one secret.
const maxCachedVersions = 32

func (c versionCache) get(secret, version string) (Version, bool) {
	vs, ok := c.m.Get(secret)
	if !ok {
		return Version{}, false
	}
	v, ok := vs[version]
	return v, ok
}

// gen is taken before a store read whose answer goes to put.
func (c versionCache) gen() uint64 { return c.m.Gen() }

func (c versionCache) put(gen uint64, secret, version string, v Version) {
	c.m.Update(gen, secret, func(old map[string]Version, _ bool) map[string]Version {
		next := make(map[string]Version, len(old)+1)
		if len(old) < maxCachedVersions {
			maps.Copy(next, old)
		}
		next[version] = v
		return next
	})
}

// drop forgets every cached version of one secret, or of a whole vault (name ""), and stops reads in flight
// from caching what they read before the write.
func (c versionCache) drop(vault, name string) {
	if name != "" {
		c.m.Delete(skey(vault, name))
		return
	}
	prefix := vkey(vault)
	c.m.DeleteFunc(func(k string) bool { return strings.HasPrefix(k, prefix) })
}

func vkey(vault string) string            { return strings.ToLower(vault) + "/" }
func skey(vault, name string) string      { return vkey(vault) + strings.ToLower(name) }
func verKey(vault, name, v string) string { return skey(vault, name) + "/" + v }

func newVersionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SetInput is what setting a secret takes.
type SetInput struct {
	Value       string
	ContentType string
	Tags        map[string]string
	Enabled     *bool
	NBF, Exp    *int64
}

// Set writes a new version and makes it current. A soft-deleted name cannot be reused (ErrDeleted).
func (s *Store) Set(ctx context.Context, vault, name string, in SetInput) (Version, error) {
	defer s.cache.drop(vault, name)
	now := s.now().Unix()
	v := Version{Name: name, Version: newVersionID(), Value: in.Value, ContentType: in.ContentType, Tags: in.Tags,
		Attributes: Attributes{Enabled: in.Enabled == nil || *in.Enabled, NBF: in.NBF, Exp: in.Exp, Created: now, Updated: now}}
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(ctx, kindDeletedSecret, skey(vault, name)); err == nil {
			return ErrDeleted
		}
		h, version, err := storage.GetJSON[head](ctx, tx, kindSecret, skey(vault, name))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			h = head{Name: name}
		case err != nil:
			return err
		}
		v.Name = h.Name
		h.Current = v.Version
		if err := storage.CreateJSON(ctx, tx, kindSecretVersion, verKey(vault, name, v.Version), v); err != nil {
			return err
		}
		return storage.PutJSON(ctx, tx, kindSecret, skey(vault, name), version, h)
	})
	return v, err
}

// Get reads a version ("" for the current one).
func (s *Store) Get(ctx context.Context, vault, name, version string) (Version, error) {
	secret, ver := skey(vault, name), strings.ToLower(version)
	if v, ok := s.cache.get(secret, ver); ok {
		return v, nil
	}
	gen := s.cache.gen()
	v, err := s.get(ctx, s.store, vault, name, version)
	if err == nil {
		s.cache.put(gen, secret, ver, v)
	}
	return v, err
}

func (s *Store) get(ctx context.Context, r storage.Reader, vault, name, version string) (Version, error) {
	if version == "" {
		h, _, err := storage.GetJSON[head](ctx, r, kindSecret, skey(vault, name))
		if errors.Is(err, storage.ErrNotFound) {
			return Version{}, ErrNotFound
		}
		if err != nil {
			return Version{}, err
		}
		version = h.Current
	} else if _, err := r.Get(ctx, kindSecret, skey(vault, name)); errors.Is(err, storage.ErrNotFound) {
		return Version{}, ErrNotFound // versions of a deleted secret are not reachable
	} else if err != nil {
		return Version{}, err
	}
	v, _, err := storage.GetJSON[Version](ctx, r, kindSecretVersion, verKey(vault, name, strings.ToLower(version)))
	if errors.Is(err, storage.ErrNotFound) {
		return Version{}, ErrNotFound
	}
	return v, err
}

// UpdateInput changes a version's metadata; nil fields stay.
type UpdateInput struct {
	ContentType *string
	Tags        map[string]string
	TagsSet     bool
	Enabled     *bool
	NBF, Exp    *int64
	NBFSet      bool
	ExpSet      bool
}

// Update changes a version's attributes, tags or content type; the value never changes.
func (s *Store) Update(ctx context.Context, vault, name, version string, in UpdateInput) (Version, error) {
	defer s.cache.drop(vault, name)
	var out Version
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		cur, err := s.get(ctx, tx, vault, name, version)
		if err != nil {
			return err
		}
		out, err = storage.UpdateJSON(ctx, tx, kindSecretVersion, verKey(vault, name, cur.Version), func(v *Version) error {
			if in.ContentType != nil {
				v.ContentType = *in.ContentType
			}
			if in.TagsSet {
				v.Tags = in.Tags
			}
			if in.Enabled != nil {
				v.Attributes.Enabled = *in.Enabled
			}
			if in.NBFSet {
				v.Attributes.NBF = in.NBF
			}
			if in.ExpSet {
				v.Attributes.Exp = in.Exp
			}
			v.Attributes.Updated = s.now().Unix()
			return nil
		})
		return err
	})
	return out, err
}

// Page is a page of a listing; Next continues it.
type Page[T any] struct {
	Items []T
	Next  string
}

// List lists the current version of each secret of a vault.
func (s *Store) List(ctx context.Context, vault string, max int, token string) (Page[Version], error) {
	page, err := s.store.List(ctx, kindSecret, storage.ListOptions{Prefix: vkey(vault), Limit: max, PageToken: token})
	if err != nil {
		return Page[Version]{}, err
	}
	out := Page[Version]{Next: page.Next, Items: []Version{}}
	for _, rec := range page.Records {
		name := strings.TrimPrefix(rec.Key, vkey(vault))
		v, err := s.Get(ctx, vault, name, "")
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Page[Version]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Versions lists every version of a secret.
func (s *Store) Versions(ctx context.Context, vault, name string, max int, token string) (Page[Version], error) {
	if _, err := s.store.Get(ctx, kindSecret, skey(vault, name)); errors.Is(err, storage.ErrNotFound) {
		return Page[Version]{}, ErrNotFound
	}
	page, err := s.store.List(ctx, kindSecretVersion, storage.ListOptions{Prefix: skey(vault, name) + "/", Limit: max, PageToken: token})
	if err != nil {
		return Page[Version]{}, err
	}
	out := Page[Version]{Next: page.Next, Items: []Version{}}
	for _, rec := range page.Records {
		var v Version
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			return Page[Version]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Delete soft-deletes a secret with all its versions, scheduled for purge after retentionDays.
func (s *Store) Delete(ctx context.Context, vault, name string, retentionDays int) (Deleted, Version, error) {
	defer s.cache.drop(vault, name)
	var d Deleted
	var cur Version
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		h, version, err := storage.GetJSON[head](ctx, tx, kindSecret, skey(vault, name))
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur, err = s.get(ctx, tx, vault, name, h.Current); err != nil {
			return err
		}
		now := s.now()
		d = Deleted{Name: h.Name, Current: h.Current, DeletedDate: now.Unix(),
			ScheduledPurgeDate: now.Add(time.Duration(retentionDays) * 24 * time.Hour).Unix()}
		if err := tx.Delete(ctx, kindSecret, skey(vault, name), version); err != nil {
			return err
		}
		return storage.PutJSON(ctx, tx, kindDeletedSecret, skey(vault, name), 0, d)
	})
	return d, cur, err
}

// GetDeleted reads a soft-deleted secret and its current version.
func (s *Store) GetDeleted(ctx context.Context, vault, name string) (Deleted, Version, error) {
	d, _, err := storage.GetJSON[Deleted](ctx, s.store, kindDeletedSecret, skey(vault, name))
	if errors.Is(err, storage.ErrNotFound) {
		return Deleted{}, Version{}, ErrNotFound
	}
	if err != nil {
		return Deleted{}, Version{}, err
	}
	v, _, err := storage.GetJSON[Version](ctx, s.store, kindSecretVersion, verKey(vault, name, d.Current))
	return d, v, err
}

// ListDeleted lists a vault's soft-deleted secrets.
func (s *Store) ListDeleted(ctx context.Context, vault string, max int, token string) (Page[Deleted], error) {
	page, err := s.store.List(ctx, kindDeletedSecret, storage.ListOptions{Prefix: vkey(vault), Limit: max, PageToken: token})
	if err != nil {
		return Page[Deleted]{}, err
	}
	out := Page[Deleted]{Next: page.Next, Items: []Deleted{}}
	for _, rec := range page.Records {
		var d Deleted
		if err := json.Unmarshal(rec.Value, &d); err != nil {
			return Page[Deleted]{}, err
		}
		out.Items = append(out.Items, d)
	}
	return out, nil
}

// DeletedVersion reads the current version of a deleted secret (for list-deleted items).
func (s *Store) DeletedVersion(ctx context.Context, vault string, d Deleted) (Version, error) {
	v, _, err := storage.GetJSON[Version](ctx, s.store, kindSecretVersion, verKey(vault, d.Name, d.Current))
	return v, err
}

// Recover brings a soft-deleted secret back with all its versions.
func (s *Store) Recover(ctx context.Context, vault, name string) (Version, error) {
	defer s.cache.drop(vault, name)
	var v Version
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		d, version, err := storage.GetJSON[Deleted](ctx, tx, kindDeletedSecret, skey(vault, name))
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, kindDeletedSecret, skey(vault, name), version); err != nil {
			return err
		}
		if err := storage.CreateJSON(ctx, tx, kindSecret, skey(vault, name), head{Name: d.Name, Current: d.Current}); err != nil {
			return err
		}
		v, _, err = storage.GetJSON[Version](ctx, tx, kindSecretVersion, verKey(vault, name, d.Current))
		return err
	})
	return v, err
}

// Purge deletes a soft-deleted secret and all its versions for good.
func (s *Store) Purge(ctx context.Context, vault, name string) error {
	defer s.cache.drop(vault, name)
	return s.store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.Delete(ctx, kindDeletedSecret, skey(vault, name), 0); errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return deleteVersionsTx(ctx, tx, vault, name)
	})
}

func deleteVersionsTx(ctx context.Context, tx storage.Tx, vault, name string) error {
	for {
		page, err := tx.List(ctx, kindSecretVersion, storage.ListOptions{Prefix: skey(vault, name) + "/", Limit: storage.MaxPageSize})
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			if err := tx.Delete(ctx, kindSecretVersion, rec.Key, 0); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
	}
}

// PurgeExpired purges soft-deleted secrets whose scheduled purge date has passed, in every vault.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	type expired struct{ vault, name string }
	var due []expired
	now := s.now().Unix()
	opts := storage.ListOptions{Limit: storage.MaxPageSize}
	for {
		page, err := s.store.List(ctx, kindDeletedSecret, opts)
		if err != nil {
			return 0, err
		}
		for _, rec := range page.Records {
			var d Deleted
			if json.Unmarshal(rec.Value, &d) == nil && d.ScheduledPurgeDate <= now {
				vault, _, _ := strings.Cut(rec.Key, "/")
				due = append(due, expired{vault, d.Name})
			}
		}
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	n := 0
	for _, e := range due {
		if err := s.Purge(ctx, e.vault, e.name); err == nil {
			n++
		}
	}
	return n, nil
}

// PurgeVault deletes every secret of a vault (when the vault itself is purged).
func (s *Store) PurgeVault(ctx context.Context, vault string) error {
	defer s.cache.drop(vault, "")
	for _, kind := range []string{kindSecretVersion, kindSecret, kindDeletedSecret} {
		for {
			page, err := s.store.List(ctx, kind, storage.ListOptions{Prefix: vkey(vault), Limit: storage.MaxPageSize})
			if err != nil {
				return err
			}
			if len(page.Records) == 0 {
				break
			}
			for _, rec := range page.Records {
				if err := s.store.Delete(ctx, kind, rec.Key, 0); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
			}
		}
	}
	return nil
}

// String helps debugging output never include a value.
func (v Version) String() string { return fmt.Sprintf("secret %s/%s", v.Name, v.Version) }
