package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

// planSKUs are az's --sku values for App Service plans.
var planSKUs = []string{"F1", "FREE", "D1", "SHARED", "B1", "B2", "B3", "S1", "S2", "S3", "P1V2", "P2V2", "P3V2", "P0V3", "P1V3",
	"P2V3", "P3V3", "P1MV3", "P2MV3", "P3MV3", "P4MV3", "P5MV3", "P0V4", "P1V4", "P2V4", "P3V4", "P1MV4", "P2MV4", "P3MV4", "P4MV4",
	"P5MV4", "I1V2", "I2V2", "I3V2", "I4V2", "I5V2", "I6V2", "I1MV2", "I2MV2", "I3MV2", "I4MV2", "I5MV2", "WS1", "WS2", "WS3"}

// normalizeSKU is appservice utils' _normalize_sku.
func normalizeSKU(sku string) string {
	switch sku = strings.ToUpper(sku); sku {
	case "FREE":
		return "F1"
	case "SHARED":
		return "D1"
	}
	return sku
}

// skuTier is appservice utils' get_sku_tier.
func skuTier(name string) (string, error) {
	name = strings.ToUpper(name)
	in := func(names ...string) bool {
		for _, n := range names {
			if n == name {
				return true
			}
		}
		return false
	}
	switch {
	case in("F1", "FREE"):
		return "FREE", nil
	case in("D1", "SHARED"):
		return "SHARED", nil
	case in("B1", "B2", "B3", "BASIC"):
		return "BASIC", nil
	case in("S1", "S2", "S3"):
		return "STANDARD", nil
	case in("P1", "P2", "P3"):
		return "PREMIUM", nil
	case in("P1V2", "P2V2", "P3V2"):
		return "PREMIUMV2", nil
	case in("P0V3"):
		return "PREMIUM0V3", nil
	case in("P1V3", "P2V3", "P3V3"):
		return "PREMIUMV3", nil
	case in("P1MV3", "P2MV3", "P3MV3", "P4MV3", "P5MV3"):
		return "PREMIUMMV3", nil
	case in("P0V4", "P1V4", "P2V4", "P3V4"):
		return "PREMIUMV4", nil
	case in("P1MV4", "P2MV4", "P3MV4", "P4MV4", "P5MV4"):
		return "PREMIUMMV4", nil
	case in("PC2", "PC3", "PC4"):
		return "PremiumContainer", nil
	case in("EP1", "EP2", "EP3"):
		return "ElasticPremium", nil
	case in("I1V2", "I2V2", "I3V2", "I4V2", "I5V2", "I6V2"):
		return "IsolatedV2", nil
	case in("I1MV2", "I2MV2", "I3MV2", "I4MV2", "I5MV2"):
		return "IsolatedMV2", nil
	case in("WS1", "WS2", "WS3"):
		return "WorkflowStandard", nil
	}
	return "", fmt.Errorf("Invalid sku(pricing tier), please refer to command help for valid values")
}

func planPath(a *armClient, rg, name string) string {
	return a.resourcePath(rg, "Microsoft.Web/serverfarms", name)
}

