package commands

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/runner"
)

// registerRun adds `webapp run`, `functionapp run` and `vm run`: keyhaven's own commands (az has none), the
// platform for one app process.
func registerRun(app *cli.App) {
	for _, k := range []struct{ group, provider, noun string }{
		{"webapp", "Microsoft.Web/sites", "web app"},
		{"functionapp", "Microsoft.Web/sites", "function app"},
		{"vm", "Microsoft.Compute/virtualMachines", "virtual machine"},
	} {
		app.Register(cli.Command{
			Name:  k.group + " run",
			Short: "Run a command as the " + k.noun + ": with its settings, its managed identity and keyhaven's network.",
			Long: "Starts COMMAND (after --) with the app's settings as environment and its managed identity's local token " +
				"endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER and MSI_ENDPOINT/MSI_SECRET for apps; IMDS for VMs), behind a " +
				"proxy that sends Azure's host names to keyhaven and trusting keyhaven's CA, and exits with its exit code.",
			Params: []cli.Param{
				{Name: "name", Short: "n", Required: true, Help: "Name of the " + k.noun + "."},
				{Name: "resource-group", Short: "g", Required: true, Help: "Name of resource group."},
			},
			TakesRest: true,
			Run: armCommand(func(ctx *cli.Context, a *armClient) (any, error) {
				return nil, runApp(ctx, a, k.provider, k.group == "vm")
			}),
		})
	}
}

func runApp(ctx *cli.Context, a *armClient, provider string, vm bool) error {
	rg, name := ctx.String("resource-group"), ctx.String("name")
	if len(ctx.Rest) == 0 {
		return cli.Usagef("usage error: give the command to run after --, e.g. keyhaven webapp run -n app -g rg -- ./app")
	}
	path := a.resourcePath(rg, provider, name)
	api := apiWeb
	if vm {
		api = apiCompute
	}
	site, err := a.get(ctx, path, api)
	if err != nil {
		return err
	}
	settings := map[string]string{}
	if !vm {
		var raw struct {
			Properties map[string]string `json:"properties"`
		}
		if err := a.do(ctx, http.MethodPost, path+"/config/appsettings/list", apiWeb, nil, &raw); err != nil {
			return err
		}
		settings = raw.Properties
	}
	// The runner's credential: only for someone who may deploy to the app.
	var cred struct {
		Credential string `json:"credential"`
	}
	if err := a.do(ctx, http.MethodPost, path+"/keyhavenRuntimeCredential", api, nil, &cred); err != nil {
		return err
	}
	p := a.s.Profile
	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil {
		return err
	}
	u, err := url.Parse(p.Server)
	if err != nil {
		return err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	r, err := runner.Start(runner.Config{HTTP: a.s.Client.HTTP, Keyhaven: addr, CAPEM: caPEM, Credential: cred.Credential,
		AppSettings: settings, SiteName: strOf(site["name"]), ResourceGroup: rg, VM: vm,
		Stdin: ctx.Stdin, Stdout: ctx.Stdout, Stderr: ctx.Stderr})
	if err != nil {
		return err
	}
	defer r.Close()
	code, err := r.Run(ctx, ctx.Rest)
	if err != nil {
		return err
	}
	if code != 0 {
		return cli.ExitError{Code: code}
	}
	return nil
}

func strOf(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}
