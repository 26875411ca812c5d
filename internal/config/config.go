// Package config is keyhaven serve's configuration: defaults, then a JSON config file, then KEYHAVEN_*
// environment variables, then flags, the later winning. Validate reports every problem at once.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is what keyhaven serve runs with.
type Config struct {
	// ConfigFile is the JSON file the other settings were read from, if any.
	ConfigFile string
	// DataDir holds the root key file, the CA certificate and, by default, the SQLite database.
	DataDir string
	// Addr is the HTTPS listener's host:port.
	Addr string
	// Database is the store's URL: empty for SQLite in DataDir, postgres://... for PostgreSQL.
	Database string
	// Zone is an operator's DNS zone served beside Azure's names: <vault>.vault.<zone>, login.<zone>, ...
	Zone string
	// TLSCert and TLSKey are an operator's own server certificate (PEM, chain after the leaf) and key, used
	// instead of one signed by keyhaven's CA.
	TLSCert string
	TLSKey  string
	// TLSNames are extra names (DNS or IP) for the server certificate keyhaven signs, e.g. the node's address.
	TLSNames string
	// RootKeyFile is where the root key is read from; empty means DataDir/root.key, generated on first start.
	RootKeyFile string
	// RootKey is the root key itself in base64. It comes only from KEYHAVEN_ROOT_KEY, never a flag or file, so it
	// does not show in process listings or config files.
	RootKey string `json:"-"`
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// ShutdownTimeout bounds how long in-flight requests may take to finish after SIGTERM.
	ShutdownTimeout string
	// TokenLifetime is the lifetime of user and service principal access tokens.
	TokenLifetime string
	// MITokenLifetime is the lifetime of managed identity access tokens.
	MITokenLifetime string
	// VaultRateLimit is how many requests a vault takes per 10 seconds before answering 429; 0 means no limit,
	// "azure" Azure's figure (4000).
	VaultRateLimit string
	// TrustedProxies are comma-separated CIDRs whose X-Forwarded-For the firewall believes.
	TrustedProxies string
	// ProxyAddr is where keyhaven's HTTP proxy for developers' shells listens (keyhaven env); empty turns it off.
	ProxyAddr string
	// AdminPassword is the bootstrap administrator's password on first start. It comes only from
	// KEYHAVEN_ADMIN_PASSWORD; without it a password is generated and printed once.
	AdminPassword string `json:"-"`
}

// option ties a setting to its flag, environment variable and config-file key.
type option struct {
	name  string // the flag; the file key; KEYHAVEN_ + upper-snake is the variable
	usage string
	field func(*Config) *string
}

