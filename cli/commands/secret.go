package commands

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/cli/output"
	"github.com/keyhaven/keyhaven/client"
)

// This file follows azure-cli's keyvault module for secrets (commands.py "secret track2", _params.py,
// _validators.py process_secret_set_namespace, custom.py download/backup/restore_secret, _transformers.py
// transform_secret_*): the requests azure-keyvault-secrets' SecretClient sends and the dicts az prints.

// secretDeleteNotice is the deprecation-style notice az prints before keyvault secret delete.
const secretDeleteNotice = "Warning! If you have soft-delete protection enabled on this key vault, this secret will be moved to the soft deleted state. " +
	"You will not be able to create a secret with the same name within this key vault until the secret has been purged from the soft-deleted state. " +
	"Please see the following documentation for additional guidance.\nhttps://docs.microsoft.com/azure/key-vault/general/soft-delete-overview"

// secretEncodings are az's secret_text_encoding_values then secret_binary_encoding_values.
var secretEncodings = []string{"utf-8", "utf-16le", "utf-16be", "ascii", "base64", "hex"}

// pollInterval and pollLimit pace the SDK's DeleteRecoverPollingMethod (every 2 s); keyhaven finishes at
// once, so the limit only keeps a misbehaving server from holding the command for ever.
var (
	pollInterval = 2 * time.Second
	pollLimit    = 60
)

// Secret views: az's transform_secret_* over the SDK's SecretProperties, KeyVaultSecret and DeletedSecret.

// secretBase is transform_secret_base_properties.
func secretBase(b map[string]any) map[string]any {
	return map[string]any{
		"attributes":  attributesView(b["attributes"]),
		"contentType": b["contentType"],
		"id":          b["id"],
		"managed":     b["managed"],
		"name":        nameFromID(b["id"]),
		"tags":        b["tags"],
	}
}

// secretView is transform_secret_set (set, show) with the value, or transform_secret_set_attributes
// (set-attributes, recover, restore), which prints value null.
func secretView(b map[string]any, withValue bool) map[string]any {
	v := secretBase(b)
	v["kid"] = b["kid"]
	v["value"] = nil
	if withValue {
		v["value"] = b["value"]
	}
	return v
}

// deletedSecretItem is transform_deleted_secret_properties (list-deleted).
func deletedSecretItem(b map[string]any) map[string]any {
	v := secretBase(b)
	v["deletedDate"] = isoTime(b["deletedDate"])
	v["recoveryId"] = b["recoveryId"]
	v["scheduledPurgeDate"] = isoTime(b["scheduledPurgeDate"])
	return v
}

// deletedSecretView is transform_secret_show_deleted (delete, show-deleted).
func deletedSecretView(b map[string]any) map[string]any {
	v := deletedSecretItem(b)
	v["kid"] = b["kid"]
	v["value"] = nil
	return v
}

// secretListTable is keyvault's _format.transform_secret_list table transformer.
func secretListTable(result any) (any, error) {
	items, ok := result.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	rows := []output.Object{}
	for _, it := range items {
		m, _ := it.(map[string]any)
		attrs, _ := m["attributes"].(map[string]any)
		rows = append(rows, output.Object{{Key: "Name", Value: m["name"]}, {Key: "Id", Value: m["id"]},
			{Key: "ContentType", Value: m["contentType"]}, {Key: "Enabled", Value: attrs["enabled"]}, {Key: "Expires", Value: attrs["expires"]}})
	}
	return rows, nil
}

// Parameters.

// idParam is the Id group's --id: a secret id, a recovery id (kind "recovery") or a vault URL (kind "vault").
func idParam(kind string) cli.Param {
	help := "Id of the secret. If specified all other 'Id' arguments should be omitted."
	switch kind {
	case "recovery":
		help = "The recovery id of the secret. If specified all other 'Id' arguments should be omitted."
	case "vault":
		help = "Full URI of the Vault. If specified all other 'Id' arguments should be omitted."
	}
	return cli.Param{Name: "id", Group: "Id", Help: help}
}

