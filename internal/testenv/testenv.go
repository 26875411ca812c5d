// Package testenv runs a real keyhaven server for tests: a temp data dir, SQLite (or PostgreSQL), a random port,
// and an HTTP client that trusts only the server's CA and reaches it under any host name, as DNS or keyhaven's
// proxy would.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/config"
)

// AdminPassword is the administrator's password in every test environment.
const AdminPassword = "Test-Admin-Passw0rd"

// Env is a running server.
type Env struct {
	App  *app.App
	Addr string
	// Port is the listener's port, for URLs under Azure's names (https://login.microsoftonline.com:PORT/...).
	Port string
	// DataDir is the server's data dir.
	DataDir string
	// CAPath is DATA/ca.pem.
	CAPath string
	// HTTP is a client that trusts only the CA and dials the server for every host name.
	HTTP *http.Client
	// TenantID and SubscriptionID are the installation's.
	TenantID, SubscriptionID string
	stop                     func()
}

// Options adjusts the environment.
type Options struct {
	// Configure edits the configuration before the server starts.
	Configure func(*config.Config)
	// Now is the server's clock.
	Now func() time.Time
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.ProxyAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = "5s"
	cfg.AdminPassword = AdminPassword
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Now: opts.Now})
	if err != nil {
		cancel()
		t.Fatalf("start keyhaven: %v", err)
	}
	addr, err := a.Listen()
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	e := &Env{App: a, Addr: addr.String(), DataDir: cfg.DataDir, CAPath: a.CAPath(),
		TenantID: a.Install().TenantID, SubscriptionID: a.Install().SubscriptionID}
	_, e.Port, _ = net.SplitHostPort(e.Addr)
	e.HTTP = e.Client(t)
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("keyhaven Serve: %v", err)
		}
	}
	t.Cleanup(e.stop)
	return e
}

// Stop shuts the server down (Start's cleanup does this too).
func (e *Env) Stop() { e.stop() }

// Client returns a new client that trusts only the server's CA and dials the server whatever the URL's host.
func (e *Env) Client(t testing.TB) *http.Client {
	t.Helper()
	return NewClient(t, e.CAPath, e.Addr)
}

// NewClient returns a client that trusts only the CA in caPath and dials addr whatever host name a URL names, as
// DNS or keyhaven's proxy would.
func NewClient(t testing.TB, caPath, addr string) *http.Client {
	t.Helper()
	pemData, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("ca.pem holds no certificate")
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 64,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		},
	}
}
