package commands

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/cli/output"
)

// keyhaven audit list has no az equivalent: it reads keyhaven's audit trail, which the server serves as a
// subscription-level provider (GET /subscriptions/{s}/providers/Keyhaven.Audit/records).

const apiAudit = "2024-01-01"

// auditFields are the keys of an audit record; a record prints all of them, absent ones null.
var auditFields = []string{"time", "plane", "callerObjectId", "callerAppId", "callerName", "clientIp", "operation", "target",
	"status", "code", "requestId"}

// parseAuditTime reads an ISO-8601 time: RFC 3339, a date and time without offset (UTC), or a date.
func parseAuditTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.ToUpper(strings.TrimSpace(s))); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid ISO-8601 time: '%s' (example: 2024-05-01T10:00:00Z)", s)
}

func checkAuditTime(v string) error {
	_, err := parseAuditTime(v)
	return err
}

// checkAuditResult accepts success, failure or an HTTP status code.
func checkAuditResult(v string) error {
	switch strings.ToLower(v) {
	case "success", "failure":
		return nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
		return nil
	}
	return fmt.Errorf("invalid value: '%s': use success, failure or an HTTP status code", v)
}

// auditTable shows one row per record: when, which plane, what, on what, the outcome and who.
func auditTable(result any) (any, error) {
	items, ok := result.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	rows := []output.Object{}
	for _, it := range items {
		m, _ := it.(map[string]any)
		caller := m["callerName"]
		if caller == nil || caller == "" {
			caller = m["callerObjectId"]
		}
		rows = append(rows, output.Object{{Key: "Time", Value: m["time"]}, {Key: "Plane", Value: m["plane"]},
			{Key: "Operation", Value: m["operation"]}, {Key: "Target", Value: m["target"]}, {Key: "Status", Value: m["status"]},
			{Key: "Caller", Value: caller}})
	}
	return rows, nil
}

func registerAudit(app *cli.App) {
	app.Register(cli.Command{
		Name:  "audit list",
		Short: "List keyhaven's audit records: who did what to which target, and the outcome.",
		Long: "Management-plane writes and every Key Vault data-plane call are recorded, oldest first. Data-plane records " +
			"are written in batches, so a call may take a moment (about 100 ms) to show.",
		Params: []cli.Param{
			{Name: "vault-name", Help: "Only records about this vault."},
			{Name: "caller", Help: "Only records of the caller with this object id."},
			{Name: "since", Check: checkAuditTime, Help: "Only records at or after this ISO-8601 time, such as 2024-05-01T10:00:00Z."},
			{Name: "until", Check: checkAuditTime, Help: "Only records at or before this ISO-8601 time."},
			{Name: "result", Check: checkAuditResult, Help: "Only records with this outcome: success, failure or an HTTP status code."},
			{Name: "plane", Choices: []string{"management", "data"}, Help: "Only records of this plane."},
		},
		Examples: []cli.Example{{Name: "Show the failed data-plane calls on a vault.",
			Text: "keyhaven audit list --vault-name MyKeyVault --plane data --result failure -o table"}},
		Table: auditTable,
		Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
			q := url.Values{}
			for flag, key := range map[string]string{"vault-name": "vault", "caller": "caller", "result": "result", "plane": "plane"} {
				if v := ctx.String(flag); v != "" {
					q.Set(key, v)
				}
			}
			for _, flag := range []string{"since", "until"} {
				if v := ctx.String(flag); v != "" {
					t, _ := parseAuditTime(v)
					q.Set(flag, t.UTC().Format(time.RFC3339Nano))
				}
			}
			path := a.subPath() + "/providers/Keyhaven.Audit/records"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			records, err := a.list(ctx, path, apiAudit)
			if err != nil {
				return nil, err
			}
			for _, r := range records {
				withNulls(r, auditFields...)
			}
			return records, nil
		}),
	})
}
