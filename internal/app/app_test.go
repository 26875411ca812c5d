package app_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

// server is a running keyhaven on a random port.
type server struct {
	app  *app.App
	addr string
	stop func()
}

func testConfig(t *testing.T, dataDir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Addr = "127.0.0.1:0"
	cfg.ProxyAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = "5s"
	return cfg
}

func start(t *testing.T, cfg config.Config) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg})
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	addr, err := a.Listen()
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return &server{app: a, addr: addr.String(), stop: stop}
}

// client trusts only the CA in caPath and dials the server's address whatever host name a URL names.
func client(t *testing.T, caPath, addr string) *http.Client {
	return testenv.NewClient(t, caPath, addr)
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestTLSAndHealth(t *testing.T) {
	for _, be := range []string{"sqlite", "postgres"} {
		t.Run(be, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			cfg.Zone = "corp.example"
			if be == "postgres" {
				cfg.Database = sqltest.PostgresURL(t)
			}
			s := start(t, cfg)
			caPath := filepath.Join(cfg.DataDir, "ca.pem")
			if s.app.CAPath() != caPath {
				t.Fatalf("CA at %s, want %s", s.app.CAPath(), caPath)
			}
			c := client(t, caPath, s.addr)
			_, port, _ := net.SplitHostPort(s.addr)
			// The handshake verifies the certificate against ca.pem for every name keyhaven answers to.
			for _, host := range []string{"127.0.0.1", "localhost", "myvault.vault.azure.net", "login.microsoftonline.com",
				"login.windows.net", "management.azure.com", "graph.microsoft.com",
				"other.vault.corp.example", "login.corp.example", "management.corp.example", "graph.corp.example"} {
				status, _, _ := get(t, c, "https://"+net.JoinHostPort(host, port)+"/healthz")
				if host == "127.0.0.1" || host == "localhost" {
					if status != http.StatusOK {
						t.Errorf("%s /healthz: %d", host, status)
					}
				} else if status != http.StatusNotFound && status != http.StatusBadRequest && status != http.StatusUnauthorized {
					// Area hosts do not serve /healthz: they route to their API, which has no such path.
					t.Errorf("%s: status %d, want the area's own refusal", host, status)
				}
			}
			for _, path := range []string{"/healthz", "/readyz"} {
				status, h, body := get(t, c, "https://"+s.addr+path)
				if status != http.StatusOK || !strings.Contains(body, `"ok"`) {
					t.Errorf("%s: %d %s", path, status, body)
				}
				if h.Get("x-ms-request-id") == "" {
					t.Errorf("%s: no x-ms-request-id", path)
				}
			}
			status, _, body := get(t, c, "https://"+s.addr+"/metrics")
			if status != http.StatusOK || !strings.Contains(body, `keyhaven_http_requests_total{area="server",code="200",method="GET"}`) {
				t.Errorf("/metrics: %d\n%.400s", status, body)
			}
			// A name the certificate does not cover fails the handshake.
			if _, err := c.Get("https://" + net.JoinHostPort("example.com", port) + "/healthz"); err == nil {
				t.Error("handshake for example.com succeeded")
			} else {
				var certErr *tls.CertificateVerificationError
				if !errors.As(err, &certErr) {
					t.Errorf("example.com: %v, want a certificate verification error", err)
				}
			}
		})
	}
}

func TestAreasAnswerInTheirShape(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	s := start(t, cfg)
	c := client(t, s.app.CAPath(), s.addr)
	_, port, _ := net.SplitHostPort(s.addr)
	tests := []struct {
		host, path string
		status     int
		check      func(map[string]any) bool
	}{
		{"myvault.vault.azure.net", "/secrets/x/?api-version=2026-04-01", 401, func(b map[string]any) bool {
			e, _ := b["error"].(map[string]any)
			return e["code"] == "Unauthorized" && e["message"] != ""
		}},
		{"management.azure.com", "/subscriptions?api-version=2022-12-01", 401, func(b map[string]any) bool {
			e, _ := b["error"].(map[string]any)
			return e["code"] == "AuthenticationFailed"
		}},
		{"login.microsoftonline.com", "/common/oauth2/v2.0/token", 404, func(b map[string]any) bool {
			codes, ok := b["error_codes"].([]any)
			return b["error"] == "invalid_request" && b["error_description"] != "" && ok && codes != nil &&
				b["timestamp"] != "" && b["trace_id"] != "" && b["correlation_id"] != ""
		}},
		{"graph.microsoft.com", "/v1.0/users", 401, func(b map[string]any) bool {
			e, _ := b["error"].(map[string]any)
			inner, _ := e["innerError"].(map[string]any)
			return e["code"] == "InvalidAuthenticationToken" && inner["request-id"] != ""
		}},
		{"127.0.0.1", "/nope", 404, func(b map[string]any) bool {
			e, _ := b["error"].(map[string]any)
			return e["code"] == "NotFound"
		}},
	}
	for _, tt := range tests {
		status, h, body := get(t, c, "https://"+net.JoinHostPort(tt.host, port)+tt.path)
		var b map[string]any
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Errorf("%s%s: body is not JSON: %s", tt.host, tt.path, body)
			continue
		}
		if status != tt.status || !tt.check(b) {
			t.Errorf("%s%s: %d %s", tt.host, tt.path, status, body)
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s: content type %q", tt.host, h.Get("Content-Type"))
		}
	}
}

