package commands

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// These tests pin the requests the management commands send and what they print, against a fake ARM and
// Graph that answer with canned bodies: the request shapes follow azure-cli's source (appservice, keyvault,
// role and resource modules).

const (
	testSub    = "00000000-0000-0000-0000-0000000000aa"
	testTenant = "00000000-0000-0000-0000-0000000000bb"
	testOID    = "00000000-0000-0000-0000-0000000000cc"
)

// request is one call the fake saw.
type request struct {
	Method, Path, Query string
	Body                any
	// Host and Auth are the Host and Authorization headers.
	Host, Auth string
}

// fakeAzure answers "METHOD /path" routes with a status and a JSON body; anything else is ARM's 404.
type fakeAzure struct {
	routes   map[string]func(body any) (int, any)
	requests []request
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body any
	data, _ := io.ReadAll(r.Body)
	if len(data) > 0 {
		json.Unmarshal(data, &body)
	}
	f.requests = append(f.requests, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body,
		Host: r.Host, Auth: r.Header.Get("Authorization")})
	status, out := http.StatusNotFound, any(map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": "not found: " + r.URL.Path}})
	if h, ok := f.routes[r.Method+" "+r.URL.Path]; ok {
		status, out = h(body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if out != nil {
		json.NewEncoder(w).Encode(out)
	}
}

// sent returns the bodies of the requests with method and path.
func (f *fakeAzure) sent(method, path string) []any {
	var out []any
	for _, r := range f.requests {
		if r.Method == method && r.Path == path {
			out = append(out, r.Body)
		}
	}
	return out
}

// fixed answers every call with status and body.
func fixed(status int, body string) func(any) (int, any) {
	if body == "" {
		return func(any) (int, any) { return status, nil }
	}
	if !json.Valid([]byte(body)) {
		panic("bad JSON: " + body)
	}
	// Sent as written, so that key order is the service's.
	return func(any) (int, any) { return status, json.RawMessage(body) }
}

// echo answers with the request body, plus extra fields.
func echo(extra string) func(any) (int, any) {
	return func(b any) (int, any) {
		m, _ := b.(map[string]any)
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		var e map[string]any
		json.Unmarshal([]byte(extra), &e)
		for k, v := range e {
			out[k] = v
		}
		return http.StatusOK, out
	}
}

// startFake runs the fake under Azure's host names (vaults' too) and writes a signed-in profile for it.
func startFake(t *testing.T, f *fakeAzure) func(args ...string) (string, string, int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake azure"},
		DNSNames: []string{client.ManagementHost, client.GraphHost, "*" + client.VaultDNSSuffix}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]string{"oid": testOID, "tid": testTenant})
	tok := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	later := time.Now().Add(time.Hour)
	p := &client.Profile{Server: srv.URL, CAFile: caFile, TenantID: testTenant, User: client.UserInfo{Name: "admin@contoso.com", Type: "user"},
		Accounts: []client.Account{{ID: testSub, IsDefault: true, TenantID: testTenant, Name: "sub"}},
		Tokens: map[string]client.CachedToken{client.ResourceManagement: {AccessToken: tok, ExpiresOn: later},
			client.ResourceGraph: {AccessToken: tok, ExpiresOn: later}, client.ResourceVault: {AccessToken: tok, ExpiresOn: later}}}
	cfg := filepath.Join(dir, "kh")
	if err := p.Save(cfg); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, string, int) {
		app := cli.New("keyhaven", "keyhaven")
		Register(app)
		var out, errb bytes.Buffer
		code := app.Run(args, strings.NewReader(""), &out, &errb, func(k string) string {
			if k == "KEYHAVEN_CONFIG_DIR" {
				return cfg
			}
			return ""
		})
		return out.String(), errb.String(), code
	}
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func mustEqualJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", what, err)
	}
	g, _ := json.Marshal(got)
	var gn any
	json.Unmarshal(g, &gn)
	if !reflect.DeepEqual(gn, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, want)
	}
}

const (
	rgPath    = "/subscriptions/" + testSub + "/resourceGroups/rg"
	sitePathT = rgPath + "/providers/Microsoft.Web/sites/app"
	uami1     = "/subscriptions/" + testSub + "/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/One"
	uami2     = "/subscriptions/" + testSub + "/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/two"
)