var (
	vaultNameParam = cli.Param{Name: "vault-name", Group: "Id", Help: "Name of the Key Vault. Required if --id is not specified."}
	secretName     = cli.Param{Name: "name", Short: "n", Group: "Id", Help: "Name of the secret. Required if --id is not specified."}
	versionParam   = cli.Param{Name: "version", Short: "v", Group: "Id", Help: "The secret version. If omitted, uses the latest version."}
	maxResults     = cli.Param{Name: "maxresults", Check: checkInt,
		Help: "Maximum number of results to return in a page. If not specified, the service will return up to 25 results."}
	expiresParam   = cli.Param{Name: "expires", Check: checkDatetime, Help: "Expiration UTC datetime (Y-m-d'T'H:M:S'Z')."}
	notBeforeParam = cli.Param{Name: "not-before", Check: checkDatetime, Help: "Secret not usable before the provided UTC datetime (Y-m-d'T'H:M:S'Z')."}
)

// parseDatetime is keyvault's datetime_type: 2017-12-31T01:11:59Z, 2017-12-31T01:11Z, 2017-12-31T01Z or
// 2017-12-31, in UTC. strptime matches literals case-insensitively and takes unpadded numbers.
func parseDatetime(s string) (time.Time, error) {
	u := strings.ToUpper(s)
	for _, layout := range []string{"2006-1-2T15:4:5Z", "2006-1-2T15:4Z", "2006-1-2T15Z", "2006-1-2"} {
		if t, err := time.Parse(layout, u); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Input '%s' not valid. Valid example: 2000-12-31T12:59:59Z", s)
}

func checkDatetime(v string) error {
	if _, err := parseDatetime(v); err != nil {
		return fmt.Errorf("invalid datetime_type value: '%s'", v)
	}
	return nil
}

func maxResultsOf(ctx *cli.Context) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(ctx.String("maxresults"), "+"))
	return n
}

// listPath adds maxresults (the SDK's max_page_size) to a list path.
func listPath(ctx *cli.Context, path string) string {
	if ctx.Has("maxresults") {
		return path + "?maxresults=" + strconv.Itoa(maxResultsOf(ctx))
	}
	return path
}

// attributesBody is the SDK's SecretAttributes as it serializes it: only what is set.
func attributesBody(ctx *cli.Context, enabled *bool) map[string]any {
	attrs := map[string]any{}
	if enabled != nil {
		attrs["enabled"] = *enabled
	}
	if ctx.Has("not-before") {
		t, _ := parseDatetime(ctx.String("not-before"))
		attrs["nbf"] = t.Unix()
	}
	if ctx.Has("expires") {
		t, _ := parseDatetime(ctx.String("expires"))
		attrs["exp"] = t.Unix()
	}
	if len(attrs) == 0 {
		return nil
	}
	return attrs
}

// withRef runs a data-plane command on the object its --id or --vault-name/--name name.
func withRef(hasVersion bool, run func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error)) func(*cli.Context) (any, error) {
	return func(ctx *cli.Context) (any, error) {
		ref, err := objectRefFrom(ctx, hasVersion)
		if err != nil {
			return nil, err
		}
		v, err := vaultSession(ctx, ref.vaultURL)
		if err != nil {
			return nil, err
		}
		return run(ctx, v, ref)
	}
}

// withVault runs a list command on the vault its --id or --vault-name name.
func withVault(run func(ctx *cli.Context, v *vaultClient) (any, error)) func(*cli.Context) (any, error) {
	return func(ctx *cli.Context) (any, error) {
		u, err := vaultURLFrom(ctx)
		if err != nil {
			return nil, err
		}
		v, err := vaultSession(ctx, u)
		if err != nil {
			return nil, err
		}
		return run(ctx, v)
	}
}

