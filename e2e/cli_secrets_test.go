package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// The keyvault secret commands and keyhaven's audit list, run as scripts run az's, against a real server,
// signed in as the administrator on an access-policy vault. The output checks are az's printed shapes
// (keyvault/_transformers.py): ISO-8601 dates, every attribute, null for what the service left out.

var (
	isoRE       = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)
	secretIDRE  = regexp.MustCompile(`^https://kvcli\.vault\.azure\.net/secrets/([0-9A-Za-z-]+)/([0-9a-f]{32})$`)
	secretShape = []string{"attributes", "contentType", "id", "kid", "managed", "name", "tags", "value"}
	itemShape   = []string{"attributes", "contentType", "id", "managed", "name", "tags"}
	attrShape   = []string{"created", "enabled", "expires", "notBefore", "recoverableDays", "recoveryLevel", "updated"}
)

// attrs returns a printed secret's attributes, failing unless they have az's shape.
func attrs(t *testing.T, what string, s map[string]any) map[string]any {
	t.Helper()
	a, _ := s["attributes"].(map[string]any)
	exactKeys(t, what+" attributes", a, attrShape...)
	for _, k := range []string{"created", "updated"} {
		if v, _ := a[k].(string); !isoRE.MatchString(v) {
			t.Errorf("%s attributes.%s = %v, want an ISO-8601 date with offset", what, k, a[k])
		}
	}
	return a
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCLISecrets(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	k := newCLI(t)
	k.ok(nil, "login", "--server", "https://"+env.Addr, "--ca-file", env.CAPath, "-u", "admin", "-p", testenv.AdminPassword)
	adminOID := strings.TrimSpace(k.ok(nil, "ad", "signed-in-user", "show", "--query", "id", "-o", "tsv"))
	k.ok(nil, "group", "create", "-n", "rg", "-l", "westus")
	k.ok(nil, "keyvault", "create", "-n", "kvcli", "-g", "rg", "--enable-rbac-authorization", "false")
	start := time.Now().Add(-time.Minute)
	dir := t.TempDir()
	kv := []string{"--vault-name", "kvcli"}
	secret := func(verb string, args ...string) []string {
		return append(append([]string{"keyvault", "secret", verb}, kv...), args...)
	}

	// set --value: az's shape, the file-encoding tag az always adds, the service's attributes as dates.
	var v1 map[string]any
	out := k.ok(&v1, secret("set", "-n", "db", "--value", "s3cr3t", "--description", "password", "--tags", "env=prod")...)
	exactKeys(t, "secret set", v1, secretShape...)
	m := secretIDRE.FindStringSubmatch(fmt.Sprint(v1["id"]))
	if m == nil || m[1] != "db" || v1["name"] != "db" || v1["value"] != "s3cr3t" || v1["contentType"] != "password" ||
		v1["kid"] != nil || v1["managed"] != nil {
		t.Fatalf("secret set: %v", v1)
	}
	version1 := m[2]
	if tags, _ := v1["tags"].(map[string]any); len(tags) != 2 || tags["env"] != "prod" || tags["file-encoding"] != "utf-8" {
		t.Errorf("secret set tags: %v", v1["tags"])
	}
	a := attrs(t, "secret set", v1)
	if a["enabled"] != true || a["expires"] != nil || a["notBefore"] != nil || a["recoverableDays"] != float64(90) ||
		a["recoveryLevel"] != "Recoverable+Purgeable" {
		t.Errorf("secret set attributes: %v", a)
	}
	if !strings.Contains(out, `"created": "`) || !strings.Contains(out, `"expires": null`) {
		t.Errorf("secret set output is not az's JSON:\n%s", out)
	}

	// A second version with dates.
	var v2 map[string]any
	k.ok(&v2, secret("set", "-n", "db", "--value", "second", "--expires", "2030-01-02T03:04:05Z", "--not-before", "2024-01-01")...)
	version2 := secretIDRE.FindStringSubmatch(fmt.Sprint(v2["id"]))[2]
	a = attrs(t, "secret set (dates)", v2)
	if a["expires"] != "2030-01-02T03:04:05+00:00" || a["notBefore"] != "2024-01-01T00:00:00+00:00" || v2["contentType"] != nil {
		t.Errorf("secret set --expires --not-before: %v", a)
	}
	if out := k.fails(2, secret("set", "-n", "db", "--value", "x", "--expires", "tomorrow")...); !strings.Contains(out, "argument --expires: invalid datetime_type value: 'tomorrow'") {
		t.Errorf("set --expires tomorrow: %q", out)
	}

	// show: the latest, a version by --version and by --id, and --query value -o tsv.
	var shown map[string]any
	k.ok(&shown, secret("show", "-n", "db")...)
	exactKeys(t, "secret show", shown, secretShape...)
	if shown["value"] != "second" || shown["id"] != v2["id"] {
		t.Errorf("secret show: %v", shown)
	}
	if got := strings.TrimSpace(k.ok(nil, secret("show", "-n", "db", "--version", version1, "--query", "value", "-o", "tsv")...)); got != "s3cr3t" {
		t.Errorf("secret show --version: %q", got)
	}
	k.ok(&shown, "keyvault", "secret", "show", "--id", v1["id"].(string))
	if shown["value"] != "s3cr3t" || shown["name"] != "db" {
		t.Errorf("secret show --id: %v", shown)
	}
	if out := k.fails(1, "keyvault", "secret", "show", "--id", v1["id"].(string), "--vault-name", "kvcli"); !strings.Contains(out, "ERROR: --vault-name and --id are mutually exclusive.") {
		t.Errorf("show --id --vault-name: %q", out)
	}
	if out := k.fails(1, "keyvault", "secret", "show", "-n", "db"); !strings.Contains(out, "incorrect usage: --id ID | --vault-name/--hsm-name VAULT/HSM --name/-n NAME [--version VERSION]") {
		t.Errorf("show without a vault: %q", out)
	}
	// A show command's not-found exits 3 with azure-core's error text.
	out = k.fails(3, secret("show", "-n", "nope")...)
	if !strings.Contains(out, "ERROR: (SecretNotFound) A secret with (name/id) nope was not found in this key vault.") || !strings.Contains(out, "\nCode: SecretNotFound\nMessage: A secret with") {
		t.Errorf("show (missing): %q", out)
	}

	// list-versions and list: items without values; list ids carry no version.
	var items []map[string]any
	k.ok(&items, secret("list-versions", "-n", "db")...)
	if len(items) != 2 {
		t.Fatalf("list-versions: %v", items)
	}
	for _, it := range items {
		exactKeys(t, "list-versions item", it, itemShape...)
		attrs(t, "list-versions item", it)
		if secretIDRE.FindStringSubmatch(fmt.Sprint(it["id"])) == nil || it["name"] != "db" {
			t.Errorf("list-versions item: %v", it)
		}
	}
	k.ok(&items, secret("list")...)
	if len(items) != 1 || items[0]["id"] != "https://kvcli.vault.azure.net/secrets/db" || items[0]["name"] != "db" {
		t.Errorf("secret list: %v", items)
	}
	exactKeys(t, "list item", items[0], itemShape...)
	table := k.ok(nil, secret("list", "-o", "table")...)
	// knack leaves out the columns of null values: db's latest version has no content type.
	if !regexp.MustCompile(`^Name\s+Id\s+Enabled\s+Expires\n`).MatchString(table) || !strings.Contains(table, "https://kvcli.vault.azure.net/secrets/db") {
		t.Errorf("secret list -o table:\n%s", table)
	}

	// set --file with each encoding, and download with the tag's encoding or another.
	text := writeFile(t, dir, "text.txt", []byte("line one\r\nline two\n"))
	k.ok(&shown, secret("set", "-n", "text", "--file", text)...)
	if shown["value"] != "line one\nline two\n" || shown["tags"].(map[string]any)["file-encoding"] != "utf-8" {
		t.Errorf("set --file (utf-8): %v", shown)
	}
	binary := make([]byte, 100)
	rand.Read(binary)
	bin := writeFile(t, dir, "blob.bin", binary)
	k.ok(&shown, secret("set", "-n", "blob", "-f", bin, "-e", "base64")...)
	value, _ := shown["value"].(string)
	if lines := strings.Split(value, "\n"); len(lines) != 3 || len(lines[0]) != 76 || lines[2] != "" || shown["tags"].(map[string]any)["file-encoding"] != "base64" {
		t.Errorf("set --encoding base64 (base64.encodebytes: 76-character lines): %q", value)
	}
	k.ok(&shown, secret("set", "-n", "hexblob", "-f", bin, "--encoding", "hex")...)
	if v, _ := shown["value"].(string); len(v) != 200 || strings.ToLower(v) != v {
		t.Errorf("set --encoding hex: %q", v)
	}
	utf16 := writeFile(t, dir, "utf16.txt", []byte("grüße"))
	k.ok(&shown, secret("set", "-n", "utf16", "-f", utf16, "-e", "utf-16le")...)
	if shown["value"] != "grüße" || shown["tags"].(map[string]any)["file-encoding"] != "utf-16le" {
		t.Errorf("set --encoding utf-16le (az stores the text it read): %v", shown)
	}
	if out := k.fails(2, secret("set", "-n", "x", "-f", utf16, "-e", "ascii")...); !strings.Contains(out, `'ascii' codec can't encode characters in position 2-3: ordinal not in range(128)`) {
		t.Errorf("set --encoding ascii (non-ASCII file): %q", out)
	}
	if out := k.fails(1, secret("set", "-n", "x", "--value", "v", "-f", text)...); !strings.Contains(out, "ERROR: incorrect usage: [Required] --value VALUE | --file PATH") {
		t.Errorf("set --value --file: %q", out)
	}
	if out := k.fails(1, secret("set", "-n", "x", "-f", filepath.Join(dir, "missing"))...); !strings.Contains(out, "[Errno 2] No such file or directory: '") {
		t.Errorf("set --file missing: %q", out)
	}

	dl := func(name string, args ...string) []byte {
		t.Helper()
		p := filepath.Join(dir, "dl-"+name+fmt.Sprint(len(args)))
		os.Remove(p)
		k.ok(nil, secret("download", append([]string{"-n", name, "-f", p}, args...)...)...)
		return readFile(t, p)
	}
	if got := dl("blob"); !bytes.Equal(got, binary) {
		t.Errorf("download base64 secret: %x", got)
	}
	if got := dl("hexblob"); !bytes.Equal(got, binary) {
		t.Errorf("download hex secret: %x", got)
	}
	if got := dl("text"); string(got) != "line one\nline two\n" {
		t.Errorf("download utf-8 secret: %q", got)
	}
	// az opens text files with the locale's encoding (UTF-8) whatever the encoding asked for.
	if got := dl("utf16"); string(got) != "grüße" {
		t.Errorf("download utf-16le secret: %q", got)
	}
	if got := dl("blob", "-e", "utf-8"); string(got) != value {
		t.Errorf("download --encoding utf-8 of a base64 secret: %q", got)
	}
	if got := dl("db", "--version", version1); string(got) != "s3cr3t" {
		t.Errorf("download --version: %q", got)
	}
	existing := writeFile(t, dir, "existing", []byte("old"))
	if out := k.fails(1, secret("download", "-n", "db", "-f", existing)...); !strings.Contains(out, "File '"+existing+"' already exists. Use --overwrite to overwrite the existing file.") {
		t.Errorf("download onto a file: %q", out)
	}
	k.ok(nil, secret("download", "-n", "db", "-f", existing, "--overwrite")...)
	if got := readFile(t, existing); string(got) != "second" {
		t.Errorf("download --overwrite: %q", got)
	}
	if out := k.fails(1, secret("download", "-n", "text", "-f", filepath.Join(dir, "bad"), "-e", "base64")...); !strings.Contains(out, "ERROR: ") {
		t.Errorf("download -e base64 of text: %q", out)
	} else if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Errorf("download -e base64 of text left a file")
	}

	// set-attributes: value null; a disabled secret's value is refused with Key Vault's 403 and inner code.
	var upd map[string]any
	k.ok(&upd, secret("set-attributes", "-n", "db", "--enabled", "false", "--content-type", "text/plain", "--tags", "team=core")...)
	exactKeys(t, "set-attributes", upd, secretShape...)
	if upd["value"] != nil || upd["id"] != v2["id"] || upd["contentType"] != "text/plain" || attrs(t, "set-attributes", upd)["enabled"] != false {
		t.Errorf("set-attributes: %v", upd)
	}
	if tags, _ := upd["tags"].(map[string]any); len(tags) != 1 || tags["team"] != "core" {
		t.Errorf("set-attributes --tags: %v", upd["tags"])
	}
	out = k.fails(1, secret("show", "-n", "db")...)
	want := "ERROR: (Forbidden) Operation get is not allowed on a disabled secret.\nCode: Forbidden\nMessage: Operation get is not allowed on a disabled secret.\nInner error: {\n    \"code\": \"SecretDisabled\"\n}\n"
	if out != want {
		t.Errorf("show (disabled):\n got %q\nwant %q", out, want)
	}
	k.ok(&shown, "keyvault", "secret", "show", "--id", v1["id"].(string))
	if shown["value"] != "s3cr3t" {
		t.Errorf("show of an enabled older version: %v", shown)
	}
	k.ok(&upd, "keyvault", "secret", "set-attributes", "--id", v2["id"].(string), "--enabled")
	if attrs(t, "set-attributes --enabled", upd)["enabled"] != true {
		t.Errorf("set-attributes --enabled: %v", upd)
	}

	// delete (soft), list-deleted, show-deleted and recover by recovery id.
	var del map[string]any
	_, errOut, code := k.run(secret("delete", "-n", "db")...)
	if code != 0 || !strings.HasPrefix(errOut, "Warning! If you have soft-delete protection enabled on this key vault, this secret will be moved to the soft deleted state.") {
		t.Fatalf("secret delete: %d %q", code, errOut)
	}
	k.ok(&del, secret("show-deleted", "-n", "db")...)
	exactKeys(t, "show-deleted", del, append(secretShape, "deletedDate", "recoveryId", "scheduledPurgeDate")...)
	deleted, _ := time.Parse(time.RFC3339, fmt.Sprint(del["deletedDate"]))
	purge, _ := time.Parse(time.RFC3339, fmt.Sprint(del["scheduledPurgeDate"]))
	if del["recoveryId"] != "https://kvcli.vault.azure.net/deletedsecrets/db" || del["value"] != nil || !isoRE.MatchString(fmt.Sprint(del["deletedDate"])) ||
		purge.Sub(deleted) != 90*24*time.Hour || del["name"] != "db" {
		t.Errorf("show-deleted: %v", del)
	}
	out = k.fails(1, secret("set", "-n", "db", "--value", "again")...)
	if !strings.Contains(out, "ERROR: (Conflict) Secret db is currently in a deleted but recoverable state") || !strings.Contains(out, "\"code\": \"ObjectIsDeletedButRecoverable\"") {
		t.Errorf("set on a deleted name: %q", out)
	}
	k.ok(&items, secret("list-deleted")...)
	if len(items) != 1 || items[0]["recoveryId"] != del["recoveryId"] {
		t.Fatalf("list-deleted: %v", items)
	}
	exactKeys(t, "list-deleted item", items[0], append(itemShape, "deletedDate", "recoveryId", "scheduledPurgeDate")...)
	var rec map[string]any
	k.ok(&rec, "keyvault", "secret", "recover", "--id", del["recoveryId"].(string))
	exactKeys(t, "recover", rec, secretShape...)
	if rec["value"] != nil || rec["name"] != "db" {
		t.Errorf("recover: %v", rec)
	}
	if got := strings.TrimSpace(k.ok(nil, secret("show", "-n", "db", "--query", "value", "-o", "tsv")...)); got != "second" {
		t.Errorf("show after recover: %q", got)
	}
	k.ok(&items, secret("list-versions", "-n", "db")...)
	if len(items) != 2 {
		t.Errorf("recover keeps the versions: %v", items)
	}

	// delete and purge; purge prints nothing.
	k.ok(nil, secret("set", "-n", "tmp", "--value", "t")...)
	k.ok(nil, secret("delete", "-n", "tmp", "--only-show-errors")...)
	if out := k.ok(nil, secret("purge", "-n", "tmp")...); out != "" {
		t.Errorf("purge printed %q", out)
	}
	if out := k.fails(1, secret("show-deleted", "-n", "tmp")...); !strings.Contains(out, "ERROR: (SecretNotFound) Deleted Secret not found: tmp") {
		t.Errorf("show-deleted after purge: %q", out)
	}

	// backup to a file, delete and purge, restore from the file: every version comes back.
	backup := filepath.Join(dir, "db.backup")
	if out := k.ok(nil, secret("backup", "-n", "db", "-f", backup)...); out != "" {
		t.Errorf("backup printed %q", out)
	}
	if blob := readFile(t, backup); len(blob) == 0 {
		t.Fatalf("backup file is empty")
	}
	k.ok(nil, secret("delete", "-n", "db", "--only-show-errors")...)
	k.ok(nil, "keyvault", "secret", "purge", "--id", "https://kvcli.vault.azure.net/deletedsecrets/db")
	var restored map[string]any
	k.ok(&restored, secret("restore", "-f", backup)...)
	exactKeys(t, "restore", restored, secretShape...)
	if restored["value"] != nil || restored["name"] != "db" || restored["id"] != v2["id"] {
		t.Errorf("restore: %v", restored)
	}
	k.ok(&items, secret("list-versions", "-n", "db")...)
	if len(items) != 2 {
		t.Errorf("restore brings every version back: %v", items)
	}
	if got := strings.TrimSpace(k.ok(nil, secret("show", "-n", "db", "-v", version2, "--query", "value", "-o", "tsv")...)); got != "second" {
		t.Errorf("show after restore: %q", got)
	}
	if out := k.fails(1, secret("restore", "-f", backup)...); !strings.Contains(out, "ERROR: (Conflict)") {
		t.Errorf("restore over an existing secret: %q", out)
	}

	// Paging: more than a page of secrets; list follows nextLink, --maxresults keeps that many.
	for i := 0; i < 26; i++ {
		k.ok(nil, secret("set", "-n", fmt.Sprintf("page-%02d", i), "--value", "p")...)
	}
	k.ok(&items, secret("list")...)
	if len(items) != 31 {
		t.Errorf("secret list over two pages: %d items", len(items))
	}
	names := map[string]bool{}
	for _, it := range items {
		names[fmt.Sprint(it["name"])] = true
	}
	if !names["page-00"] || !names["page-25"] || !names["db"] || len(names) != 31 {
		t.Errorf("secret list names: %v", names)
	}
	k.ok(&items, "keyvault", "secret", "list", "--id", "https://kvcli.vault.azure.net", "--maxresults", "5")
	if len(items) != 5 {
		t.Errorf("secret list --maxresults 5: %d items", len(items))
	}
	if out := k.fails(1, secret("list", "--maxresults", "26")...); !strings.Contains(out, "ERROR: (BadParameter)") {
		t.Errorf("secret list --maxresults 26: %q", out)
	}

	// audit list: the data-plane calls on the vault, which the server writes in batches.
	var records []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		k.ok(&records, "audit", "list", "--vault-name", "kvcli", "--plane", "data", "--since", start.UTC().Format(time.RFC3339))
		ops := map[string]int{}
		for _, r := range records {
			ops[fmt.Sprint(r["operation"])]++
		}
		if ops["SecretList"] >= 3 && ops["SecretRestore"] >= 2 && ops["SecretPurge"] >= 2 || time.Now().After(deadline) {
			if ops["SecretSet"] < 30 || ops["SecretGet"] == 0 || ops["SecretUpdate"] != 2 || ops["SecretDelete"] != 3 || ops["SecretRecover"] != 1 ||
				ops["SecretBackup"] != 1 || ops["SecretGetDeleted"] == 0 || ops["SecretListDeleted"] != 1 || ops["SecretListVersions"] == 0 {
				t.Errorf("audit list operations: %v", ops)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var disabled map[string]any
	for _, r := range records {
		exactKeys(t, "audit record", r, "time", "plane", "callerObjectId", "callerAppId", "callerName", "clientIp", "operation", "target",
			"status", "code", "requestId")
		if r["plane"] != "data" || !strings.HasPrefix(fmt.Sprint(r["target"]), "kvcli") {
			t.Errorf("audit record: %v", r)
		}
		if r["operation"] == "SecretGet" && r["status"] == float64(403) {
			disabled = r
		}
	}
	if disabled == nil || disabled["callerObjectId"] != adminOID || disabled["target"] != "kvcli/secrets/db" || disabled["code"] != "Forbidden/SecretDisabled" {
		t.Errorf("audit record of the disabled get: %v", disabled)
	}
	k.ok(&records, "audit", "list", "--vault-name", "kvcli", "--result", "403")
	if len(records) != 1 || records[0]["operation"] != "SecretGet" {
		t.Errorf("audit list --result 403: %v", records)
	}
	k.ok(&records, "audit", "list", "--vault-name", "kvcli", "--plane", "management")
	if len(records) == 0 || records[0]["plane"] != "management" {
		t.Errorf("audit list --plane management: %v", records)
	}
	table = k.ok(nil, "audit", "list", "--vault-name", "kvcli", "--plane", "data", "--result", "failure", "-o", "table")
	if !regexp.MustCompile(`^Time\s+Plane\s+Operation\s+Target\s+Status\s+Caller\n`).MatchString(table) || !strings.Contains(table, "SecretGet") {
		t.Errorf("audit list -o table:\n%s", table)
	}
	if out := k.fails(2, "audit", "list", "--since", "yesterday"); !strings.Contains(out, "argument --since:") {
		t.Errorf("audit list --since yesterday: %q", out)
	}
}
