package directory

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id (memory-hard, so a stolen database is slow to attack) and stored as a PHC
// string: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB: OWASP's minimum for argon2id
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password for storage.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// CheckPassword reports whether password matches a HashPassword string, in constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<21 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a user does not exist, so that an unknown name takes as long as a wrong
// password and sign-in timing does not reveal which names exist.
var dummyHash = sync.OnceValue(func() string { return HashPassword("keyhaven-timing-equaliser") }) // not at init: the CLI links this package too

// checkPasswordPolicy applies Entra ID's rules: 8 to 256 characters, and three of lower case, upper case, digits
// and symbols.
func checkPasswordPolicy(pw string) error {
	if len(pw) < 8 || len(pw) > 256 {
		return invalid("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	var lower, upper, digit, symbol int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			symbol = 1
		}
	}
	if lower+upper+digit+symbol < 3 {
		return invalid("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	return nil
}

// GeneratePassword makes a random password that meets the policy, for the bootstrap administrator.
func GeneratePassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return "Kh1-" + base64.RawURLEncoding.EncodeToString(b)
}

// Client secrets are server-generated with 240 bits of entropy, so a fast hash is enough: a memory-hard KDF on the
// token path would cap token issuance for no gain. Stored: SHA-256 of the secret.
const secretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"

// newClientSecret returns a secret in Entra ID's shape: 40 characters with a marker at offset 3 (Entra's secrets
// carry one like "8Q~"; keyhaven's is "~KH", so a leaked keyhaven secret is recognisable).
func newClientSecret() string {
	b := make([]byte, 40)
	rand.Read(b)
	out := make([]byte, 40)
	for i, c := range b {
		out[i] = secretAlphabet[int(c)%len(secretAlphabet)]
	}
	copy(out[3:6], "~KH")
	return string(out)
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte("keyhaven client secret\x00" + secret))
	return sum[:]
}