func TestSiteIdentityRequests(t *testing.T) {
	site := func(identity string) string {
		return `{"id":"` + sitePathT + `","name":"app","type":"Microsoft.Web/sites","kind":"app","location":"westus","properties":{"serverFarmId":"x"},"identity":` + identity + `}`
	}
	tests := []struct {
		name     string
		identity string // the site's identity before
		args     []string
		want     string // the identity PUT
	}{
		{"assign system to none", `null`, []string{"webapp", "identity", "assign", "-g", "rg", "-n", "app"}, `{"type":"SystemAssigned"}`},
		{"assign user to system", `{"type":"SystemAssigned","principalId":"p"}`, []string{"webapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", uami1},
			`{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`},
		{"assign system to user keeps user", `{"type":"UserAssigned","userAssignedIdentities":{"` + uami1 + `":{"principalId":"a","clientId":"b"}}}`,
			[]string{"functionapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", "[system]"},
			`{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`},
		{"assign user to user", `{"type":"UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`,
			[]string{"webapp", "identity", "assign", "-g", "rg", "-n", "app", "--identities", uami2},
			`{"type":"UserAssigned","userAssignedIdentities":{"` + uami1 + `":{},"` + uami2 + `":{}}}`},
		{"service spacing", `{"type":"SystemAssigned,UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`,
			[]string{"webapp", "identity", "assign", "-g", "rg", "-n", "app"},
			`{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`},
		{"remove system from both", `{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`,
			[]string{"webapp", "identity", "remove", "-g", "rg", "-n", "app"},
			`{"type":"UserAssigned","userAssignedIdentities":{"` + strings.ToLower(uami1) + `":{}}}`},
		{"remove one user of two", `{"type":"UserAssigned","userAssignedIdentities":{"` + uami1 + `":{},"` + uami2 + `":{}}}`,
			[]string{"webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", uami1},
			`{"type":"UserAssigned","userAssignedIdentities":{"` + strings.ToLower(uami2) + `":{}}}`},
		{"remove last user of both", `{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`,
			[]string{"webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", strings.ToUpper(uami1)},
			`{"type":"SystemAssigned"}`},
		{"remove last user", `{"type":"UserAssigned","userAssignedIdentities":{"` + uami1 + `":{}}}`,
			[]string{"webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", uami1}, `{"type":"None"}`},
		{"remove system", `{"type":"SystemAssigned"}`, []string{"webapp", "identity", "remove", "-g", "rg", "-n", "app"}, `{"type":"None"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAzure{routes: map[string]func(any) (int, any){
				"GET " + sitePathT: fixed(200, site(tc.identity)),
				"PUT " + sitePathT: echo(`{"id":"` + sitePathT + `"}`),
			}}
			run := startFake(t, f)
			out, errOut, code := run(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			puts := f.sent("PUT", sitePathT)
			if len(puts) != 1 {
				t.Fatalf("PUTs: %v", f.requests)
			}
			body := puts[0].(map[string]any)
			mustEqualJSON(t, "identity sent", body["identity"], tc.want)
			for _, ro := range []string{"id", "name", "type"} {
				if _, ok := body[ro]; ok {
					t.Errorf("PUT sends read-only %s", ro)
				}
			}
			// The printed identity has every attribute of the SDK model.
			printed := jsonOf(t, out).(map[string]any)
			for _, k := range []string{"principalId", "tenantId", "type", "userAssignedIdentities"} {
				if _, ok := printed[k]; !ok {
					t.Errorf("printed identity lacks %s: %v", k, printed)
				}
			}
		})
	}

	t.Run("remove what is not assigned", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){"GET " + sitePathT: fixed(200, site(`{"type":"SystemAssigned"}`))}}
		_, errOut, code := startFake(t, f)("webapp", "identity", "remove", "-g", "rg", "-n", "app", "--identities", uami1)
		if code != 1 || !strings.Contains(errOut, "ERROR: '"+strings.ToLower(uami1)+"' are not associated with 'app'") {
			t.Errorf("%d %q", code, errOut)
		}
	})
	t.Run("show without identity prints nothing", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){"GET " + sitePathT: fixed(200, site(`null`))}}
		out, errOut, code := startFake(t, f)("webapp", "identity", "show", "-g", "rg", "-n", "app")
		if code != 0 || out != "" {
			t.Errorf("%d %q %q", code, out, errOut)
		}
	})
}

func TestAppSettingsRequests(t *testing.T) {
	settings := `{"id":"x","name":"appsettings","properties":{"Z_FIRST":"1","A_SECOND":"2"}}`
	f := &fakeAzure{routes: map[string]func(any) (int, any){
		"POST " + sitePathT + "/config/appsettings/list": fixed(200, settings),
		"PUT " + sitePathT + "/config/appsettings":       echo(`{"name":"appsettings"}`),
		"GET " + sitePathT + "/config/slotConfigNames":   fixed(200, `{"properties":{"appSettingNames":["A_SECOND"],"connectionStringNames":["db"]}}`),
		"PUT " + sitePathT + "/config/slotConfigNames":   echo(``),
	}}
	run := startFake(t, f)

	out, errOut, code := run("webapp", "config", "appsettings", "list", "-g", "rg", "-n", "app")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	// The service's order, values shown, slotSetting from slotConfigNames.
	mustEqualJSON(t, "list", jsonOf(t, out), `[{"name":"Z_FIRST","slotSetting":false,"value":"1"},{"name":"A_SECOND","slotSetting":true,"value":"2"}]`)

	f.requests = nil
	out, errOut, code = run("webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app", "--settings", "NEW=x=y", "--slot-settings", "STICKY=s")
	if code != 0 {
		t.Fatalf("set: %d %s", code, errOut)
	}
	mustEqualJSON(t, "set sent", f.sent("PUT", sitePathT+"/config/appsettings")[0],
		`{"properties":{"Z_FIRST":"1","A_SECOND":"2","NEW":"x=y","STICKY":"s"}}`)
	mustEqualJSON(t, "slot names sent", f.sent("PUT", sitePathT+"/config/slotConfigNames")[0],
		`{"properties":{"appSettingNames":["A_SECOND","STICKY"],"connectionStringNames":["db"]}}`)
	if !strings.Contains(errOut, "WARNING: App settings have been redacted.") {
		t.Errorf("set warning: %q", errOut)
	}
	// Redacted values; the answer's properties are what the PUT echoed (a Go map, so compare as a set).
	got := jsonOf(t, out).([]any)
	if len(got) != 4 {
		t.Fatalf("set output: %v", got)
	}
	for _, e := range got {
		m := e.(map[string]any)
		if m["value"] != nil || m["slotSetting"] != (m["name"] == "A_SECOND" || m["name"] == "STICKY") {
			t.Errorf("set output entry: %v", m)
		}
	}

	f.requests = nil
	_, errOut, code = run("webapp", "config", "appsettings", "delete", "-g", "rg", "-n", "app", "--setting-names", "A_SECOND")
	if code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	mustEqualJSON(t, "delete sent", f.sent("PUT", sitePathT+"/config/appsettings")[0], `{"properties":{"Z_FIRST":"1"}}`)
	mustEqualJSON(t, "delete slot names", f.sent("PUT", sitePathT+"/config/slotConfigNames")[0],
		`{"properties":{"appSettingNames":[],"connectionStringNames":["db"]}}`)

	if _, errOut, code := run("webapp", "config", "appsettings", "set", "-g", "rg", "-n", "app"); code != 2 || !strings.Contains(errOut, "--settings |--slot-settings") {
		t.Errorf("set without settings: %d %s", code, errOut)
	}
}

func TestKeyVaultRequests(t *testing.T) {
	vaultPathT := rgPath + "/providers/Microsoft.KeyVault/vaults/kv"
	group := `{"id":"` + rgPath + `","name":"rg","location":"westeurope"}`
	t.Run("create with access policies", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){
			"GET " + rgPath:     fixed(200, group),
			"PUT " + vaultPathT: echo(`{"id":"` + vaultPathT + `","name":"kv","type":"Microsoft.KeyVault/vaults"}`),
		}}
		out, errOut, code := startFake(t, f)("keyvault", "create", "-g", "rg", "-n", "kv", "--enable-rbac-authorization", "false")
		if code != 0 {
			t.Fatalf("%d %s", code, errOut)
		}
		mustEqualJSON(t, "create body", f.sent("PUT", vaultPathT)[0], `{"location":"westeurope","properties":{
			"tenantId":"`+testTenant+`","sku":{"name":"standard","family":"A"},"enableRbacAuthorization":false,"softDeleteRetentionInDays":90,
			"networkAcls":{"bypass":"AzureServices","defaultAction":"Allow"},
			"accessPolicies":[{"tenantId":"`+testTenant+`","objectId":"`+testOID+`","permissions":{"keys":["all"],"secrets":["all"],"certificates":["all"],"storage":["all"]}}]}}`)
		v := jsonOf(t, out).(map[string]any)
		if v["resourceGroup"] != "rg" || v["systemData"] != nil {
			t.Errorf("printed: %v", v)
		}
		props := v["properties"].(map[string]any)
		if _, ok := props["hsmPoolResourceId"]; !ok {
			t.Errorf("printed properties lack the null attributes: %v", props)
		}
	})
	t.Run("create defaults to RBAC", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){
			"GET " + rgPath:     fixed(200, group),
			"PUT " + vaultPathT: echo(`{"id":"` + vaultPathT + `"}`),
		}}
		if _, errOut, code := startFake(t, f)("keyvault", "create", "-g", "rg", "-n", "kv", "-l", "westus", "--network-acls-ips", "1.2.3.4", "--tags", "a=b", "c"); code != 0 {
			t.Fatalf("%d %s", code, errOut)
		}
		body := f.sent("PUT", vaultPathT)[0].(map[string]any)
		props := body["properties"].(map[string]any)
		mustEqualJSON(t, "rbac", props["enableRbacAuthorization"], `true`)
		mustEqualJSON(t, "policies", props["accessPolicies"], `[]`)
		mustEqualJSON(t, "acls", props["networkAcls"], `{"bypass":"AzureServices","defaultAction":"Allow","ipRules":[{"value":"1.2.3.4"}],"virtualNetworkRules":[]}`)
		mustEqualJSON(t, "tags", body["tags"], `{"a":"b","c":""}`)
		if len(f.sent("GET", rgPath)) != 0 {
			t.Errorf("-l given, yet the group's location was read")
		}
	})
	t.Run("create refuses an existing vault", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){"GET " + vaultPathT: fixed(200, `{"id":"`+vaultPathT+`"}`)}}
		if _, errOut, code := startFake(t, f)("keyvault", "create", "-g", "rg", "-n", "kv"); code != 1 || !strings.Contains(errOut, "The specified vault: kv already exists") {
			t.Errorf("%d %s", code, errOut)
		}
	})

	existing := `{"id":"` + vaultPathT + `","name":"kv","type":"Microsoft.KeyVault/vaults","location":"westus","tags":{"t":"1"},"properties":{
		"tenantId":"` + testTenant + `","sku":{"family":"A","name":"standard"},"provisioningState":"Succeeded","vaultUri":"https://kv.vault.azure.net/",
		"accessPolicies":[{"tenantId":"` + testTenant + `","objectId":"OBJ","permissions":{"keys":["get"],"secrets":["set"]}}]}}`
	resources := `{"value":[{"id":"` + vaultPathT + `","name":"kv","type":"Microsoft.KeyVault/vaults"}]}`
	t.Run("set-policy finds the group and keeps other categories", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){
			"GET /subscriptions/" + testSub + "/resources": fixed(200, resources),
			"GET " + vaultPathT:                            fixed(200, existing),
			"PUT " + vaultPathT:                            echo(`{"id":"` + vaultPathT + `"}`),
		}}
		if _, errOut, code := startFake(t, f)("keyvault", "set-policy", "-n", "kv", "--object-id", "obj", "--secret-permissions", "get", "list", "get"); code != 0 {
			t.Fatalf("%d %s", code, errOut)
		}
		for _, r := range f.requests {
			if r.Path == "/subscriptions/"+testSub+"/resources" && !strings.Contains(r.Query, "Microsoft.KeyVault%2Fvaults") && !strings.Contains(r.Query, "Microsoft.KeyVault/vaults") {
				t.Errorf("resources query: %s", r.Query)
			}
		}
		mustEqualJSON(t, "set-policy body", f.sent("PUT", vaultPathT)[0], `{"location":"westus","tags":{"t":"1"},"properties":{
			"tenantId":"`+testTenant+`","sku":{"family":"A","name":"standard"},"vaultUri":"https://kv.vault.azure.net/",
			"accessPolicies":[{"tenantId":"`+testTenant+`","objectId":"OBJ","permissions":{"keys":["get"],"secrets":["get","list"]}}]}}`)
	})
	t.Run("set-policy adds a new principal", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){
			"GET " + vaultPathT: fixed(200, existing),
			"PUT " + vaultPathT: echo(`{"id":"` + vaultPathT + `"}`),
		}}
		if _, errOut, code := startFake(t, f)("keyvault", "set-policy", "-n", "kv", "-g", "rg", "--object-id", "new", "--key-permissions", "all"); code != 0 {
			t.Fatalf("%d %s", code, errOut)
		}
		pols := f.sent("PUT", vaultPathT)[0].(map[string]any)["properties"].(map[string]any)["accessPolicies"]
		mustEqualJSON(t, "policies", pols, `[{"tenantId":"`+testTenant+`","objectId":"OBJ","permissions":{"keys":["get"],"secrets":["set"]}},
			{"tenantId":"`+testTenant+`","objectId":"new","permissions":{"keys":["all"]}}]`)
	})
	t.Run("set-policy argument checks", func(t *testing.T) {
		run := startFake(t, &fakeAzure{})
		if _, errOut, code := run("keyvault", "set-policy", "-n", "kv", "--object-id", "a", "--upn", "b", "--key-permissions", "get"); code != 2 || !strings.Contains(errOut, "specify exactly one: --object-id, --spn, --upn") {
			t.Errorf("two principals: %d %s", code, errOut)
		}
		if _, errOut, code := run("keyvault", "set-policy", "-n", "kv", "--object-id", "a", "--key-permissions", "bogus"); code != 2 || !strings.Contains(errOut, "'bogus' is not a valid value") {
			t.Errorf("bad permission: %d %s", code, errOut)
		}
	})
	t.Run("vault not found in the subscription", func(t *testing.T) {
		f := &fakeAzure{routes: map[string]func(any) (int, any){"GET /subscriptions/" + testSub + "/resources": fixed(200, `{"value":[]}`)}}
		if _, errOut, code := startFake(t, f)("keyvault", "show", "-n", "kv"); code != 1 || !strings.Contains(errOut, "The Resource 'Microsoft.KeyVault/vaults/kv' not found within subscription.") {
			t.Errorf("%d %s", code, errOut)
		}
	})
}

func TestGroupAndPlanRequests(t *testing.T) {
	f := &fakeAzure{routes: map[string]func(any) (int, any){
		"GET " + rgPath: fixed(200, `{"id":"`+rgPath+`","name":"rg","location":"westus"}`),
		"PUT " + rgPath + "/providers/Microsoft.Web/serverfarms/plan": echo(`{"id":"` + rgPath + `/providers/Microsoft.Web/serverfarms/plan","name":"plan",
			"properties":{"status":"Ready","reserved":true}}`),
		"GET /subscriptions/" + testSub + "/resourceGroups/missing": fixed(404, `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'missing' could not be found."}}`),
		"HEAD " + rgPath: fixed(204, ``),
	}}
	run := startFake(t, f)
	out, errOut, code := run("appservice", "plan", "create", "-g", "rg", "-n", "plan", "--is-linux")
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	mustEqualJSON(t, "plan body", f.sent("PUT", rgPath+"/providers/Microsoft.Web/serverfarms/plan")[0],
		`{"location":"westus","sku":{"name":"B1","tier":"BASIC","capacity":1},"properties":{"perSiteScaling":false,"reserved":true}}`)
	plan := jsonOf(t, out).(map[string]any)
	if plan["status"] != "Ready" || plan["resourceGroup"] != "rg" || plan["properties"] != nil {
		t.Errorf("plan printed flattened: %v", plan)
	}

	_, errOut, code = run("group", "show", "-g", "missing")
	want := "ERROR: (ResourceGroupNotFound) Resource group 'missing' could not be found.\nCode: ResourceGroupNotFound\nMessage: Resource group 'missing' could not be found.\n"
	if code != 3 || errOut != want {
		t.Errorf("group show (missing): %d %q", code, errOut)
	}
	if out, _, code := run("group", "exists", "--resource-group", "rg"); code != 0 || out != "true\n" {
		t.Errorf("group exists: %d %q", code, out)
	}
	if out, _, code := run("group", "exists", "-n", "other"); code != 0 || out != "false\n" {
		t.Errorf("group exists (missing): %d %q", code, out)
	}
}

