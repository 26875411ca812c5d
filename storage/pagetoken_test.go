package storage

import (
	"errors"
	"strings"
	"testing"
)

func TestPageTokenRoundTrip(t *testing.T) {
	tok := EncodePageToken("secret", "vault1/", "vault1/abc")
	if strings.Contains(tok, "vault1") {
		t.Errorf("token is not opaque: %s", tok)
	}
	got, err := DecodePageToken("secret", "vault1/", tok)
	if err != nil || got != "vault1/abc" {
		t.Fatalf("%q, %v", got, err)
	}
	if _, err := DecodePageToken("secret", "vault2/", tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("other prefix: %v", err)
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add("secret", "v/", EncodePageToken("secret", "v/", "v/x"))
	f.Add("k", "", "AAAA")
	f.Fuzz(func(t *testing.T, kind, prefix, token string) {
		key, err := DecodePageToken(kind, prefix, token)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		if !strings.HasPrefix(key, prefix) {
			t.Fatalf("decoded key %q outside prefix %q", key, prefix)
		}
	})
}

func TestValidateKeyAndPrefixEnd(t *testing.T) {
	if err := ValidateKey("k", "a b-c/~"); err != nil {
		t.Error(err)
	}
	if PrefixEnd("ab/") != "ab0" || PrefixEnd("") != "" {
		t.Errorf("PrefixEnd: %q", PrefixEnd("ab/"))
	}
}
