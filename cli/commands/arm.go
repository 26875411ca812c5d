package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// API versions the management commands send, the ones az's SDKs use.
const (
	apiResources = "2024-11-01" // Microsoft.Resources: resource groups
	// apiResourcesLegacy is what azure-mgmt-keyvault's Vaults.list sends to /resources.
	apiResourcesLegacy = "2015-11-01"
	apiWeb             = "2024-04-01"
	apiKeyVault        = "2024-11-01"
	apiMSI             = "2023-01-31"
	apiAuthorization   = "2022-04-01"
)

// armClient is a signed-in session with the subscription a management command works in.
type armClient struct {
	s   *client.Session
	sub string
}

// armCommand adapts a management command: it opens the session, resolves --subscription, runs, and adds
// resourceGroup to every printed object whose id names one, as az's result transform does.
func armCommand(run func(ctx *cli.Context, a *armClient) (any, error)) func(*cli.Context) (any, error) {
	return func(ctx *cli.Context) (any, error) {
		s, err := session(ctx)
		if err != nil {
			return nil, err
		}
		sub, err := s.SubscriptionID(ctx.String("subscription"))
		if err != nil {
			return nil, err
		}
		v, err := run(ctx, &armClient{s: s, sub: sub})
		if err != nil {
			return nil, err
		}
		addResourceGroup(v)
		return v, nil
	}
}

// withAPI appends the api-version to a path that may already have a query.
func withAPI(path, api string) string {
	if strings.Contains(path, "?") {
		return path + "&api-version=" + api
	}
	return path + "?api-version=" + api
}

// do sends one management request; failures come back as *armError.
func (a *armClient) do(ctx context.Context, method, path, api string, in, out any) error {
	return armErr(a.s.ARM(ctx, method, withAPI(path, api), in, out))
}

