// Package authn authenticates API callers by their bearer tokens: it finds the token in the request and checks it
// with the token validator for the audiences an API accepts. Each API renders the failures in its own shape.
package authn

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/token"
)

// ErrNoToken means the request carries no bearer token.
var ErrNoToken = errors.New("no bearer token")

// BearerToken returns the token of an "Authorization: Bearer ..." header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Authenticator checks the bearer tokens of one API.
type Authenticator struct {
	Validator *token.Validator
	// Audiences are the aud values the API accepts.
	Audiences []string
}

// Authenticate returns the caller's claims: ErrNoToken without a token, an error wrapping token.ErrInvalid for a
// token that is refused (its message says why, for the log).
func (a Authenticator) Authenticate(r *http.Request) (*token.Claims, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return nil, ErrNoToken
	}
	return a.Validator.Validate(r.Context(), raw, token.Expect{Audiences: a.Audiences})
}

// Audiences lists the aud spellings of a resource: with and without a trailing slash.
func Audiences(resources ...string) []string {
	var out []string
	for _, r := range resources {
		r = strings.TrimSuffix(r, "/")
		out = append(out, r, r+"/")
	}
	return out
}
