package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/httpx"
)

func serve(t *testing.T, shape httpx.Shape, fn httpx.HandlerFunc, req *http.Request) (*httptest.ResponseRecorder, string) {
	t.Helper()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := httpx.Edge{Logger: logger, Next: httpx.Recover(shape, logger, httpx.Handle(shape, fn))}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, logs.String()
}

func TestErrorShapes(t *testing.T) {
	kvErr := httpx.E(httpx.CodeForbidden, "The user does not have secrets get permission.").WithInner("ForbiddenByPolicy")
	tests := []struct {
		name  string
		shape httpx.Shape
		err   error
		check func(t *testing.T, status int, body map[string]any)
	}{
		{"azure with innererror", httpx.ShapeAzure, kvErr, func(t *testing.T, status int, b map[string]any) {
			e := b["error"].(map[string]any)
			inner := e["innererror"].(map[string]any)
			if status != 403 || e["code"] != "Forbidden" || inner["code"] != "ForbiddenByPolicy" || inner["innererror"] != nil {
				t.Errorf("%d %v", status, b)
			}
		}},
		{"azure nested innererror", httpx.ShapeAzure, httpx.E(httpx.CodeConflict, "x").WithInner("A", "B"), func(t *testing.T, status int, b map[string]any) {
			e := b["error"].(map[string]any)
			a := e["innererror"].(map[string]any)
			if a["code"] != "A" || a["innererror"].(map[string]any)["code"] != "B" {
				t.Errorf("%v", b)
			}
		}},
		{"azure without innererror", httpx.ShapeAzure, httpx.E(httpx.CodeBadParameter, "bad"), func(t *testing.T, status int, b map[string]any) {
			e := b["error"].(map[string]any)
			if _, ok := e["innererror"]; ok || status != 400 || e["message"] != "bad" {
				t.Errorf("%d %v", status, b)
			}
		}},
		{"oauth2", httpx.ShapeOAuth2, &httpx.Error{Code: httpx.Code{Name: "invalid_client", Status: 401},
			Message: "AADSTS7000215: Invalid client secret provided.", OAuth: &httpx.OAuthDetail{ErrorCodes: []int{7000215}}},
			func(t *testing.T, status int, b map[string]any) {
				if status != 401 || b["error"] != "invalid_client" || !strings.HasPrefix(b["error_description"].(string), "AADSTS7000215") ||
					b["error_codes"].([]any)[0].(float64) != 7000215 || b["trace_id"] == "" || b["correlation_id"] != "client-123" {
					t.Errorf("%d %v", status, b)
				}
				if _, err := time.Parse("2006-01-02 15:04:05Z", b["timestamp"].(string)); err != nil {
					t.Errorf("timestamp: %v", err)
				}
			}},
		{"graph", httpx.ShapeGraph, httpx.E(httpx.CodeGraphNotFound, "gone"), func(t *testing.T, status int, b map[string]any) {
			e := b["error"].(map[string]any)
			inner := e["innerError"].(map[string]any)
			if status != 404 || e["code"] != "Request_ResourceNotFound" || inner["request-id"] == "" || inner["client-request-id"] != "client-123" {
				t.Errorf("%d %v", status, b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/x", nil)
			req.Header.Set("x-ms-client-request-id", "client-123")
			rec, _ := serve(t, tt.shape, func(http.ResponseWriter, *http.Request) error { return tt.err }, req)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			tt.check(t, rec.Code, body)
			if rec.Header().Get("x-ms-request-id") == "" || rec.Header().Get("x-ms-client-request-id") != "client-123" {
				t.Errorf("request id headers: %v", rec.Header())
			}
		})
	}
}

// Internal failures and panics answer a generic 500; the cause reaches the log, never the client.
func TestInternalsDoNotLeak(t *testing.T) {
	internal := errors.New(`sql: database is locked at /src/storage/sqlstore/ops.go:42 value="s3cr3t"`)
	handlers := map[string]httpx.HandlerFunc{
		"error": func(http.ResponseWriter, *http.Request) error { return internal },
		"wrapped cause": func(http.ResponseWriter, *http.Request) error {
			return httpx.E(httpx.CodeServiceUnavailable, "Storage is not answering.").WithCause(internal)
		},
		"panic": func(http.ResponseWriter, *http.Request) error { panic(internal) },
	}
	for name, fn := range handlers {
		t.Run(name, func(t *testing.T) {
			for _, shape := range []httpx.Shape{httpx.ShapeAzure, httpx.ShapeGraph, httpx.ShapeOAuth2} {
				rec, logs := serve(t, shape, fn, httptest.NewRequest("GET", "/x", nil))
				body := rec.Body.String()
				if rec.Code < 500 {
					t.Errorf("status %d", rec.Code)
				}
				for _, leak := range []string{"sql:", ".go:", "s3cr3t", "goroutine"} {
					if strings.Contains(body, leak) {
						t.Errorf("body leaks %q: %s", leak, body)
					}
				}
				if !json.Valid([]byte(body)) {
					t.Errorf("body is not JSON: %s", body)
				}
				if !strings.Contains(logs, "database is locked") {
					t.Errorf("the cause is not logged: %s", logs)
				}
			}
		})
	}
}

// The request log never carries query strings, headers or bodies.
func TestRequestLogOmitsSecrets(t *testing.T) {
	req := httptest.NewRequest("POST", "/tenant/oauth2/token?client_secret=topsecret1", strings.NewReader("client_secret=topsecret2"))
	req.Header.Set("Authorization", "Bearer topsecret3")
	req.Header.Set("x-ms-client-request-id", "bad\nid")
	rec, logs := serve(t, httpx.ShapeOAuth2, func(w http.ResponseWriter, r *http.Request) error {
		return httpx.E(httpx.CodeOAuthInvalidRequest, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	}, req)
	if strings.Contains(logs, "topsecret") {
		t.Fatalf("log carries a secret: %s", logs)
	}
	if !strings.Contains(logs, `"path":"/tenant/oauth2/token"`) || !strings.Contains(logs, `"status":400`) {
		t.Errorf("log lacks path or status: %s", logs)
	}
	if got := rec.Header().Get("x-ms-client-request-id"); got != "" {
		t.Errorf("echoed an unsafe client request id %q", got)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Value string `json:"value"`
		N     int    `json:"n"`
	}
	tests := []struct {
		name, ct, body string
		status         int
	}{
		{"ok", "application/json", `{"value":"v","n":1}`, 0},
		{"ok with charset", "application/json; charset=utf-8", `{"value":"v"}`, 0},
		{"no content type", "", `{"value":"v"}`, 0},
		{"unknown fields ignored", "application/json", `{"value":"v","extra":[1,2]}`, 0},
		{"empty", "application/json", ``, 400},
		{"syntax", "application/json", `{"value":`, 400},
		{"garbage", "application/json", `not json`, 400},
		{"wrong type", "application/json", `{"n":"one"}`, 400},
		{"array", "application/json", `[1]`, 400},
		{"trailing data", "application/json", `{"value":"v"} {}`, 400},
		{"too large", "application/json", `{"value":"` + strings.Repeat("x", 2000) + `"}`, 413},
		{"wrong content type", "text/plain", `{"value":"v"}`, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("PUT", "/", strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			var v body
			err := httpx.DecodeJSON(req, 1024, &v)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var e *httpx.Error
			if !errors.As(err, &e) || e.Code.Status != tt.status {
				t.Fatalf("got %v, want status %d", err, tt.status)
			}
			if strings.Contains(e.Message, "xxxx") {
				t.Fatalf("message echoes the body: %s", e.Message)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"value":"v"}`, `{`, `[]`, `null`, `{"tags":{"a":"b"}}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("PUT", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var v struct {
			Value string            `json:"value"`
			Tags  map[string]string `json:"tags"`
			N     *int              `json:"n"`
		}
		err := httpx.DecodeJSON(req, 4096, &v)
		if err == nil {
			return
		}
		var e *httpx.Error
		if !errors.As(err, &e) || e.Code.Status < 400 || e.Code.Status >= 500 {
			t.Fatalf("decode error is not a 4xx *httpx.Error: %v", err)
		}
	})
}
