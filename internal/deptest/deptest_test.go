// Package deptest keeps keyhaven's layers pointing one way: nothing imports upward.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/keyhaven/keyhaven/"

// rules: a package (prefix) must not import these (prefixes).
var rules = []struct {
	pkg       string
	forbidden []string
}{
	// Storage is the bottom layer: no domain, HTTP or application code.
	{"storage", []string{mod + "internal/", "net/http"}},
	// The barrier and bootstrap sit on storage; they know nothing of HTTP or the application.
	{"internal/barrier", []string{mod + "internal/app", mod + "internal/httpx", "net/http"}},
	{"internal/bootstrap", []string{mod + "internal/app", mod + "internal/httpx", "net/http"}},
	{"internal/pki", []string{mod + "internal/", mod + "storage"}},
	// The HTTP edge is shared by every API and depends on none of them, nor on storage.
	{"internal/httpx", []string{mod + "internal/app", mod + "storage"}},
	{"internal/config", []string{mod + "internal/app", mod + "storage", "net/http"}},
	// Only the command imports the composition root.
	{"internal/", []string{mod + "cmd/", mod + "cli", mod + "client", mod + "runner"}},
	// The client side (CLI, client, runner) talks to the server over HTTP only.
	{"client", []string{mod + "internal/", mod + "storage"}},
	{"runner", []string{mod + "internal/", mod + "storage"}},
	{"azproxy", []string{mod + "internal/", mod + "storage", mod + "cli", mod + "client"}},
	{"cli", []string{mod + "internal/", mod + "storage"}},
	// Domain packages know nothing of HTTP handlers or the composition root.
	{"internal/directory", []string{mod + "internal/app", mod + "internal/httpx", "net/http"}},
	{"internal/keyvault", []string{mod + "internal/app", mod + "internal/httpx", "net/http"}},
	{"internal/token", []string{mod + "internal/app", mod + "internal/httpx", "net/http"}},
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := strings.TrimPrefix(fields[0], mod), fields[1:]
		for _, r := range rules {
			if !strings.HasPrefix(pkg, r.pkg) {
				continue
			}
			checked++
			for _, d := range deps {
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) && d != mod+pkg {
						t.Errorf("%s imports %s (directly or not), which it must not", pkg, d)
					}
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d package rules checked: the package list looks wrong", checked)
	}
}
