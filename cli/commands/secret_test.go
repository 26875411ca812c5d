package commands

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests pin what the keyvault secret commands send to a vault and print, against the fake under
// *.vault.azure.net; the shapes follow azure-keyvault-secrets' requests and az's transform_secret_* output.

const (
	testVersion = "0123456789abcdef0123456789abcdef"
	testBundle  = `{"value":"s3cr3t","id":"https://kv.vault.azure.net/secrets/db/` + testVersion + `","attributes":{"enabled":true,` +
		`"created":1714557600,"updated":1714557600,"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable"},"tags":{"file-encoding":"utf-8"}}`
	// testShown is the reference's az keyvault secret show output for testBundle.
	testShown = `{"attributes":{"created":"2024-05-01T10:00:00+00:00","enabled":true,"expires":null,"notBefore":null,
		"recoverableDays":90,"recoveryLevel":"Recoverable+Purgeable","updated":"2024-05-01T10:00:00+00:00"},
		"contentType":null,"id":"https://kv.vault.azure.net/secrets/db/` + testVersion + `",
		"kid":null,"managed":null,"name":"db","tags":{"file-encoding":"utf-8"},"value":"s3cr3t"}`
)

// sequence answers successive calls with the given handlers, repeating the last.
func sequence(hs ...func(any) (int, any)) func(any) (int, any) {
	n := 0
	return func(b any) (int, any) {
		h := hs[min(n, len(hs)-1)]
		n++
		return h(b)
	}
}

