package memo_test

import (
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/internal/memo"
)

func TestPutAfterInvalidationIsDropped(t *testing.T) {
	c := memo.New[string, int](10)
	gen := c.Gen()
	// A writer commits and invalidates while a reader is between its store read and its Put.
	c.Delete("k")
	c.Put(gen, "k", 1)
	if v, ok := c.Get("k"); ok {
		t.Fatalf("a read that started before the invalidation was cached: %d", v)
	}
	c.Put(c.Gen(), "k", 2)
	if v, ok := c.Get("k"); !ok || v != 2 {
		t.Fatalf("got %d %v, want 2", v, ok)
	}
	for _, inval := range []func(){
		func() { c.Delete("other") },
		func() { c.DeleteFunc(func(string) bool { return false }) },
		c.Clear,
	} {
		gen := c.Gen()
		inval()
		c.Put(gen, "x", 3)
		if _, ok := c.Get("x"); ok {
			t.Fatal("Put after an invalidation was kept")
		}
	}
}

func TestDeleteFuncAndBound(t *testing.T) {
	c := memo.New[string, int](3)
	for i, k := range []string{"a/1", "a/2", "b/1"} {
		c.Put(c.Gen(), k, i)
	}
	c.DeleteFunc(func(k string) bool { return k[0] == 'a' })
	if _, ok := c.Get("a/1"); ok {
		t.Fatal("a/1 kept")
	}
	if _, ok := c.Get("b/1"); !ok {
		t.Fatal("b/1 dropped")
	}
	for _, k := range []string{"c", "d", "e"} {
		c.Put(c.Gen(), k, 0)
	}
	if n := c.Len(); n > 3 {
		t.Fatalf("%d entries in a cache bounded to 3", n)
	}
}

func TestNilCachesNothing(t *testing.T) {
	var c *memo.Map[string, int]
	c.Put(c.Gen(), "k", 1)
	c.Delete("k")
	c.Clear()
	c.DeleteFunc(func(string) bool { return true })
	if _, ok := c.Get("k"); ok {
		t.Fatal("nil map returned a value")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := memo.New[int, int](100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := (w*1000 + i) % 150
				if _, ok := c.Get(k); !ok {
					c.Put(c.Gen(), k, i)
				}
				if i%97 == 0 {
					c.Delete(k)
				}
			}
		}()
	}
	wg.Wait()
}
