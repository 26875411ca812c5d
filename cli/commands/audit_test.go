package commands

import (
	"net/url"
	"strings"
	"testing"
)

func TestAuditList(t *testing.T) {
	path := "/subscriptions/" + testSub + "/providers/Keyhaven.Audit/records"
	records := `{"value":[{"time":"2024-05-01T10:00:00Z","plane":"data","callerObjectId":"` + testOID + `","clientIp":"127.0.0.1",
		"operation":"SecretGet","target":"kv/secrets/db","status":403,"code":"Forbidden/SecretDisabled","requestId":"r1"}]}`
	f := &fakeAzure{routes: map[string]func(any) (int, any){"GET " + path: fixed(200, records)}}
	run := startFake(t, f)

	out, errOut, code := run("audit", "list", "--vault-name", "kv", "--caller", testOID, "--since", "2024-05-01T12:00:00+02:00",
		"--until", "2024-05-02", "--result", "failure", "--plane", "data")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	q, _ := url.ParseQuery(f.requests[0].Query)
	want := url.Values{"api-version": {"2024-01-01"}, "vault": {"kv"}, "caller": {testOID}, "since": {"2024-05-01T10:00:00Z"},
		"until": {"2024-05-02T00:00:00Z"}, "result": {"failure"}, "plane": {"data"}}
	if q.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", q.Encode(), want.Encode())
	}
	mustEqualJSON(t, "audit list", jsonOf(t, out), `[{"time":"2024-05-01T10:00:00Z","plane":"data","callerObjectId":"`+testOID+`",
		"callerAppId":null,"callerName":null,"clientIp":"127.0.0.1","operation":"SecretGet","target":"kv/secrets/db","status":403,
		"code":"Forbidden/SecretDisabled","requestId":"r1"}]`)

	out, _, _ = run("audit", "list", "-o", "table")
	if lines := strings.Split(out, "\n"); len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != "Time Plane Operation Target Status Caller" ||
		!strings.HasSuffix(strings.TrimSpace(lines[2]), testOID) {
		t.Errorf("audit list -o table:\n%s", out)
	}
	for _, args := range [][]string{{"--result", "maybe"}, {"--since", "last week"}, {"--plane", "control"}} {
		if _, errOut, code := run(append([]string{"audit", "list"}, args...)...); code != 2 {
			t.Errorf("audit list %v: exit %d %s", args, code, errOut)
		}
	}
}
