// Command keyhaven is a self-hosted Azure Key Vault with its identity service and managed identities.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/cli/commands"
	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/version"
)

const usage = `keyhaven: a self-hosted Azure Key Vault with its identity service and managed identities.

Server:
  keyhaven serve [flags]       start the server (keyhaven serve -h lists the flags)
  keyhaven ca export [flags]   print the CA certificate clients must trust
  keyhaven rotate-root-key [flags]
                               re-wrap the data keys under a new root key and replace the key file
  keyhaven version             print the version

Client (az's commands, names and flags; keyhaven <group> -h for more):
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		cliApp().Run(nil, os.Stdin, stderr, stderr, os.Getenv)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "ca":
		if len(args) < 2 || args[1] != "export" {
			fmt.Fprint(stderr, "Usage: keyhaven ca export [--data-dir DIR]\n")
			return 2
		}
		err = caExport(args[2:], stdout, stderr)
	case "rotate-root-key":
		err = rotateRootKey(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "keyhaven %s (%s %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cliApp().Run(nil, os.Stdin, stdout, stderr, os.Getenv)
	default:
		return cliApp().Run(args, os.Stdin, stdout, stderr, os.Getenv)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "keyhaven: %v\n", err)
		return 1
	}
	return 0
}

// cliApp is the az-style command line.
func cliApp() *cli.App {
	app := cli.New("keyhaven", "keyhaven's az-compatible commands.")
	commands.Register(app)
	return app
}

func serve(args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: logger})
	if err != nil {
		return err
	}
	if _, err := a.Listen(); err != nil {
		a.Close()
		return err
	}
	a.Banner(stdout)
	return a.Serve(ctx)
}

func rotateRootKey(args []string, stdout, stderr io.Writer) error {
	cfg, err := config.ParseCommand("rotate-root-key", "Re-wraps the data keys under a newly generated root key and replaces the root key file\n"+
		"(DIR/root.key or --root-key-file) with it. Sealed data is not rewritten. A server running on the same store\n"+
		"keeps working; restart it when convenient (it reads the new key file). Back the new key up.",
		args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	r, err := app.RotateRootKey(context.Background(), cfg)
	if err != nil {
		return err
	}
	if r.Resumed {
		fmt.Fprintf(stdout, "Finished an interrupted rotation: %s now holds root key %s.\n", r.Path, r.NewID)
		return nil
	}
	fmt.Fprintf(stdout, "Rotated the root key: %s now holds root key %s (was %s). Back it up: without it the data cannot be read.\n",
		r.Path, r.NewID, r.OldID)
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func caExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keyhaven ca export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv(config.EnvName("data-dir"))
	if def == "" {
		def = config.Default().DataDir
	}
	dir := fs.String("data-dir", def, "the server's data `dir`ectory [$KEYHAVEN_DATA_DIR]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pem, err := os.ReadFile(filepath.Join(*dir, "ca.pem"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no CA certificate in %s: run keyhaven serve with this data dir first", *dir)
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(pem)
	return err
}
