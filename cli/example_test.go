package cli_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/cli"
)

// Example registers one az-style command and runs it as "keyhaven keyvault secret show ... --query value -o tsv".
func Example() {
	app := cli.New("keyhaven", "Self-hosted Azure Key Vault and Entra ID.")
	app.Describe(cli.Group{Name: "keyvault secret", Short: "Manage secrets."})
	app.Register(cli.Command{
		Name:  "keyvault secret show",
		Short: "Get a specified secret from a given key vault.",
		Params: []cli.Param{
			{Name: "vault-name", Required: true, Help: "Name of the Key Vault."},
			{Name: "name", Short: "n", Required: true, Help: "Name of the secret."},
		},
		Run: func(ctx *cli.Context) (any, error) {
			return map[string]any{
				"id":    "https://" + ctx.String("vault-name") + ".vault.azure.net/secrets/" + ctx.String("name"),
				"value": "s3cret",
			}, nil
		},
	})
	args := strings.Fields("keyvault secret show --vault-name kv -n db --query value -o tsv")
	code := app.Run(args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	fmt.Println("exit", code)
	// Output:
	// s3cret
	// exit 0
}
