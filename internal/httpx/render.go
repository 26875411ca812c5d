package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Shape is the error body format an API area speaks.
type Shape int

const (
	// ShapeAzure is Key Vault's and ARM's {"error":{"code","message","innererror"}}.
	ShapeAzure Shape = iota
	// ShapeGraph is Microsoft Graph's {"error":{"code","message","innerError":{"date","request-id",...}}}.
	ShapeGraph
	// ShapeOAuth2 is the token service's {"error","error_description","error_codes","timestamp","trace_id","correlation_id"}.
	ShapeOAuth2
)

type azureInner struct {
	Code       string      `json:"code"`
	InnerError *azureInner `json:"innererror,omitempty"`
}

type azureBody struct {
	Error struct {
		Code       string      `json:"code"`
		Message    string      `json:"message"`
		InnerError *azureInner `json:"innererror,omitempty"`
	} `json:"error"`
}

type graphBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

type oauthBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// WriteError renders err in the shape. It is the only place an error becomes a response. An error that is not an
// *Error is an internal failure: the client gets a generic 500 and the cause goes to the request log.
func WriteError(w http.ResponseWriter, r *http.Request, shape Shape, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: "The server encountered an internal error. Please retry the request.", Cause: err}
	}
	info := InfoFrom(r.Context())
	if info != nil {
		info.Err = e
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	requestID := w.Header().Get(HeaderRequestID)
	var body any
	switch shape {
	case ShapeOAuth2:
		b := oauthBody{
			Error:            e.Code.Name,
			ErrorDescription: e.Message,
			ErrorCodes:       []int{},
			Timestamp:        time.Now().UTC().Format("2006-01-02 15:04:05Z"),
			TraceID:          requestID,
			CorrelationID:    r.Header.Get(HeaderClientRequestID),
		}
		if b.CorrelationID == "" {
			b.CorrelationID = uuid.NewString()
		}
		if e.OAuth != nil && e.OAuth.ErrorCodes != nil {
			b.ErrorCodes = e.OAuth.ErrorCodes
		}
		body = b
	case ShapeGraph:
		var b graphBody
		b.Error.Code = e.Code.Name
		b.Error.Message = e.Message
		b.Error.InnerError.Date = time.Now().UTC().Format("2006-01-02T15:04:05")
		b.Error.InnerError.RequestID = requestID
		b.Error.InnerError.ClientRequestID = r.Header.Get(HeaderClientRequestID)
		body = b
	default:
		var b azureBody
		b.Error.Code = e.Code.Name
		b.Error.Message = e.Message
		next := &b.Error.InnerError
		for _, c := range e.Inner {
			*next = &azureInner{Code: c}
			next = &(*next).InnerError
		}
		body = b
	}
	WriteJSON(w, e.Code.Status, body)
}

// WriteJSON writes v as the JSON response body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here; never send a half-written body.
		http.Error(w, `{"error":{"code":"InternalServerError","message":"response encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(data)
}

// HandlerFunc is a handler that returns its failure instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts a HandlerFunc: a returned error is rendered in the area's shape.
func Handle(shape Shape, fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			WriteError(w, r, shape, err)
		}
	})
}
