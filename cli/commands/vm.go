package commands

import (
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

const apiCompute = "2024-07-01"

// vmPath is a virtual machine's path.
func vmPath(a *armClient, rg, name string) string {
	return a.resourcePath(rg, "Microsoft.Compute/virtualMachines", name)
}

// vmIdentityType works out the identity type after assigning (add) or removing identities, as az's
// vm identity assign/remove do.
func vmIdentityType(cur map[string]any, local bool, external []string, add bool) (string, map[string]any) {
	curType := ""
	uai := map[string]any{}
	if cur != nil {
		curType, _ = cur["type"].(string)
		curType = canonicalIdentityType(curType)
		if old, ok := cur["userAssignedIdentities"].(map[string]any); ok {
			for id := range old {
				uai[id] = map[string]any{}
			}
		}
	}
	hasSystem := curType == identitySystem || curType == identityBoth
	for _, id := range external {
		if add {
			uai[id] = map[string]any{}
			continue
		}
		for k := range uai {
			if strings.EqualFold(k, id) {
				delete(uai, k)
			}
		}
	}
	if local {
		hasSystem = add
	}
	switch {
	case hasSystem && len(uai) > 0:
		return identityBoth, uai
	case hasSystem:
		return identitySystem, nil
	case len(uai) > 0:
		return identityUser, uai
	}
	return "None", nil
}

func putVMIdentity(ctx *cli.Context, a *armClient, rg, name string, ids []string, add bool) (map[string]any, error) {
	external, local := identitiesInfo(ids)
	path := vmPath(a, rg, name)
	vm, err := a.get(ctx, path, apiCompute)
	if err != nil {
		return nil, err
	}
	cur, _ := vm["identity"].(map[string]any)
	t, uai := vmIdentityType(cur, local, external, add)
	identity := map[string]any{"type": t}
	if uai != nil {
		identity["userAssignedIdentities"] = uai
	}
	body := map[string]any{"location": vm["location"], "tags": vm["tags"], "properties": vm["properties"], "identity": identity}
	return a.put(ctx, path, apiCompute, body)
}

// vmIdentityOutput is what az vm identity assign prints: the system identity's principal id and the
// user-assigned identities.
func vmIdentityOutput(vm map[string]any) map[string]any {
	id, _ := vm["identity"].(map[string]any)
	out := map[string]any{"systemAssignedIdentity": "", "userAssignedIdentities": map[string]any{}}
	if id != nil {
		if p, ok := id["principalId"].(string); ok {
			out["systemAssignedIdentity"] = p
		}
		if u, ok := id["userAssignedIdentities"].(map[string]any); ok {
			out["userAssignedIdentities"] = u
		}
	}
	return out
}

func registerVM(app *cli.App) {
	app.Describe(cli.Group{Name: "vm", Short: "Manage Linux or Windows virtual machines."},
		cli.Group{Name: "vm identity", Short: "Manage the managed identities of a virtual machine."})
	nameRG := []cli.Param{
		{Name: "name", Short: "n", Required: true, Help: "The name of the Virtual Machine."},
		{Name: "resource-group", Short: "g", Required: true, Help: "Name of resource group."},
	}
	app.Register(
		cli.Command{
			Name: "vm create", Short: "Create a virtual machine (keyhaven's: no compute, an identity to run processes as).",
			Params: append(append([]cli.Param{}, nameRG...),
				cli.Param{Name: "image", Help: "The name of the operating system image (kept as given)."},
				cli.Param{Name: "location", Short: "l", Help: "Location. Default: the resource group's."},
				cli.Param{Name: "assign-identity", Multi: true, Help: "Accept system or user assigned identities separated by spaces. Use '[system]' for the system assigned identity."},
				cli.Param{Name: "tags", Multi: true, Help: "Space-separated tags: key[=value]."}),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				rg, name := ctx.String("resource-group"), ctx.String("name")
				loc := ctx.String("location")
				if loc == "" {
					var err error
					if loc, err = a.groupLocation(ctx, rg); err != nil {
						return nil, err
					}
				}
				body := map[string]any{"location": loc, "properties": map[string]any{"storageProfile": map[string]any{"imageReference": map[string]any{"id": ctx.String("image")}}}}
				if ctx.Has("assign-identity") {
					external, local := identitiesInfo(ctx.Strings("assign-identity"))
					t, uai := vmIdentityType(nil, local || len(external) == 0, external, true)
					identity := map[string]any{"type": t}
					if uai != nil {
						identity["userAssignedIdentities"] = uai
					}
					body["identity"] = identity
				}
				vm, err := a.put(ctx, vmPath(a, rg, name), apiCompute, body)
				if err != nil {
					return nil, err
				}
				out := map[string]any{"fqdns": "", "id": vm["id"], "location": vm["location"], "macAddress": "", "powerState": "VM running",
					"privateIpAddress": "", "publicIpAddress": "", "resourceGroup": rg, "zones": ""}
				if id, ok := vm["identity"].(map[string]any); ok {
					out["identity"] = vmIdentityOutput(map[string]any{"identity": id})
				}
				return out, nil
			}),
		},
		cli.Command{Name: "vm show", Short: "Get the details of a virtual machine.", Params: nameRG,
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return a.get(ctx, vmPath(a, ctx.String("resource-group"), ctx.String("name")), apiCompute)
			})},
		cli.Command{Name: "vm delete", Short: "Delete a VM.", Params: append(append([]cli.Param{}, nameRG...), cli.Param{Name: "yes", Short: "y", Bool: true, Help: "Do not prompt for confirmation."}),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return nil, a.do(ctx, http.MethodDelete, vmPath(a, ctx.String("resource-group"), ctx.String("name")), apiCompute, nil, nil)
			})},
		cli.Command{Name: "vm identity assign", Short: "Enable managed service identity on a VM.",
			Params: append(append([]cli.Param{}, nameRG...), cli.Param{Name: "identities", Multi: true, Default: "[system]", Help: "Space-separated identities to assign. Use '[system]' to refer to the system assigned identity."}),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				vm, err := putVMIdentity(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.Strings("identities"), true)
				if err != nil {
					return nil, err
				}
				return vmIdentityOutput(vm), nil
			})},
		cli.Command{Name: "vm identity remove", Short: "Remove managed service identities from a VM.",
			Params: append(append([]cli.Param{}, nameRG...), cli.Param{Name: "identities", Multi: true, Default: "[system]", Help: "Space-separated identities to remove. Use '[system]' to refer to the system assigned identity."}),
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				vm, err := putVMIdentity(ctx, a, ctx.String("resource-group"), ctx.String("name"), ctx.Strings("identities"), false)
				if err != nil {
					return nil, err
				}
				id, _ := vm["identity"].(map[string]any)
				return id, nil
			})},
		cli.Command{Name: "vm identity show", Short: "Display the VM's managed identity info.", Params: nameRG,
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				vm, err := a.get(ctx, vmPath(a, ctx.String("resource-group"), ctx.String("name")), apiCompute)
				if err != nil {
					return nil, err
				}
				id, _ := vm["identity"].(map[string]any)
				return id, nil
			})},
	)
}
