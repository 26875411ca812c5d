package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// scenario is a signed-in CLI with a resource group, a plan, a web app and a vault (access policies) holding a
// secret.
type scenario struct {
	env   *testenv.Env
	k     *kh
	apps  map[string]string
	vault string
}

func newScenario(t *testing.T, appNames ...string) *scenario {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs apps")
	}
	s := &scenario{env: testenv.Start(t, testenv.Options{}), k: newCLI(t), apps: map[string]string{}, vault: "scenarioVault"}
	for _, n := range appNames {
		s.apps[n] = buildApp(t, n)
	}
	k := s.k
	k.ok(nil, "login", "--server", "https://"+s.env.Addr, "--ca-file", s.env.CAPath, "-u", "admin", "-p", testenv.AdminPassword)
	k.ok(nil, "group", "create", "-n", "rg", "-l", "westus")
	k.ok(nil, "appservice", "plan", "create", "-n", "plan", "-g", "rg")
	k.ok(nil, "webapp", "create", "-n", "app", "-g", "rg", "-p", "plan")
	k.ok(nil, "keyvault", "create", "-n", s.vault, "-g", "rg", "-l", "westus", "--enable-rbac-authorization", "false")
	k.ok(nil, "keyvault", "secret", "set", "--vault-name", s.vault, "-n", "mySecret", "--value", "scenario-value")
	return s
}

func (s *scenario) run(kind, name string, command ...string) (string, string, int) {
	return s.k.run(append([]string{kind, "run", "-n", name, "-g", "rg", "--"}, command...)...)
}

// TestScenarioS2UserAssigned is seed 003: a user-assigned identity, granted get and list, assigned to the app; a
// token request that names no identity fails (no system-assigned one), and one that names the client id works,
// whichever way the app names it.
func TestScenarioS2UserAssigned(t *testing.T) {
	s := newScenario(t, "kvread", "kvrest")
	k := s.k
	var uami map[string]any
	k.ok(&uami, "identity", "create", "-g", "rg", "-n", "myUserAssignedIdentity")
	clientID, principal, id := uami["clientId"].(string), uami["principalId"].(string), uami["id"].(string)
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", principal, "--secret-permissions", "get", "list")
	var identity map[string]any
	k.ok(&identity, "webapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", id)
	if identity["type"] != "UserAssigned" {
		t.Fatalf("assign: %v", identity)
	}
	if out, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret"); code == 0 {
		t.Fatalf("no identity named and no system identity: the app read %q (%s)", out, errOut)
	}
	// AZURE_CLIENT_ID in the app settings names it (2019-08-01, client_id).
	k.ok(nil, "webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings", "AZURE_CLIENT_ID="+clientID)
	if out, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("AZURE_CLIENT_ID: %d %s %s", code, out, errOut)
	}
	// The seed's REST protocol (2017-09-01, clientid) with AzureServicesAuthConnectionString.
	k.ok(nil, "webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings", "AzureServicesAuthConnectionString=RunAs=App;AppId="+clientID)
	if out, errOut, code := s.run("webapp", "app", s.apps["kvrest"], s.vault, "mySecret"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("2017-09-01 with clientid: %d %s %s", code, out, errOut)
	}
	// Unassigned, the identity gets no new token.
	k.ok(nil, "webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", id)
	if _, _, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret"); code == 0 {
		t.Fatal("a user-assigned identity still gets tokens after it was removed from the app")
	}
}

