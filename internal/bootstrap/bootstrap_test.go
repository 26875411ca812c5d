package bootstrap_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/bootstrap"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

// Nodes starting together on one database agree on one installation and one CA.
func TestConcurrentBootstrap(t *testing.T) {
	for _, be := range sqltest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			defer s.Close()
			ctx := context.Background()
			const nodes = 6
			var wg sync.WaitGroup
			installs := make([]bootstrap.Install, nodes)
			cas := make([]string, nodes)
			created := make([]bool, nodes)
			errs := make([]error, nodes)
			for i := 0; i < nodes; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					installs[i], created[i], errs[i] = bootstrap.EnsureInstall(ctx, s, "keyhaven.local", time.Now())
					if errs[i] == nil {
						ca, err := bootstrap.EnsureCA(ctx, s, time.Now())
						cas[i], errs[i] = string(ca.CertPEM), err
					}
				}()
			}
			wg.Wait()
			n := 0
			for i := 0; i < nodes; i++ {
				if errs[i] != nil {
					t.Fatalf("node %d: %v", i, errs[i])
				}
				if installs[i] != installs[0] || cas[i] != cas[0] {
					t.Fatalf("node %d disagrees: %+v vs %+v", i, installs[i], installs[0])
				}
				if created[i] {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d nodes think they created the installation", n)
			}
			if installs[0].TenantID == installs[0].SubscriptionID || len(installs[0].TenantID) != 36 {
				t.Errorf("ids: %+v", installs[0])
			}
		})
	}
}
