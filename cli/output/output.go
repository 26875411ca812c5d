// Package output prints a command's result the way az does: --query (JMESPath) first, then one of the
// json, jsonc, table, tsv or none formats, each reproducing knack's formatter (knack/output.py).
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/jmespath/go-jmespath"
)

// Object is a JSON object whose key order is kept by the table and tsv formats, as knack keeps the order of
// a Python OrderedDict (what az table transformers return). The json format still sorts keys, as az does.
type Object []Field

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// MarshalJSON encodes o as a JSON object with its keys in order.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Options says how to print one result.
type Options struct {
	// Format is one of json, jsonc, table, tsv or none (case-insensitive).
	Format string
	// Query is a JMESPath expression applied to the result before formatting; empty means none.
	Query string
	// Table, when set and Query is empty, reshapes the result for the table format, like an az command's
	// table_transformer. It receives the result in its generic JSON form (maps, slices, strings, json.Number,
	// bool, nil) and typically returns []Object so that columns keep their order.
	Table func(result any) (any, error)
}

// Print writes v to w in format after applying query, as az prints a command's result.
// A nil result, or a query that selects nothing, prints nothing, as in az.
func Print(w io.Writer, v any, format, query string) error {
	return Options{Format: format, Query: query}.Print(w, v)
}

// Print writes v to w as the options say.
func (o Options) Print(w io.Writer, v any) error {
	format := strings.ToLower(o.Format)
	switch format {
	case "json", "jsonc", "table", "tsv", "none":
	default:
		return fmt.Errorf("output: unknown format %q", o.Format)
	}
	var compiled *jmespath.JMESPath
	if o.Query != "" {
		c, err := compileQuery(o.Query)
		if err != nil {
			return err
		}
		compiled = c
	}
	if v == nil {
		return nil
	}
	result, err := normalize(v)
	if err != nil {
		return err
	}
	var orders [][]string
	if compiled != nil {
		result, err = compiled.Search(queryable(result))
		if err != nil {
			return err
		}
		orders = hashOrders(o.Query)
	}
	if result == nil {
		return nil
	}
	var out string
	switch format {
	case "json", "jsonc":
		out = formatJSON(result)
	case "tsv":
		out = formatTSV(result, orders)
	case "table":
		sortKeys := compiled == nil && o.Table == nil
		if compiled == nil && o.Table != nil {
			result, err = o.Table(result)
			if err != nil {
				return &TableError{Err: err}
			}
			if result, err = normalize(result); err != nil {
				return &TableError{Err: err}
			}
		}
		out = formatTable(result, sortKeys, orders)
	case "none":
		return nil
	}
	_, err = io.WriteString(w, out)
	return err
}

// TableError reports that the table format could not be produced; its message is az's.
type TableError struct {
	// Err is the cause, worth logging at debug level.
	Err error
}

// Error returns az's message, which names no cause.
func (e *TableError) Error() string {
	return "Table output unavailable. Use the --query option to specify an appropriate query. Use --debug for more info."
}

// Unwrap returns Err.
func (e *TableError) Unwrap() error { return e.Err }

// ValidateQuery reports whether query compiles, with az's argument error message if it does not.
func ValidateQuery(query string) error {
	_, err := compileQuery(query)
	return err
}

// QueryError is a --query expression that does not compile.
type QueryError struct {
	// Query is the expression as given.
	Query string
	// Err is go-jmespath's syntax error.
	Err error
}

// Error returns the message argparse gives for knack's jmespath_type argument type.
func (e *QueryError) Error() string {
	return "argument --query: invalid jmespath_type value: " + Quote(e.Query)
}

// Unwrap returns Err.
func (e *QueryError) Unwrap() error { return e.Err }

func compileQuery(query string) (*jmespath.JMESPath, error) {
	c, err := jmespath.Compile(query)
	if err != nil {
		return nil, &QueryError{Query: query, Err: err}
	}
	return c, nil
}

// normalize turns v into generic JSON values (map[string]any, []any, string, json.Number, bool, nil),
// going through encoding/json so that structs with json tags and maps both work. Objects stay Objects.
func normalize(v any) (any, error) {
	switch t := v.(type) {
	case Object:
		out := make(Object, len(t))
		for i, f := range t {
			nv, err := normalize(f.Value)
			if err != nil {
				return nil, err
			}
			out[i] = Field{Key: f.Key, Value: nv}
		}
		return out, nil
	case []Object:
		out := make([]any, len(t))
		for i, o := range t {
			nv, err := normalize(o)
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			nv, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return out, nil
}

// queryable converts a normalized value to what go-jmespath understands: numbers as float64, Objects as maps.
func queryable(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return f
	case Object:
		m := make(map[string]any, len(t))
		for _, f := range t {
			m[f.Key] = queryable(f.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = queryable(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = queryable(e)
		}
		return s
	}
	return v
}
