// Package app is keyhaven's composition root: it opens storage behind the barrier, bootstraps the installation,
// builds the TLS configuration, mounts every HTTP area on one host-routed listener, and owns shutdown.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/keyhaven/keyhaven/azproxy"
	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/armapi"
	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/bootstrap"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/directory"
	"github.com/keyhaven/keyhaven/internal/graphapi"
	"github.com/keyhaven/keyhaven/internal/httpx"
	"github.com/keyhaven/keyhaven/internal/keyvault"
	"github.com/keyhaven/keyhaven/internal/kvapi"
	"github.com/keyhaven/keyhaven/internal/metrics"
	"github.com/keyhaven/keyhaven/internal/msi"
	"github.com/keyhaven/keyhaven/internal/msiapi"
	"github.com/keyhaven/keyhaven/internal/oidcapi"
	"github.com/keyhaven/keyhaven/internal/pki"
	"github.com/keyhaven/keyhaven/internal/token"
	"github.com/keyhaven/keyhaven/internal/version"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
)

// Options are what New needs besides the configuration.
type Options struct {
	Config config.Config
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Wrap, if set, wraps the whole HTTP API inside the edge (request ids, logs, metrics). Embedders and tests use
	// it to add behaviour around every request.
	Wrap func(http.Handler) http.Handler
}

// App is a keyhaven server.
type App struct {
	cfg     config.Config
	logger  *slog.Logger
	now     func() time.Time
	raw     *sqlstore.Store
	store   storage.Store
	install bootstrap.Install
	created bool
	caPath  string
	tls     *tls.Config
	handler http.Handler
	srv     *http.Server
	ln      net.Listener
	// proxy is the developers' HTTP proxy (--proxy-addr).
	proxy   *http.Server
	proxyLn net.Listener

	dir       *directory.Service
	keys      *token.Keyring
	issuer    *token.Issuer
	validator *token.Validator
	oidc      *oidcapi.API
	arm       *arm.Service
	audit     *audit.Log
	batcher   *audit.Batcher
	runtime   *msi.Service
	secrets   *keyvault.Store
	barrier   *barrier.Barrier
	// adminPassword is the generated administrator password, shown once in the banner.
	adminPassword string
}

// New prepares a server: data dir, storage, root key and barrier, installation, CA and certificates, handlers.
// It does not listen yet. On error nothing is left open.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	a := &App{cfg: opts.Config, logger: opts.Logger, now: opts.Now}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if err := a.cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ensureDataDir(a.cfg.DataDir, a.logger); err != nil {
		return nil, err
	}
	a.raw, err = sqlstore.Open(ctx, a.cfg.DatabaseURL())
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	defer func() {
		if err != nil {
			a.raw.Close()
		}
	}()
	root, err := a.rootKey(ctx)
	if err != nil {
		return nil, err
	}
	b, err := a.openBarrier(ctx, root)
	if err != nil {
		return nil, err
	}
	a.store = b.Store()
	a.barrier = b
	domain := bootstrap.DefaultTenantDomain
	if a.cfg.Zone != "" {
		domain = a.cfg.Zone
	}
	if a.install, a.created, err = bootstrap.EnsureInstall(ctx, a.store, domain, a.now()); err != nil {
		return nil, err
	}
	if err := a.setupIdentity(ctx); err != nil {
		return nil, err
	}
	if err := a.setupTLS(ctx); err != nil {
		return nil, err
	}
	a.handler = a.routes(opts.Wrap)
	return a, nil
}

func ensureDataDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("the data dir is accessible to other users; chmod 700 it", "dir", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// rootKey finds the root key: $KEYHAVEN_ROOT_KEY, else --root-key-file, else DATA/root.key, which is generated
// only for a store that has never been sealed (a missing key file for sealed data is an error, not a new key).
func (a *App) rootKey(ctx context.Context) (barrier.RootKey, error) {
	if a.cfg.RootKey != "" {
		k, err := barrier.ParseRootKey(a.cfg.RootKey)
		if err != nil {
			return k, fmt.Errorf("KEYHAVEN_ROOT_KEY: %w", err)
		}
		return k, nil
	}
	if a.cfg.RootKeyFile != "" {
		return barrier.ReadRootKeyFile(a.cfg.RootKeyFile)
	}
	path := rootKeyPath(a.cfg)
	k, err := barrier.ReadRootKeyFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	sealed, err := barrier.HasDataKeys(ctx, a.raw)
	if err != nil {
		return k, fmt.Errorf("open storage: %w", err)
	}
	if sealed {
		return k, fmt.Errorf("%s is missing, but the database holds data sealed with a root key: restore the key file, or set KEYHAVEN_ROOT_KEY or --root-key-file", path)
	}
	k = barrier.GenerateRootKey()
	if err := barrier.WriteRootKeyFile(path, k); err != nil {
		return k, fmt.Errorf("write root key: %w", err)
	}
	a.logger.Info("generated a new root key; back it up: without it the data cannot be read", "path", path, "root_key_id", k.ID)
	return k, nil
}

// setupIdentity builds the directory and the token service, and creates the administrator on first start.
func (a *App) setupIdentity(ctx context.Context) error {
	// In-memory caches are safe only where this process is the database's only writer.
	cache := a.raw.Dialect() == "sqlite"
	a.dir = directory.New(directory.Config{Store: a.store, Now: a.now, Cache: cache})
	pw, _, err := bootstrap.EnsureAdmin(ctx, a.store, a.dir, a.install, a.cfg.AdminPassword, a.now())
	if err != nil {
		return fmt.Errorf("create administrator: %w", err)
	}
	if pw != "" && a.cfg.AdminPassword == "" {
		path := filepath.Join(a.cfg.DataDir, "initial-admin-password")
		os.Remove(path)
		if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
			return fmt.Errorf("write initial admin password: %w", err)
		}
		a.adminPassword = pw
	}
	userLife, miLife := a.cfg.Lifetimes()
	a.keys, err = token.NewKeyring(ctx, a.store, a.now, token.KeyPolicy{MaxTokenLifetime: max(userLife, miLife)})
	if err != nil {
		return err
	}
	a.issuer = token.NewIssuer(a.keys, a.now)
	a.oidc = oidcapi.New(oidcapi.Config{Directory: a.dir, Issuer: a.issuer, DefaultTenant: a.install.TenantID,
		Zone: a.cfg.Zone, Lifetime: userLife, Now: a.now})
	a.validator = token.NewValidator(token.ValidatorConfig{Keys: a.keys, Now: a.now, Issuers: a.oidc.Issuers, Exists: a.dir.Exists})
	a.secrets = keyvault.New(a.store, a.now, cache)
	a.arm = arm.New(arm.Config{Store: a.store, Directory: a.dir, Now: a.now, Zone: a.cfg.Zone, Forget: a.validator.Forget,
		VaultPurged: a.secrets.PurgeVault, Cache: cache})
	a.audit = audit.New(a.store, a.now)
	a.runtime = msi.New(msi.Config{Store: a.store, ARM: a.arm, Directory: a.dir, Issuer: a.issuer, Lifetime: miLife, Now: a.now})
	a.batcher = audit.NewBatcher(a.audit, 100*time.Millisecond, 256)
	return nil
}

// setupTLS loads or creates the CA, writes its certificate to DATA/ca.pem, and picks the server certificate: the
// operator's own, or one the CA signs for every name keyhaven answers to.
func (a *App) setupTLS(ctx context.Context) error {
	ca, err := bootstrap.EnsureCA(ctx, a.store, a.now())
	if err != nil {
		return err
	}
	a.caPath = filepath.Join(a.cfg.DataDir, "ca.pem")
	if err := writeIfChanged(a.caPath, ca.CertPEM, 0o644); err != nil {
		return fmt.Errorf("write CA certificate: %w", err)
	}
	var cert tls.Certificate
	if a.cfg.TLSCert != "" {
		cert, err = tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	} else {
		names := pki.ServerNames(a.cfg.Zone, a.cfg.ExtraTLSNames()...)
		if host, _, err := net.SplitHostPort(a.cfg.Addr); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
			names = pki.ServerNames(a.cfg.Zone, append(a.cfg.ExtraTLSNames(), host)...)
		}
		kp, err := bootstrap.EnsureServerCert(ctx, a.store, ca, names, a.now())
		if err != nil {
			return err
		}
		if cert, err = kp.TLS(); err != nil {
			return err
		}
	}
	a.tls = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	return nil
}

