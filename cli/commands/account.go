package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

func registerAccount(app *cli.App) {
	app.Register(
		cli.Command{
			Name:  "login",
			Short: "Log in to keyhaven.",
			Long:  "Signs in a user with a password, or a service principal with a secret or a certificate, and saves the session in $KEYHAVEN_CONFIG_DIR (default ~/.keyhaven).",
			Params: []cli.Param{
				{Name: "server", Help: "keyhaven's URL, such as https://127.0.0.1:8443. Default: $KEYHAVEN_SERVER, or the last server logged in to."},
				{Name: "ca-file", Help: "CA certificate (PEM) to trust for the server: keyhaven's DATA/ca.pem. Default: $KEYHAVEN_CA_FILE, or the last one used."},
				{Name: "username", Short: "u", Help: "User name, or the application id of a service principal."},
				{Name: "password", Short: "p", Help: "The user's password or the service principal's secret."},
				{Name: "service-principal", Bool: true, Help: "Log in as a service principal."},
				{Name: "certificate", Help: "A PEM file with the service principal's certificate and private key."},
				{Name: "tenant", Short: "t", Help: "The tenant (id or domain); required for a service principal."},
				{Name: "allow-no-subscriptions", Bool: true, Help: "Log in even when the account has no subscriptions (a tenant-level account)."},
			},
			Run: login,
		},
		cli.Command{
			Name: "logout", Short: "Log out to remove access to keyhaven.",
			Params: []cli.Param{{Name: "username", Help: "Account user; keyhaven keeps one session, so this is ignored."}},
			Run: func(ctx *cli.Context) (any, error) {
				dir, err := client.ConfigDir(ctx.Env)
				if err != nil {
					return nil, err
				}
				return nil, client.RemoveProfile(dir)
			},
		},
		cli.Command{
			Name: "account show", Short: "Get the details of a subscription.",
			Params: []cli.Param{{Name: "name", Short: "n", Help: "Name or id of the subscription; default the current one."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				return pickAccount(s.Profile, firstSet(ctx.String("name"), ctx.String("subscription")))
			},
		},
		cli.Command{
			Name: "account list", Short: "Get a list of subscriptions for the logged in account.",
			Params: []cli.Param{{Name: "all", Bool: true, Help: "List all subscriptions."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				return s.Profile.Accounts, nil
			},
		},
		cli.Command{
			Name:  "account get-access-token",
			Short: "Get a token for utilities to access Azure.",
			Params: []cli.Param{
				{Name: "resource", Help: "Azure resource endpoints in AAD v1.0, default to Azure Resource Manager."},
				{Name: "scope", Help: "Space-separated AAD scopes in AAD v2.0. Default to Azure Resource Manager.", Multi: true},
				{Name: "resource-type", Help: "Type of well-known resource.", Choices: []string{"aad-graph", "arm", "batch", "data-lake", "media", "ms-graph", "oss-rdbms"}},
				{Name: "tenant", Short: "t", Help: "Tenant ID for which the token is acquired."},
			},
			Run: getAccessToken,
		},
	)
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func pickAccount(p *client.Profile, name string) (client.Account, error) {
	if name == "" {
		a, ok := p.DefaultAccount()
		if !ok {
			return a, client.ErrNotLoggedIn
		}
		return a, nil
	}
	for _, a := range p.Accounts {
		if strings.EqualFold(a.ID, name) || a.Name == name {
			return a, nil
		}
	}
	return client.Account{}, fmt.Errorf("Subscription '%s' not found. Check the spelling and casing and try again.", name)
}

func login(ctx *cli.Context) (any, error) {
	dir, err := client.ConfigDir(ctx.Env)
	if err != nil {
		return nil, err
	}
	cred := client.Credentials{
		Server: firstSet(ctx.String("server"), ctx.Env("KEYHAVEN_SERVER")), CAFile: firstSet(ctx.String("ca-file"), ctx.Env("KEYHAVEN_CA_FILE")),
		Tenant: ctx.String("tenant"), Username: ctx.String("username"), Password: ctx.String("password"),
		ServicePrincipal: ctx.Bool("service-principal"),
	}
	if prev, err := client.LoadProfile(dir); err == nil {
		cred.Server = firstSet(cred.Server, prev.Server)
		cred.CAFile = firstSet(cred.CAFile, prev.CAFile)
	}
	if cred.Server == "" {
		return nil, cli.Usagef("the following arguments are required: --server (or set KEYHAVEN_SERVER)")
	}
	if cred.Username == "" {
		return nil, cli.Usagef("the following arguments are required: --username/-u")
	}
	if path := ctx.String("certificate"); path != "" {
		if !cred.ServicePrincipal {
			return nil, cli.Usagef("usage error: --certificate goes with --service-principal")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cred.CertificatePEM = string(data)
	} else if cred.Password == "" {
		return nil, cli.Usagef("the following arguments are required: --password/-p (or --certificate for a service principal)")
	}
	accounts, none, err := client.Login(ctx, dir, cred)
	if err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("%s", e.Message)
		}
		return nil, err
	}
	if none && !ctx.Bool("allow-no-subscriptions") {
		ctx.Log.Warn(fmt.Sprintf("No subscriptions found for %s. Logged in at tenant level.", cred.Username))
	}
	return accounts, nil
}

// wellKnownResources are the --resource-type values.
var wellKnownResources = map[string]string{
	"arm": "https://management.core.windows.net/", "ms-graph": "https://graph.microsoft.com/",
	"aad-graph": "https://graph.windows.net/", "batch": "https://batch.core.windows.net/",
	"data-lake": "https://datalake.azure.net/", "media": "https://rest.media.azure.net", "oss-rdbms": "https://ossrdbms-aad.database.windows.net",
}

func getAccessToken(ctx *cli.Context) (any, error) {
	given := 0
	for _, n := range []string{"resource", "scope", "resource-type"} {
		if ctx.Has(n) {
			given++
		}
	}
	if given > 1 {
		return nil, cli.Usagef("usage error: --resource/--resource-type/--scope are mutually exclusive")
	}
	resource := client.ResourceManagement
	switch {
	case ctx.Has("resource"):
		resource = ctx.String("resource")
	case ctx.Has("resource-type"):
		resource = wellKnownResources[strings.ToLower(ctx.String("resource-type"))]
	case ctx.Has("scope"):
		scopes := ctx.Strings("scope")
		if len(scopes) != 1 {
			return nil, cli.Usagef("usage error: keyhaven takes one --scope")
		}
		resource = strings.TrimSuffix(scopes[0], "/.default")
	}
	s, err := session(ctx)
	if err != nil {
		return nil, err
	}
	if t := ctx.String("tenant"); t != "" && !strings.EqualFold(t, s.Profile.TenantID) {
		return nil, fmt.Errorf("the logged-in account is in tenant %s, not %s", s.Profile.TenantID, t)
	}
	tok, err := s.AccessToken(ctx, resource)
	if err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("%s", e.Message)
		}
		return nil, err
	}
	acct, _ := s.Profile.DefaultAccount()
	out := map[string]any{
		"accessToken": tok.AccessToken,
		"expiresOn":   tok.ExpiresOn.Local().Format("2006-01-02 15:04:05.000000"),
		"expires_on":  tok.ExpiresOn.Unix(),
		"tenant":      s.Profile.TenantID,
		"tokenType":   "Bearer",
	}
	// az leaves out the subscription for tenant-level tokens.
	if !ctx.Has("tenant") && acct.ID != s.Profile.TenantID {
		out["subscription"] = acct.ID
	}
	return out, nil
}