func registerSecret(app *cli.App) {
	refParams := func(id cli.Param, extra ...cli.Param) []cli.Param {
		return append([]cli.Param{id, secretName, vaultNameParam}, extra...)
	}
	app.Register(
		cli.Command{
			Name: "keyvault secret set", Short: "Create a secret (if one doesn't exist) or update a secret in a KeyVault.",
			Params: []cli.Param{
				{Name: "name", Short: "n", Required: true, Group: "Id", Help: "Name of the secret."},
				{Name: "vault-name", Required: true, Group: "Id", Help: "Name of the Vault."},
				{Name: "value", Group: "Content Source", Help: "Plain text secret value. Cannot be used with '--file' or '--encoding'"},
				{Name: "file", Short: "f", Group: "Content Source", Help: "Source file for secret. Use in conjunction with '--encoding'"},
				{Name: "encoding", Short: "e", Group: "Content Source", Choices: secretEncodings, Default: "utf-8",
					Help: "Source file encoding. The value is saved as a tag (`file-encoding=<val>`) and used during download to automatically encode the resulting file."},
				{Name: "description", Aliases: []string{"content-type"}, Help: "Description of the secret contents (e.g. password, connection string, etc)"},
				{Name: "disabled", Bool: true, Help: "Create secret in disabled state."},
				expiresParam, notBeforeParam, tagsParam,
			},
			Examples: []cli.Example{{Name: "Create a secret (if one doesn't exist) or update a secret in a KeyVault.",
				Text: "keyhaven keyvault secret set --name MySecretName --vault-name MyKeyVault --value MyVault"}},
			Run: setSecret,
		},
		cli.Command{
			Name: "keyvault secret show", Short: "Get a specified secret from a given key vault.",
			Params: refParams(idParam(""), versionParam),
			Run: withRef(true, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				var b map[string]any
				if err := v.do(ctx, http.MethodGet, objectPath("secrets", ref.name, ref.version), nil, &b); err != nil {
					// az's show_exception_handler: a show command's not-found exits 3.
					if kvStatus(err) == http.StatusNotFound {
						return nil, cli.ExitError{Code: 3, Err: err}
					}
					return nil, err
				}
				return secretView(b, true), nil
			}),
		},
		cli.Command{
			Name: "keyvault secret list", Short: "List secrets in a specified key vault.",
			Params: []cli.Param{idParam("vault"), vaultNameParam, maxResults,
				{Name: "include-managed", Bool: true, Default: "false", Help: "Include managed secrets. Default: false"}},
			Table: secretListTable,
			Run: withVault(func(ctx *cli.Context, v *vaultClient) (any, error) {
				// filter_out_managed_resources, then keep_max_results.
				var keep func(map[string]any) bool
				if !ctx.Bool("include-managed") {
					keep = func(m map[string]any) bool { b, _ := m["managed"].(bool); return !b }
				}
				items, err := v.list(ctx, listPath(ctx, "/secrets"), maxResultsOf(ctx), keep)
				return secretItems(items, secretBase), err
			}),
		},
		cli.Command{
			Name: "keyvault secret list-versions", Short: "List all versions of the specified secret.",
			Params: refParams(idParam(""), maxResults),
			Run: withRef(false, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				items, err := v.list(ctx, listPath(ctx, objectPath("secrets", ref.name)+"/versions"), maxResultsOf(ctx), nil)
				return secretItems(items, secretBase), err
			}),
		},
		cli.Command{
			Name: "keyvault secret list-deleted", Short: "Lists deleted secrets for the specified vault.",
			Params: []cli.Param{idParam("vault"), vaultNameParam, maxResults},
			Run: withVault(func(ctx *cli.Context, v *vaultClient) (any, error) {
				items, err := v.list(ctx, listPath(ctx, "/deletedsecrets"), maxResultsOf(ctx), nil)
				return secretItems(items, deletedSecretItem), err
			}),
		},
		cli.Command{
			Name: "keyvault secret set-attributes", Short: "Update the attributes associated with a specified secret in a given key vault.",
			Params: refParams(idParam(""), versionParam,
				cli.Param{Name: "content-type", Help: "Type of the secret value such as a password."},
				cli.Param{Name: "enabled", Bool: true, Help: "Enable the secret."},
				expiresParam, notBeforeParam, tagsParam),
			Run: withRef(true, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				// update_secret_properties: only what is given goes in the PATCH.
				body := map[string]any{}
				if ctx.Has("content-type") {
					body["contentType"] = ctx.String("content-type")
				}
				var enabled *bool
				if ctx.Has("enabled") {
					e := ctx.Bool("enabled")
					enabled = &e
				}
				if attrs := attributesBody(ctx, enabled); attrs != nil {
					body["attributes"] = attrs
				}
				if ctx.Has("tags") {
					body["tags"] = parseTags(ctx.Strings("tags"))
				}
				var b map[string]any
				if err := v.do(ctx, http.MethodPatch, objectPath("secrets", ref.name, ref.version), body, &b); err != nil {
					return nil, err
				}
				return secretView(b, false), nil
			}),
		},
		cli.Command{
			Name: "keyvault secret delete", Short: "Delete all versions of a secret.",
			Params: refParams(idParam("")),
			Run: withRef(false, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				if !ctx.Bool("only-show-errors") {
					fmt.Fprintln(ctx.Stderr, secretDeleteNotice)
				}
				var b map[string]any
				if err := v.do(ctx, http.MethodDelete, objectPath("secrets", ref.name), nil, &b); err != nil {
					return nil, err
				}
				// begin_delete_secret's poller waits until the deleted secret can be read (when soft delete
				// is on, which a recovery id shows).
				if b["recoveryId"] != nil {
					if err := pollUntilFound(ctx, v, objectPath("deletedsecrets", ref.name)); err != nil {
						return nil, err
					}
				}
				return deletedSecretView(b), nil
			}),
		},
		cli.Command{
			Name: "keyvault secret show-deleted", Short: "Get the specified deleted secret.",
			Params: refParams(idParam("recovery")),
			Run: withRef(false, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				var b map[string]any
				if err := v.do(ctx, http.MethodGet, objectPath("deletedsecrets", ref.name), nil, &b); err != nil {
					return nil, err
				}
				return deletedSecretView(b), nil
			}),
		},
		cli.Command{
			Name: "keyvault secret recover", Short: "Recover a deleted secret to its latest version.",
			Params: refParams(idParam("recovery")),
			Run: withRef(false, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				var b map[string]any
				if err := v.do(ctx, http.MethodPost, objectPath("deletedsecrets", ref.name)+"/recover", nil, &b); err != nil {
					return nil, err
				}
				// begin_recover_deleted_secret's poller waits until the secret can be read.
				if err := pollUntilFound(ctx, v, objectPath("secrets", ref.name, "")); err != nil {
					return nil, err
				}
				return secretView(b, false), nil
			}),
		},
		cli.Command{
			Name: "keyvault secret purge", Short: "Permanently deletes the specified secret.",
			Params: refParams(idParam("recovery")),
			Run: withRef(false, func(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
				return nil, v.do(ctx, http.MethodDelete, objectPath("deletedsecrets", ref.name), nil, nil)
			}),
		},
		cli.Command{
			Name: "keyvault secret backup", Short: "Backs up the specified secret.",
			Params: refParams(idParam(""), cli.Param{Name: "file", Short: "f", Required: true, Help: "File to receive the secret contents."}),
			Run:    withRef(false, backupSecret),
		},
		cli.Command{
			Name: "keyvault secret restore", Short: "Restores a backed up secret to a vault.",
			Params: []cli.Param{
				{Name: "vault-name", Required: true, Group: "Id", Help: "Name of the Vault."},
				{Name: "file", Short: "f", Required: true, Help: "File to receive the secret contents."},
			},
			Run: restoreSecret,
		},
		cli.Command{
			Name: "keyvault secret download", Short: "Download a secret from a KeyVault.",
			Params: refParams(idParam(""), versionParam,
				cli.Param{Name: "file", Short: "f", Required: true, Help: "File to receive the secret contents."},
				cli.Param{Name: "encoding", Short: "e", Choices: secretEncodings,
					Help: "Encoding of the secret. By default, will look for the 'file-encoding' tag on the secret. Otherwise will assume 'utf-8'."},
				cli.Param{Name: "overwrite", Bool: true, Help: "Overwrite the file if it exists."}),
			Run: withRef(true, downloadSecret),
		},
	)
}