func writeIfChanged(path string, data []byte, mode os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// routes mounts every area behind the edge.
func (a *App) routes(wrap func(http.Handler) http.Handler) http.Handler {
	m := metrics.New(version.String())
	areas := map[string]area{
		AreaServer: {httpx.ShapeAzure, serverMux(a.store, m, a.oidc, msiapi.New(a.runtime))},
		AreaVault:  {httpx.ShapeAzure, muxOf(a.vaultAPI())},
		AreaLogin:  {httpx.ShapeOAuth2, loginMux(a.oidc, msiapi.New(a.runtime))},
		AreaManagement: {httpx.ShapeAzure, muxOf(armapi.New(armapi.Config{Store: a.store, Directory: a.dir, ARM: a.arm, Runtime: a.runtime, Validator: a.validator,
			Audit: a.audit, Zone: a.cfg.Zone, Logger: a.logger, Now: a.now}))},
		AreaGraph: {httpx.ShapeGraph, muxOf(graphapi.New(graphapi.Config{Directory: a.dir, Validator: a.validator, Zone: a.cfg.Zone}))},
	}
	for name, ar := range areas {
		ar.handler = httpx.Recover(ar.shape, a.logger, ar.handler)
		areas[name] = ar
	}
	var h http.Handler = hostRouter{areas: areas}
	if wrap != nil {
		h = wrap(h)
	}
	return httpx.Edge{Logger: a.logger, Observer: m, Next: h}
}

// firstPartyServices are the app ids of Azure services a vault firewall lets through with bypass=AzureServices.
var firstPartyServices = []string{
	"797f4846-ba00-4fd7-ba43-dac1f8f63013", // Azure Resource Manager (template deployments)
	"abfa0a7c-a6b6-4736-8310-5855508787cd", // Azure App Service
}

func (a *App) vaultAPI() *kvapi.API {
	limit, _ := a.cfg.RateLimit()
	proxies, _ := a.cfg.Proxies()
	return kvapi.New(kvapi.Config{Secrets: a.secrets, ARM: a.arm, Directory: a.dir, Validator: a.validator, Sealer: a.barrier,
		Audit: a.batcher, DefaultTenant: a.install.TenantID, Zone: a.cfg.Zone, TrustedProxies: proxies,
		TrustedServices: firstPartyServices, RateLimit: limit, Now: a.now})
}

// Secrets is the Key Vault secrets store.
func (a *App) Secrets() *keyvault.Store { return a.secrets }

// Handler is the server's whole HTTP API, for tests that drive it without a listener.
func (a *App) Handler() http.Handler { return a.handler }

// ARM is the resource manager.
func (a *App) ARM() *arm.Service { return a.arm }

// Audit is the audit trail.
func (a *App) Audit() *audit.Log { return a.audit }

// Directory is the directory service.
func (a *App) Directory() *directory.Service { return a.dir }

// Validator is the access-token validator every API uses.
func (a *App) Validator() *token.Validator { return a.validator }

// Keyring is the token signing keyring.
func (a *App) Keyring() *token.Keyring { return a.keys }

// Install is the installation: tenant and subscription.
func (a *App) Install() bootstrap.Install { return a.install }

// TLSConfig is a copy of the server's TLS configuration (the benchmark's bare server uses it for a fair ceiling).
func (a *App) TLSConfig() *tls.Config { return a.tls.Clone() }

// CAPath is where the CA certificate was written.
func (a *App) CAPath() string { return a.caPath }

// Listen binds the listener (so that a port of 0 resolves) and returns its address.
func (a *App) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	a.ln = ln
	if a.cfg.ProxyAddr != "" {
		pl, err := net.Listen("tcp", a.cfg.ProxyAddr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("proxy listen (--proxy-addr): %w", err)
		}
		a.proxyLn = pl
		target := ln.Addr().String()
		if host, port, _ := net.SplitHostPort(target); host == "0.0.0.0" || host == "::" {
			target = net.JoinHostPort("127.0.0.1", port)
		}
		a.proxy = &http.Server{Handler: azproxy.New(target, a.cfg.Zone, nil), ReadHeaderTimeout: 10 * time.Second}
	}
	return ln.Addr(), nil
}