func TestSecretRequestsAndOutput(t *testing.T) {
	pollInterval = time.Millisecond
	dir := t.TempDir()
	restoreFile := filepath.Join(dir, "in.blob")
	os.WriteFile(restoreFile, []byte{0xfb, 0xff}, 0o600)
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
	nbf := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	deleted := `{"id":"https://kv.vault.azure.net/secrets/db/` + testVersion + `","attributes":{"enabled":true,"created":1714557600,"updated":1714557600},` +
		`"recoveryId":"https://kv.vault.azure.net/deletedsecrets/db","deletedDate":1714557600,"scheduledPurgeDate":1722333600}`

	tests := []struct {
		name   string
		routes map[string]func(any) (int, any)
		args   []string
		// want are the requests, "METHOD /path?query" then the body (or "" for none).
		want    []string
		wantOut string // JSON, or "" for no output
	}{
		{"set with every flag", map[string]func(any) (int, any){"PUT /secrets/db": fixed(200, testBundle)},
			[]string{"set", "--vault-name", "kv", "-n", "db", "--value", "s3cr3t", "--description", "pw", "--tags", "a=b", "--disabled",
				"--expires", "2030-01-02T03:04:05Z", "--not-before", "2024-01-01"},
			[]string{"PUT /secrets/db?api-version=7.6", `{"value":"s3cr3t","contentType":"pw","tags":{"a":"b","file-encoding":"utf-8"},` +
				`"attributes":{"enabled":false,"exp":` + itoa64(exp) + `,"nbf":` + itoa64(nbf) + `}}`},
			testShown},
		{"set --value keeps its text whatever the encoding", map[string]func(any) (int, any){"PUT /secrets/db": fixed(200, testBundle)},
			[]string{"set", "--vault-name", "kv", "-n", "db", "--value", "abc", "-e", "base64"},
			[]string{"PUT /secrets/db?api-version=7.6", `{"value":"abc","tags":{"file-encoding":"base64"}}`}, testShown},
		{"show the latest version", map[string]func(any) (int, any){"GET /secrets/db/": fixed(200, testBundle)},
			[]string{"show", "--vault-name", "kv", "-n", "db"},
			[]string{"GET /secrets/db/?api-version=7.6", ""}, testShown},
		{"show --id with a version", map[string]func(any) (int, any){"GET /secrets/db/" + testVersion: fixed(200, testBundle)},
			[]string{"show", "--id", "https://KV.vault.azure.net/secrets/db/" + testVersion},
			[]string{"GET /secrets/db/" + testVersion + "?api-version=7.6", ""}, testShown},
		{"set-attributes sends only what is given", map[string]func(any) (int, any){"PATCH /secrets/db/": fixed(200, testBundle)},
			[]string{"set-attributes", "--vault-name", "kv", "-n", "db", "--enabled", "false"},
			[]string{"PATCH /secrets/db/?api-version=7.6", `{"attributes":{"enabled":false}}`},
			strings.Replace(testShown, `"value":"s3cr3t"`, `"value":null`, 1)},
		{"list follows nextLink and leaves managed secrets out", map[string]func(any) (int, any){"GET /secrets": sequence(
			fixed(200, `{"value":[{"id":"https://kv.vault.azure.net/secrets/a","attributes":{"enabled":true}},`+
				`{"id":"https://kv.vault.azure.net/secrets/cert","managed":true}],`+
				`"nextLink":"https://kv.vault.azure.net:443/secrets?api-version=7.6&$skiptoken=abc&maxresults=2"}`),
			fixed(200, `{"value":[{"id":"https://kv.vault.azure.net/secrets/b","contentType":"text/plain"}],"nextLink":null}`))},
			[]string{"list", "--id", "https://kv.vault.azure.net/", "--maxresults", "2"},
			[]string{"GET /secrets?maxresults=2&api-version=7.6", "", "GET /secrets?api-version=7.6&$skiptoken=abc&maxresults=2", ""},
			`[{"attributes":{"created":null,"enabled":true,"expires":null,"notBefore":null,"recoverableDays":null,"recoveryLevel":null,"updated":null},
			   "contentType":null,"id":"https://kv.vault.azure.net/secrets/a","managed":null,"name":"a","tags":null},
			  {"attributes":null,"contentType":"text/plain","id":"https://kv.vault.azure.net/secrets/b","managed":null,"name":"b","tags":null}]`},
		{"delete waits for the deleted secret", map[string]func(any) (int, any){"DELETE /secrets/db": fixed(200, deleted),
			"GET /deletedsecrets/db": sequence(fixed(404, `{"error":{"code":"SecretNotFound","message":"Deleted Secret not found: db"}}`), fixed(200, deleted))},
			[]string{"delete", "--vault-name", "kv", "-n", "db", "--only-show-errors"},
			[]string{"DELETE /secrets/db?api-version=7.6", "", "GET /deletedsecrets/db?api-version=7.6", "", "GET /deletedsecrets/db?api-version=7.6", ""},
			`{"attributes":{"created":"2024-05-01T10:00:00+00:00","enabled":true,"expires":null,"notBefore":null,"recoverableDays":null,"recoveryLevel":null,
			  "updated":"2024-05-01T10:00:00+00:00"},"contentType":null,"deletedDate":"2024-05-01T10:00:00+00:00","id":"https://kv.vault.azure.net/secrets/db/` + testVersion + `",
			  "kid":null,"managed":null,"name":"db","recoveryId":"https://kv.vault.azure.net/deletedsecrets/db","scheduledPurgeDate":"2024-07-30T10:00:00+00:00",
			  "tags":null,"value":null}`},
		{"purge by recovery id prints nothing", map[string]func(any) (int, any){"DELETE /deletedsecrets/db": fixed(204, "")},
			[]string{"purge", "--id", "https://kv.vault.azure.net/deletedsecrets/db"},
			[]string{"DELETE /deletedsecrets/db?api-version=7.6", ""}, ""},
		{"restore sends the file as base64url", map[string]func(any) (int, any){"POST /secrets/restore": fixed(200, testBundle)},
			[]string{"restore", "--vault-name", "kv", "-f", restoreFile},
			[]string{"POST /secrets/restore?api-version=7.6", `{"value":"-_8"}`},
			strings.Replace(testShown, `"value":"s3cr3t"`, `"value":null`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAzure{routes: tt.routes}
			run := startFake(t, f)
			out, errOut, code := run(append([]string{"keyvault", "secret"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []string
			for _, r := range f.requests {
				if r.Host != "kv.vault.azure.net" && r.Host != "kv.vault.azure.net:443" || !strings.HasPrefix(r.Auth, "Bearer ") {
					t.Errorf("request to %s with %q", r.Host, r.Auth)
				}
				body := ""
				if r.Body != nil {
					b, _ := json.Marshal(r.Body)
					body = string(b)
				}
				got = append(got, r.Method+" "+r.Path+"?"+r.Query, body)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("requests:\n got %q\nwant %q", got, tt.want)
			}
			for i := range got {
				if i%2 == 1 && tt.want[i] != "" {
					mustEqualJSON(t, "body", jsonOf(t, got[i]), tt.want[i])
				} else if got[i] != tt.want[i] {
					t.Errorf("request %d: got %q, want %q", i/2, got[i], tt.want[i])
				}
			}
			if tt.wantOut == "" {
				if out != "" {
					t.Errorf("output: %q", out)
				}
				return
			}
			mustEqualJSON(t, "output", jsonOf(t, out), tt.wantOut)
		})
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestSecretErrors(t *testing.T) {
	forbidden := `{"error":{"code":"Forbidden","message":"Caller is not authorized.\r\nVault: kv","innererror":{"code":"ForbiddenByRbac","innererror":{"code":"Ünknown"}}}}`
	notFound := `{"error":{"code":"SecretNotFound","message":"A secret with (name/id) db was not found in this key vault."}}`
	tests := []struct {
		name   string
		routes map[string]func(any) (int, any)
		args   []string
		code   int
		stderr string
	}{
		{"403 with nested inner errors", map[string]func(any) (int, any){"GET /secrets/db/": fixed(403, forbidden)},
			[]string{"show", "--vault-name", "kv", "-n", "db"}, 1,
			"ERROR: (Forbidden) Caller is not authorized.\r\nVault: kv\nCode: Forbidden\nMessage: Caller is not authorized.\r\nVault: kv\n" +
				"Inner error: {\n    \"code\": \"ForbiddenByRbac\",\n    \"innererror\": {\n        \"code\": \"\\u00dcnknown\"\n    }\n}\n"},
		{"show's not-found exits 3", map[string]func(any) (int, any){"GET /secrets/db/": fixed(404, notFound)},
			[]string{"show", "--vault-name", "kv", "-n", "db"}, 3,
			"ERROR: (SecretNotFound) A secret with (name/id) db was not found in this key vault.\nCode: SecretNotFound\nMessage: A secret with (name/id) db was not found in this key vault.\n"},
		{"other commands' not-found exits 1", map[string]func(any) (int, any){"GET /deletedsecrets/db": fixed(404, notFound)},
			[]string{"show-deleted", "--vault-name", "kv", "-n", "db"}, 1, ""},
		{"no error body", map[string]func(any) (int, any){"GET /secrets/db/": fixed(502, "")},
			[]string{"show", "--vault-name", "kv", "-n", "db"}, 1, "ERROR: Operation returned an invalid status 'Bad Gateway'\n"},
		{"neither value nor file", nil, []string{"set", "--vault-name", "kv", "-n", "db"}, 1,
			"ERROR: incorrect usage: [Required] --value VALUE | --file PATH\n"},
		{"a list without a vault", nil, []string{"list"}, 1, "ERROR: Please specify --vault-name or --hsm-name.\n"},
		{"a list with both", nil, []string{"list", "--vault-name", "kv", "--id", "https://kv.vault.azure.net"}, 1,
			"ERROR: --vault-name and --id are mutually exclusive.\n"},
		{"a bad id", nil, []string{"show", "--id", "kv/secrets/db"}, 2, "ERROR: 'kv/secrets/db' is not a valid ID\n"},
		{"a bad date", nil, []string{"set-attributes", "--vault-name", "kv", "-n", "db", "--expires", "2024-13-01"}, 2,
			"ERROR: argument --expires: invalid datetime_type value: '2024-13-01'\n"},
		{"a bad maxresults", nil, []string{"list", "--vault-name", "kv", "--maxresults", "ten"}, 2,
			"ERROR: argument --maxresults: invalid int value: 'ten'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := startFake(t, &fakeAzure{routes: tt.routes})
			_, errOut, code := run(append([]string{"keyvault", "secret"}, tt.args...)...)
			if code != tt.code || tt.stderr != "" && errOut != tt.stderr {
				t.Errorf("exit %d, want %d\n got %q\nwant %q", code, tt.code, errOut, tt.stderr)
			}
		})
	}
}

func TestSecretDownload(t *testing.T) {
	dir := t.TempDir()
	bundle := func(value, encoding string) func(any) (int, any) {
		b, _ := json.Marshal(map[string]any{"value": value, "id": "https://kv.vault.azure.net/secrets/db/" + testVersion,
			"tags": map[string]string{"file-encoding": encoding}})
		return fixed(200, string(b))
	}
	tests := []struct {
		name, value, tag string
		args             []string
		want             []byte // nil: the command fails and leaves no file
	}{
		{"base64 tag", "+/8=\n", "base64", nil, []byte{0xfb, 0xff}},
		{"base64 skips what is not base64", "+/\n8*=", "base64", nil, []byte{0xfb, 0xff}},
		{"hex tag", "fbff", "hex", nil, []byte{0xfb, 0xff}},
		{"utf-16le writes the UTF-8 text, as open(path, 'w') does", "grüße", "utf-16le", nil, []byte("grüße")},
		{"--encoding overrides the tag", "fbff", "hex", []string{"-e", "utf-8"}, []byte("fbff")},
		{"bad padding", "+/8", "base64", nil, nil},
		{"odd hex", "fbf", "hex", nil, nil},
		{"unknown tag", "x", "latin-1", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := startFake(t, &fakeAzure{routes: map[string]func(any) (int, any){"GET /secrets/db/": bundle(tt.value, tt.tag)}})
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			_, errOut, code := run(append([]string{"keyvault", "secret", "download", "--vault-name", "kv", "-n", "db", "-f", path}, tt.args...)...)
			got, err := os.ReadFile(path)
			if tt.want == nil {
				if code != 1 || err == nil {
					t.Errorf("exit %d (%s), file %q", code, errOut, got)
				}
				return
			}
			if code != 0 || !bytes.Equal(got, tt.want) {
				t.Errorf("exit %d (%s), file %q, want %q", code, errOut, got, tt.want)
			}
		})
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	long := bytes.Repeat([]byte{0xff}, 60) // 80 base64 characters: one full line and a short one
	tests := []struct {
		name, file, encoding, want, err string
		code                            int
	}{
		{"utf-8 translates newlines", write("crlf", []byte("a\r\nb\rc\n")), "utf-8", "a\nb\nc\n", "", 0},
		{"utf-16le stores the text read", write("text", []byte("grüße")), "utf-16be", "grüße", "", 0},
		{"ascii refuses non-ASCII", write("e", []byte("caf\u00e9 \u20ac\u20ac")), "ascii", "",
			`'ascii' codec can't encode character '\xe9' in position 3: ordinal not in range(128)`, 2},
		{"invalid UTF-8", write("bin", []byte{0xff, 0xfe}), "utf-8", "", "Unable to decode file '" + filepath.Join(dir, "bin") + "' with 'utf-8' encoding.", 0},
		{"base64 lines", write("long", long), "base64", strings.Repeat("/", 76) + "\n" + "////\n", "", 0},
		{"hex", write("hex", []byte{0xAB, 0x01}), "hex", "ab01", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSecretFile(tt.file, tt.encoding)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPythonHelpers(t *testing.T) {
	for in, want := range map[string]string{"YWJj": "abc", "YW Jj\n": "abc", "YQ==": "a", "YQ==YWJj": "a", "YQ=": "Incorrect padding",
		"YWJjZ": "Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4", "é": errNonASCII.Error()} {
		got, err := pyB64Decode(in)
		res := string(got)
		if err != nil {
			res = err.Error()
		}
		if res != want {
			t.Errorf("b64decode(%q) = %q, want %q", in, res, want)
		}
	}
	for in, want := range map[string]string{
		"ab\u00e9\u00e9c": "'ascii' codec can't encode characters in position 2-3: ordinal not in range(128)",
		"ab\U0001F600":    `'ascii' codec can't encode character '\U0001f600' in position 2: ordinal not in range(128)`,
	} {
		if err := asciiEncodeError(in); err == nil || err.Error() != want {
			t.Errorf("ascii error for %q: %v", in, err)
		}
	}
	for in, want := range map[string]kvID{
		"https://KV.vault.azure.net/secrets/db":                {vaultURL: "https://kv.vault.azure.net", collection: "secrets", name: "db"},
		"https://kv.vault.azure.net:443/deletedsecrets/db/":    {vaultURL: "https://kv.vault.azure.net:443", collection: "deletedsecrets", name: "db"},
		"https://kv.vault.azure.net/secrets/db/" + testVersion: {vaultURL: "https://kv.vault.azure.net", collection: "secrets", name: "db", version: testVersion},
	} {
		if got, err := parseKVID(in); err != nil || got != want {
			t.Errorf("parseKVID(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"kv/secrets/db", "https://kv.vault.azure.net/secrets", "https://kv.vault.azure.net/a/b/c/d"} {
		if _, err := parseKVID(bad); err == nil {
			t.Errorf("parseKVID(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"2017-12-31T01:11:59Z": "2017-12-31T01:11:59Z", "2017-12-31t01:11z": "2017-12-31T01:11:00Z",
		"2017-12-31T01Z": "2017-12-31T01:00:00Z", "2017-1-3": "2017-01-03T00:00:00Z"} {
		if got, err := parseDatetime(in); err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("datetime_type(%q) = %v, %v", in, got, err)
		}
	}
	if got := pythonIndent(json.RawMessage(`{}`)); got != "" {
		t.Errorf("empty innererror: %q", got)
	}
}
