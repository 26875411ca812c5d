// Package commands holds keyhaven's az-style commands (login, account, ad, keyvault secret ...), built on the cli
// framework and the client package. Each file is one command group; names, flags and output follow az.
package commands

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// Register adds every command to app.
func Register(app *cli.App) {
	app.Describe(
		cli.Group{Name: "account", Short: "Manage Azure subscription information."},
		cli.Group{Name: "ad", Short: "Manage Microsoft Entra ID (Azure Active Directory) Graph entities needed for Role Based Access Control."},
		cli.Group{Name: "ad user", Short: "Manage Microsoft Entra users."},
		cli.Group{Name: "ad group", Short: "Manage Microsoft Entra groups."},
		cli.Group{Name: "ad group member", Short: "Manage Microsoft Entra group membership."},
		cli.Group{Name: "ad sp", Short: "Manage Microsoft Entra service principals."},
		cli.Group{Name: "ad app", Short: "Manage Microsoft Entra applications."},
		cli.Group{Name: "ad signed-in-user", Short: "Show graph information about current signed-in user in CLI."},
		cli.Group{Name: "group", Short: "Manage resource groups and template deployments."},
		cli.Group{Name: "appservice", Short: "Manage App Service plans."},
		cli.Group{Name: "appservice plan", Short: "Manage app service plans."},
		cli.Group{Name: "webapp", Short: "Manage web apps."},
		cli.Group{Name: "webapp identity", Short: "Manage web app's managed identity."},
		cli.Group{Name: "webapp config", Short: "Configure a web app."},
		cli.Group{Name: "webapp config appsettings", Short: "Configure web app settings. Updating or removing application settings will cause an app recycle."},
		cli.Group{Name: "functionapp", Short: "Manage function apps."},
		cli.Group{Name: "functionapp identity", Short: "Manage function app's managed identity."},
		cli.Group{Name: "functionapp config", Short: "Configure a function app."},
		cli.Group{Name: "functionapp config appsettings", Short: "Configure function app settings."},
		cli.Group{Name: "identity", Short: "Managed Identities."},
		cli.Group{Name: "keyvault", Short: "Manage KeyVault keys, secrets, and certificates."},
		cli.Group{Name: "keyvault network-rule", Short: "Manage vault network ACLs."},
		cli.Group{Name: "keyvault secret", Short: "Manage secrets."},
		cli.Group{Name: "audit", Short: "Read keyhaven's audit trail (keyhaven only; az has no equivalent)."},
		cli.Group{Name: "role", Short: "Manage Azure role-based access control (Azure RBAC)."},
		cli.Group{Name: "role definition", Short: "Manage role definitions."},
		cli.Group{Name: "role assignment", Short: "Manage role assignments."},
	)
	registerAccount(app)
	registerADUser(app)
	registerADGroup(app)
	registerADSP(app)
	registerADApp(app)
	registerGroup(app)
	registerAppService(app)
	registerWebapp(app)
	registerFunctionapp(app)
	registerIdentity(app)
	registerKeyVault(app)
	registerSecret(app)
	registerAudit(app)
	registerRole(app)
	registerVM(app)
	registerRun(app)
	registerEnv(app)
}

// session opens the signed-in profile.
func session(ctx *cli.Context) (*client.Session, error) {
	dir, err := client.ConfigDir(ctx.Env)
	if err != nil {
		return nil, err
	}
	return client.OpenSession(dir)
}

// graphErr shows Graph failures as az does: the service's message alone.
func graphErr(err error) error {
	var e *client.Error
	if errors.As(err, &e) && e.Message != "" {
		return errors.New(e.Message)
	}
	return err
}

// graphObject drops OData annotations az does not print.
func graphObject(m map[string]any) map[string]any {
	delete(m, "@odata.context")
	return m
}

// graphList reads every page of a Graph collection.
func graphList(ctx context.Context, s *client.Session, path string) ([]map[string]any, error) {
	var out []map[string]any
	for path != "" {
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := s.Graph(ctx, "GET", path, nil, &page); err != nil {
			return nil, graphErr(err)
		}
		out = append(out, page.Value...)
		path = ""
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil {
				return nil, err
			}
			path = strings.TrimPrefix(u.Path, "/v1.0") + "?" + u.RawQuery
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// odataQuote quotes a string for a $filter.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// filterPath builds a collection path with the filter clauses that are set, joined with "and".
func filterPath(collection string, clauses ...string) string {
	var set []string
	for _, c := range clauses {
		if c != "" {
			set = append(set, c)
		}
	}
	if len(set) == 0 {
		return collection
	}
	return collection + "?$filter=" + url.QueryEscape(strings.Join(set, " and "))
}

// isGUID reports whether s looks like an object id.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