func TestRoleAssignmentRequests(t *testing.T) {
	defs := "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions"
	roleID := "/subscriptions/" + testSub + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
	f := &fakeAzure{routes: map[string]func(any) (int, any){
		"GET " + defs:     fixed(200, `{"value":[{"id":"`+roleID+`","name":"4633458b-17de-408a-b874-0445c86b69e6","properties":{"roleName":"Key Vault Secrets User","type":"BuiltInRole"}}]}`),
		"GET /v1.0/users": fixed(200, `{"value":[{"id":"user-oid","userPrincipalName":"bob@contoso.com"}]}`),
	}}
	f.routes["PUT "+rgPath+"/providers/Microsoft.Authorization/roleAssignments/fixed-name"] = func(b any) (int, any) {
		props := b.(map[string]any)["properties"]
		return 201, map[string]any{"id": rgPath + "/providers/Microsoft.Authorization/roleAssignments/fixed-name", "name": "fixed-name",
			"type": "Microsoft.Authorization/roleAssignments", "properties": props}
	}
	run := startFake(t, f)
	out, errOut, code := run("role", "assignment", "create", "--assignee", "bob@contoso.com", "--role", "Key Vault Secrets User", "-g", "rg", "--name", "fixed-name")
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	if !strings.Contains(errOut, "WARNING: --scope argument will become required") {
		t.Errorf("no scope warning: %q", errOut)
	}
	mustEqualJSON(t, "assignment body", f.sent("PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/fixed-name")[0],
		`{"properties":{"roleDefinitionId":"`+roleID+`","principalId":"user-oid","principalType":"User"}}`)
	a := jsonOf(t, out).(map[string]any)
	if a["resourceGroup"] != "rg" || a["principalType"] != "User" || a["properties"] != nil {
		t.Errorf("printed: %v", a)
	}
	for _, k := range []string{"condition", "conditionVersion", "createdOn", "delegatedManagedIdentityResourceId", "description", "scope", "updatedOn"} {
		if _, ok := a[k]; !ok {
			t.Errorf("printed assignment lacks %s", k)
		}
	}
	if _, errOut, code := run("role", "assignment", "create", "--role", "Reader"); code != 1 || !strings.Contains(errOut, "usage error: --assignee STRING | --assignee-object-id GUID") {
		t.Errorf("no assignee: %d %s", code, errOut)
	}
	if _, errOut, code := run("role", "assignment", "create", "--role", "Reader", "--assignee-object-id", "x", "--assignee-principal-type", "User", "-g", "rg", "--scope", "/subscriptions/x"); code != 1 ||
		!strings.Contains(errOut, `Resource group "rg" is redundant because scope is supplied`) {
		t.Errorf("rg and scope: %d %s", code, errOut)
	}
}

func TestAddResourceGroup(t *testing.T) {
	v := map[string]any{
		"id":          "/subscriptions/s/resourceGroups/rg",
		"nested":      map[string]any{"id": "/subscriptions/s/resourcegroups/Other/providers/Microsoft.Web/sites/a"},
		"list":        []any{map[string]any{"id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x"}},
		"sourceVault": map[string]any{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"},
	}
	addResourceGroup(v)
	mustEqualJSON(t, "transformed", v, `{"id":"/subscriptions/s/resourceGroups/rg",
		"nested":{"id":"/subscriptions/s/resourcegroups/Other/providers/Microsoft.Web/sites/a","resourceGroup":"Other"},
		"list":[{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x"}],
		"sourceVault":{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"}}`)
}
