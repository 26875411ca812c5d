package commands

import (
	"net/http"

	"github.com/keyhaven/keyhaven/cli"
)

const uamiProvider = "Microsoft.ManagedIdentity/userAssignedIdentities"

// uamiView prints a user-assigned identity as az's (aaz) identity commands do: properties flattened into
// the object (clientId, principalId, tenantId).
func uamiView(m map[string]any) map[string]any { return flatten(m, nil) }

func registerIdentity(app *cli.App) {
	name := cli.Param{Name: "name", Short: "n", Required: true, Help: "The name of the identity resource."}
	app.Register(
		cli.Command{
			Name: "identity create", Short: "Create Identities.",
			Params: []cli.Param{rgParam(true), name,
				{Name: "location", Short: "l", Help: "Location. Values from: `keyhaven account list-locations`. Default: the resource group's location."},
				tagsParam},
			Examples: []cli.Example{{Name: "Create an identity.", Text: "keyhaven identity create --name MyIdentity --resource-group MyResourceGroup"}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg := ctx.String("resource-group")
				loc := ctx.String("location")
				if loc == "" {
					var err error
					if loc, err = a.groupLocation(ctx, rg); err != nil {
						return nil, err
					}
				}
				body := map[string]any{"location": loc}
				if ctx.Has("tags") {
					body["tags"] = parseTags(ctx.Strings("tags"))
				}
				out, err := a.put(ctx, a.resourcePath(rg, uamiProvider, ctx.String("name")), apiMSI, body)
				return uamiView(out), err
			}),
		},
		cli.Command{
			Name: "identity show", Short: "Get an identity.",
			Params: []cli.Param{rgParam(true), name},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				out, err := a.get(ctx, a.resourcePath(ctx.String("resource-group"), uamiProvider, ctx.String("name")), apiMSI)
				if err != nil {
					return nil, showErr(err)
				}
				return uamiView(out), nil
			}),
		},
		cli.Command{
			Name: "identity list", Short: "List all the identities in a resource group or subscription.",
			Params: []cli.Param{rgParam(false)},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				path := a.subPath() + "/providers/" + uamiProvider
				if rg := ctx.String("resource-group"); rg != "" {
					path = a.groupPath(rg) + "/providers/" + uamiProvider
				}
				list, err := a.list(ctx, path, apiMSI)
				for _, m := range list {
					uamiView(m)
				}
				return list, err
			}),
		},
		cli.Command{
			Name: "identity delete", Short: "Delete an identity.",
			Params: []cli.Param{rgParam(true), name},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return nil, a.do(ctx, http.MethodDelete, a.resourcePath(ctx.String("resource-group"), uamiProvider, ctx.String("name")), apiMSI, nil, nil)
			}),
		},
	)
}
