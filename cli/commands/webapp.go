package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

var webapp = siteKind{group: "webapp"}

// siteCreateParams are the arguments webapp create and functionapp create share.
func siteCreateParams(k siteKind, extra ...cli.Param) []cli.Param {
	p := []cli.Param{
		rgParam(true),
		{Name: "name", Short: "n", Required: true, Help: "Name of the new " + siteNoun(k) + "."},
		{Name: "plan", Short: "p", Help: "Name or resource id of the app service plan. Use 'appservice plan create' to get one."},
		{Name: "assign-identity", Multi: true, Help: "Accept system or user assigned identities separated by spaces. Use '[system]' to refer system assigned identity, or a resource id to refer user assigned identity."},
		{Name: "role", Default: "Contributor", Help: "Role name or id the system assigned identity will have."},
		{Name: "scope", Help: "Scope that the system assigned identity can access."},
		tagsParam,
		{Name: "https-only", Bool: true, Help: "Redirect all traffic made to an app using HTTP to HTTPS."},
	}
	return append(p, extra...)
}

func registerWebapp(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "webapp create", Short: "Create a web app.",
			Params: siteCreateParams(webapp,
				cli.Param{Name: "runtime", Short: "r", Help: "Canonicalized web runtime in the format of Framework:Version, e.g. \"PHP:7.2\"."},
				cli.Param{Name: "startup-file", Help: "Linux only. The web's startup file."},
				cli.Param{Name: "public-network-access", Choices: []string{"Enabled", "Disabled"}, Help: "Enable or disable public access to the web app."},
			),
			Examples: []cli.Example{{Name: "Create a web app with the default configuration.",
				Text: "keyhaven webapp create -g MyResourceGroup -p MyPlan -n MyUniqueAppName"}},
			Run: armCommand(createWebapp),
		},
		cli.Command{
			Name: "webapp show", Short: "Get the details of a web app.",
			Params: siteParams(webapp),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return showSite(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.String("slot"))
			}),
		},
		cli.Command{
			Name: "webapp list", Short: "List web apps.",
			Params: []cli.Param{rgParam(false)},
			Run:    armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return listSites(ctx, a, webapp) }),
		},
		cli.Command{
			Name: "webapp delete", Short: "Delete a web app.",
			Params: []cli.Param{rgParam(true), {Name: "name", Short: "n", Required: true, Help: "The name of the webapp."},
				{Name: "slot", Short: "s", Help: "The name of the slot. Default to the productions slot if not specified."},
				{Name: "keep-empty-plan", Bool: true, Help: "Keep empty app service plan."},
				{Name: "keep-metrics", Bool: true, Help: "Keep app metrics."},
				{Name: "keep-dns-registration", Bool: true, Help: "Keep DNS registration."}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) { return deleteSite(ctx, a, webapp) }),
		},
	)
	registerSiteIdentity(app, webapp)
	registerAppSettings(app, webapp)
}

// createWebapp is appservice's create_webapp for code apps (no containers, no deployment source).
func createWebapp(ctx *cli.Context, a *armClient) (any, error) {
	rg, name := ctx.String("resource-group"), ctx.String("name")
	if ctx.String("plan") == "" {
		return nil, cli.Usagef("the following arguments are required: --plan/-p")
	}
	plan, err := resolvePlan(ctx, a, rg, ctx.String("plan"))
	if err != nil {
		return nil, err
	}
	linux := planIsLinux(plan)
	available, reason, message, err := siteAvailability(ctx, a, name)
	if err != nil {
		return nil, err
	}
	appSettings := []any{}
	if !available {
		if reason == "Invalid" {
			return nil, fmt.Errorf("%s", message)
		}
		ctx.Log.Warn(fmt.Sprintf("Webapp '%s' already exists. The command will use the existing app's settings.", name))
		if appSettings, err = existingAppSettings(ctx, a, rg, name); err != nil {
			return nil, err
		}
	}
	siteConfig := map[string]any{"appSettings": appSettings}
	if sku, ok := plan["sku"].(map[string]any); ok {
		if n, ok := sku["name"].(string); ok && !slices.Contains(alwaysOnOff, strings.ToUpper(n)) {
			siteConfig["alwaysOn"] = true
		}
	}
	if runtime := ctx.String("runtime"); runtime != "" {
		if err := applyRuntime(siteConfig, runtime, linux); err != nil {
			return nil, err
		}
	}
	if f := ctx.String("startup-file"); f != "" {
		if !linux {
			return nil, fmt.Errorf("usage error: --startup-file or --deployment-container-image-name or --container-image-name or --multicontainer-config-type and --multicontainer-config-file is only appliable on linux webapp")
		}
		siteConfig["appCommandLine"] = f
	}
	kind := "app"
	if linux {
		kind = "app,linux"
	}
	props := map[string]any{"serverFarmId": plan["id"], "siteConfig": siteConfig, "httpsOnly": ctx.Bool("https-only")}
	if v := ctx.String("public-network-access"); v != "" {
		props["publicNetworkAccess"] = v
	}
	body := map[string]any{"location": plan["location"], "kind": kind, "properties": props}
	return createSite(ctx, a, rg, name, body)
}