// secretItems applies an item view to a list.
func secretItems(items []map[string]any, view func(map[string]any) map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}

// pollUntilFound is the SDK's DeleteRecoverPollingMethod: GET path until it answers; not-found means not yet,
// forbidden means done (the caller may lack get permission).
func pollUntilFound(ctx context.Context, v *vaultClient, path string) error {
	for i := 0; i < pollLimit; i++ {
		err := v.do(ctx, http.MethodGet, path, nil, nil)
		switch kvStatus(err) {
		case 0:
			if err != nil {
				return err
			}
			return nil
		case http.StatusForbidden:
			return nil
		case http.StatusNotFound:
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	return nil
}

// setSecret is keyvault secret set: process_secret_set_namespace, then SecretClient.set_secret.
func setSecret(ctx *cli.Context) (any, error) {
	value, file := ctx.String("value"), ctx.String("file")
	if (value != "" && file != "") || (value == "" && file == "") {
		return nil, errors.New("incorrect usage: [Required] --value VALUE | --file PATH")
	}
	encoding := ctx.String("encoding")
	if file != "" {
		v, err := readSecretFile(expandUser(file), encoding)
		if err != nil {
			return nil, err
		}
		value = v
	}
	tags := map[string]string{}
	if ctx.Has("tags") {
		tags = parseTags(ctx.Strings("tags"))
	}
	tags["file-encoding"] = encoding
	body := map[string]any{"value": value, "tags": tags}
	if ctx.Has("description") {
		body["contentType"] = ctx.String("description")
	}
	var enabled *bool
	if ctx.Has("disabled") {
		e := !ctx.Bool("disabled")
		enabled = &e
	}
	if attrs := attributesBody(ctx, enabled); attrs != nil {
		body["attributes"] = attrs
	}
	v, err := vaultSession(ctx, client.VaultURL(ctx.String("vault-name")))
	if err != nil {
		return nil, err
	}
	var b map[string]any
	if err := v.do(ctx, http.MethodPut, objectPath("secrets", ctx.String("name")), body, &b); err != nil {
		return nil, err
	}
	return secretView(b, true), nil
}

// backupSecret is custom.py's backup_secret: the SDK decodes the base64url blob; the file gets the bytes.
func backupSecret(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
	var out struct {
		Value string `json:"value"`
	}
	if err := v.do(ctx, http.MethodPost, objectPath("secrets", ref.name)+"/backup", nil, &out); err != nil {
		return nil, err
	}
	blob, err := decodeBase64URL(out.Value)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(expandUser(ctx.String("file")), blob, 0o666); err != nil {
		return nil, pyOSError(err)
	}
	return nil, nil
}

// restoreSecret is custom.py's restore_secret: the file's bytes go back as a base64url blob.
func restoreSecret(ctx *cli.Context) (any, error) {
	data, err := os.ReadFile(expandUser(ctx.String("file")))
	if err != nil {
		return nil, pyOSError(err)
	}
	v, err := vaultSession(ctx, client.VaultURL(ctx.String("vault-name")))
	if err != nil {
		return nil, err
	}
	var b map[string]any
	body := map[string]any{"value": base64.RawURLEncoding.EncodeToString(data)}
	if err := v.do(ctx, http.MethodPost, "/secrets/restore", body, &b); err != nil {
		return nil, err
	}
	return secretView(b, false), nil
}

// downloadSecret is custom.py's download_secret.
func downloadSecret(ctx *cli.Context, v *vaultClient, ref objectRef) (any, error) {
	path := expandUser(ctx.String("file"))
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("Cannot write to '%s': it is a directory.", path)
		}
		if fi.Mode().IsRegular() && !ctx.Bool("overwrite") {
			return nil, fmt.Errorf("File '%s' already exists. Use --overwrite to overwrite the existing file.", path)
		}
	}
	var b map[string]any
	if err := v.do(ctx, http.MethodGet, objectPath("secrets", ref.name, ref.version), nil, &b); err != nil {
		return nil, err
	}
	encoding := ctx.String("encoding")
	if encoding == "" {
		encoding = "utf-8"
		if tags, ok := b["tags"].(map[string]any); ok {
			if e, ok := tags["file-encoding"].(string); ok {
				encoding = e
			}
		}
	}
	value, _ := b["value"].(string)
	data, err := secretFileBytes(value, encoding)
	if err == nil {
		err = writeSecretFile(path, data)
	}
	if err != nil {
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() {
			os.Remove(path)
		}
		return nil, err
	}
	return nil, nil
}

// decodeBase64URL is msrest's deserialize_base64, how the SDK reads the backup blob.
func decodeBase64URL(s string) ([]byte, error) {
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	return pyB64Decode(s + strings.Repeat("=", (4-len(s)%4)%4))
}
