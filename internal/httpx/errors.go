// Package httpx is the HTTP edge every keyhaven API shares: the error catalogue and the one renderer that speaks
// Azure's error shapes (Key Vault/ARM, Graph, OAuth2), request ids, JSON decoding with size limits, panic recovery,
// request logs and metrics.
package httpx

import (
	"fmt"
	"net/http"
)

// Code is an entry of the error catalogue: the public code and the HTTP status it is sent with.
type Code struct {
	Name   string
	Status int
}

// The catalogue. Areas add their own codes next to the handlers that use them, each a Code value; nothing maps
// errors to codes by matching strings.
var (
	// Key Vault and ARM.
	CodeBadParameter          = Code{"BadParameter", http.StatusBadRequest}
	CodeUnauthorized          = Code{"Unauthorized", http.StatusUnauthorized}
	CodeForbidden             = Code{"Forbidden", http.StatusForbidden}
	CodeNotFound              = Code{"NotFound", http.StatusNotFound}
	CodeMethodNotAllowed      = Code{"MethodNotAllowed", http.StatusMethodNotAllowed}
	CodeConflict              = Code{"Conflict", http.StatusConflict}
	CodeRequestEntityTooLarge = Code{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge}
	CodeUnsupportedMediaType  = Code{"UnsupportedMediaType", http.StatusUnsupportedMediaType}
	CodeThrottled             = Code{"Throttled", http.StatusTooManyRequests}
	CodeInternal              = Code{"InternalServerError", http.StatusInternalServerError}
	CodeServiceUnavailable    = Code{"ServiceUnavailable", http.StatusServiceUnavailable}

	// Microsoft Graph.
	CodeGraphNotFound = Code{"Request_ResourceNotFound", http.StatusNotFound}

	// OAuth2 (the error field of the token endpoint's answers).
	CodeOAuthInvalidRequest = Code{"invalid_request", http.StatusBadRequest}
	CodeOAuthNotFound       = Code{"invalid_request", http.StatusNotFound}
)

// Error is a failure with a public face (status, code, message, inner codes) and a private cause that is logged
// and never sent.
type Error struct {
	Code    Code
	Message string
	// Inner lists nested inner error codes, outermost first (Key Vault's innererror chain).
	Inner []string
	// Header is added to the response (WWW-Authenticate, Retry-After, ...).
	Header http.Header
	// Cause is the internal reason, for the log only.
	Cause error
	// OAuth carries the OAuth2 shape's extra fields.
	OAuth *OAuthDetail
}

// OAuthDetail is what the OAuth2 error shape adds: Azure AD's numeric codes (AADSTS...).
type OAuthDetail struct {
	ErrorCodes []int
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code.Name, e.Message, e.Cause)
	}
	return e.Code.Name + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// E makes an error from a catalogue code and a message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithInner adds nested inner error codes.
func (e *Error) WithInner(codes ...string) *Error {
	e.Inner = append(e.Inner, codes...)
	return e
}

// WithCause records the internal reason, which is logged and never sent.
func (e *Error) WithCause(err error) *Error {
	e.Cause = err
	return e
}

// WithHeader adds a response header.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Add(key, value)
	return e
}
