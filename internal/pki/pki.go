// Package pki is keyhaven's local certificate authority: the CA it generates on first start and the server
// certificates it signs for the names keyhaven answers to.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

// Lifetimes of what the CA issues.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 397 * 24 * time.Hour // the longest lifetime browsers accept for a server certificate
	// RenewBefore is how long before expiry a server certificate is replaced on start-up.
	RenewBefore = 30 * 24 * time.Hour
)

// AzureNames are the public-cloud host names keyhaven answers to, reached through its proxy or an operator's DNS.
var AzureNames = []string{
	"*.vault.azure.net",
	"login.microsoftonline.com",
	"login.windows.net",
	"management.azure.com",
	"graph.microsoft.com",
}

// ServerNames lists every name the server certificate covers: loopback, Azure's names, the zone's names when a
// zone is set, and any extra names the operator adds.
func ServerNames(zone string, extra ...string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	names = append(names, AzureNames...)
	if zone != "" {
		names = append(names, "*.vault."+zone, "login."+zone, "management."+zone, "graph."+zone)
	}
	for _, n := range extra {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// KeyPair is a certificate and its private key in PEM.
type KeyPair struct {
	CertPEM []byte `json:"cert"`
	KeyPEM  []byte `json:"key"`
}

// Cert parses the certificate.
func (kp KeyPair) Cert() (*x509.Certificate, error) {
	block, _ := pem.Decode(kp.CertPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("pki: no certificate in PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// TLS returns the pair for a tls.Config, with chain appended after the leaf.
func (kp KeyPair) TLS(chain ...[]byte) (tls.Certificate, error) {
	return tls.X509KeyPair(bytes.Join(append([][]byte{kp.CertPEM}, chain...), nil), kp.KeyPEM)
}

func (kp KeyPair) signer() (crypto.Signer, error) {
	block, _ := pem.Decode(kp.KeyPEM)
	if block == nil {
		return nil, errors.New("pki: no private key in PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("pki: private key cannot sign")
	}
	return s, nil
}

// NewCA generates a CA.
func NewCA(now time.Time) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	serial, err := randSerial()
	if err != nil {
		return KeyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"keyhaven"}, CommonName: "keyhaven local CA " + hex.EncodeToString(serial.Bytes()[:4])},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return KeyPair{}, err
	}
	return encode(der, key)
}

// IssueServer signs a server certificate for names (DNS names, wildcards and IP addresses).
func IssueServer(ca KeyPair, names []string, now time.Time) (KeyPair, error) {
	caCert, err := ca.Cert()
	if err != nil {
		return KeyPair{}, err
	}
	caKey, err := ca.signer()
	if err != nil {
		return KeyPair{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	serial, err := randSerial()
	if err != nil {
		return KeyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"keyhaven"}, CommonName: "keyhaven server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if caCert.NotAfter.Before(tmpl.NotAfter) {
		tmpl.NotAfter = caCert.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return KeyPair{}, err
	}
	return encode(der, key)
}

// NeedsReissue reports whether a server certificate must be replaced: it does not cover exactly names, is not
// signed by ca, or expires within RenewBefore.
func NeedsReissue(server, ca KeyPair, names []string, now time.Time) bool {
	cert, err := server.Cert()
	if err != nil {
		return true
	}
	caCert, err := ca.Cert()
	if err != nil || cert.CheckSignatureFrom(caCert) != nil {
		return true
	}
	if now.Add(RenewBefore).After(cert.NotAfter) {
		return true
	}
	var have []string
	have = append(have, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		have = append(have, ip.String())
	}
	want := slices.Clone(names)
	slices.Sort(have)
	slices.Sort(want)
	return !slices.Equal(have, want)
}

// Fingerprint is the SHA-256 of a certificate's DER, in the colon-separated hex that tools print.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func encode(der []byte, key *ecdsa.PrivateKey) (KeyPair, error) {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}),
	}, nil
}

func randSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}
