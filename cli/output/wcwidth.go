package output

import "unicode"

// az's tabulate measures cells with the wcwidth package when it is installed (it ships with az), so East
// Asian wide characters count two columns and combining marks none. This is Markus Kuhn's wcwidth, on which
// that package is based, with the emoji blocks its later versions count as wide.

// wideRanges are the code points two columns wide.
var wideRanges = [][2]rune{
	{0x1100, 0x115f}, {0x2329, 0x232a}, {0x2e80, 0x303e}, {0x3040, 0xa4cf},
	{0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xfe10, 0xfe19}, {0xfe30, 0xfe6f},
	{0xff00, 0xff60}, {0xffe0, 0xffe6}, {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff},
	{0x20000, 0x2fffd}, {0x30000, 0x3fffd},
}

// wcwidth returns the display width of r: -1 for control characters, 0 for combining and format
// characters, 2 for wide characters, 1 otherwise.
func wcwidth(r rune) int {
	switch {
	case r == 0:
		return 0
	case r < 0x20 || r >= 0x7f && r < 0xa0:
		return -1
	case r == 0xad:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || r >= 0x1160 && r <= 0x11ff || r == 0x200b:
		return 0
	}
	for _, w := range wideRanges {
		if r >= w[0] && r <= w[1] {
			return 2
		}
	}
	return 1
}

// wcswidth returns the display width of s, or -1 if s holds a control character.
func wcswidth(s string) int {
	n := 0
	for _, r := range s {
		w := wcwidth(r)
		if w < 0 {
			return -1
		}
		n += w
	}
	return n
}