func options() []option {
	return []option{
		{"config", "read settings from this JSON `file` (keys are the flag names)", func(c *Config) *string { return &c.ConfigFile }},
		{"data-dir", "`dir`ectory for the root key, CA certificate and SQLite database (created 0700)", func(c *Config) *string { return &c.DataDir }},
		{"addr", "HTTPS listen address `host:port`", func(c *Config) *string { return &c.Addr }},
		{"database", "database `url`: postgres://... for PostgreSQL; default a SQLite file in the data dir", func(c *Config) *string { return &c.Database }},
		{"zone", "serve an own DNS `domain` too: <vault>.vault.<domain>, login.<domain>, management.<domain>, graph.<domain>", func(c *Config) *string { return &c.Zone }},
		{"tls-cert", "use this server certificate `file` (PEM) instead of one from keyhaven's CA", func(c *Config) *string { return &c.TLSCert }},
		{"tls-key", "private key `file` (PEM) for --tls-cert", func(c *Config) *string { return &c.TLSKey }},
		{"tls-names", "extra comma-separated `names` (DNS or IP) for the server certificate keyhaven signs", func(c *Config) *string { return &c.TLSNames }},
		{"root-key-file", "read the root key from this `file` (default <data-dir>/root.key, generated on first start)", func(c *Config) *string { return &c.RootKeyFile }},
		{"log-level", "log `level`: debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
		{"log-format", "log `format`: text or json", func(c *Config) *string { return &c.LogFormat }},
		{"shutdown-timeout", "how long in-flight requests may take to finish on SIGTERM (`duration`, e.g. 30s)", func(c *Config) *string { return &c.ShutdownTimeout }},
		{"token-lifetime", "lifetime of user and service principal access tokens (`duration`)", func(c *Config) *string { return &c.TokenLifetime }},
		{"mi-token-lifetime", "lifetime of managed identity access tokens (`duration`)", func(c *Config) *string { return &c.MITokenLifetime }},
		{"vault-rate-limit", "requests a vault takes per 10 seconds before answering 429 (`n`; 0 = no limit; azure = Azure's 4000)", func(c *Config) *string { return &c.VaultRateLimit }},
		{"trusted-proxies", "comma-separated `CIDRs` whose X-Forwarded-For the vault firewall believes", func(c *Config) *string { return &c.TrustedProxies }},
		{"proxy-addr", "HTTP proxy `host:port` that sends Azure's names to keyhaven, for keyhaven env (empty: off)", func(c *Config) *string { return &c.ProxyAddr }},
	}
}

// EnvName is the environment variable for a flag: data-dir -> KEYHAVEN_DATA_DIR.
func EnvName(flagName string) string {
	return "KEYHAVEN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Default returns the settings keyhaven runs with when nothing is given.
func Default() Config {
	return Config{
		DataDir:         "./keyhaven-data",
		Addr:            "127.0.0.1:8443",
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: "30s",
		TokenLifetime:   "1h",
		MITokenLifetime: "24h",
		VaultRateLimit:  "0",
		ProxyAddr:       "127.0.0.1:8480",
	}
}

// Parse builds the configuration from args (the flags after "serve") and the environment. Flag errors and -h
// are reported on stderr by the flag package; the error is flag.ErrHelp for -h.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	return ParseCommand("serve", "Starts the keyhaven server.", args, getenv, stderr)
}

// ParseCommand is Parse for another server-side command that takes the server's settings (such as
// rotate-root-key): name and summary are what its -h prints.
func ParseCommand(name, summary string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("keyhaven "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	flagVals := map[string]*string{}
	def := Default()
	for _, o := range options() {
		flagVals[o.name] = fs.String(o.name, *o.field(&def), o.usage+" [$"+EnvName(o.name)+"]")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: keyhaven %s [flags]\n\n%s\n\nSettings come from defaults, then --config, then KEYHAVEN_* variables, then flags.\nThe root key can also be given in base64 in $KEYHAVEN_ROOT_KEY.\n\nFlags:\n", name, summary)
		printFlags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("keyhaven %s takes no arguments, got %q", name, fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := Default()
	// The config file's path itself comes from the flag or the environment.
	cfg.ConfigFile = getenv(EnvName("config"))
	if set["config"] {
		cfg.ConfigFile = *flagVals["config"]
	}
	if cfg.ConfigFile != "" {
		if err := cfg.readFile(cfg.ConfigFile); err != nil {
			return Config{}, err
		}
	}
	for _, o := range options() {
		if v := getenv(EnvName(o.name)); v != "" && o.name != "config" {
			*o.field(&cfg) = v
		}
	}
	for _, o := range options() {
		if set[o.name] {
			*o.field(&cfg) = *flagVals[o.name]
		}
	}
	cfg.RootKey = getenv("KEYHAVEN_ROOT_KEY")
	cfg.AdminPassword = getenv("KEYHAVEN_ADMIN_PASSWORD")
	return cfg, cfg.Validate()
}

// readFile applies a JSON config file: an object whose keys are flag names and whose values are strings.
func (c *Config) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	byName := map[string]option{}
	for _, o := range options() {
		byName[o.name] = o
	}
	var errs []error
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := byName[k]
		if !ok || k == "config" {
			errs = append(errs, fmt.Errorf("config file %s: unknown setting %q", path, k))
			continue
		}
		switch v := raw[k].(type) {
		case string:
			*o.field(c) = v
		case float64:
			*o.field(c) = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			errs = append(errs, fmt.Errorf("config file %s: %q must be a string", path, k))
		}
	}
	return errors.Join(errs...)
}

var dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports every problem with the configuration, not just the first.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.DataDir == "" {
		bad("--data-dir must not be empty")
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("--addr %q: %v", c.Addr, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("--addr %q: bad port", c.Addr)
	} else if host != "" && net.ParseIP(host) == nil && !dnsName.MatchString(strings.ToLower(host)) {
		bad("--addr %q: bad host", c.Addr)
	}
	if c.Database != "" {
		switch {
		case strings.HasPrefix(c.Database, "postgres://"), strings.HasPrefix(c.Database, "postgresql://"):
		case strings.Contains(c.Database, "://") && !strings.HasPrefix(c.Database, "sqlite://"):
			bad("--database %q: use postgres://..., sqlite:PATH or a file path", redactURL(c.Database))
		}
	}
	if c.Zone != "" {
		if z := strings.ToLower(c.Zone); z != c.Zone || !dnsName.MatchString(z) || !strings.Contains(z, ".") && z != "localhost" {
			bad("--zone %q: want a lower-case DNS domain such as corp.example", c.Zone)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("--tls-cert and --tls-key go together")
	}
	for _, n := range c.ExtraTLSNames() {
		if net.ParseIP(n) == nil && !dnsName.MatchString(strings.TrimPrefix(n, "*.")) {
			bad("--tls-names: %q is not a DNS name or IP address", n)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("--log-format %q: want text or json", c.LogFormat)
	}
	if _, err := parseDuration(c.ShutdownTimeout); err != nil {
		bad("--shutdown-timeout %q: %v", c.ShutdownTimeout, err)
	}
	if _, err := c.RateLimit(); err != nil {
		bad("--vault-rate-limit %q: want a number of requests or 'azure'", c.VaultRateLimit)
	}
	if c.ProxyAddr != "" {
		if _, _, err := net.SplitHostPort(c.ProxyAddr); err != nil {
			bad("--proxy-addr %q: %v", c.ProxyAddr, err)
		}
	}
	if _, err := c.Proxies(); err != nil {
		bad("--trusted-proxies %q: %v", c.TrustedProxies, err)
	}
	for _, l := range []struct{ flag, v string }{{"--token-lifetime", c.TokenLifetime}, {"--mi-token-lifetime", c.MITokenLifetime}} {
		if d, err := parseDuration(l.v); err != nil || d < 5*time.Minute || d > 48*time.Hour {
			bad("%s %q: want a duration from 5m to 48h", l.flag, l.v)
		}
	}
	return errors.Join(errs...)
}

// ExtraTLSNames splits TLSNames.
func (c Config) ExtraTLSNames() []string {
	var out []string
	for _, n := range strings.Split(c.TLSNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// DatabaseURL is the store's URL with the SQLite default filled in.
func (c Config) DatabaseURL() string {
	if c.Database == "" {
		return filepath.Join(c.DataDir, "keyhaven.db")
	}
	return c.Database
}

// redactURL drops a URL's password, for messages.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.Index(s[i+3:], "@"); j >= 0 {
			return s[:i+3] + "***@" + s[i+3+j+1:]
		}
	}
	return s
}

// RedactedDatabase is the database URL without its credentials, for printing.
func (c Config) RedactedDatabase() string { return redactURL(c.DatabaseURL()) }

// printFlags lists flags the way keyhaven's documentation writes them: --name, with the default.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(fs.Output(), "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if f.DefValue != "" {
			fmt.Fprintf(fs.Output(), " (default %q)", f.DefValue)
		}
		fmt.Fprintln(fs.Output())
	})
}
