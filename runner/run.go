package runner

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/keyhaven/keyhaven/azproxy"
)

// Config describes the app to run.
type Config struct {
	// HTTP reaches keyhaven (dialing its address for Azure's names, trusting its CA).
	HTTP *http.Client
	// Keyhaven is keyhaven's host:port, where the proxy sends Azure's names.
	Keyhaven string
	// CAPEM is keyhaven's CA certificate, which the app is made to trust.
	CAPEM []byte
	// Credential is the runner's credential for the app's identities.
	Credential string
	// Zone is keyhaven's DNS zone, if any, whose names the proxy also sends to keyhaven.
	Zone string
	// AppSettings become the app's environment, as on App Service.
	AppSettings map[string]string
	// SiteName and ResourceGroup are exposed as WEBSITE_SITE_NAME and WEBSITE_RESOURCE_GROUP.
	SiteName, ResourceGroup string
	// VM gives the app IMDS instead of App Service's endpoints.
	VM bool
	// WorkDir holds the CA bundle; a temp dir when empty.
	WorkDir string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Env computes the app's platform environment; the Runner adds the endpoints' addresses.
type Runner struct {
	cfg      Config
	header   string
	tokens   *tokenSource
	identity *http.Server
	proxy    *http.Server
	idLn     net.Listener
	proxyLn  net.Listener
	dir      string
	ownDir   bool
}

// Start starts the runner's local services (token endpoints and proxy) on loopback.
func Start(cfg Config) (*Runner, error) {
	r := &Runner{cfg: cfg, dir: cfg.WorkDir}
	b := make([]byte, 24)
	rand.Read(b)
	r.header = base64.RawURLEncoding.EncodeToString(b)
	r.tokens = &tokenSource{http: cfg.HTTP, endpoint: "https://login.microsoftonline.com/keyhaven/runtime/token",
		credential: cfg.Credential, now: time.Now, cache: map[string]Token{}}
	if r.dir == "" {
		d, err := os.MkdirTemp("", "keyhaven-runner-")
		if err != nil {
			return nil, err
		}
		r.dir, r.ownDir = d, true
	}
	if err := r.writeCABundle(); err != nil {
		r.Close()
		return nil, err
	}
	var err error
	if r.idLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		r.Close()
		return nil, err
	}
	if r.proxyLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		r.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	var imds http.Handler
	if cfg.VM {
		imds = &imdsHandler{tokens: r.tokens}
		mux.Handle("/metadata/", imds)
	} else if !r.msiDisabled() {
		h := &identityHandler{tokens: r.tokens, header: r.header}
		// The seed's samples append a slash to MSI_ENDPOINT (`${MSI_ENDPOINT}/?resource=...`).
		mux.Handle("/msi/token", h)
		mux.Handle("/msi/token/", h)
	}
	r.identity = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	r.proxy = &http.Server{Handler: azproxy.New(cfg.Keyhaven, cfg.Zone, imds), ReadHeaderTimeout: 10 * time.Second}
	go r.identity.Serve(r.idLn)
	go r.proxy.Serve(r.proxyLn)
	return r, nil
}

// msiDisabled reports WEBSITE_DISABLE_MSI=true: the identity stays assigned, but the app gets no token endpoint.
func (r *Runner) msiDisabled() bool {
	return strings.EqualFold(r.cfg.AppSettings["WEBSITE_DISABLE_MSI"], "true")
}

// IdentityEndpoint is the local token endpoint's URL (empty when the app gets none).
func (r *Runner) IdentityEndpoint() string {
	if r.cfg.VM || r.msiDisabled() {
		return ""
	}
	return "http://" + r.idLn.Addr().String() + "/msi/token"
}

// Header is the secret the app must present to the local endpoint.
func (r *Runner) Header() string { return r.header }

// ProxyURL is the app's proxy.
func (r *Runner) ProxyURL() string { return "http://" + r.proxyLn.Addr().String() }

// writeCABundle writes keyhaven's CA alone (for NODE_EXTRA_CA_CERTS) and with the system roots (for
// SSL_CERT_FILE and REQUESTS_CA_BUNDLE), so the app trusts keyhaven and still everything else.
func (r *Runner) writeCABundle() error {
	var system []byte
	for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"} {
		if b, err := os.ReadFile(f); err == nil {
			system = b
			break
		}
	}
	if err := os.WriteFile(filepath.Join(r.dir, "keyhaven-ca.pem"), r.cfg.CAPEM, 0o644); err != nil {
		return err
	}
	bundle := append(append(append([]byte{}, system...), '\n'), r.cfg.CAPEM...)
	return os.WriteFile(filepath.Join(r.dir, "ca-bundle.pem"), bundle, 0o644)
}

// Env is the app's environment: the caller's, then the app settings, then the platform's variables.
func (r *Runner) Env(base []string) []string {
	drop := map[string]bool{}
	platform := map[string]string{
		"WEBSITE_SITE_NAME": r.cfg.SiteName, "WEBSITE_RESOURCE_GROUP": r.cfg.ResourceGroup,
		"HTTPS_PROXY": r.ProxyURL(), "HTTP_PROXY": r.ProxyURL(), "https_proxy": r.ProxyURL(), "http_proxy": r.ProxyURL(),
		"NO_PROXY": "localhost,127.0.0.1,::1", "no_proxy": "localhost,127.0.0.1,::1",
		"SSL_CERT_FILE":       filepath.Join(r.dir, "ca-bundle.pem"),
		"REQUESTS_CA_BUNDLE":  filepath.Join(r.dir, "ca-bundle.pem"),
		"NODE_EXTRA_CA_CERTS": filepath.Join(r.dir, "keyhaven-ca.pem"),
	}
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST"} {
		drop[k] = true
	}
	if ep := r.IdentityEndpoint(); ep != "" {
		platform["IDENTITY_ENDPOINT"], platform["IDENTITY_HEADER"] = ep, r.header
		platform["MSI_ENDPOINT"], platform["MSI_SECRET"] = ep, r.header
	}
	if r.cfg.VM {
		// For SDKs that honour it (JS); the Go SDK reaches IMDS at 169.254.169.254 through the proxy.
		platform["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://" + r.idLn.Addr().String()
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := platform[k]; ok || drop[k] {
			continue
		}
		if _, ok := r.cfg.AppSettings[k]; ok {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range r.cfg.AppSettings {
		if _, ok := platform[k]; !ok {
			out = append(out, k+"="+v)
		}
	}
	for k, v := range platform {
		out = append(out, k+"="+v)
	}
	return out
}

// Run starts command with the app's environment and the caller's stdio, passes signals on, and returns its exit
// code (128+signal when a signal ended it).
func (r *Runner) Run(ctx context.Context, command []string) (int, error) {
	if len(command) == 0 {
		return 2, errors.New("no command to run: give it after --")
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = r.Env(os.Environ())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.cfg.Stdin, r.cfg.Stdout, r.cfg.Stderr
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start %s: %w", command[0], err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cancelled := ctx.Done()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case <-cancelled:
			cmd.Process.Signal(syscall.SIGTERM)
			cancelled = nil // once: a closed channel would make this loop spin until the app exits
		case err := <-done:
			if err == nil {
				return 0, nil
			}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			return 1, err
		}
	}
}

// Close stops the local services and removes the runner's files.
func (r *Runner) Close() error {
	if r.identity != nil {
		r.identity.Close()
	}
	if r.proxy != nil {
		r.proxy.Close()
	}
	if r.ownDir {
		os.RemoveAll(r.dir)
	}
	return nil
}
