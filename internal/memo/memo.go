// Package memo is the in-memory cache keyhaven keeps in front of storage when it is its database's only writer.
// Invalidation is exact: a write drops what it changed before it returns, and a read that started before that
// write cannot put its older answer back afterwards. Readers take a generation before they read the store and
// hand it to Put; any invalidation in between makes the Put a no-op.
package memo

import "sync"

// Map caches values by key. The nil *Map caches nothing: every method is a no-op and Get always misses, so callers
// need no special case when caching is off.
type Map[K comparable, V any] struct {
	max int

	mu  sync.RWMutex // guards gen and m
	gen uint64
	m   map[K]V
}

// New returns a cache that holds at most max entries (it empties itself when full).
func New[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{max: max, m: map[K]V{}}
}

// Get returns the cached value for k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

// Gen returns the current generation. Take it before reading what will be cached.
func (c *Map[K, V]) Gen() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Put caches v under k, unless the cache was invalidated since gen was taken.
func (c *Map[K, V]) Put(gen uint64, k K, v V) {
	c.Update(gen, k, func(V, bool) V { return v })
}

// Update caches fn(old) under k, unless the cache was invalidated since gen was taken. fn runs under the lock and
// must not modify old in place.
func (c *Map[K, V]) Update(gen uint64, k K, fn func(old V, ok bool) V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	old, ok := c.m[k]
	if !ok && len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = fn(old, ok)
}

// Len returns the number of cached entries.
func (c *Map[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Delete drops k and invalidates reads in flight.
func (c *Map[K, V]) Delete(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	delete(c.m, k)
	c.mu.Unlock()
}

// DeleteFunc drops every key for which drop is true and invalidates reads in flight.
func (c *Map[K, V]) DeleteFunc(drop func(K) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	for k := range c.m {
		if drop(k) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// Clear drops everything and invalidates reads in flight.
func (c *Map[K, V]) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}
