package commands

import (
	"net/url"

	"github.com/keyhaven/keyhaven/cli"
)

func registerADUser(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "ad user create", Short: "Create a user.",
			Params: []cli.Param{
				{Name: "display-name", Required: true, Help: "Object's display name or its prefix."},
				{Name: "password", Required: true, Help: "The password that should be assigned to the user for authentication."},
				{Name: "user-principal-name", Required: true, Help: "The user principal name (someuser@contoso.com). It must contain one of the verified domains for the tenant."},
				{Name: "mail-nickname", Help: "Mail alias. Defaults to user principal name."},
				{Name: "force-change-password-next-sign-in", Bool: true, Help: "Marks this user as needing to update their password the next time they authenticate."},
				{Name: "immutable-id", Hidden: true},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				body := map[string]any{
					"accountEnabled": true, "displayName": ctx.String("display-name"), "userPrincipalName": ctx.String("user-principal-name"),
					"passwordProfile": map[string]any{"password": ctx.String("password"), "forceChangePasswordNextSignIn": ctx.Bool("force-change-password-next-sign-in")},
				}
				if n := ctx.String("mail-nickname"); n != "" {
					body["mailNickname"] = n
				}
				var out map[string]any
				if err := s.Graph(ctx, "POST", "/users", body, &out); err != nil {
					return nil, graphErr(err)
				}
				return graphObject(out), nil
			},
		},
		cli.Command{
			Name: "ad user list", Short: "List users.",
			Params: []cli.Param{
				{Name: "display-name", Help: "Object's display name or its prefix."},
				{Name: "upn", Help: "User principal name."},
				{Name: "filter", Help: "OData filter, e.g. --filter \"displayname eq 'test' and servicePrincipalType eq 'Application'\"."},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var dn, upn string
				if v := ctx.String("display-name"); v != "" {
					dn = "startswith(displayName," + odataQuote(v) + ")"
				}
				if v := ctx.String("upn"); v != "" {
					upn = "userPrincipalName eq " + odataQuote(v)
				}
				return graphList(ctx, s, filterPath("/users", ctx.String("filter"), dn, upn))
			},
		},
		cli.Command{
			Name: "ad user show", Short: "Get the details of a user.",
			Params: []cli.Param{{Name: "id", Required: true, Help: "The object ID or principal name of the user for which to get information."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var out map[string]any
				if err := s.Graph(ctx, "GET", "/users/"+url.PathEscape(ctx.String("id")), nil, &out); err != nil {
					return nil, graphErr(err)
				}
				return graphObject(out), nil
			},
		},
		cli.Command{
			Name: "ad user delete", Short: "Delete a user.",
			Params: []cli.Param{{Name: "id", Required: true, Help: "The object ID or principal name of the user."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				return nil, graphErr(s.Graph(ctx, "DELETE", "/users/"+url.PathEscape(ctx.String("id")), nil, nil))
			},
		},
		cli.Command{
			Name: "ad signed-in-user show", Short: "Get the details for the currently logged-in user.",
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var out map[string]any
				if err := s.Graph(ctx, "GET", "/me", nil, &out); err != nil {
					return nil, graphErr(err)
				}
				return graphObject(out), nil
			},
		},
	)
}
