package output

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// skipKey reports whether knack's _TableOutput leaves the key out of every row (SKIP_KEYS).
func skipKey(k string) bool {
	return k == "id" || k == "type" || k == "etag"
}

// tableRow is one row of _auto_table's output: an OrderedDict of header to value.
type tableRow struct {
	keys []string
	vals map[string]any
}

// formatTable follows knack's format_table and _TableOutput, which hand rows to
// tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True):
//
//   - a list gives one row per item, anything else one row;
//   - an object row keeps its scalar values (nested lists and objects, nulls and the keys id, type and etag
//     are dropped) under its keys with the first letter upper-cased (_capitalize_first_char); keys are sorted
//     unless a query or table transformer is active (should_sort_keys), when they keep their order;
//   - a list row becomes Column1, Column2, ...; a scalar row becomes Result;
//   - columns are the union of row keys in order of first appearance; a row lacking one shows nothing there.
//
// tabulate's simple format then prints the headers, a line of dashes and the rows, each column left-aligned
// and as wide as its widest cell or its header plus two (MIN_PADDING), columns two spaces apart, trailing
// spaces stripped from every line. An empty list prints an empty line.
func formatTable(v any, sortKeys bool, orders [][]string) string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	rows := make([]tableRow, len(items))
	for i, item := range items {
		rows[i] = autoTableItem(item, sortKeys, orders)
	}
	return tabulate(rows) + "\n"
}

// autoTableItem is knack's _TableOutput._auto_table_item.
func autoTableItem(item any, sortKeys bool, orders [][]string) tableRow {
	row := tableRow{vals: map[string]any{}}
	set := func(k string, v any) {
		if _, dup := row.vals[k]; !dup {
			row.keys = append(row.keys, k)
		}
		row.vals[k] = v
	}
	switch t := item.(type) {
	case map[string]any, Object:
		keys, get := objectKeys(t, orders, sortKeys)
		for _, k := range keys {
			if skipKey(k) {
				continue
			}
			val := get(k)
			switch val.(type) {
			case nil, []any, map[string]any, Object:
				continue
			}
			set(capitalizeFirst(k), val)
		}
	case []any:
		for i, e := range t {
			set("Column"+strconv.Itoa(i+1), e)
		}
	default:
		set("Result", item)
	}
	return row
}

func capitalizeFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[n:]
}

// tabulate renders rows as python-tabulate's "simple" format with headers="keys", disable_numparse=True and
// the default missingval "". Every column is then of string, bool or None type, so all are left-aligned.
func tabulate(rows []tableRow) string {
	var headers []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, k := range r.keys {
			if !seen[k] {
				seen[k] = true
				headers = append(headers, k)
			}
		}
	}
	if len(headers) == 0 {
		return ""
	}
	cells := make([][]string, len(rows))
	multiline := false
	for _, h := range headers {
		multiline = multiline || hasLineBreak(h)
	}
	for i, r := range rows {
		cells[i] = make([]string, len(headers))
		for j, h := range headers {
			v, ok := r.vals[h]
			if !ok || v == nil {
				continue // missingval
			}
			s := pyStr(v)
			multiline = multiline || hasLineBreak(s)
			cells[i][j] = pyStrip(s)
		}
	}
	widths := make([]int, len(headers))
	for j, h := range headers {
		widths[j] = textWidth(h, multiline) + 2 // MIN_PADDING
		for i := range rows {
			widths[j] = max(widths[j], textWidth(cells[i][j], multiline))
		}
	}
	var lines []string
	appendRow := func(row []string) {
		if !multiline {
			parts := make([]string, len(row))
			for j, c := range row {
				parts[j] = padRight(c, widths[j])
			}
			lines = append(lines, strings.TrimRightFunc(strings.Join(parts, "  "), pyIsSpace))
			return
		}
		// _align_column pads each line of a cell, then _append_multiline_row prints the row as many lines as
		// its tallest cell, blank-filling shorter cells. A row whose cells are all empty prints no line at all.
		split := make([][]string, len(row))
		n := 0
		for j, c := range row {
			for _, l := range pySplitLines(c) {
				split[j] = append(split[j], padRight(l, widths[j]))
			}
			n = max(n, len(split[j]))
		}
		for k := 0; k < n; k++ {
			parts := make([]string, len(row))
			for j := range row {
				if k < len(split[j]) {
					parts[j] = split[j][k]
				} else {
					parts[j] = strings.Repeat(" ", widths[j])
				}
			}
			lines = append(lines, strings.TrimRightFunc(strings.Join(parts, "  "), pyIsSpace))
		}
	}
	appendRow(headers)
	dashes := make([]string, len(headers))
	for j, w := range widths {
		dashes[j] = strings.Repeat("-", w)
	}
	lines = append(lines, strings.Join(dashes, "  "))
	for _, r := range cells {
		appendRow(r)
	}
	return strings.Join(lines, "\n")
}

func hasLineBreak(s string) bool {
	return strings.ContainsAny(s, "\r\n")
}

// textWidth is tabulate's width function: wcwidth.wcswidth per line, the widest line for multiline tables.
func textWidth(s string, multiline bool) int {
	if !multiline {
		return wcswidth(s)
	}
	w := 0
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		w = max(w, wcswidth(l))
	}
	return w
}

// padRight pads s with spaces to width display columns, as tabulate's _padright does once its wide-character
// correction is applied. A string wcswidth cannot measure (-1) gets one extra space, as in tabulate.
func padRight(s string, width int) string {
	if n := width - wcswidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string {
	return strings.TrimFunc(s, pyIsSpace)
}

func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// pySplitLines is Python's str.splitlines(): no trailing empty line, and no lines at all for "".
func pySplitLines(s string) []string {
	var lines []string
	start := 0
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, string(rs[start:i]))
			start = i + 1
		case '\r':
			lines = append(lines, string(rs[start:i]))
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(rs) {
		lines = append(lines, string(rs[start:]))
	}
	return lines
}
