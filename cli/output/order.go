package output

import "encoding/json"

// knack evaluates --query with jmespath.Options(dict_cls=OrderedDict), so an object built by a multi-select
// hash such as {name:name, id:id} keeps the order written in the query, and the tsv and table formats lay
// its values out in that order. go-jmespath returns Go maps, which have no order, so hashOrders recovers the
// key order of every multi-select hash from the query text and orderFor matches a result object to one.

// hashOrders returns the keys of each multi-select hash in query, in the order written.
func hashOrders(query string) [][]string {
	type frame struct {
		open      byte
		hash      int // index into orders for '{' frames
		expectKey bool
	}
	var (
		orders [][]string
		stack  []frame
	)
	addKey := func(k string) {
		if n := len(stack); n > 0 && stack[n-1].open == '{' && stack[n-1].expectKey {
			f := &stack[n-1]
			f.expectKey = false
			for _, seen := range orders[f.hash] {
				if seen == k {
					return
				}
			}
			orders[f.hash] = append(orders[f.hash], k)
		}
	}
	s := query
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '`':
			i = skipQuoted(s, i)
		case c == '"':
			end := skipQuoted(s, i)
			var k string
			if end < len(s) && json.Unmarshal([]byte(s[i:end+1]), &k) == nil {
				addKey(k)
			}
			i = end
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			addKey(s[i:j])
			i = j - 1
		case c == '{':
			orders = append(orders, nil)
			stack = append(stack, frame{open: c, hash: len(orders) - 1, expectKey: true})
		case c == '[' || c == '(':
			stack = append(stack, frame{open: c})
		case c == '}' || c == ']' || c == ')':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == ',':
			if n := len(stack); n > 0 && stack[n-1].open == '{' {
				stack[n-1].expectKey = true
			}
		}
	}
	return orders
}

// skipQuoted returns the index of the quote closing the one at s[i], honouring backslash escapes.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return len(s)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || '0' <= c && c <= '9'
}

// orderFor returns the first hash key order that names exactly the keys of m, or nil.
func orderFor(m map[string]any, orders [][]string) []string {
	for _, o := range orders {
		if len(o) != len(m) {
			continue
		}
		ok := true
		for _, k := range o {
			if _, in := m[k]; !in {
				ok = false
				break
			}
		}
		if ok {
			return o
		}
	}
	return nil
}
