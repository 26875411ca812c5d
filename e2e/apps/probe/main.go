// Command probe sends one HTTP request and prints the status and body: the scenario tests use it to call an app's
// token endpoints as an app would, including the wrong ways. Arguments are expanded against the environment.
//
//	probe METHOD URL [Header:Value ...]
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: probe METHOD URL [Header:Value ...]")
		os.Exit(2)
	}
	req, err := http.NewRequest(os.Args[1], os.ExpandEnv(os.Args[2]), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, h := range os.Args[3:] {
		k, v, _ := strings.Cut(os.ExpandEnv(h), ":")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode)
	fmt.Println(string(body))
}
