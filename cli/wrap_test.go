package cli

import "testing"

// TestFill checks fill against Python's textwrap.TextWrapper(replace_whitespace=False).fill, which knack's
// help uses; every want was printed by CPython 3.11.
func TestFill(t *testing.T) {
	tests := []struct {
		name, text, initial, subsequent string
		width                           int
		want                            string
	}{
		{"hanging indent", "Name of the resource group. You can configure the default group using resource-group-defaults", "    ", "          ", 60, "    Name of the resource group. You can configure the\n          default group using resource-group-defaults"},
		{"em-dash splits words", "first clause--second clause--third clause and a few more words", "", "", 30, "first clause--second clause--\nthird clause and a few more\nwords"},
		{"long word broken after its last fitting hyphen", "see supercalifragilistic-expialidocious-hyphenated-word now", "", "", 20, "see supercalifragili\nstic-expialidocious-\nhyphenated-word now"},
		{"leading whitespace of the paragraph is kept", "   indented text that wraps onto a second line", "", "  ", 25, "   indented text that\n  wraps onto a second\n  line"},
		{"tabs expand to eight columns", "a\tb\tc words words words", "", "", 12, "a       b\nc words\nwords words"},
		{"flag names break at hyphens between letters", "--force-change-password-next-sign-in --resource-group", "", "", 20, "--force-change-\npassword-next-sign-\nin --resource-group"},
		{"empty paragraph", "", "    ", "    ", 100, ""},
	}
	for _, tt := range tests {
		if got := fill(tt.text, tt.initial, tt.subsequent, tt.width); got != tt.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}
