// Command kvread is the app of the managed identity scenarios: seed 001's code, unchanged, in Go. It reads a
// secret from https://<vault>.vault.azure.net with the SDK's managed identity (or default) credential and prints
// it. It has no keyhaven-specific code: the runner it runs under supplies the identity endpoint, the network and
// the CA.
//
//	kvread <vault> <secret> [managed|default] [list]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: kvread <vault> <secret> [managed|default]")
		os.Exit(2)
	}
	var cred azcore.TokenCredential
	var err error
	if len(os.Args) > 3 && os.Args[3] == "default" {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	} else {
		var opts azidentity.ManagedIdentityCredentialOptions
		if id := os.Getenv("AZURE_CLIENT_ID"); id != "" {
			opts.ID = azidentity.ClientID(id)
		}
		cred, err = azidentity.NewManagedIdentityCredential(&opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "credential:", err)
		os.Exit(1)
	}
	client, err := azsecrets.NewClient("https://"+os.Args[1]+".vault.azure.net", cred, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	if len(os.Args) > 4 && os.Args[4] == "list" {
		pager := client.NewListSecretPropertiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(context.Background())
			if err != nil {
				fmt.Fprintln(os.Stderr, "list secrets:", err)
				os.Exit(4)
			}
			for _, s := range page.Value {
				fmt.Println(s.ID.Name())
			}
		}
		return
	}
	resp, err := client.GetSecret(context.Background(), os.Args[2], "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "get secret:", err)
		os.Exit(3)
	}
	fmt.Println(*resp.Value)
}