// TestScenarioS1RESTAndNegatives: seed 001's REST example (2017-09-01, no SDK) with the system identity, and the
// local endpoint's refusals.
func TestScenarioS1RESTAndNegatives(t *testing.T) {
	s := newScenario(t, "kvrest", "probe")
	k := s.k
	var identity map[string]any
	k.ok(&identity, "webapp", "identity", "assign", "-g", "rg", "-n", "app")
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", identity["principalId"].(string), "--secret-permissions", "get")
	if out, errOut, code := s.run("webapp", "app", s.apps["kvrest"], s.vault, "mySecret"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("REST protocol: %d %s %s", code, out, errOut)
	}
	probe := func(args ...string) (int, string) {
		t.Helper()
		out, errOut, _ := s.run("webapp", "app", append([]string{s.apps["probe"]}, args...)...)
		lines := strings.SplitN(strings.TrimSpace(out), "\n", 2)
		if len(lines) < 2 {
			return 0, out + errOut
		}
		var status int
		fmt.Sscan(lines[0], &status)
		return status, lines[1]
	}
	url19 := "$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://vault.azure.net"
	if st, body := probe("GET", url19, "X-IDENTITY-HEADER:$IDENTITY_HEADER"); st != 200 || !strings.Contains(body, `"expires_on"`) {
		t.Errorf("right header: %d %s", st, body)
	}
	if st, _ := probe("GET", url19, "X-IDENTITY-HEADER:wrong"); st != 401 {
		t.Errorf("wrong header: %d", st)
	}
	if st, _ := probe("GET", url19); st != 401 {
		t.Errorf("missing header: %d", st)
	}
	if st, _ := probe("GET", "$MSI_ENDPOINT?api-version=2017-09-01&resource=https://vault.azure.net", "Secret:nope"); st != 401 {
		t.Errorf("wrong MSI_SECRET: %d", st)
	}
	if st, body := probe("GET", url19+"&client_id=00000000-0000-0000-0000-000000000001", "X-IDENTITY-HEADER:$IDENTITY_HEADER"); st != 400 || !strings.Contains(body, "No managed identity") && !strings.Contains(body, "no managed identity") {
		t.Errorf("identity not assigned to the app: %d %s", st, body)
	}
	// App Service has no IMDS: the address leads nowhere.
	if st, body := probe("GET", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net", "Metadata:true"); st != 0 {
		t.Errorf("IMDS answered a web app: %d %s", st, body)
	}
}

// TestScenarioVM is S1 on a virtual machine: IMDS through the proxy, reached by the unmodified Go app.
func TestScenarioVM(t *testing.T) {
	s := newScenario(t, "kvread", "probe")
	k := s.k
	k.ok(nil, "vm", "create", "-g", "rg", "-n", "myVM", "--image", "Ubuntu2204")
	var identity map[string]any
	k.ok(&identity, "vm", "identity", "assign", "-g", "rg", "-n", "myVM")
	principal, _ := identity["systemAssignedIdentity"].(string)
	if principal == "" {
		t.Fatalf("vm identity assign: %v", identity)
	}
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", principal, "--secret-permissions", "get", "list")
	if out, errOut, code := s.run("vm", "myVM", s.apps["kvread"], s.vault, "mySecret"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("VM app: %d %s %s", code, out, errOut)
	}
	imds := "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
	out, _, _ := s.run("vm", "myVM", s.apps["probe"], "GET", imds)
	if !strings.HasPrefix(out, "400") || !strings.Contains(out, "Metadata") && !strings.Contains(out, "metadata") {
		t.Errorf("IMDS without Metadata: true: %s", out)
	}
	out, _, _ = s.run("vm", "myVM", s.apps["probe"], "GET", imds, "Metadata:true", "X-Forwarded-For:10.0.0.1")
	if !strings.HasPrefix(out, "400") {
		t.Errorf("IMDS with X-Forwarded-For: %s", out)
	}
	out, _, _ = s.run("vm", "myVM", s.apps["probe"], "GET", imds, "Metadata:true")
	if !strings.HasPrefix(out, "200") || !strings.Contains(out, "access_token") {
		t.Errorf("IMDS: %s", out)
	}
}

