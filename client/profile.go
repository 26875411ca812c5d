// Package client is a typed Go client for keyhaven: sign-in (user password, service principal secret or
// certificate), the token cache, and calls to the Graph, ARM and Key Vault data-plane APIs. The CLI is built on
// it, and end-to-end tests use it. It reaches keyhaven under Azure's host names, dialing the server's address
// and trusting its CA.
package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Azure CLI's public client id: keyhaven's CLI signs users in as az does.
const AzureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// Account is a subscription (or tenant-level) account as az prints it.
type Account struct {
	CloudName           string   `json:"cloudName"`
	HomeTenantID        string   `json:"homeTenantId"`
	ID                  string   `json:"id"`
	IsDefault           bool     `json:"isDefault"`
	ManagedByTenants    []any    `json:"managedByTenants"`
	Name                string   `json:"name"`
	State               string   `json:"state"`
	TenantDefaultDomain string   `json:"tenantDefaultDomain,omitempty"`
	TenantDisplayName   string   `json:"tenantDisplayName,omitempty"`
	TenantID            string   `json:"tenantId"`
	User                UserInfo `json:"user"`
}

// UserInfo names who an account signs in as.
type UserInfo struct {
	Name string `json:"name"`
	Type string `json:"type"` // user or servicePrincipal
}

// Profile is the CLI's sign-in state, kept in $KEYHAVEN_CONFIG_DIR/profile.json (0600).
type Profile struct {
	// Server is keyhaven's address (https://host:port) and CAFile the CA certificate to trust.
	Server string `json:"server"`
	CAFile string `json:"caFile"`
	// TenantID is the signed-in tenant.
	TenantID string   `json:"tenantId"`
	User     UserInfo `json:"user"`
	// RefreshToken continues a user's session.
	RefreshToken string `json:"refreshToken,omitempty"`
	// ClientSecret, or CertificatePEM (certificate and private key), signs a service principal in again.
	ClientSecret   string `json:"clientSecret,omitempty"`
	CertificatePEM string `json:"certificatePem,omitempty"`
	// Accounts are the subscriptions found at sign-in.
	Accounts []Account `json:"accounts"`
	// Tokens caches access tokens by resource.
	Tokens map[string]CachedToken `json:"tokens,omitempty"`
}

// CachedToken is an access token with its expiry.
type CachedToken struct {
	AccessToken string    `json:"accessToken"`
	ExpiresOn   time.Time `json:"expiresOn"`
}

// ErrNotLoggedIn is returned when there is no profile.
var ErrNotLoggedIn = errors.New("Please run 'keyhaven login' to setup account.")

// ConfigDir is where the CLI keeps its state: $KEYHAVEN_CONFIG_DIR, or ~/.keyhaven.
func ConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("KEYHAVEN_CONFIG_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".keyhaven"), nil
}

func profilePath(dir string) string { return filepath.Join(dir, "profile.json") }

// LoadProfile reads the profile; ErrNotLoggedIn if there is none.
func LoadProfile(dir string) (*Profile, error) {
	data, err := os.ReadFile(profilePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotLoggedIn
	}
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", profilePath(dir), err)
	}
	return &p, nil
}

// Save writes the profile with mode 0600 (it holds tokens and credentials), atomically.
func (p *Profile) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "profile-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), profilePath(dir))
}

// RemoveProfile deletes the profile (logout).
func RemoveProfile(dir string) error {
	err := os.Remove(profilePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// DefaultAccount is the account marked default, or the first.
func (p *Profile) DefaultAccount() (Account, bool) {
	for _, a := range p.Accounts {
		if a.IsDefault {
			return a, true
		}
	}
	if len(p.Accounts) > 0 {
		return p.Accounts[0], true
	}
	return Account{}, false
}
