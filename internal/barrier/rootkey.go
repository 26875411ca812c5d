// Package barrier is keyhaven's encryption at rest. Storage is untrusted: every value goes through the barrier,
// which seals it with AES-256-GCM under a data key, binding the ciphertext to the record it belongs to. Data keys
// are stored wrapped by the root key, which never touches storage.
package barrier

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// RootKeySize is the length of a root key in bytes (AES-256).
const RootKeySize = 32

// RootKey is the key that wraps every data key.
type RootKey struct {
	key []byte
	// ID names the key without revealing it, so a mismatch can be reported.
	ID string
}

// NewRootKey makes a root key from raw bytes.
func NewRootKey(b []byte) (RootKey, error) {
	if len(b) != RootKeySize {
		return RootKey{}, fmt.Errorf("root key must be %d bytes, got %d", RootKeySize, len(b))
	}
	sum := sha256.Sum256(append([]byte("keyhaven root key id\x00"), b...))
	return RootKey{key: append([]byte(nil), b...), ID: hex.EncodeToString(sum[:8])}, nil
}

// GenerateRootKey makes a random root key.
func GenerateRootKey() RootKey {
	b := make([]byte, RootKeySize)
	rand.Read(b)
	k, _ := NewRootKey(b)
	return k
}

// ParseRootKey reads a root key from its text form: base64 (standard or URL alphabet, padded or not) of 32 bytes.
func ParseRootKey(text string) (RootKey, error) {
	s := strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return NewRootKey(b)
		}
	}
	return RootKey{}, errors.New("root key is not base64")
}

// String is the text form ParseRootKey reads.
func (k RootKey) String() string { return base64.StdEncoding.EncodeToString(k.key) }

// Format redacts the key from fmt verbs other than the explicit String call, so a stray %v never logs it.
func (k RootKey) Format(f fmt.State, verb rune) { fmt.Fprintf(f, "RootKey(id=%s)", k.ID) }

// ReadRootKeyFile reads a root key file, refusing one that others can read.
func ReadRootKeyFile(path string) (RootKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return RootKey{}, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return RootKey{}, fmt.Errorf("root key file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return RootKey{}, err
	}
	k, err := ParseRootKey(string(b))
	if err != nil {
		return RootKey{}, fmt.Errorf("root key file %s: %w", path, err)
	}
	return k, nil
}

// WriteRootKeyFile writes a new root key file with mode 0600. It refuses to overwrite an existing file.
func WriteRootKeyFile(path string, k RootKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(k.String() + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