func TestRestartKeepsInstallation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by keyhaven
	cfg := testConfig(t, dir)
	s := start(t, cfg)
	first := s.app.Install()
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	key1, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	s.stop()

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode: %v, %v", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "root.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root.key mode: %v, %v", fi.Mode().Perm(), err)
	}

	s = start(t, cfg)
	second := s.app.Install()
	ca2, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	key2, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	if first != second {
		t.Errorf("installation changed across restart:\n%+v\n%+v", first, second)
	}
	if string(ca1) != string(ca2) || len(ca1) == 0 {
		t.Error("CA changed across restart")
	}
	if string(key1) != string(key2) || len(key1) == 0 {
		t.Error("root key changed across restart")
	}
	// A client that trusted the first CA still connects.
	status, _, _ := get(t, client(t, filepath.Join(dir, "ca.pem"), s.addr), "https://"+s.addr+"/readyz")
	if status != http.StatusOK {
		t.Errorf("readyz after restart: %d", status)
	}
	s.stop()

	// The same data, with the root key moved into the environment, also starts.
	cfg.RootKey = strings.TrimSpace(string(key1))
	os.Rename(filepath.Join(dir, "root.key"), filepath.Join(dir, "root.key.bak"))
	s = start(t, cfg)
	if s.app.Install() != first {
		t.Error("installation differs with KEYHAVEN_ROOT_KEY")
	}
	s.stop()
}

func TestWrongRootKeyRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	s := start(t, cfg)
	s.stop()
	before, _ := os.ReadFile(filepath.Join(dir, "keyhaven.db"))

	// Another key in the environment.
	wrong := cfg
	wrong.RootKey = barrier.GenerateRootKey().String()
	_, err := app.New(context.Background(), app.Options{Config: wrong})
	if !errors.Is(err, barrier.ErrWrongRootKey) {
		t.Fatalf("wrong KEYHAVEN_ROOT_KEY: %v", err)
	}
	if !strings.Contains(err.Error(), "root key") {
		t.Errorf("message does not explain: %v", err)
	}
	// Another key file.
	other := filepath.Join(t.TempDir(), "other.key")
	barrier.WriteRootKeyFile(other, barrier.GenerateRootKey())
	wrong = cfg
	wrong.RootKeyFile = other
	if _, err := app.New(context.Background(), app.Options{Config: wrong}); !errors.Is(err, barrier.ErrWrongRootKey) {
		t.Fatalf("wrong --root-key-file: %v", err)
	}
	// A missing root.key for sealed data is an error, not a fresh key.
	os.Rename(filepath.Join(dir, "root.key"), filepath.Join(dir, "root.key.bak"))
	_, err = app.New(context.Background(), app.Options{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "root.key is missing") {
		t.Fatalf("missing root.key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a new root.key was written over sealed data")
	}
	os.Rename(filepath.Join(dir, "root.key.bak"), filepath.Join(dir, "root.key"))
	after, _ := os.ReadFile(filepath.Join(dir, "keyhaven.db"))
	if string(before) != string(after) {
		t.Error("refused starts changed the database")
	}
	// The right key still works.
	start(t, cfg).stop()
}

func TestOperatorCertificate(t *testing.T) {
	// An operator's own certificate: here one from another keyhaven's CA, for a name of the operator's.
	other := testConfig(t, t.TempDir())
	other.TLSNames = "kv.internal.example"
	o := start(t, other)
	o.stop()

	cfg := testConfig(t, t.TempDir())
	cfg.TLSCert, cfg.TLSKey = writeServerPair(t, other.DataDir)
	s := start(t, cfg)
	_, port, _ := net.SplitHostPort(s.addr)
	c := client(t, filepath.Join(other.DataDir, "ca.pem"), s.addr)
	if status, _, _ := get(t, c, "https://"+net.JoinHostPort("kv.internal.example", port)+"/healthz"); status != 200 {
		t.Fatalf("status %d", status)
	}
}

// TestGracefulShutdown asks the server to stop while a request is being handled, and checks that the request
// still gets its answer before the server exits, and that new connections are refused meanwhile.
func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inHandler, release := make(chan struct{}), make(chan struct{})
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" && r.URL.Query().Get("slow") == "1" {
				close(inHandler)
				<-release
			}
			next.ServeHTTP(w, r)
		})
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Wrap: slow})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()

	c := client(t, a.CAPath(), addr.String())
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.Get("https://" + addr.String() + "/readyz?slow=1")
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-inHandler
	cancel() // SIGTERM does this in keyhaven serve
	select {
	case err := <-done:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if conn, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts connections during shutdown")
	}
	close(release)
	if r := <-got; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: %d, %v", r.status, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the last request finished")
	}
	// Storage was closed cleanly: the WAL is checkpointed away.
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "keyhaven.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL left behind: %d bytes", fi.Size())
	}
}
