package output

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// az is written in Python, so its output is Python's rendering of JSON values. These helpers reproduce
// str(), repr() and json.dumps(..., ensure_ascii=False, indent=2, sort_keys=True) for generic JSON values.

// Quote returns s quoted as Python's repr() quotes a string, which is how az quotes values in argument
// errors: single quotes unless s contains a single quote and no double quote.
func Quote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyStr is Python's str() of a JSON value: True/False/None for the constants, the text of strings.
func pyStr(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case string:
		return t
	case json.Number:
		return pyNumber(t)
	case float64:
		return pyFloat(t)
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a JSON value, used where knack ends up printing a nested list or dict.
func pyRepr(v any) string {
	switch t := v.(type) {
	case string:
		return Quote(t)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(t)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = Quote(k) + ": " + pyRepr(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case Object:
		parts := make([]string, len(t))
		for i, f := range t {
			parts[i] = Quote(f.Key) + ": " + pyRepr(f.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case nil, bool, json.Number, float64:
		return pyStr(v)
	}
	return fmt.Sprint(v)
}

// pyNumber renders a JSON number as Python prints the int or float json.loads makes of it.
func pyNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	return pyFloatRepr(f)
}

// pyFloat renders a number whose Python type is unknown (go-jmespath makes every number a float64):
// integral values as Python prints ints, others as Python prints floats.
func pyFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return pyFloatRepr(f)
}

// pyFloatRepr is Python's repr() of a float: the shortest round-tripping digits, in positional notation
// for decimal exponents from -4 to 15 (with ".0" when integral), else as 1.5e-05 or 1e+16.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	if exp >= -4 && exp < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, exp)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatJSON follows knack's format_json: json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True,
// separators=(',', ': ')) + '\n'.
func formatJSON(v any) string {
	var b strings.Builder
	writeJSON(&b, v, 0)
	b.WriteByte('\n')
	return b.String()
}

func writeJSON(b *strings.Builder, v any, depth int) {
	indent := func(d int) {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", d))
	}
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeJSONString(b, t)
	case json.Number:
		b.WriteString(pyNumber(t))
	case float64:
		b.WriteString(pyFloat(t))
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			writeJSON(b, e, depth+1)
		}
		indent(depth)
		b.WriteByte(']')
	case map[string]any, Object:
		keys, get := objectKeys(t, nil, true)
		if len(keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, get(k), depth+1)
		}
		indent(depth)
		b.WriteByte('}')
	default:
		writeJSONString(b, fmt.Sprint(v))
	}
}

// writeJSONString escapes as Python's json module does with ensure_ascii=False: only the quote, the
// backslash and control characters below U+0020.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else if r == utf8.RuneError {
				b.WriteRune(unicode.ReplacementChar)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// objectKeys returns the keys of a map or Object in the order knack would visit them, and a lookup.
// sortKeys forces sorted order (a Python dict passed through sorted()); otherwise an Object keeps its order
// and a map takes the order of the --query multi-select hash it came from, or sorted order if none matches.
func objectKeys(v any, orders [][]string, sortKeys bool) ([]string, func(string) any) {
	switch t := v.(type) {
	case Object:
		m := make(map[string]any, len(t))
		var keys []string
		for _, f := range t {
			if _, dup := m[f.Key]; !dup {
				keys = append(keys, f.Key)
			}
			m[f.Key] = f.Value
		}
		if sortKeys {
			sort.Strings(keys)
		}
		return keys, func(k string) any { return m[k] }
	case map[string]any:
		get := func(k string) any { return t[k] }
		if !sortKeys {
			if o := orderFor(t, orders); o != nil {
				return o, get
			}
		}
		return sortedKeys(t), get
	}
	return nil, nil
}
