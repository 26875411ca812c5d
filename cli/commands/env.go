package commands

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// registerEnv adds keyhaven env: the settings that make a developer's shell reach keyhaven under Azure's names,
// as keyhaven webapp run does for an app.
func registerEnv(app *cli.App) {
	app.Register(cli.Command{
		Name:  "env",
		Short: "Print the shell settings that send Azure's host names to keyhaven and trust its CA.",
		Long: "Prints export lines for HTTPS_PROXY/HTTP_PROXY (keyhaven serve's --proxy-addr, port 8480 on the server's host by " +
			"default), NO_PROXY, SSL_CERT_FILE and REQUESTS_CA_BUNDLE (the system roots plus keyhaven's CA, written to the CLI's " +
			"config dir) and NODE_EXTRA_CA_CERTS. Use it as: eval \"$(keyhaven env)\"",
		Params: []cli.Param{
			{Name: "proxy", Help: "keyhaven's proxy URL. Default: http://<server host>:8480."},
			{Name: "shell", Default: "sh", Choices: []string{"sh", "fish", "powershell"}, Help: "Syntax of the lines printed."},
		},
		Run: func(ctx *cli.Context) (any, error) {
			dir, err := client.ConfigDir(ctx.Env)
			if err != nil {
				return nil, err
			}
			p, err := client.LoadProfile(dir)
			if err != nil {
				return nil, err
			}
			proxy := ctx.String("proxy")
			if proxy == "" {
				u, err := url.Parse(p.Server)
				if err != nil {
					return nil, err
				}
				proxy = "http://" + net.JoinHostPort(u.Hostname(), "8480")
			}
			ca, err := os.ReadFile(p.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file of the last login: %w", err)
			}
			var system []byte
			for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"} {
				if b, err := os.ReadFile(f); err == nil {
					system = b
					break
				}
			}
			bundle := filepath.Join(dir, "ca-bundle.pem")
			if err := os.WriteFile(bundle, append(append(system, '\n'), ca...), 0o644); err != nil {
				return nil, err
			}
			caFile, _ := filepath.Abs(p.CAFile)
			vars := [][2]string{
				{"HTTPS_PROXY", proxy}, {"HTTP_PROXY", proxy}, {"https_proxy", proxy}, {"http_proxy", proxy},
				{"NO_PROXY", "localhost,127.0.0.1,::1"}, {"no_proxy", "localhost,127.0.0.1,::1"},
				{"SSL_CERT_FILE", bundle}, {"REQUESTS_CA_BUNDLE", bundle}, {"NODE_EXTRA_CA_CERTS", caFile},
			}
			var b strings.Builder
			for _, v := range vars {
				switch ctx.String("shell") {
				case "fish":
					fmt.Fprintf(&b, "set -gx %s %s;\n", v[0], shellQuote(v[1]))
				case "powershell":
					fmt.Fprintf(&b, "$env:%s = '%s'\n", v[0], strings.ReplaceAll(v[1], "'", "''"))
				default:
					fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
				}
			}
			_, err = fmt.Fprint(ctx.Stdout, b.String())
			return nil, err
		},
	})
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
