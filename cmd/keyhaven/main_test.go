package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles keyhaven once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyhaven")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeBinary runs the real binary: start-up banner, TLS with the exported CA, SIGTERM shutdown, restart.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)

	banner, stop := startServe(t, bin, "--data-dir", dir, "--addr", addr, "--proxy-addr", "127.0.0.1:0")
	for _, want := range []string{"data dir:", dir, "tenant:", "subscription:", "CA:", filepath.Join(dir, "ca.pem"), "URL:", "https://" + addr} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	guid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	ids := guid.FindAllString(banner, -1)
	if len(ids) != 2 {
		t.Fatalf("banner shows %d GUIDs, want tenant and subscription:\n%s", len(ids), banner)
	}

	// ca export prints the same CA as the file, and a client trusting only it completes a handshake.
	var out bytes.Buffer
	cmd := exec.Command(bin, "ca", "export", "--data-dir", dir)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if !bytes.Equal(out.Bytes(), file) || !bytes.Contains(file, []byte("BEGIN CERTIFICATE")) {
		t.Fatalf("ca export differs from ca.pem")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(out.Bytes())
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	_, port, _ := net.SplitHostPort(addr)
	for _, u := range []string{"https://" + addr + "/healthz", "https://" + addr + "/readyz", "https://myvault.vault.azure.net:" + port + "/healthz"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if strings.HasSuffix(u, "z") && !strings.Contains(u, "vault") && resp.StatusCode != 200 {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
	code := stop()
	if code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
	// A clean shutdown checkpoints SQLite's WAL into the database file.
	if fi, err := os.Stat(filepath.Join(dir, "keyhaven.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL not checkpointed on shutdown (%d bytes)", fi.Size())
	}

	// A restart reuses the tenant and subscription.
	banner2, stop2 := startServe(t, bin, "--data-dir", dir, "--addr", addr, "--proxy-addr", "127.0.0.1:0")
	if ids2 := guid.FindAllString(banner2, -1); strings.Join(ids2, ",") != strings.Join(ids, ",") {
		t.Errorf("restart changed the installation: %v -> %v", ids, ids2)
	}
	stop2()

	// A wrong root key refuses to start, with a clear message and a non-zero exit.
	cmd = exec.Command(bin, "serve", "--data-dir", dir, "--addr", addr, "--proxy-addr", "")
	cmd.Env = append(os.Environ(), "KEYHAVEN_ROOT_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil || !strings.Contains(stderr.String(), "root key does not match") {
		t.Fatalf("wrong root key: %v\n%s", err, stderr.String())
	}

	// rotate-root-key replaces root.key; the server starts with the new key and keeps its installation.
	oldKey, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	out.Reset()
	cmd = exec.Command(bin, "rotate-root-key", "--data-dir", dir)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "Rotated the root key") {
		t.Fatalf("rotate-root-key: %v\n%s", err, out.String())
	}
	if newKey, _ := os.ReadFile(filepath.Join(dir, "root.key")); len(newKey) == 0 || bytes.Equal(newKey, oldKey) {
		t.Fatal("rotate-root-key did not replace root.key")
	}
	banner3, stop3 := startServe(t, bin, "--data-dir", dir, "--addr", addr, "--proxy-addr", "127.0.0.1:0")
	if ids3 := guid.FindAllString(banner3, -1); strings.Join(ids3, ",") != strings.Join(ids, ",") {
		t.Errorf("rotation changed the installation: %v -> %v", ids, ids3)
	}
	stop3()
}

// startServe starts keyhaven serve and waits for its banner; stop sends SIGTERM and returns the exit code.
func startServe(t *testing.T, bin string, args ...string) (banner string, stop func() int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var b strings.Builder
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	for lines.Scan() {
		b.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "health:") {
			break
		}
	}
	deadline.Stop()
	go io.Copy(io.Discard, stdout)
	done := false
	stop = func() int {
		if done {
			return 0
		}
		done = true
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		return cmd.ProcessState.ExitCode()
	}
	t.Cleanup(func() { stop() })
	return b.String(), stop
}

func TestCommandLine(t *testing.T) {
	t.Setenv("KEYHAVEN_CONFIG_DIR", t.TempDir())
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, 2, "", "keyhaven serve"},
		{[]string{"version"}, 0, "keyhaven ", ""},
		{[]string{"help"}, 0, "keyhaven serve", ""},
		{[]string{"frobnicate"}, 2, "", `'frobnicate' is misspelled or not recognized by the system.`},
		{[]string{"ad", "user", "show", "--id", "x"}, 1, "", "keyhaven login"},
		{[]string{"ca"}, 2, "", "keyhaven ca export"},
		{[]string{"ca", "export", "--data-dir", "/nonexistent"}, 1, "", "run keyhaven serve"},
		{[]string{"serve", "-h"}, 0, "", "--data-dir"},
		{[]string{"serve", "--addr", "bogus"}, 1, "", "--addr"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("keyhaven %v: code %d\nstdout: %s\nstderr: %s", tt.args, code, out.String(), errb.String())
		}
	}
}
