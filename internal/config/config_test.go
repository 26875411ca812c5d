package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keyhaven.json")
	os.WriteFile(file, []byte(`{"data-dir": "/from/file", "addr": "127.0.0.1:1000", "zone": "file.example", "log-level": "debug"}`), 0o600)
	e := map[string]string{
		"KEYHAVEN_CONFIG":   file,
		"KEYHAVEN_ADDR":     "127.0.0.1:2000",
		"KEYHAVEN_ZONE":     "env.example",
		"KEYHAVEN_ROOT_KEY": "c2VjcmV0",
	}
	cfg, err := Parse([]string{"--zone", "flag.example"}, env(e), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/file" || cfg.LogLevel != "debug" {
		t.Errorf("file settings lost: %+v", cfg)
	}
	if cfg.Addr != "127.0.0.1:2000" {
		t.Errorf("env should beat the file: addr %q", cfg.Addr)
	}
	if cfg.Zone != "flag.example" {
		t.Errorf("flags should beat env: zone %q", cfg.Zone)
	}
	if cfg.RootKey != "c2VjcmV0" {
		t.Errorf("KEYHAVEN_ROOT_KEY not read")
	}
	// Defaults where nothing is said.
	cfg, err = Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "./keyhaven-data" || cfg.Addr != "127.0.0.1:8443" || cfg.Database != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	if got := cfg.DatabaseURL(); got != filepath.Join("keyhaven-data", "keyhaven.db") {
		t.Errorf("default database %q", got)
	}
	// --config on the command line beats KEYHAVEN_CONFIG.
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"data-dir": "/other"}`), 0o600)
	cfg, err = Parse([]string{"--config=" + other}, env(e), io.Discard)
	if err != nil || cfg.DataDir != "/other" {
		t.Errorf("--config: %+v %v", cfg, err)
	}
}

func TestEveryFlagHasAnEnvVariable(t *testing.T) {
	for _, o := range options() {
		if o.name == "config" {
			continue
		}
		var want Config
		*o.field(&want) = "sentinel"
		cfg, _ := Parse(nil, env(map[string]string{EnvName(o.name): "sentinel"}), io.Discard)
		if *o.field(&cfg) != "sentinel" {
			t.Errorf("%s is not read from %s", o.name, EnvName(o.name))
		}
	}
	if EnvName("data-dir") != "KEYHAVEN_DATA_DIR" {
		t.Errorf("EnvName(data-dir) = %s", EnvName("data-dir"))
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := Parse([]string{"--addr", "nonsense", "--zone", "Not A Zone", "--tls-cert", "x.pem", "--log-level", "loud",
		"--database", "mysql://u:pw@h/db", "--shutdown-timeout", "soon"}, env(nil), io.Discard)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"--addr", "--zone", "--tls-cert and --tls-key", "--log-level", "--database", "--shutdown-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw@") {
		t.Errorf("error shows the database password: %v", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"unknown.json": `{"data-dir": "/x", "colour": "blue"}`,
		"syntax.json":  `{"data-dir": `,
		"type.json":    `{"data-dir": ["a"]}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := Parse([]string{"--config", path}, env(nil), io.Discard); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := Parse([]string{"--config", filepath.Join(dir, "missing.json")}, env(nil), io.Discard); err == nil {
		t.Error("missing config file accepted")
	}
}

func TestFlagErrors(t *testing.T) {
	if _, err := Parse([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if _, err := Parse([]string{"--no-such-flag"}, env(nil), io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, err := Parse([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("positional argument accepted")
	}
}

func TestValidValues(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", ":8443"}, {"--addr", "0.0.0.0:443"}, {"--addr", "[::1]:8443"}, {"--addr", "localhost:0"},
		{"--zone", "corp.example"}, {"--zone", "localhost"},
		{"--database", "postgres://u:p@h:5432/db?sslmode=disable"}, {"--database", "sqlite:/tmp/x.db"}, {"--database", "/tmp/x.db"},
		{"--tls-names", "10.0.0.5, node1.corp.example,*.apps.example"},
	} {
		if _, err := Parse(args, env(nil), io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}
