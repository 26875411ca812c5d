package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// DefaultMaxBody bounds request bodies: Key Vault's largest legitimate body (a 25 KB secret, a certificate
// import) fits with room to spare.
const DefaultMaxBody = 1 << 20

// DecodeJSON reads a JSON object body of at most maxBytes into v. Failures are 400 BadParameter (413 when the
// body is too large) with a message that says what was wrong, never the body itself.
func DecodeJSON(r *http.Request, maxBytes int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return E(CodeUnsupportedMediaType, "The request content type %q is not supported; use application/json.", ct)
		}
	}
	body := http.MaxBytesReader(nil, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return E(CodeRequestEntityTooLarge, "The request body is larger than %d bytes.", maxBytes)
		case errors.Is(err, io.EOF):
			return E(CodeBadParameter, "The request body is empty.")
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return E(CodeBadParameter, "The request body is not valid JSON.").WithCause(err)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "body"
			}
			return E(CodeBadParameter, "Invalid value for '%s': expected %s.", field, typ.Type.String()).WithCause(err)
		default:
			return E(CodeBadParameter, "The request body is not valid JSON.").WithCause(err)
		}
	}
	// Exactly one value: trailing data is an error too.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return E(CodeRequestEntityTooLarge, "The request body is larger than %d bytes.", maxBytes)
		}
		return E(CodeBadParameter, "The request body has data after the JSON value.")
	}
	return nil
}