// TestRuntimeCredentialRevoked: the runner's credential stops working when its app is deleted.
func TestRuntimeCredentialRevoked(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	admin := userToken(t, env, "admin", testenv.AdminPassword, "https://management.azure.com/")
	rg := "/subscriptions/" + env.SubscriptionID + "/resourceGroups/rg"
	armCall(t, env, admin, "PUT", rg+api, map[string]any{"location": "westus"})
	site := rg + "/providers/Microsoft.Web/sites/gone"
	armCall(t, env, admin, "PUT", site+api, map[string]any{"location": "westus", "identity": map[string]any{"type": "SystemAssigned"}})
	s, cred := armCall(t, env, admin, "POST", site+"/keyhavenRuntimeCredential"+api, nil)
	if s != 200 {
		t.Fatalf("credential: %d %v", s, cred)
	}
	mint := func() int {
		req, _ := http.NewRequest("GET", "https://login.microsoftonline.com/keyhaven/runtime/token?resource=https://vault.azure.net", nil)
		req.Header.Set("Authorization", "KeyhavenRuntime "+cred["credential"].(string))
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := mint(); st != 200 {
		t.Fatalf("mint: %d", st)
	}
	// A reader may not deploy, so gets no credential.
	reader, _ := spToken(t, env, "reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "/subscriptions/"+env.SubscriptionID)
	if s, _ := armCall(t, env, reader, "POST", site+"/keyhavenRuntimeCredential"+api, nil); s != 403 {
		t.Errorf("reader got a runtime credential: %d", s)
	}
	armCall(t, env, admin, "DELETE", site+api, nil)
	if st := mint(); st != 401 {
		t.Fatalf("mint after the app was deleted: %d", st)
	}
}

// TestScenarioS4S6S8 runs the unmodified app as a service principal (S4: DefaultAzureCredential's environment
// credential against login.microsoftonline.com, through the runner's proxy), with get but not list (S6: list is
// ForbiddenByPolicy), and behind the vault firewall (S8: the runner's address must be allowed).
func TestScenarioS4S6S8(t *testing.T) {
	s := newScenario(t, "kvread")
	k := s.k
	var sp map[string]any
	k.ok(&sp, "ad", "sp", "create-for-rbac", "--name", "scenario-sp")
	var shown map[string]any
	k.ok(&shown, "ad", "sp", "show", "--id", sp["appId"].(string))
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--spn", sp["appId"].(string), "--secret-permissions", "get")
	k.ok(nil, "webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings",
		"AZURE_TENANT_ID="+sp["tenant"].(string), "AZURE_CLIENT_ID="+sp["appId"].(string), "AZURE_CLIENT_SECRET="+sp["password"].(string))
	if out, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret", "default"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("S4 service principal: %d %s %s", code, out, errOut)
	}
	_, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret", "default", "list")
	if code != 4 || !strings.Contains(errOut, "ForbiddenByPolicy") {
		t.Fatalf("S6 list without list permission: %d %s", code, errOut)
	}
	k.ok(nil, "keyvault", "update", "-n", s.vault, "--default-action", "Deny")
	if _, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret", "default"); code == 0 || !strings.Contains(errOut, "ForbiddenByFirewall") {
		t.Fatalf("S8 behind the firewall: %d %s", code, errOut)
	}
	k.ok(nil, "keyvault", "network-rule", "add", "-n", s.vault, "--ip-address", "127.0.0.1")
	if out, errOut, code := s.run("webapp", "app", s.apps["kvread"], s.vault, "mySecret", "default"); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("S8 listed address: %d %s %s", code, out, errOut)
	}
}

// nodeApp returns the command that runs the Node.js scenario app, or skips when its packages are not installed
// (.ci/run installs them from the lockfile with npm ci).
func nodeApp(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: skipping the Node.js scenarios")
	}
	dir, _ := filepath.Abs("node")
	if _, err := exec.Command("test", "-d", filepath.Join(dir, "node_modules", "@azure", "identity")).CombinedOutput(); err != nil {
		t.Skip("e2e/node/node_modules is missing: run `npm ci` in e2e/node (.ci/run does) to run the Node.js scenarios")
	}
	return []string{node, filepath.Join(dir, "kvread.js")}
}

// TestScenarioNode runs S1 and S2 with a Node.js app using @azure/identity and @azure/keyvault-secrets from npm.
func TestScenarioNode(t *testing.T) {
	app := nodeApp(t)
	s := newScenario(t)
	k := s.k
	var identity map[string]any
	k.ok(&identity, "webapp", "identity", "assign", "-g", "rg", "-n", "app")
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", identity["principalId"].(string), "--secret-permissions", "get", "list")
	if out, errOut, code := s.run("webapp", "app", append(app, s.vault, "mySecret")...); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("S1 in Node.js: %d %s %s", code, out, errOut)
	}
	// S2: only a user-assigned identity; the app names it with AZURE_CLIENT_ID.
	var uami map[string]any
	k.ok(&uami, "identity", "create", "-g", "rg", "-n", "nodeIdentity")
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", uami["principalId"].(string), "--secret-permissions", "get", "list")
	k.ok(nil, "webapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", uami["id"].(string))
	k.ok(nil, "webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", "[system]")
	if _, _, code := s.run("webapp", "app", append(app, s.vault, "mySecret")...); code == 0 {
		t.Fatal("S2 in Node.js: no identity named, yet the app read the secret")
	}
	k.ok(nil, "webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings", "AZURE_CLIENT_ID="+uami["clientId"].(string))
	if out, errOut, code := s.run("webapp", "app", append(app, s.vault, "mySecret")...); code != 0 || strings.TrimSpace(out) != "scenario-value" {
		t.Fatalf("S2 in Node.js: %d %s %s", code, out, errOut)
	}
}

