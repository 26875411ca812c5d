package output

import (
	"encoding/json"
	"strconv"
	"strings"
)

// formatTSV follows knack's format_tsv and _TsvOutput: a list prints one line per item, anything else one
// line. An object's values are joined by tabs (OrderedDicts in their order, dicts sorted by key), a list's
// items likewise; within a line a nested list prints its length, a nested object prints nothing, and other
// values print as Python's str() does (True, False, None). A bare boolean line prints true or false.
func formatTSV(v any, orders [][]string) string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var b strings.Builder
	for _, item := range items {
		switch t := item.(type) {
		case map[string]any, Object:
			keys, get := objectKeys(t, orders, false)
			for i, k := range keys {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvCell(get(k)))
			}
		case []any:
			for i, e := range t {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvCell(e))
			}
		case bool:
			b.WriteString(strconv.FormatBool(t))
		default:
			b.WriteString(tsvCell(t))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// tsvCell is knack's _TsvOutput._dump_obj.
func tsvCell(v any) string {
	switch t := v.(type) {
	case []any:
		return strconv.Itoa(len(t))
	case map[string]any, Object:
		return ""
	case json.Number, float64, string, bool, nil:
		return pyStr(t)
	}
	return pyStr(v)
}