// get reads a resource as a generic object.
func (a *armClient) get(ctx context.Context, path, api string) (map[string]any, error) {
	var out map[string]any
	if err := a.do(ctx, http.MethodGet, path, api, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// put creates or replaces a resource and returns its final state. Resource providers may answer a PUT
// with 201/202 and no body while they finish; the poller az uses then ends on the resource itself, so an
// answer without an id is followed by a GET.
func (a *armClient) put(ctx context.Context, path, api string, body any) (map[string]any, error) {
	var out map[string]any
	if err := a.do(ctx, http.MethodPut, path, api, body, &out); err != nil {
		return nil, err
	}
	if _, ok := out["id"]; !ok {
		return a.get(ctx, path, api)
	}
	return out, nil
}

// list reads every page of a collection.
func (a *armClient) list(ctx context.Context, path, api string) ([]map[string]any, error) {
	out := []map[string]any{}
	next := withAPI(path, api)
	for next != "" {
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"nextLink"`
		}
		if err := armErr(a.s.ARM(ctx, http.MethodGet, next, nil, &page)); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = ""
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil {
				return nil, err
			}
			next = u.RequestURI()
		}
	}
	return out, nil
}

// subPath is the subscription's path: /subscriptions/{s}.
func (a *armClient) subPath() string { return "/subscriptions/" + a.sub }

// groupPath is a resource group's path.
func (a *armClient) groupPath(rg string) string {
	return a.subPath() + "/resourceGroups/" + url.PathEscape(rg)
}

// resourcePath is the path of a resource in a group: provider is "Microsoft.Web/sites", say.
func (a *armClient) resourcePath(rg, provider, name string) string {
	return a.groupPath(rg) + "/providers/" + provider + "/" + url.PathEscape(name)
}

// groupLocation is the location of a resource group, which az uses when -l is not given.
func (a *armClient) groupLocation(ctx context.Context, rg string) (string, error) {
	g, err := a.get(ctx, a.groupPath(rg), apiResources)
	if err != nil {
		return "", err
	}
	loc, _ := g["location"].(string)
	return loc, nil
}

// armError is a failed management call, printed as azure-core prints an ARM error.
type armError struct {
	status        int
	code, message string
}

func (e *armError) Error() string {
	if e.code == "" {
		return e.message
	}
	return fmt.Sprintf("(%s) %s\nCode: %s\nMessage: %s", e.code, e.message, e.code, e.message)
}

// armErr turns a client error into an armError; other errors pass through.
func armErr(err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Code == "" {
		// No ARM error body: azure-core names the status.
		return &armError{status: e.Status, message: fmt.Sprintf("Operation returned an invalid status '%s'", http.StatusText(e.Status))}
	}
	return &armError{status: e.Status, code: e.Code, message: e.Message}
}

// errStatus is the HTTP status of a failed management call, 0 for other errors.
func errStatus(err error) int {
	var e *armError
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}

func isNotFound(err error) bool { return errStatus(err) == http.StatusNotFound }

// showErr gives a show command's not-found error az's exit code 3 (show_exception_handler).
func showErr(err error) error {
	if isNotFound(err) {
		return cli.ExitError{Code: 3, Err: err}
	}
	return err
}

// notFoundf is az's ResourceNotFoundError (a UserFault: exit 1, unlike a show command's not-found).
func notFoundf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// addResourceGroup adds resourceGroup, parsed from id, to every object (at any depth, except under
// sourceVault) that has an ARM id naming a resource in a group, as azure-cli's _add_resource_group does.
func addResourceGroup(v any) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			addResourceGroup(e)
		}
	case []map[string]any:
		for _, e := range t {
			addResourceGroup(e)
		}
	case map[string]any:
		if _, ok := t["resourceGroup"]; !ok {
			if id, ok := t["id"].(string); ok && id != "" {
				// _parse_id: parts[3] must be resourceGroups, and parts[8] must exist.
				parts := strings.Split(id, "/")
				if len(parts) > 8 && strings.EqualFold(parts[3], "resourcegroups") {
					t["resourceGroup"] = parts[4]
				}
			}
		}
		for k, e := range t {
			if k != "sourceVault" {
				addResourceGroup(e)
			}
		}
	}
}

// withNulls sets the named keys that m lacks to null, as az prints every attribute of an SDK model.
func withNulls(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	return m
}

// flatten moves properties up into the object, as the SDK models with x-ms-client-flatten print; renames
// maps property names that would clash (role definitions' properties.type becomes roleType).
func flatten(m map[string]any, renames map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	props, _ := m["properties"].(map[string]any)
	delete(m, "properties")
	for k, v := range props {
		if r, ok := renames[k]; ok {
			k = r
		}
		m[k] = v
	}
	return m
}

// parseTags turns az's "--tags k=v k2 ..." into a map (validate_tags): a value-less key gets "".
func parseTags(vals []string) map[string]string {
	tags := map[string]string{}
	for _, v := range vals {
		if v == "" {
			continue
		}
		k, val, _ := strings.Cut(v, "=")
		tags[k] = val
	}
	return tags
}

// tagsParam is az's --tags argument.
var tagsParam = cli.Param{Name: "tags", Multi: true, Help: "Space-separated tags: key[=value] [key[=value] ...]. Use \"\" to clear existing tags."}

// rgParam is az's -g/--resource-group argument.
func rgParam(required bool) cli.Param {
	return cli.Param{Name: "resource-group", Short: "g", Required: required,
		Help: "Name of resource group. You can configure the default group using `keyhaven configure --defaults group=<name>`."}
}

// resourceID is a parsed ARM resource id: /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}.
type resourceID struct {
	Subscription, ResourceGroup, Namespace, Type, Name string
}

// parseResourceID parses an id with a provider, type and name, as azure.mgmt.core.tools.is_valid_resource_id
// accepts; ok is false for anything else.
func parseResourceID(id string) (resourceID, bool) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) < 8 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") ||
		!strings.EqualFold(parts[4], "providers") {
		return resourceID{}, false
	}
	for _, p := range parts[:8] {
		if p == "" {
			return resourceID{}, false
		}
	}
	return resourceID{Subscription: parts[1], ResourceGroup: parts[3], Namespace: parts[5], Type: parts[6], Name: parts[7]}, true
}

// confirm asks a yes/no question on the terminal as knack's prompt_y_n does; without a terminal it fails
// with azure-cli's user_confirmation message.
func confirm(ctx *cli.Context, msg string) error {
	f, ok := ctx.Stdin.(*os.File)
	if ok {
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			ok = false
		}
	}
	if !ok {
		return errors.New("Unable to prompt for confirmation as no tty available. Use --yes.")
	}
	in := bufio.NewReader(f)
	for {
		fmt.Fprintf(ctx.Stdout, "%s (y/n): ", msg)
		line, err := in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		case "n", "no":
			return errors.New("Operation cancelled.")
		}
		if err != nil {
			return errors.New("Operation cancelled.")
		}
		fmt.Fprintln(ctx.Stdout, "Please enter 'y' or 'n'.")
	}
}

// readArgFile expands az's "@path" argument form (knack reads the file in place of the argument).
func readArgFile(v string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	b, err := os.ReadFile(strings.TrimPrefix(v, "@"))
	if err != nil {
		return "", err
	}
	return string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))), nil
}

// orderedObject decodes a JSON object keeping its key order, as Python's dict does.
func orderedObject(raw json.RawMessage) ([]string, map[string]any, error) {
	values := map[string]any{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, values, nil
	}
	if err := json.Unmarshal(raw, &values); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := tok.(string)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return keys, values, nil
}

// graphFirst returns the id of the first object a Graph collection query finds, "" if none.
func graphFirst(ctx context.Context, s *client.Session, path string) (string, error) {
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := s.Graph(ctx, http.MethodGet, path, nil, &page); err != nil {
		return "", err
	}
	if len(page.Value) == 0 {
		return "", nil
	}
	id, _ := page.Value[0]["id"].(string)
	return id, nil
}

// graphObjectsByIDs is directoryObjects/getByIds, what az's _get_object_stubs calls.
func graphObjectsByIDs(ctx context.Context, s *client.Session, ids []string) ([]map[string]any, error) {
	body := map[string]any{"ids": ids, "types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}}
	var out struct {
		Value []map[string]any `json:"value"`
	}
	if err := s.Graph(ctx, http.MethodPost, "/directoryObjects/getByIds", body, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// principalTypes maps Graph's @odata.type to ARM RBAC's principalType.
var principalTypes = map[string]string{
	"#microsoft.graph.user":             "User",
	"#microsoft.graph.servicePrincipal": "ServicePrincipal",
	"#microsoft.graph.group":            "Group",
}
