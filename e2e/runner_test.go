package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// buildApp compiles one of the scenario apps under e2e/apps.
func buildApp(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./apps/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// TestScenarioS1SystemAssigned is seed 001's system-assigned flow with az replaced by keyhaven: a web app with a
// system identity, a vault with an access policy for it, and the unmodified SDK app reading the secret through
// keyhaven webapp run.
func TestScenarioS1SystemAssigned(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs an app")
	}
	env := testenv.Start(t, testenv.Options{})
	app := buildApp(t, "kvread")
	k := newCLI(t)
	k.ok(nil, "login", "--server", "https://"+env.Addr, "--ca-file", env.CAPath, "-u", "admin", "-p", testenv.AdminPassword)
	k.ok(nil, "group", "create", "--name", "myResourceGroup", "--location", "westus")
	k.ok(nil, "appservice", "plan", "create", "--name", "myPlan", "--resource-group", "myResourceGroup", "--sku", "B1")
	k.ok(nil, "webapp", "create", "--name", "myApp", "--resource-group", "myResourceGroup", "--plan", "myPlan")
	var identity map[string]any
	k.ok(&identity, "webapp", "identity", "assign", "--name", "myApp", "--resource-group", "myResourceGroup")
	principal, _ := identity["principalId"].(string)
	if principal == "" || identity["type"] != "SystemAssigned" {
		t.Fatalf("identity assign: %v", identity)
	}
	k.ok(nil, "keyvault", "create", "--name", "myKeyVault", "--resource-group", "myResourceGroup", "--location", "westus", "--enable-rbac-authorization", "false")
	k.ok(nil, "keyvault", "set-policy", "--name", "myKeyVault", "--object-id", principal, "--secret-permissions", "get", "list")
	k.ok(nil, "keyvault", "secret", "set", "--vault-name", "myKeyVault", "--name", "mySecret", "--value", "s3cr3t-from-keyhaven")

	run := func(args ...string) (string, string, int) {
		return k.run(append([]string{"webapp", "run", "--name", "myApp", "--resource-group", "myResourceGroup", "--", app, "myKeyVault", "mySecret"}, args...)...)
	}
	out, errOut, code := run()
	if code != 0 || strings.TrimSpace(out) != "s3cr3t-from-keyhaven" {
		t.Fatalf("app under webapp run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// DefaultAzureCredential finds the same identity.
	if out, errOut, code := run("default"); code != 0 || strings.TrimSpace(out) != "s3cr3t-from-keyhaven" {
		t.Fatalf("DefaultAzureCredential: exit %d\n%s\n%s", code, out, errOut)
	}

	// S10: WEBSITE_DISABLE_MSI=true turns the local token service off; the identity stays assigned.
	// (DefaultAzureCredential then probes IMDS once, which App Service does not have, and gives up at once; a
	// bare ManagedIdentityCredential would retry IMDS for a minute, as on Azure.)
	k.ok(nil, "webapp", "config", "appsettings", "set", "--name", "myApp", "--resource-group", "myResourceGroup", "--settings", "WEBSITE_DISABLE_MSI=true")
	if _, errOut, code := run("default"); code == 0 {
		t.Fatalf("WEBSITE_DISABLE_MSI=true: the app still read the secret (%s)", errOut)
	}
	var shown map[string]any
	k.ok(&shown, "webapp", "identity", "show", "--name", "myApp", "--resource-group", "myResourceGroup")
	if shown["principalId"] != principal {
		t.Fatalf("identity after WEBSITE_DISABLE_MSI: %v", shown)
	}
	k.ok(nil, "webapp", "config", "appsettings", "delete", "--name", "myApp", "--resource-group", "myResourceGroup", "--setting-names", "WEBSITE_DISABLE_MSI")

	// S3: removing the identity stops tokens, and the principal is gone.
	k.ok(nil, "webapp", "identity", "remove", "--name", "myApp", "--resource-group", "myResourceGroup")
	if out, errOut, code := run(); code == 0 {
		t.Fatalf("after identity remove: %s %s", out, errOut)
	}
	if ok, _ := env.App.Directory().Exists(context.Background(), env.TenantID, principal); ok {
		t.Fatal("removed identity's principal still exists")
	}
}
