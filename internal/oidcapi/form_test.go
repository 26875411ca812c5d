package oidcapi

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/httpx"
)

func TestParseTokenForm(t *testing.T) {
	tests := []struct {
		name, ct, body string
		ok             bool
	}{
		{"ok", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=x", true},
		{"charset", "application/x-www-form-urlencoded; charset=utf-8", "grant_type=password", true},
		{"json", "application/json", `{"grant_type":"password"}`, false},
		{"no content type", "", "grant_type=password", false},
		{"repeated", "application/x-www-form-urlencoded", "grant_type=a&grant_type=b", false},
		{"bad escape", "application/x-www-form-urlencoded", "grant_type=%zz", false},
		{"too big", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", maxFormBody+1), false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/t/oauth2/token", strings.NewReader(tt.body))
		if tt.ct != "" {
			r.Header.Set("Content-Type", tt.ct)
		}
		_, err := ParseTokenForm(r)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
		var e *httpx.Error
		if err != nil && (!errors.As(err, &e) || e.Code.Status != 400 || !strings.HasPrefix(e.Message, "AADSTS")) {
			t.Errorf("%s: not an OAuth2 400: %v", tt.name, err)
		}
	}
}

func FuzzParseTokenForm(f *testing.F) {
	f.Add("grant_type=client_credentials&client_id=a&client_secret=b&scope=https%3A%2F%2Fvault.azure.net%2F.default")
	f.Add("a=%&b")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/t/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := ParseTokenForm(r)
		if err != nil {
			var e *httpx.Error
			if !errors.As(err, &e) || e.Code.Status != 400 {
				t.Fatalf("not a 400: %v", err)
			}
			return
		}
		for _, v := range form {
			if len(v) != 1 {
				t.Fatalf("repeated parameter accepted: %v", form)
			}
		}
	})
}

func TestSplitScope(t *testing.T) {
	for in, want := range map[string][2]string{
		"https://vault.azure.net/.default":              {"https://vault.azure.net", ".default"},
		"https://management.azure.com//.default":        {"https://management.azure.com/", ".default"},
		"https://vault.azure.net/user_impersonation":    {"https://vault.azure.net", "user_impersonation"},
		"api://0000/.default":                           {"api://0000", ".default"},
		"00000003-0000-0000-c000-000000000000/.default": {"00000003-0000-0000-c000-000000000000", ".default"},
	} {
		r, p := splitScope(in)
		if r != want[0] || p != want[1] {
			t.Errorf("splitScope(%q) = %q, %q", in, r, p)
		}
	}
}
