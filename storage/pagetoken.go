package storage

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Page tokens are opaque to callers. Inside, a token names the listing it continues (kind and prefix) and the last
// key returned, so a token from one listing cannot silently continue another.
const pageTokenVersion = "p1"

// EncodePageToken returns the token that continues a listing of kind/prefix after lastKey.
func EncodePageToken(kind, prefix, lastKey string) string {
	raw := pageTokenVersion + "\x00" + kind + "\x00" + prefix + "\x00" + lastKey
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodePageToken returns the last key of the previous page, checking that the token belongs to kind/prefix.
func DecodePageToken(kind, prefix, token string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("%w: malformed page token", ErrInvalid)
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[0] != pageTokenVersion {
		return "", fmt.Errorf("%w: malformed page token", ErrInvalid)
	}
	if parts[1] != kind || parts[2] != prefix {
		return "", fmt.Errorf("%w: page token belongs to another listing", ErrInvalid)
	}
	if !strings.HasPrefix(parts[3], prefix) {
		return "", fmt.Errorf("%w: malformed page token", ErrInvalid)
	}
	return parts[3], nil
}
