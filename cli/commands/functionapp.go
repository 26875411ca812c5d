package commands

import (
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

var functionapp = siteKind{group: "functionapp"}

func registerFunctionapp(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "functionapp create", Short: "Create a function app.",
			Long: "The function app runs on an App Service plan (--plan); consumption and Flex plans are not served by keyhaven.",
			Params: siteCreateParams(functionapp,
				cli.Param{Name: "storage-account", Short: "s", Help: "Provide a string value of a Storage Account in the provided Resource Group. Or Resource ID of a Storage Account in a different Resource Group."},
				cli.Param{Name: "runtime", Help: "The functions runtime stack.", Choices: []string{"dotnet", "dotnet-isolated", "node", "python", "java", "powershell", "custom"}},
				cli.Param{Name: "runtime-version", Help: "The version of the functions runtime stack."},
				cli.Param{Name: "functions-version", Default: "4", Choices: []string{"4"}, Help: "The functions app version."},
				cli.Param{Name: "os-type", Choices: []string{"Windows", "Linux"}, Help: "Set the OS type for the app to be created."},
				cli.Param{Name: "disable-app-insights", Bool: true, Help: "Disable creating application insights resource during functionapp create. No logs will be available."},
			),
			Examples: []cli.Example{{Name: "Create a function app on an App Service plan.",
				Text: "keyhaven functionapp create -g MyResourceGroup -p MyPlan -n MyUniqueAppName --runtime node"}},
			Run: armCommand(createFunctionapp),
		},
		cli.Command{
			Name: "functionapp show", Short: "Get the details of a function app.",
			Params: siteParams(functionapp),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return showSite(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot"))
			}),
		},
		cli.Command{
			Name: "functionapp list", Short: "List function apps.",
			Params: []cli.Param{rgParam(false)},
			Run:    armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return listSites(ctx, a, functionapp) }),
		},
		cli.Command{
			Name: "functionapp delete", Short: "Delete a function app.",
			Params: siteParams(functionapp, cli.Param{Name: "keep-empty-plan", Bool: true, Help: "Keep empty function app plan."}),
			Run:    armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return deleteSite(ctx, a, functionapp) }),
		},
	)
	registerSiteIdentity(app, functionapp)
	registerAppSettings(app, functionapp)
}

// createFunctionapp is appservice's create_function for a dedicated (App Service) plan: the site is
// kind functionapp, with the Functions runtime settings.
func createFunctionapp(ctx *cli.Context, a *armClient) (any, error) {
	rg, name := ctx.String("resource-group"), ctx.String("name")
	if ctx.String("plan") == "" {
		return nil, cli.Usagef("usage error: You must specify --plan: keyhaven serves function apps on App Service plans only")
	}
	plan, err := resolvePlan(ctx, a, rg, ctx.String("plan"))
	if err != nil {
		return nil, err
	}
	linux := planIsLinux(plan)
	if os := ctx.String("os-type"); os != "" && strings.EqualFold(os, "Linux") != linux {
		return nil, cli.Usagef("usage error: --os-type %s does not match the plan's operating system", os)
	}
	settings := []any{map[string]any{"name": "FUNCTIONS_EXTENSION_VERSION", "value": "~" + ctx.String("functions-version")}}
	siteConfig := map[string]any{"alwaysOn": true}
	if rt := ctx.String("runtime"); rt != "" {
		settings = append(settings, map[string]any{"name": "FUNCTIONS_WORKER_RUNTIME", "value": rt})
		if linux {
			v := ctx.String("runtime-version")
			fx := strings.ToUpper(rt)
			if v != "" {
				fx += "|" + v
			}
			siteConfig["linuxFxVersion"] = fx
		} else if rt == "node" && ctx.String("runtime-version") != "" {
			settings = append(settings, map[string]any{"name": "WEBSITE_NODE_DEFAULT_VERSION", "value": "~" + ctx.String("runtime-version")})
		}
	}
	siteConfig["appSettings"] = settings
	kind := "functionapp"
	props := map[string]any{"serverFarmId": plan["id"], "siteConfig": siteConfig, "httpsOnly": ctx.Bool("https-only")}
	if linux {
		kind = "functionapp,linux"
		props["reserved"] = true
	}
	body := map[string]any{"location": plan["location"], "kind": kind, "properties": props}
	return createSite(ctx, a, rg, name, body)
}
