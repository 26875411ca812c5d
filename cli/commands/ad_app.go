package commands

import (
	"fmt"
	"net/url"

	"github.com/keyhaven/keyhaven/cli"
)

func registerADApp(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "ad app list", Short: "List applications.",
			Params: []cli.Param{
				{Name: "display-name", Help: "Object's display name or its prefix."},
				{Name: "app-id", Help: "Application id."},
				{Name: "filter", Help: "OData filter."},
				{Name: "all", Bool: true, Help: "List all entities, expect long delay if under a big organization."},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var dn, id string
				if v := ctx.String("display-name"); v != "" {
					dn = "startswith(displayName," + odataQuote(v) + ")"
				}
				if v := ctx.String("app-id"); v != "" {
					id = "appId eq " + odataQuote(v)
				}
				return graphList(ctx, s, filterPath("/applications", ctx.String("filter"), dn, id))
			},
		},
		cli.Command{
			Name: "ad app show", Short: "Get the details of an application.",
			Params: []cli.Param{{Name: "id", Required: true, Help: "Identifier uri, application id, or object id."}},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				id := ctx.String("id")
				var out map[string]any
				if isGUID(id) {
					if err := s.Graph(ctx, "GET", "/applications/"+url.PathEscape(id), nil, &out); err == nil {
						return graphObject(out), nil
					}
				}
				found, err := graphList(ctx, s, filterPath("/applications", "appId eq "+odataQuote(id)))
				if err != nil {
					return nil, err
				}
				if len(found) == 0 {
					return nil, fmt.Errorf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
				}
				return found[0], nil
			},
		},
	)
}
