package app

import (
	"net"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/httpx"
)

// Area names, as they appear in logs and metrics.
const (
	AreaServer     = "server"
	AreaVault      = "vault"
	AreaLogin      = "login"
	AreaManagement = "management"
	AreaGraph      = "graph"
)

// Route is where a Host header sends a request.
type Route struct {
	Area string
	// Vault is the vault name for AreaVault.
	Vault string
}

// RouteHost classifies a Host header (with or without a port):
//   - <vault>.vault.<suffix>  -> the Key Vault data plane (vault.azure.net, vault.<zone>, vault.localhost, ...)
//   - login.<suffix>          -> the token service (login.microsoftonline.com, login.windows.net, login.<zone>)
//   - management.<suffix>     -> the management API
//   - graph.<suffix>          -> the directory API
//   - anything else (localhost, an IP address, the node's own name) -> the server's own endpoints.
func RouteHost(hostport string) Route {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return Route{Area: AreaServer}
	}
	labels := strings.Split(host, ".")
	if len(labels) >= 3 && labels[1] == "vault" && labels[0] != "" {
		return Route{Area: AreaVault, Vault: labels[0]}
	}
	if len(labels) >= 2 {
		switch labels[0] {
		case "login":
			return Route{Area: AreaLogin}
		case "management":
			return Route{Area: AreaManagement}
		case "graph":
			return Route{Area: AreaGraph}
		}
	}
	return Route{Area: AreaServer}
}

// area is one part of the API, with the error shape it speaks.
type area struct {
	shape   httpx.Shape
	handler http.Handler
}

// hostRouter dispatches on the Host header.
type hostRouter struct {
	areas map[string]area
}

func (h hostRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := RouteHost(r.Host)
	httpx.SetArea(r, route.Area)
	a, ok := h.areas[route.Area]
	if !ok {
		a = h.areas[AreaServer]
	}
	a.handler.ServeHTTP(w, r)
}
