package cli

import (
	"strings"
	"unicode"
)

// knack prints help through Python's textwrap.TextWrapper(width=100, replace_whitespace=False) with
// break_long_words and break_on_hyphens on; fill reproduces it so help wraps where az's does.

const helpWidth = 100

// fill wraps one paragraph (no newlines) to width, starting the first line with initial and the others
// with subsequent, as TextWrapper.fill does.
func fill(text, initial, subsequent string, width int) string {
	chunks := splitChunks(expandTabs(text))
	var lines []string
	for len(chunks) > 0 {
		indent := initial
		if len(lines) > 0 {
			indent = subsequent
		}
		w := width - runeLen(indent)
		// A line other than the first does not start with whitespace.
		if len(lines) > 0 && isBlank(chunks[0]) {
			chunks = chunks[1:]
		}
		var line []string
		n := 0
		for len(chunks) > 0 && n+runeLen(chunks[0]) <= w {
			line = append(line, chunks[0])
			n += runeLen(chunks[0])
			chunks = chunks[1:]
		}
		if len(chunks) > 0 && runeLen(chunks[0]) > w {
			// _handle_long_word: split the chunk, after its last hyphen if one fits.
			space := w - n
			if w < 1 {
				space = 1
			}
			c := []rune(chunks[0])
			end := space
			if len(c) > space {
				if h := lastIndexRune(c[:space], '-'); h > 0 && strings.Trim(string(c[:h]), "-") != "" {
					end = h + 1
				}
			}
			line = append(line, string(c[:end]))
			chunks[0] = string(c[end:])
		}
		if len(line) > 0 && isBlank(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			lines = append(lines, indent+strings.Join(line, ""))
		}
	}
	return strings.Join(lines, "\n")
}

// splitChunks splits text as TextWrapper.wordsep_re does: runs of whitespace, and words that end at
// whitespace, after a hyphen between letters ("resource-" "group"), or before an em-dash ("--").
func splitChunks(text string) []string {
	rs := []rune(text)
	var chunks []string
	for i := 0; i < len(rs); {
		start := i
		switch {
		case isWrapSpace(rs[i]):
			for i < len(rs) && isWrapSpace(rs[i]) {
				i++
			}
		case i > 0 && isWordPunct(rs[i-1]) && emDashAt(rs, i):
			for i < len(rs) && rs[i] == '-' {
				i++
			}
		default:
			i = wordEnd(rs, i)
		}
		chunks = append(chunks, string(rs[start:i]))
	}
	return chunks
}

// wordEnd returns where the word starting at i ends: the lazy "nowhitespace+?" of wordsep_re followed by
// one of its three endings.
func wordEnd(rs []rune, i int) int {
	for j := i + 1; ; j++ {
		if j >= len(rs) || isWrapSpace(rs[j]) {
			return j
		}
		// Hyphenated word: a hyphen after two letters or after letter-hyphen-letter, before letter[-]letter.
		if rs[j-1] == '-' {
			after := (j-3 >= 0 && isLetter(rs[j-3]) && isLetter(rs[j-2])) ||
				(j-4 >= 0 && isLetter(rs[j-4]) && rs[j-3] == '-' && isLetter(rs[j-2]))
			if after && j < len(rs) && isLetter(rs[j]) &&
				(j+1 < len(rs) && isLetter(rs[j+1]) || j+2 < len(rs) && rs[j+1] == '-' && isLetter(rs[j+2])) {
				return j
			}
		}
		if isWordPunct(rs[j-1]) && emDashAt(rs, j) {
			return j
		}
	}
}

// emDashAt reports whether rs[i:] starts with two or more hyphens followed by a word character.
func emDashAt(rs []rune, i int) bool {
	j := i
	for j < len(rs) && rs[j] == '-' {
		j++
	}
	return j-i >= 2 && j < len(rs) && isWordChar(rs[j])
}

func isWrapSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// isLetter is Python's [^\d\W]: a word character that is not a digit.
func isLetter(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func isWordPunct(r rune) bool { return isWordChar(r) || strings.ContainsRune(`!"'&.,?`, r) }

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func runeLen(s string) int { return len([]rune(s)) }

func lastIndexRune(rs []rune, r rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == r {
			return i
		}
	}
	return -1
}

// expandTabs is Python's str.expandtabs(8).
func expandTabs(s string) string {
	if !strings.ContainsRune(s, '\t') {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case '\n', '\r':
			b.WriteRune(r)
			col = 0
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}