// Banner prints, once the listener is bound, where the data lives and how to reach the server.
func (a *App) Banner(w io.Writer) {
	addr := a.cfg.Addr
	if a.ln != nil {
		addr = a.ln.Addr().String()
	}
	url := "https://" + addr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "0.0.0.0" || host == "::" || host == "") {
		url = "https://" + net.JoinHostPort("127.0.0.1", port)
	}
	state := "reusing"
	if a.created {
		state = "created"
	}
	fmt.Fprintf(w, "keyhaven %s\n", version.String())
	fmt.Fprintf(w, "  data dir:      %s (%s)\n", absPath(a.cfg.DataDir), state)
	fmt.Fprintf(w, "  database:      %s (%s)\n", a.cfg.RedactedDatabase(), a.raw.Dialect())
	fmt.Fprintf(w, "  tenant:        %s (%s)\n", a.install.TenantID, a.install.TenantDomain)
	fmt.Fprintf(w, "  subscription:  %s\n", a.install.SubscriptionID)
	fmt.Fprintf(w, "  CA:            %s\n", absPath(a.caPath))
	fmt.Fprintf(w, "  URL:           %s\n", url)
	if a.cfg.Zone != "" {
		fmt.Fprintf(w, "  zone:          https://<vault>.vault.%s, https://login.%s, https://management.%s\n", a.cfg.Zone, a.cfg.Zone, a.cfg.Zone)
	}
	fmt.Fprintf(w, "  health:        %s/healthz\n", url)
	if a.proxyLn != nil {
		fmt.Fprintf(w, "  proxy:         http://%s (keyhaven env prints the settings for a shell)\n", a.proxyLn.Addr())
	}
	if a.adminPassword != "" {
		fmt.Fprintf(w, "  administrator: %s / %s (shown once; also in %s)\n", bootstrap.AdminName, a.adminPassword,
			absPath(filepath.Join(a.cfg.DataDir, "initial-admin-password")))
	}
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Serve answers requests until ctx is done, then shuts down gracefully: the listener closes, in-flight requests
// get up to the shutdown timeout to finish, and storage closes. Listen must have been called.
func (a *App) Serve(ctx context.Context) error {
	if a.ln == nil {
		return errors.New("app: Serve before Listen")
	}
	a.srv = &http.Server{
		Handler:           a.handler,
		TLSConfig:         a.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- a.srv.ServeTLS(a.ln, "", "") }()
	if a.proxy != nil {
		go a.proxy.Serve(a.proxyLn)
		defer a.proxy.Close()
	}
	go a.keys.Run(ctx, time.Minute)
	batchDone := make(chan struct{})
	go func() {
		defer close(batchDone)
		a.batcher.Run(ctx, func(err error) { a.logger.Error("audit batch lost", "error", err.Error()) })
	}()
	go a.purgeLoop(ctx)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.logger.Info("shutting down", "timeout", a.cfg.Shutdown().String())
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown())
		defer cancel()
		err = a.srv.Shutdown(sctx)
		<-errc // http.ErrServerClosed
	}
	a.batcher.Close() // the last audit records reach storage before it closes
	<-batchDone
	return errors.Join(err, a.Close())
}

// purgeLoop purges soft-deleted vaults and secrets whose retention has ended.
func (a *App) purgeLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.PurgeExpired(ctx)
		}
	}
}

// PurgeExpired purges what is past its scheduled purge date now (the background loop calls it every minute).
func (a *App) PurgeExpired(ctx context.Context) {
	if n, err := a.arm.PurgeExpiredVaults(ctx); err != nil {
		a.logger.Error("purging deleted vaults", "error", err.Error())
	} else if n > 0 {
		a.logger.Info("purged deleted vaults", "count", n)
	}
	if n, err := a.secrets.PurgeExpired(ctx); err != nil {
		a.logger.Error("purging deleted secrets", "error", err.Error())
	} else if n > 0 {
		a.logger.Info("purged deleted secrets", "count", n)
	}
}

// Close releases storage. Serve calls it on shutdown; call it directly only for an App that never served.
func (a *App) Close() error {
	if a.raw == nil {
		return nil
	}
	err := a.raw.Close()
	a.raw = nil
	return err
}

// ProxyAddr is the developers' proxy's address, or "" when it is off.
func (a *App) ProxyAddr() string {
	if a.proxyLn == nil {
		return ""
	}
	return a.proxyLn.Addr().String()
}