// TestEnvForADeveloperShell: keyhaven env's settings, through keyhaven serve's proxy, let an unmodified app run
// from a developer's shell as a service principal reach the vault under its Azure name.
func TestEnvForADeveloperShell(t *testing.T) {
	s := newScenario(t, "kvread")
	k := s.k
	var sp map[string]any
	k.ok(&sp, "ad", "sp", "create-for-rbac", "--name", "dev-shell")
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--spn", sp["appId"].(string), "--secret-permissions", "get")
	out := k.ok(nil, "env", "--proxy", "http://"+s.env.App.ProxyAddr())
	env := []string{"AZURE_TENANT_ID=" + sp["tenant"].(string), "AZURE_CLIENT_ID=" + sp["appId"].(string), "AZURE_CLIENT_SECRET=" + sp["password"].(string), "PATH=/usr/bin:/bin"}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		kv := strings.TrimPrefix(line, "export ")
		name, val, _ := strings.Cut(kv, "=")
		env = append(env, name+"="+strings.Trim(val, "'"))
	}
	cmd := exec.Command(s.apps["kvread"], s.vault, "mySecret", "default")
	cmd.Env = env
	got, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "scenario-value" {
		t.Fatalf("app in a shell with keyhaven env: %v\n%s", err, got)
	}
}

// TestRemovedIdentityTokens (S3 and the negatives): after a system identity is removed, a token it was issued
// earlier is refused by the vault; after a user-assigned identity is unassigned, the app's request for its token
// is refused in App Service's shape.
func TestRemovedIdentityTokens(t *testing.T) {
	s := newScenario(t, "probe")
	k := s.k
	var identity map[string]any
	k.ok(&identity, "webapp", "identity", "assign", "-g", "rg", "-n", "app")
	k.ok(nil, "keyvault", "set-policy", "-n", s.vault, "--object-id", identity["principalId"].(string), "--secret-permissions", "get")
	tokenURL := "$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://vault.azure.net"
	out, errOut, code := s.run("webapp", "app", s.apps["probe"], "GET", tokenURL, "X-IDENTITY-HEADER:$IDENTITY_HEADER")
	lines := strings.SplitN(strings.TrimSpace(out), "\n", 2)
	if code != 0 || len(lines) != 2 || lines[0] != "200" {
		t.Fatalf("token: %d %s %s", code, out, errOut)
	}
	var tok map[string]string
	json.Unmarshal([]byte(lines[1]), &tok)
	if status, _ := rawGet(t, s.env, s.vault, tok["access_token"], nil); status == 401 {
		t.Fatal("the fresh token is refused")
	}
	k.ok(nil, "webapp", "identity", "remove", "-g", "rg", "-n", "app")
	if status, _ := rawGet(t, s.env, s.vault, tok["access_token"], nil); status != 401 {
		t.Fatalf("a removed identity's earlier token: %d", status)
	}
	// A user-assigned identity, assigned then unassigned: its token request is refused.
	var uami map[string]any
	k.ok(&uami, "identity", "create", "-g", "rg", "-n", "gone")
	k.ok(nil, "webapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", uami["id"].(string))
	byClient := tokenURL + "&client_id=" + uami["clientId"].(string)
	if out, _, _ := s.run("webapp", "app", s.apps["probe"], "GET", byClient, "X-IDENTITY-HEADER:$IDENTITY_HEADER"); !strings.HasPrefix(out, "200") {
		t.Fatalf("assigned user identity: %s", out)
	}
	k.ok(nil, "webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", uami["id"].(string))
	out, _, _ = s.run("webapp", "app", s.apps["probe"], "GET", byClient, "X-IDENTITY-HEADER:$IDENTITY_HEADER")
	if !strings.HasPrefix(out, "400") || !strings.Contains(out, `"statusCode":400`) || !strings.Contains(out, "correlationId") {
		t.Fatalf("unassigned user identity: %s", out)
	}
}
