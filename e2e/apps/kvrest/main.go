// Command kvrest reads a secret the way seed 001's REST example does, with no SDK: it asks the local MSI endpoint
// (MSI_ENDPOINT and MSI_SECRET, api-version 2017-09-01) for a Key Vault token, then GETs the secret with it. A
// user-assigned identity is named by AzureServicesAuthConnectionString=RunAs=App;AppId=<clientId>, as the .NET
// AppAuthentication library reads it.
//
//	kvrest <vault> <secret>
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

func main() {
	vault, name := os.Args[1], os.Args[2]
	q := url.Values{"resource": {"https://vault.azure.net"}, "api-version": {"2017-09-01"}}
	for _, part := range strings.Split(os.Getenv("AzureServicesAuthConnectionString"), ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "AppId") {
			q.Set("clientid", v)
		}
	}
	req, _ := http.NewRequest("GET", os.Getenv("MSI_ENDPOINT")+"?"+q.Encode(), nil)
	req.Header.Set("Secret", os.Getenv("MSI_SECRET"))
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresOn   string `json:"expires_on"`
	}
	if err := getJSON(req, &tok); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(1)
	}
	req, _ = http.NewRequest("GET", "https://"+vault+".vault.azure.net/secrets/"+name+"?api-version=2016-10-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var secret struct {
		Value string `json:"value"`
	}
	if err := getJSON(req, &secret); err != nil {
		fmt.Fprintln(os.Stderr, "secret:", err)
		os.Exit(3)
	}
	fmt.Println(secret.Value)
}

func getJSON(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	return json.Unmarshal(body, v)
}
