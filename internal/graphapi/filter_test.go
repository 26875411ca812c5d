package graphapi

import (
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	props := func(name string) ([]string, bool) {
		switch name {
		case "displayname":
			return []string{"Build Agents"}, true
		case "appid":
			return []string{"0000-aaaa"}, true
		case "serviceprincipalnames":
			return []string{"0000-aaaa", "https://identity.azure.net/x"}, true
		}
		return nil, false
	}
	tests := []struct {
		filter string
		match  bool
		bad    bool
	}{
		{"", true, false},
		{"displayName eq 'Build Agents'", true, false},
		{"displayname EQ 'build agents'", true, false},
		{"displayName eq 'Build'", false, false},
		{"startswith(displayName,'build')", true, false},
		{"startswith(displayName, 'Agents')", false, false},
		{"appId eq '0000-aaaa' and startswith(displayName,'B')", true, false},
		{"servicePrincipalNames/any(c:c eq '0000-aaaa')", true, false},
		{"servicePrincipalNames/any(x:x eq 'nope')", false, false},
		{"displayName eq 'it''s'", false, false},
		{"colour eq 'blue'", false, true},
		{"displayName ne 'x'", false, true},
		{"displayName eq x", false, true},
		{"displayName eq 'unterminated", false, true},
		{"startswith(displayName 'x')", false, true},
		{"displayName eq 'a' or displayName eq 'b'", false, true},
		{strings.Repeat("a", 2000), false, true},
	}
	for _, tt := range tests {
		f, err := parseFilter(tt.filter)
		if err == nil {
			var ok bool
			ok, err = f.match(props)
			if err == nil && ok != tt.match {
				t.Errorf("%q: match %v, want %v", tt.filter, ok, tt.match)
			}
		}
		if (err != nil) != tt.bad {
			t.Errorf("%q: error %v, want bad=%v", tt.filter, err, tt.bad)
		}
	}
	if f, _ := parseFilter("displayName eq 'it''s'"); f[0].value != "it's" {
		t.Errorf("escaped quote: %q", f[0].value)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"displayName eq 'x'", "startswith(a,'b') and c eq 'd'", "servicePrincipalNames/any(c:c eq 'x')", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := parseFilter(s)
		if err != nil {
			return
		}
		flt.match(func(string) ([]string, bool) { return []string{"v"}, true })
	})
}
