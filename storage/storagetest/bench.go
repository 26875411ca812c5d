package storagetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/keyhaven/keyhaven/storage"
)

// Bench measures a store's basic operations. Values are 256 bytes, about a typical secret with its attributes.
func Bench(b *testing.B, s storage.Store) {
	ctx := context.Background()
	value := make([]byte, 256)
	for i := range value {
		value[i] = byte(i)
	}
	const seeded = 1000
	for i := 0; i < seeded; i++ {
		if _, err := s.Put(ctx, storage.Record{Kind: "bench", Key: fmt.Sprintf("seed/%06d", i), Value: value}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Get", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, "bench", fmt.Sprintf("seed/%06d", i%seeded)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetParallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, err := s.Get(ctx, "bench", fmt.Sprintf("seed/%06d", i%seeded)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Put", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Put(ctx, storage.Record{Kind: "bench", Key: fmt.Sprintf("put/%09d", i), Value: value}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutParallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, err := s.Put(ctx, storage.Record{Kind: "bench", Key: fmt.Sprintf("pput/%09d", i), Value: value}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Update", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_, err := storage.Update(ctx, s, "bench", fmt.Sprintf("seed/%06d", i%seeded), func(old []byte) ([]byte, error) { return old, nil })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("List25", func(b *testing.B) {
		for b.Loop() {
			page, err := s.List(ctx, "bench", storage.ListOptions{Prefix: "seed/", Limit: 25})
			if err != nil || len(page.Records) != 25 {
				b.Fatal(err)
			}
		}
	})
}
