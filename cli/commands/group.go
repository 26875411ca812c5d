package commands

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

// groupName reads az group's -n/--name/-g/--resource-group, one argument under four spellings.
func groupName(ctx *cli.Context) (string, error) {
	if ctx.Has("resource-group") {
		return ctx.String("resource-group"), nil
	}
	if ctx.Has("name") {
		return ctx.String("name"), nil
	}
	return "", cli.Usagef("the following arguments are required: --name/-n/--resource-group/-g")
}

// groupNameParams are az group's name argument (--name -n --resource-group -g); the framework gives a
// parameter one short form, so -g is its own parameter and groupName reads either.
func groupNameParams(help string) []cli.Param {
	return []cli.Param{
		{Name: "name", Short: "n", Help: help},
		{Name: "resource-group", Short: "g", Help: help, Hidden: true},
	}
}

// groupView prints a resource group as az does (the SDK's ResourceGroup model, every attribute).
func groupView(m map[string]any) map[string]any {
	return withNulls(m, "id", "location", "managedBy", "name", "properties", "tags", "type")
}

func registerGroup(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "group create", Short: "Create a new resource group.",
			Params: append(groupNameParams("Name of the new resource group."),
				cli.Param{Name: "location", Short: "l", Required: true, Help: "Location. Values from: `keyhaven account list-locations`."},
				tagsParam,
				cli.Param{Name: "managed-by", Help: "The ID of the resource that manages this resource group."},
			),
			Examples: []cli.Example{{Name: "Create a new resource group in the West US region.",
				Text: "keyhaven group create -l westus -n MyResourceGroup"}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg, err := groupName(ctx)
				if err != nil {
					return nil, err
				}
				body := map[string]any{"location": ctx.String("location")}
				if ctx.Has("tags") {
					body["tags"] = parseTags(ctx.Strings("tags"))
				}
				if v := ctx.String("managed-by"); v != "" {
					body["managedBy"] = v
				}
				out, err := a.put(ctx, a.groupPath(rg), apiResources, body)
				return groupView(out), err
			}),
		},
		cli.Command{
			Name: "group show", Short: "Gets a resource group.",
			Params: groupNameParams("Name of the resource group."),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg, err := groupName(ctx)
				if err != nil {
					return nil, err
				}
				out, err := a.get(ctx, a.groupPath(rg), apiResources)
				if err != nil {
					return nil, showErr(err)
				}
				return groupView(out), nil
			}),
		},
		cli.Command{
			Name: "group list", Short: "List resource groups.",
			Params: []cli.Param{{Name: "tag", Help: "a single tag in 'key[=value]' format"}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				path := a.subPath() + "/resourcegroups"
				if t := ctx.String("tag"); t != "" {
					k, v, hasValue := strings.Cut(t, "=")
					f := "tagName eq " + odataQuote(k)
					if hasValue {
						f += " and tagValue eq " + odataQuote(v)
					}
					path += "?$filter=" + url.QueryEscape(f)
				}
				groups, err := a.list(ctx, path, apiResources)
				for _, g := range groups {
					groupView(g)
				}
				return groups, err
			}),
		},
		cli.Command{
			Name: "group delete", Short: "Delete a resource group.",
			Params: append(groupNameParams("Name of the resource group."),
				cli.Param{Name: "yes", Short: "y", Bool: true, Help: "Do not prompt for confirmation."},
				cli.Param{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."},
				cli.Param{Name: "force-deletion-types", Short: "f", Choices: []string{"Microsoft.Compute/virtualMachines", "Microsoft.Compute/virtualMachineScaleSets", "Microsoft.Databricks/workspaces"},
					Help: "The resource types you want to force delete."},
			),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg, err := groupName(ctx)
				if err != nil {
					return nil, err
				}
				if !ctx.Bool("yes") {
					if err := confirm(ctx, "Are you sure you want to perform this operation?"); err != nil {
						return nil, err
					}
				}
				path := a.groupPath(rg)
				if t := ctx.String("force-deletion-types"); t != "" {
					path += "?forceDeletionTypes=" + url.QueryEscape(t)
				}
				return nil, a.do(ctx, http.MethodDelete, path, apiResources, nil, nil)
			}),
		},
		cli.Command{
			Name: "group exists", Short: "Check if a resource group exists.",
			Params: groupNameParams("Name of the resource group."),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg, err := groupName(ctx)
				if err != nil {
					return nil, err
				}
				err = a.do(ctx, http.MethodHead, a.groupPath(rg), apiResources, nil, nil)
				switch {
				case err == nil:
					return true, nil
				case isNotFound(err):
					return false, nil
				}
				return nil, err
			}),
		},
	)
}
