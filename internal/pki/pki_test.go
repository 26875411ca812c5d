package pki

import (
	"crypto/x509"
	"slices"
	"testing"
	"time"
)

func TestServerCertificate(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := ca.Cert()
	if err != nil || !caCert.IsCA {
		t.Fatalf("CA: %v", err)
	}
	names := ServerNames("corp.example", "10.0.0.5", "node1.corp.example")
	for _, want := range []string{"localhost", "127.0.0.1", "::1", "*.vault.azure.net", "login.microsoftonline.com",
		"login.windows.net", "management.azure.com", "graph.microsoft.com", "*.vault.corp.example", "login.corp.example",
		"management.corp.example", "graph.corp.example", "10.0.0.5", "node1.corp.example"} {
		if !slices.Contains(names, want) {
			t.Errorf("ServerNames lacks %s", want)
		}
	}
	srv, err := IssueServer(ca, names, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := srv.Cert()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	for _, host := range []string{"myvault.vault.azure.net", "kv.vault.corp.example", "login.microsoftonline.com", "127.0.0.1", "::1", "localhost", "10.0.0.5"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	for _, host := range []string{"a.b.vault.azure.net", "vault.azure.net", "example.com", "10.0.0.6"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err == nil {
			t.Errorf("%s verified", host)
		}
	}
	if _, err := srv.TLS(); err != nil {
		t.Fatal(err)
	}

	if NeedsReissue(srv, ca, names, now) {
		t.Error("a fresh certificate needs reissue")
	}
	if !NeedsReissue(srv, ca, ServerNames(""), now) {
		t.Error("a certificate for other names does not need reissue")
	}
	if !NeedsReissue(srv, ca, names, now.Add(ServerLifetime-RenewBefore+time.Hour)) {
		t.Error("a certificate near expiry does not need reissue")
	}
	other, _ := NewCA(now)
	if !NeedsReissue(srv, other, names, now) {
		t.Error("a certificate from another CA does not need reissue")
	}
	if !NeedsReissue(KeyPair{}, ca, names, now) {
		t.Error("an empty pair does not need reissue")
	}
}
