package graphapi

import (
	"errors"
	"strings"
)

// filter is a parsed OData $filter from the small subset keyhaven serves: clauses joined by "and", each one of
//
//	prop eq 'value'
//	startswith(prop,'value')
//	servicePrincipalNames/any(c:c eq 'value')
//
// Comparisons are case-insensitive, as Graph's are for these properties.
type filter []clause

type clause struct {
	op    string // eq, startswith, any
	prop  string
	value string
}

var errBadFilter = errors.New("invalid filter clause")

// parseFilter parses a $filter; an empty one matches everything.
func parseFilter(s string) (filter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) > 1024 {
		return nil, errBadFilter
	}
	var f filter
	for {
		c, rest, err := parseClause(s)
		if err != nil {
			return nil, err
		}
		f = append(f, c)
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return f, nil
		}
		after, ok := cutPrefixFold(rest, "and ")
		if !ok {
			return nil, errBadFilter
		}
		s = strings.TrimSpace(after)
	}
}

func parseClause(s string) (clause, string, error) {
	if rest, ok := cutPrefixFold(s, "startswith("); ok {
		prop, rest, ok := strings.Cut(rest, ",")
		if !ok {
			return clause{}, "", errBadFilter
		}
		val, rest, err := parseString(strings.TrimSpace(rest))
		if err != nil {
			return clause{}, "", err
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ")") {
			return clause{}, "", errBadFilter
		}
		return clause{"startswith", strings.TrimSpace(prop), val}, rest[1:], nil
	}
	if rest, ok := cutPrefixFold(s, "servicePrincipalNames/any("); ok {
		v, rest, ok := strings.Cut(rest, ":")
		if !ok || strings.TrimSpace(v) == "" {
			return clause{}, "", errBadFilter
		}
		rest, ok = cutPrefixFold(strings.TrimSpace(rest), strings.TrimSpace(v)+" eq ")
		if !ok {
			return clause{}, "", errBadFilter
		}
		val, rest, err := parseString(strings.TrimSpace(rest))
		if err != nil {
			return clause{}, "", err
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ")") {
			return clause{}, "", errBadFilter
		}
		return clause{"any", "servicePrincipalNames", val}, rest[1:], nil
	}
	prop, rest, ok := strings.Cut(s, " ")
	if !ok || prop == "" {
		return clause{}, "", errBadFilter
	}
	rest, ok = cutPrefixFold(strings.TrimSpace(rest), "eq ")
	if !ok {
		return clause{}, "", errBadFilter
	}
	val, rest, err := parseString(strings.TrimSpace(rest))
	if err != nil {
		return clause{}, "", err
	}
	return clause{"eq", prop, val}, rest, nil
}

// parseString reads a quoted OData string ('it”s'), returning it and what follows.
func parseString(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", errBadFilter
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(s[i])
	}
	return "", "", errBadFilter
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// match reports whether an object passes the filter; props returns an object's value for a property name
// (case-insensitive) and whether the object has it.
func (f filter) match(props func(name string) ([]string, bool)) (bool, error) {
	for _, c := range f {
		vals, ok := props(strings.ToLower(c.prop))
		if !ok {
			return false, errBadFilter
		}
		hit := false
		for _, v := range vals {
			switch c.op {
			case "eq", "any":
				hit = hit || strings.EqualFold(v, c.value)
			case "startswith":
				hit = hit || strings.HasPrefix(strings.ToLower(v), strings.ToLower(c.value))
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}
