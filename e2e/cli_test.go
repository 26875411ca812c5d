package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/cli/commands"
	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/internal/token"
)

// kh runs a keyhaven CLI command in-process with its own config dir, like a shell would run the binary.
type kh struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *kh {
	return &kh{t: t, env: map[string]string{"KEYHAVEN_CONFIG_DIR": filepath.Join(t.TempDir(), "kh")}}
}

func (k *kh) run(args ...string) (string, string, int) {
	k.t.Helper()
	app := cli.New("keyhaven", "keyhaven")
	commands.Register(app)
	var out, errb bytes.Buffer
	code := app.Run(args, strings.NewReader(""), &out, &errb, func(key string) string { return k.env[key] })
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and decodes its JSON output into v (if not nil).
func (k *kh) ok(v any, args ...string) string {
	k.t.Helper()
	out, errOut, code := k.run(args...)
	if code != 0 {
		k.t.Fatalf("keyhaven %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			k.t.Fatalf("keyhaven %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return out
}

func TestCLILoginAndDirectory(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	k := newCLI(t)
	server := "https://" + env.Addr

	var accounts []map[string]any
	k.ok(&accounts, "login", "--server", server, "--ca-file", env.CAPath, "-u", "admin", "-p", testenv.AdminPassword)
	if len(accounts) != 1 {
		t.Fatalf("login: %v", accounts)
	}
	a := accounts[0]
	user, _ := a["user"].(map[string]any)
	if a["id"] != env.SubscriptionID || a["tenantId"] != env.TenantID || a["isDefault"] != true || a["cloudName"] != "AzureCloud" ||
		a["state"] != "Enabled" || user["name"] != "admin@keyhaven.local" || user["type"] != "user" || a["homeTenantId"] != env.TenantID {
		t.Errorf("login output: %v", a)
	}
	if fi, err := os.Stat(filepath.Join(k.env["KEYHAVEN_CONFIG_DIR"], "profile.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("profile: %v %v", fi, err)
	}
	var show map[string]any
	k.ok(&show, "account", "show")
	if show["id"] != env.SubscriptionID {
		t.Errorf("account show: %v", show)
	}

	// get-access-token: az's keys; --query accessToken -o tsv prints the bare token.
	var tok map[string]any
	k.ok(&tok, "account", "get-access-token", "--resource", "https://vault.azure.net")
	for _, key := range []string{"accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"} {
		if _, ok := tok[key]; !ok {
			t.Errorf("get-access-token lacks %s: %v", key, tok)
		}
	}
	raw := strings.TrimSpace(k.ok(nil, "account", "get-access-token", "--resource", "https://vault.azure.net", "--query", "accessToken", "-o", "tsv"))
	c, err := env.App.Validator().Validate(context.Background(), raw, vaultAudience)
	if err != nil || c.Upn != "" && c.Upn != "admin@keyhaven.local" {
		t.Fatalf("CLI token: %v %+v", err, c)
	}
	if _, err := env.App.Validator().Validate(context.Background(),
		strings.TrimSpace(k.ok(nil, "account", "get-access-token", "--scope", "https://graph.microsoft.com/.default", "--query", "accessToken", "-o", "tsv")),
		token.Expect{Audiences: []string{"https://graph.microsoft.com"}}); err != nil {
		t.Fatalf("--scope token: %v", err)
	}
	if out := strings.TrimSpace(k.ok(nil, "ad", "signed-in-user", "show", "--query", "userPrincipalName", "-o", "tsv")); out != "admin@keyhaven.local" {
		t.Errorf("signed-in-user: %q", out)
	}

	// Users, groups and membership.
	var bob map[string]any
	k.ok(&bob, "ad", "user", "create", "--display-name", "Bob", "--password", "Bob-Passw0rd!", "--user-principal-name", "bob@keyhaven.local")
	bobID, _ := bob["id"].(string)
	if bobID == "" || bob["userPrincipalName"] != "bob@keyhaven.local" || bob["@odata.context"] != nil {
		t.Fatalf("user create: %v", bob)
	}
	var group map[string]any
	k.ok(&group, "ad", "group", "create", "--display-name", "Readers", "--mail-nickname", "readers")
	k.ok(nil, "ad", "group", "member", "add", "--group", "Readers", "--member-id", bobID)
	var check map[string]any
	k.ok(&check, "ad", "group", "member", "check", "--group", "Readers", "--member-id", bobID)
	if check["value"] != true {
		t.Errorf("member check: %v", check)
	}
	if out := strings.TrimSpace(k.ok(nil, "ad", "group", "member", "list", "-g", group["id"].(string), "--query", "[].userPrincipalName", "-o", "tsv")); out != "bob@keyhaven.local" {
		t.Errorf("member list: %q", out)
	}
	var users []map[string]any
	k.ok(&users, "ad", "user", "list", "--display-name", "Bo")
	if len(users) != 1 {
		t.Errorf("user list: %v", users)
	}
	if _, errOut, code := k.run("ad", "group", "show", "--group", "Nobody"); code != 1 || !strings.Contains(errOut, "No group matches the name of 'Nobody'") {
		t.Errorf("missing group: %d %s", code, errOut)
	}
	if _, errOut, code := k.run("ad", "user", "create", "--display-name", "X"); code != 2 || !strings.Contains(errOut, "the following arguments are required") {
		t.Errorf("missing args: %d %s", code, errOut)
	}

	// A service principal with a secret, and one with a certificate.
	var sp map[string]any
	_, warn, _ := k.run("ad", "sp", "create-for-rbac", "--name", "ci-pipeline")
	k.ok(&sp, "ad", "sp", "create-for-rbac", "--name", "ci-pipeline-2")
	if !strings.Contains(warn, "WARNING: The output includes credentials") {
		t.Errorf("no credentials warning: %q", warn)
	}
	if sp["appId"] == nil || sp["tenant"] != env.TenantID || sp["displayName"] != "ci-pipeline-2" || len(sp["password"].(string)) != 40 {
		t.Fatalf("create-for-rbac: %v", sp)
	}
	var spShow map[string]any
	k.ok(&spShow, "ad", "sp", "show", "--id", sp["appId"].(string))
	if spShow["appId"] != sp["appId"] || spShow["servicePrincipalType"] != "Application" {
		t.Errorf("sp show: %v", spShow)
	}
	var certSP map[string]any
	k.ok(&certSP, "ad", "sp", "create-for-rbac", "--name", "ci-cert", "--create-cert")
	certFile, _ := certSP["fileWithCertAndPrivateKey"].(string)
	if certFile == "" || certSP["password"] != nil {
		t.Fatalf("create-for-rbac --create-cert: %v", certSP)
	}

	spCLI := newCLI(t)
	spCLI.ok(&accounts, "login", "--service-principal", "-u", sp["appId"].(string), "-p", sp["password"].(string), "--tenant", env.TenantID,
		"--server", server, "--ca-file", env.CAPath, "--allow-no-subscriptions")
	if u, _ := accounts[0]["user"].(map[string]any); u["type"] != "servicePrincipal" || u["name"] != sp["appId"] {
		t.Errorf("sp login: %v", accounts)
	}
	raw = strings.TrimSpace(spCLI.ok(nil, "account", "get-access-token", "--resource", "https://vault.azure.net", "--query", "accessToken", "-o", "tsv"))
	c, err = env.App.Validator().Validate(context.Background(), raw, vaultAudience)
	if err != nil || c.ClientID() != sp["appId"] || !c.IsApp() {
		t.Fatalf("sp token: %v %+v", err, c)
	}

	certCLI := newCLI(t)
	certCLI.ok(nil, "login", "--service-principal", "-u", certSP["appId"].(string), "--certificate", certFile, "--tenant", "keyhaven.local",
		"--server", server, "--ca-file", env.CAPath, "--allow-no-subscriptions")
	raw = strings.TrimSpace(certCLI.ok(nil, "account", "get-access-token", "--resource", "https://vault.azure.net", "--query", "accessToken", "-o", "tsv"))
	if c, err := env.App.Validator().Validate(context.Background(), raw, vaultAudience); err != nil || c.ClientID() != certSP["appId"] {
		t.Fatalf("certificate sp token: %v %+v", err, c)
	}

	// Wrong password: az's message, exit 1; logout forgets the session.
	bad := newCLI(t)
	if _, errOut, code := bad.run("login", "--server", server, "--ca-file", env.CAPath, "-u", "admin", "-p", "wrong"); code != 1 || !strings.Contains(errOut, "AADSTS50126") {
		t.Errorf("bad password: %d %s", code, errOut)
	}
	k.ok(nil, "logout")
	if _, errOut, code := k.run("account", "show"); code != 1 || !strings.Contains(errOut, "keyhaven login") {
		t.Errorf("after logout: %d %s", code, errOut)
	}
}
