package output

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// vaults is a result like az keyvault list's: scalars, nested values, a null and the keys table output skips.
const vaults = `[{"enabled":true,"etag":"W/1","id":"/v/1","location":"eastus","name":"vault1","properties":{"sku":"standard"},"tags":[],"type":"x"},{"enabled":false,"id":"/v/2","location":"westeurope","name":"v2","note":null,"size":1.5}]`

// TestPrint checks each format against golden output. Every want was produced by knack's own formatters
// (knack/output.py format_json, format_tsv/_TsvOutput, format_table/_TableOutput) running on
// python-tabulate and python-jmespath with Options(OrderedDict), as az runs them, on the same input.
func TestPrint(t *testing.T) {
	tests := []struct {
		name, in, format, query, want string
	}{
		{
			// knack: format_json: indent=2, sort_keys=True, ensure_ascii=False.
			name:   "json struct-like list",
			in:     vaults,
			format: "json",
			want: "[\n" +
				"  {\n" +
				"    \"enabled\": true,\n" +
				"    \"etag\": \"W/1\",\n" +
				"    \"id\": \"/v/1\",\n" +
				"    \"location\": \"eastus\",\n" +
				"    \"name\": \"vault1\",\n" +
				"    \"properties\": {\n" +
				"      \"sku\": \"standard\"\n" +
				"    },\n" +
				"    \"tags\": [],\n" +
				"    \"type\": \"x\"\n" +
				"  },\n" +
				"  {\n" +
				"    \"enabled\": false,\n" +
				"    \"id\": \"/v/2\",\n" +
				"    \"location\": \"westeurope\",\n" +
				"    \"name\": \"v2\",\n" +
				"    \"note\": null,\n" +
				"    \"size\": 1.5\n" +
				"  }\n" +
				"]\n",
		},
		{
			// knack: format_json with ensure_ascii=False.
			name:   "json escapes only quote, backslash and controls",
			in:     `{"s":"é<>&\u2028\t\u0001\"\\","f":1.0,"big":1e16,"tiny":0.00001,"n":12345678901234567890,"e":[],"o":{}}`,
			format: "json",
			want: "{\n" +
				"  \"big\": 1e+16,\n" +
				"  \"e\": [],\n" +
				"  \"f\": 1.0,\n" +
				"  \"n\": 12345678901234567890,\n" +
				"  \"o\": {},\n" +
				"  \"s\": \"\u00e9<>&\u2028\\t\\u0001\\\"\\\\\",\n" +
				"  \"tiny\": 1e-05\n" +
				"}\n",
		},
		{
			// knack: get_formatter: jsonc without a tty is json.
			name:   "jsonc is json",
			in:     `{"b":1,"a":2}`,
			format: "jsonc",
			want: "{\n" +
				"  \"a\": 2,\n" +
				"  \"b\": 1\n" +
				"}\n",
		},
		{
			// knack: format_json of a str.
			name:   "json scalar query",
			in:     vaults,
			format: "json",
			query:  `[0].name`,
			want:   "\"vault1\"\n",
		},
		{
			// knack: _TsvOutput._dump_row: dict values sorted by key; _dump_obj: list->len, dict->'', None->'None', bool->'True'.
			name:   "tsv list of objects",
			in:     vaults,
			format: "tsv",
			want: "True\tW/1\t/v/1\teastus\tvault1\t\t0\tx\n" +
				"False\t/v/2\twesteurope\tv2\tNone\t1.5\n",
		},
		{
			// knack: format_tsv wraps a non-list result in a list.
			name:   "tsv single object",
			in:     `{"b":"x","a":true,"c":null}`,
			format: "tsv",
			want:   "True\tx\tNone\n",
		},
		{
			// knack: _dump_row: a bool row prints str(data).lower().
			name:   "tsv bare bool",
			in:     `true`,
			format: "tsv",
			want:   "true\n",
		},
		{
			// knack: one row per item.
			name:   "tsv list of names",
			in:     vaults,
			format: "tsv",
			query:  `[].name`,
			want: "vault1\n" +
				"v2\n",
		},
		{
			// knack: bool rows print lower case.
			name:   "tsv list of bools",
			in:     vaults,
			format: "tsv",
			query:  `[].enabled`,
			want: "true\n" +
				"false\n",
		},
		{
			// knack: _dump_obj of a str.
			name:   "tsv scalar query prints bare string",
			in:     vaults,
			format: "tsv",
			query:  `[0].id`,
			want:   "/v/1\n",
		},
		{
			// knack: OrderedDict rows from jmespath Options(OrderedDict) keep insertion order.
			name:   "tsv multiselect hash keeps query order",
			in:     vaults,
			format: "tsv",
			query:  `[].{zeta:name, alpha:location, on:enabled}`,
			want: "vault1\teastus\tTrue\n" +
				"v2\twesteurope\tFalse\n",
		},
		{
			// knack: list rows: values joined by tabs.
			name:   "tsv multiselect list",
			in:     vaults,
			format: "tsv",
			query:  `[].[name, enabled, tags, properties]`,
			want: "vault1\tTrue\t0\t\n" +
				"v2\tFalse\tNone\tNone\n",
		},
		{
			// knack: empty list prints nothing.
			name:   "tsv filter to nothing",
			in:     vaults,
			format: "tsv",
			query:  `[?name=='none']`,
			want:   "",
		},
		{
			// knack: _auto_table_item: sorted keys, skip id/type/etag, drop None and nested; tabulate simple.
			name:   "table list of objects",
			in:     vaults,
			format: "table",
			want: "Enabled    Location    Name    Size\n" +
				"---------  ----------  ------  ------\n" +
				"True       eastus      vault1\n" +
				"False      westeurope  v2      1.5\n",
		},
		{
			// knack: a dict result is one row.
			name:   "table single object",
			in:     `{"name":"kv","location":"eastus","sku":{"name":"standard"}}`,
			format: "table",
			want: "Location    Name\n" +
				"----------  ------\n" +
				"eastus      kv\n",
		},
		{
			// knack: non-dict items become a Result column.
			name:   "table names",
			in:     vaults,
			format: "table",
			query:  `[].name`,
			want: "Result\n" +
				"--------\n" +
				"vault1\n" +
				"v2\n",
		},
		{
			// knack: list items become Column1..N.
			name:   "table list rows",
			in:     vaults,
			format: "table",
			query:  `[].[name, location]`,
			want: "Column1    Column2\n" +
				"---------  ----------\n" +
				"vault1     eastus\n" +
				"v2         westeurope\n",
		},
		{
			// knack: query active: keys keep the hash order, not sorted.
			name:   "table filter and hash",
			in:     vaults,
			format: "table",
			query:  `[?location=='eastus'].{Vault:name, Enabled:enabled}`,
			want: "Vault    Enabled\n" +
				"-------  ---------\n" +
				"vault1   True\n",
		},
		{
			// knack: SKIP_KEYS applies to query results too.
			name:   "table hash skips id",
			in:     vaults,
			format: "table",
			query:  `[].{id:id, name:name}`,
			want: "Name\n" +
				"------\n" +
				"vault1\n" +
				"v2\n",
		},
		{
			// knack: tabulate of no rows is '' and format_table adds a newline.
			name:   "table empty list",
			in:     `[]`,
			format: "table",
			want:   "\n",
		},
		{
			// knack: tabulate headers='keys': union of keys in first-seen order, missing -> ''.
			name:   "table missing cells and bools",
			in:     `[{"name":"a"},{"name":"bb","enabled":false},{"enabled":true,"count":10}]`,
			format: "table",
			want: "Name    Enabled    Count\n" +
				"------  ---------  -------\n" +
				"a\n" +
				"bb      False\n" +
				"        True       10\n",
		},
		{
			// knack: tabulate _align_column strips whitespace; widths by wcwidth.
			name:   "table strips cells and pads wide characters",
			in:     `[{"name":"  padded  ","zone":"名前"},{"name":"x","zone":"y"}]`,
			format: "table",
			want: "Name    Zone\n" +
				"------  ------\n" +
				"padded  \u540d\u524d\n" +
				"x       y\n",
		},
		{
			// knack: tabulate multiline rows.
			name:   "table multiline cell",
			in:     `[{"a":"one\ntwo","b":"x"},{"a":"three","b":"y"}]`,
			format: "table",
			want: "A      B\n" +
				"-----  ---\n" +
				"one    x\n" +
				"two\n" +
				"three  y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Print(&b, json.RawMessage(tt.in), tt.format, tt.query); err != nil {
				t.Fatalf("Print: %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

type secret struct {
	Name    string            `json:"name"`
	Enabled bool              `json:"enabled"`
	Tags    map[string]string `json:"tags,omitempty"`
	Value   *string           `json:"value"`
	Created int64             `json:"created"`
}

// TestPrintGoValues checks that structs with json tags and maps print like their JSON.
func TestPrintGoValues(t *testing.T) {
	v := []secret{{Name: "db", Enabled: true, Created: 1700000000}, {Name: "api", Tags: map[string]string{"env": "prod"}}}
	tests := []struct {
		format, query, want string
	}{
		{"json", "", "[\n  {\n    \"created\": 1700000000,\n    \"enabled\": true,\n    \"name\": \"db\",\n    \"value\": null\n  },\n" +
			"  {\n    \"created\": 0,\n    \"enabled\": false,\n    \"name\": \"api\",\n    \"tags\": {\n      \"env\": \"prod\"\n    },\n    \"value\": null\n  }\n]\n"},
		{"table", "", "Created     Enabled    Name\n----------  ---------  ------\n1700000000  True       db\n0           False      api\n"},
		{"tsv", "", "1700000000\tTrue\tdb\tNone\n0\tFalse\tapi\t\tNone\n"},
		{"tsv", "[?enabled].name", "db\n"},
		{"tsv", "[].{n: name, c: created}", "db\t1700000000\napi\t0\n"},
		{"tsv", "length(@)", "2\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := Print(&b, v, tt.format, tt.query); err != nil {
			t.Fatalf("%s %q: %v", tt.format, tt.query, err)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("%s %q: got:\n%q\nwant:\n%q", tt.format, tt.query, got, tt.want)
		}
	}
}

// TestPrintNothing checks the cases az prints nothing for: a nil result, a query selecting null, -o none.
func TestPrintNothing(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		format string
		query  string
	}{
		{"nil result", nil, "json", ""},
		{"nil map", map[string]any(nil), "json", ""},
		{"query selects null", json.RawMessage(vaults), "json", "missing"},
		{"query selects null in table", json.RawMessage(vaults), "table", "[0].nothing"},
		{"none format", json.RawMessage(vaults), "none", ""},
		{"none format with query", json.RawMessage(vaults), "none", "[].name"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := Print(&b, tt.in, tt.format, tt.query); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: printed %q, want nothing", tt.name, b.String())
		}
	}
}

// TestPrintErrors checks az's message for a query that does not compile and the other failures.
func TestPrintErrors(t *testing.T) {
	tests := []struct {
		name, format, query, want string
		isQuery                   bool
	}{
		{"unterminated filter", "json", "[?", `argument --query: invalid jmespath_type value: '[?'`, true},
		{"repr switches to double quotes", "tsv", "[?type=='x'", `argument --query: invalid jmespath_type value: "[?type=='x'"`, true},
		{"empty query is valid", "json", "", "", false},
		{"runtime type error", "json", "abs([0].name)", "", false},
		{"unknown format", "yaml", "", `output: unknown format "yaml"`, false},
	}
	for _, tt := range tests {
		var b strings.Builder
		err := Print(&b, json.RawMessage(vaults), tt.format, tt.query)
		var qe *QueryError
		if errors.As(err, &qe) != tt.isQuery {
			t.Errorf("%s: error %v, want QueryError: %v", tt.name, err, tt.isQuery)
		}
		switch {
		case tt.name == "empty query is valid":
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		case err == nil:
			t.Errorf("%s: no error", tt.name)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
		if tt.isQuery && ValidateQuery(tt.query) == nil {
			t.Errorf("%s: ValidateQuery accepted %q", tt.name, tt.query)
		}
	}
}

// TestTableTransform checks Options.Table, az's table_transformer: used only for -o table without --query,
// and its rows keep their column order (should_sort_keys is false).
func TestTableTransform(t *testing.T) {
	transform := func(v any) (any, error) {
		var rows []Object
		for _, item := range v.([]any) {
			m := item.(map[string]any)
			rows = append(rows, Object{{"Name", m["name"]}, {"Location", m["location"]}, {"Enabled", m["enabled"]}})
		}
		return rows, nil
	}
	tests := []struct {
		name, format, query, want string
	}{
		{"table keeps transformer order", "table", "",
			"Name    Location    Enabled\n------  ----------  ---------\nvault1  eastus      True\nv2      westeurope  False\n"},
		{"query disables the transformer", "table", "[].name", "Result\n--------\nvault1\nv2\n"},
		{"other formats ignore it", "tsv", "[0].name", "vault1\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		o := Options{Format: tt.format, Query: tt.query, Table: transform}
		if err := o.Print(&b, json.RawMessage(vaults)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", tt.name, got, tt.want)
		}
	}

	failing := Options{Format: "table", Table: func(any) (any, error) { return nil, errors.New("boom") }}
	err := failing.Print(&strings.Builder{}, json.RawMessage(vaults))
	var te *TableError
	if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), "Table output unavailable.") {
		t.Errorf("failing transformer: %v, want TableError", err)
	}
}

// TestObject checks that an Object result keeps its order in tsv (knack's OrderedDict branch) but is
// sorted in json (sort_keys=True) and in table without a query (sorted(item)).
func TestObject(t *testing.T) {
	o := Object{{"zeta", 1}, {"alpha", "a"}}
	tests := []struct{ format, want string }{
		{"tsv", "1\ta\n"},
		{"json", "{\n  \"alpha\": \"a\",\n  \"zeta\": 1\n}\n"},
		{"table", "Alpha    Zeta\n-------  ------\na        1\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := Print(&b, o, tt.format, ""); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.format, got, tt.want)
		}
	}
	if b, _ := json.Marshal(o); string(b) != `{"zeta":1,"alpha":"a"}` {
		t.Errorf("MarshalJSON = %s", b)
	}
}

// TestQuote checks Python's repr() of strings; wants are CPython 3.11's.
func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", `'abc'`},
		{"it's", `"it's"`},
		{`it's "x"`, `'it\'s "x"'`},
		{"a\nb\\", `'a\nb\\'`},
		{"é", `'é'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"\u200b", `'\u200b'`},
		{"\u00a0", `'\xa0'`},
		{"😀", `'😀'`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestPyFloatRepr checks Python's float repr(); wants are CPython 3.11's.
func TestPyFloatRepr(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1, "1.0"}, {1e16, "1e+16"}, {0.1, "0.1"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
		{123456.789, "123456.789"}, {1.5e300, "1.5e+300"}, {-2.5, "-2.5"}, {1e22, "1e+22"},
		{12345678901234567, "1.2345678901234568e+16"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.in); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestHashOrders checks the recovery of multi-select hash key order from query text.
func TestHashOrders(t *testing.T) {
	tests := []struct {
		query string
		want  [][]string
	}{
		{"[].name", nil},
		{"[].{n:name, e:enabled}", [][]string{{"n", "e"}}},
		{`{"the key": a, b: {y: c, x: d}, z: [?k=='{w:1}'].{q: f(a, b)}}`, [][]string{{"the key", "b", "z"}, {"y", "x"}, {"q"}}},
		{"[?contains(name, 'a,b')].{b: `{\"lit\": 1}`, a: [0:2]}", [][]string{{"b", "a"}}},
	}
	for _, tt := range tests {
		got := hashOrders(tt.query)
		if len(got) != len(tt.want) {
			t.Errorf("hashOrders(%q) = %q, want %q", tt.query, got, tt.want)
			continue
		}
		for i := range got {
			if strings.Join(got[i], ",") != strings.Join(tt.want[i], ",") {
				t.Errorf("hashOrders(%q) = %q, want %q", tt.query, got, tt.want)
			}
		}
	}
}