func registerAppService(app *cli.App) {
	planName := cli.Param{Name: "name", Short: "n", Required: true, Help: "The name of the app service plan."}
	app.Register(
		cli.Command{
			Name: "appservice plan create", Short: "Create an app service plan.",
			Params: []cli.Param{
				rgParam(true),
				{Name: "name", Short: "n", Required: true, Help: "Name of the new app service plan."},
				{Name: "sku", Default: "B1", Choices: planSKUs, Help: "The pricing tiers, e.g., F1(Free), D1(Shared), B1(Basic Small), B2(Basic Medium), B3(Basic Large), S1(Standard Small), P1V2(Premium V2 Small), P1V3(Premium V3 Small), ..."},
				{Name: "is-linux", Bool: true, Help: "Host web app on Linux worker."},
				{Name: "hyper-v", Bool: true, Help: "Host Windows Container Web App on Hyper-V worker."},
				{Name: "per-site-scaling", Bool: true, Help: "Enable per-app scaling at the App Service plan level to allow for scaling an app independently from the App Service plan that hosts it."},
				{Name: "number-of-workers", Default: "1", Check: checkInt, Help: "Number of workers to be allocated."},
				{Name: "zone-redundant", Short: "z", Bool: true, Help: "Enable zone redundancy for high availability. Minimum instance count is 2."},
				{Name: "location", Short: "l", Help: "Location. Values from: `keyhaven account list-locations`. Default: the resource group's location."},
				tagsParam,
				{Name: "no-wait", Bool: true, Help: "Do not wait for the long-running operation to finish."},
			},
			Examples: []cli.Example{{Name: "Create a basic app service plan.", Text: "keyhaven appservice plan create -g MyResourceGroup -n MyPlan"}},
			Run:      armCommand(createPlan),
		},
		cli.Command{
			Name: "appservice plan show", Short: "Get the app service plans for a resource group or a set of resource groups.",
			Params: []cli.Param{rgParam(true), planName},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				// az's show_plan sends a raw GET and prints the answer as it is (properties not flattened);
				// send_raw_request reports a failure as "<reason>(<body>)".
				out, err := a.get(ctx, planPath(a, ctx.String("resource-group"), ctx.String("name")), apiWeb)
				if err != nil {
					return nil, showErr(rawRequestErr(err))
				}
				return out, nil
			}),
		},
		cli.Command{
			Name: "appservice plan list", Short: "List app service plans.",
			Params: []cli.Param{rgParam(false)},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				path := a.subPath() + "/providers/Microsoft.Web/serverfarms?detailed=true"
				if rg := ctx.String("resource-group"); rg != "" {
					path = a.groupPath(rg) + "/providers/Microsoft.Web/serverfarms"
				}
				plans, err := a.list(ctx, path, apiWeb)
				for _, p := range plans {
					flatten(p, nil)
					// list_app_service_plans prunes a few useless fields.
					delete(p, "geoRegion")
					delete(p, "subscription")
				}
				return plans, err
			}),
		},
		cli.Command{
			Name: "appservice plan delete", Short: "Delete an app service plan.",
			Params: []cli.Param{rgParam(true), planName, {Name: "yes", Short: "y", Bool: true, Help: "Do not prompt for confirmation."}},
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				if !ctx.Bool("yes") {
					if err := confirm(ctx, "Are you sure you want to perform this operation?"); err != nil {
						return nil, err
					}
				}
				return nil, a.do(ctx, http.MethodDelete, planPath(a, ctx.String("resource-group"), ctx.String("name")), apiWeb, nil, nil)
			}),
		},
	)
}

func checkInt(v string) error {
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != strings.TrimPrefix(v, "+") {
		return fmt.Errorf("invalid int value: '%s'", v)
	}
	return nil
}

// createPlan is appservice's create_app_service_plan.
func createPlan(ctx *cli.Context, a *armClient) (any, error) {
	rg := ctx.String("resource-group")
	sku := ctx.String("sku")
	tier, err := skuTier(sku)
	if err != nil {
		return nil, err
	}
	location := ctx.String("location")
	if location == "" {
		if location, err = a.groupLocation(ctx, rg); err != nil {
			return nil, err
		}
	}
	var workers int
	fmt.Sscanf(ctx.String("number-of-workers"), "%d", &workers)
	skuDef := map[string]any{"name": normalizeSKU(sku), "tier": tier, "capacity": workers}
	props := map[string]any{"perSiteScaling": ctx.Bool("per-site-scaling")}
	// reserved=(is_linux or None), hyper_v=(hyper_v or None): false is not sent.
	if ctx.Bool("is-linux") {
		props["reserved"] = true
	}
	if ctx.Bool("hyper-v") {
		props["hyperV"] = true
	}
	if ctx.Bool("zone-redundant") {
		props["zoneRedundant"] = true
		skuDef["capacity"] = max(3, workers)
	}
	body := map[string]any{"location": location, "sku": skuDef, "properties": props}
	if ctx.Has("tags") {
		body["tags"] = parseTags(ctx.Strings("tags"))
	}
	path := planPath(a, rg, ctx.String("name"))
	if ctx.Bool("no-wait") {
		return nil, a.do(ctx, http.MethodPut, path, apiWeb, body, nil)
	}
	out, err := a.put(ctx, path, apiWeb, body)
	return flatten(out, nil), err
}

// rawRequestErr renders a failure as azure-cli's send_raw_request does: the status's reason, then the body.
func rawRequestErr(err error) error {
	var e *armError
	if !errors.As(err, &e) || e.code == "" {
		return err
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": e.code, "message": e.message}})
	return &armError{status: e.status, message: fmt.Sprintf("%s(%s)", http.StatusText(e.status), body)}
}
