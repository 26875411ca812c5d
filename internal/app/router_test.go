package app

import "testing"

func TestRouteHost(t *testing.T) {
	tests := []struct {
		host string
		want Route
	}{
		{"myvault.vault.azure.net", Route{AreaVault, "myvault"}},
		{"MyVault.Vault.Azure.Net:443", Route{AreaVault, "myvault"}},
		{"myvault.vault.azure.net.", Route{AreaVault, "myvault"}},
		{"kv-1.vault.corp.example:8443", Route{AreaVault, "kv-1"}},
		{"myvault.vault.localhost:8443", Route{AreaVault, "myvault"}},
		{"vault.azure.net", Route{Area: AreaServer}},
		{".vault.azure.net", Route{Area: AreaServer}},
		{"login.microsoftonline.com", Route{Area: AreaLogin}},
		{"login.windows.net:8443", Route{Area: AreaLogin}},
		{"login.corp.example", Route{Area: AreaLogin}},
		{"management.azure.com", Route{Area: AreaManagement}},
		{"management.corp.example:443", Route{Area: AreaManagement}},
		{"graph.microsoft.com", Route{Area: AreaGraph}},
		{"localhost:8443", Route{Area: AreaServer}},
		{"localhost", Route{Area: AreaServer}},
		{"127.0.0.1:8443", Route{Area: AreaServer}},
		{"[::1]:8443", Route{Area: AreaServer}},
		{"::1", Route{Area: AreaServer}},
		{"10.1.2.3", Route{Area: AreaServer}},
		{"", Route{Area: AreaServer}},
		{"login", Route{Area: AreaServer}},
		{"node1.corp.example", Route{Area: AreaServer}},
	}
	for _, tt := range tests {
		if got := RouteHost(tt.host); got != tt.want {
			t.Errorf("RouteHost(%q) = %+v, want %+v", tt.host, got, tt.want)
		}
	}
}

func FuzzRouteHost(f *testing.F) {
	for _, s := range []string{"a.vault.azure.net", "login.x", "[::1]:1", "..vault..", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		r := RouteHost(host)
		switch r.Area {
		case AreaVault:
			if r.Vault == "" {
				t.Fatalf("vault route without a vault name for %q", host)
			}
		case AreaServer, AreaLogin, AreaManagement, AreaGraph:
			if r.Vault != "" {
				t.Fatalf("vault name outside the vault area for %q", host)
			}
		default:
			t.Fatalf("unknown area %q", r.Area)
		}
	})
}
