package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// This file is the Key Vault data plane as az's keyvault data-plane commands reach it: the vault address from
// --vault-name or --id, the azure-keyvault-secrets SDK's requests, its error text, and the conversion of its
// models to the dicts az prints (keyvault/_transformers.py).

// apiKeyVaultData is the data-plane api-version sent; az leaves it to azure-keyvault-secrets, whose recent
// releases send 7.6.
const apiKeyVaultData = "7.6"

// vaultClient is a signed-in session talking to one vault's data plane.
type vaultClient struct {
	s   *client.Session
	url string // https://name.vault.azure.net, az's vault_base_url
}

// do sends one data-plane request; failures come back as *kvError.
func (v *vaultClient) do(ctx context.Context, method, path string, in, out any) error {
	return kvErr(v.s.Vault(ctx, method, v.url, withAPI(path, apiKeyVaultData), in, out))
}

// list reads a collection page by page, following nextLink as the SDK's pager does, until limit items pass
// keep (limit 0 reads every page).
func (v *vaultClient) list(ctx context.Context, path string, limit int, keep func(map[string]any) bool) ([]map[string]any, error) {
	out := []map[string]any{}
	next := withAPI(path, apiKeyVaultData)
	for next != "" {
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"nextLink"`
		}
		if err := kvErr(v.s.Vault(ctx, http.MethodGet, v.url, next, nil, &page)); err != nil {
			return nil, err
		}
		for _, item := range page.Value {
			if keep == nil || keep(item) {
				out = append(out, item)
			}
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		next = page.NextLink
		if next != "" && !strings.Contains(next, "api-version=") {
			next = withAPI(next, apiKeyVaultData)
		}
	}
	return out, nil
}

// kvError is a failed data-plane call, printed as str() of azure-core's HttpResponseError, which az's
// keyvault_exception_handler wraps in a CLIError: azure-core's ODataV4Format text, with the inner error.
type kvError struct {
	status        int
	code, message string
	inner         json.RawMessage
}

func (e *kvError) Error() string {
	if e.code == "" {
		return e.message
	}
	s := fmt.Sprintf("(%s) %s\nCode: %s\nMessage: %s", e.code, e.message, e.code, e.message)
	if inner := pythonIndent(e.inner); inner != "" {
		s += "\nInner error: " + inner
	}
	return s
}

// kvErr turns a client error into a kvError; other errors pass through.
func kvErr(err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Code == "" {
		// No Key Vault error body: azure-core names the status.
		return &kvError{status: e.Status, message: fmt.Sprintf("Operation returned an invalid status '%s'", http.StatusText(e.Status))}
	}
	return &kvError{status: e.Status, code: e.Code, message: e.Message, inner: e.Inner}
}

// kvStatus is the HTTP status of a failed data-plane call, 0 for other errors.
func kvStatus(err error) int {
	var e *kvError
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}

// pythonIndent is json.dumps(obj, indent=4) of a JSON object as the service sent it: keys in their order,
// non-ASCII escaped; "" for an empty or absent object, which azure-core leaves out.
func pythonIndent(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var probe map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &probe) != nil || len(probe) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "    "); err != nil {
		return ""
	}
	var out strings.Builder
	for _, r := range b.String() {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.String()
}

// vaultSession opens the signed-in session for a data-plane command on the vault at vaultURL.
func vaultSession(ctx *cli.Context, vaultURL string) (*vaultClient, error) {
	s, err := session(ctx)
	if err != nil {
		return nil, err
	}
	return &vaultClient{s: s, url: vaultURL}, nil
}

// kvID is an object id parsed as azure-keyvault's parse_key_vault_id parses one:
// https://host[:port]/<collection>/<name>[/<version>].
type kvID struct {
	vaultURL, collection, name, version string
}

func parseKVID(id string) (kvID, error) {
	bad := fmt.Errorf("'%s' is not a valid ID", id)
	u, err := url.Parse(id)
	if err != nil || u.Scheme == "" || u.Hostname() == "" {
		return kvID{}, bad
	}
	var path []string
	for _, p := range strings.Split(u.Path, "/") {
		if p != "" {
			path = append(path, p)
		}
	}
	if len(path) < 2 || len(path) > 3 {
		return kvID{}, bad
	}
	// parse_key_vault_id keeps the scheme and lower-cased host (urlparse's hostname) and the port.
	k := kvID{vaultURL: u.Scheme + "://" + strings.ToLower(u.Hostname()), collection: path[0], name: path[1]}
	if p := u.Port(); p != "" {
		k.vaultURL += ":" + p
	}
	if len(path) == 3 {
		k.version = path[2]
	}
	return k, nil
}

// objectRef is the object a data-plane command works on.
type objectRef struct {
	vaultURL, name, version string
}

// objectRefFrom is azure-cli's validate_keyvault_resource_id: --id (an object id or recovery id), or
// --vault-name and --name with --version when the command has one (hasVersion).
func objectRefFrom(ctx *cli.Context, hasVersion bool) (objectRef, error) {
	var ref objectRef
	if hasVersion {
		ref.version = ctx.String("version")
	}
	if id := ctx.String("id"); id != "" {
		if ctx.String("vault-name") != "" {
			return ref, errors.New("--vault-name and --id are mutually exclusive.")
		}
		k, err := parseKVID(id)
		if err != nil {
			// A ValueError in a validator is a usage error (parser.validation_error).
			return ref, cli.Usagef("%v", err)
		}
		ref.vaultURL, ref.name = k.vaultURL, k.name
		if k.version != "" && hasVersion {
			ref.version = k.version
		}
		return ref, nil
	}
	name, vault := ctx.String("name"), ctx.String("vault-name")
	if name == "" || vault == "" {
		return ref, errors.New("incorrect usage: --id ID | --vault-name/--hsm-name VAULT/HSM --name/-n NAME [--version VERSION]")
	}
	ref.vaultURL, ref.name = client.VaultURL(vault), name
	return ref, nil
}

// vaultURLFrom is azure-cli's validate_vault_or_hsm, for the list commands: --id (a vault URL, of which the
// scheme and host are kept) or --vault-name.
func vaultURLFrom(ctx *cli.Context) (string, error) {
	vault := ctx.String("vault-name")
	if id := ctx.String("id"); id != "" {
		if vault != "" {
			return "", errors.New("--vault-name and --id are mutually exclusive.")
		}
		items := strings.Split(id, "/")
		if len(items) < 3 {
			return "", errors.New("Invalid id for Vault or HSM.")
		}
		return strings.Join(items[:3], "/"), nil
	}
	if vault == "" {
		return "", errors.New("Please specify --vault-name or --hsm-name.")
	}
	return client.VaultURL(vault), nil
}

// objectPath is /<collection>/<name>[/<version>] with the name and version escaped.
func objectPath(collection, name string, version ...string) string {
	p := "/" + collection + "/" + url.PathEscape(name)
	for _, v := range version {
		p += "/" + url.PathEscape(v)
	}
	return p
}

// isoTime is a Unix-seconds attribute as az prints the SDK's datetime: isoformat() of a UTC time; nil for
// anything else (the SDK's None).
func isoTime(v any) any {
	var secs int64
	switch t := v.(type) {
	case float64:
		secs = int64(t)
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return nil
		}
		secs = int64(f)
	default:
		return nil
	}
	return time.Unix(secs, 0).UTC().Format("2006-01-02T15:04:05+00:00")
}

// attributesView is the SDK's SecretAttributes model as az's todict prints it: every attribute, dates as
// ISO-8601, absent ones null.
func attributesView(v any) any {
	a, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return map[string]any{
		"created":         isoTime(a["created"]),
		"enabled":         a["enabled"],
		"expires":         isoTime(a["exp"]),
		"notBefore":       isoTime(a["nbf"]),
		"recoverableDays": a["recoverableDays"],
		"recoveryLevel":   a["recoveryLevel"],
		"updated":         isoTime(a["updated"]),
	}
}

// nameFromID is the SDK's name property: the second path segment of the object id.
func nameFromID(id any) any {
	s, _ := id.(string)
	if k, err := parseKVID(s); err == nil {
		return k.name
	}
	return nil
}
