package cli

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/cli/output"
)

// fixture is a small command tree shaped like az's: "ad user create" with every kind of argument,
// "ad user list" with a result to format, and "webapp run" taking the arguments after "--".
func fixture() *App {
	a := New("keyhaven", "")
	a.Describe(
		Group{Name: "ad", Short: "Manage Microsoft Entra ID entities"},
		Group{Name: "ad user", Short: "manage Microsoft Entra users"},
		Group{Name: "webapp", Short: "Manage web apps"},
	)
	a.Register(
		Command{
			Name:  "ad user create",
			Short: "Create a user.",
			Params: []Param{
				{Name: "display-name", Required: true, Help: "object's display name or its prefix"},
				{Name: "user-principal-name", Short: "u", Required: true,
					Help: "The user principal name (someuser@contoso.com). It must contain one of the verified domains for the tenant."},
				{Name: "password", Required: true, Help: "Password for the user."},
				{Name: "object-id", Aliases: []string{"id"}, Help: "The object ID."},
				{Name: "force-change-password-next-sign-in", Bool: true,
					Help: "Marked as true if the user must change the password on the next login."},
				{Name: "mail-nickname", Help: "Mail alias. Defaults to user principal name."},
				{Name: "secret-permissions", Multi: true, Group: "Permission", Choices: []string{"get", "list", "set"},
					Help: "Space-separated list of secret permissions to assign."},
				{Name: "tags", Multi: true, Help: "space-separated tags: key[=value] [key[=value] ...]"},
				{Name: "sku", Choices: []string{"standard", "premium"}, Default: "standard", Help: "SKU details."},
				{Name: "internal", Hidden: true},
			},
			Examples: []Example{{
				Name: "Create a user.",
				Text: "keyhaven ad user create --display-name Alice --user-principal-name alice@contoso.com --password P@ssw0rd",
			}},
			Run: echo,
		},
		Command{
			Name:  "ad user list",
			Short: "list users",
			Run: func(c *Context) (any, error) {
				return []map[string]any{
					{"displayName": "Alice", "id": "1", "accountEnabled": true},
					{"displayName": "Bob", "id": "2", "accountEnabled": false},
				}, nil
			},
			Table: func(v any) (any, error) {
				var rows []output.Object
				for _, u := range v.([]any) {
					m := u.(map[string]any)
					rows = append(rows, output.Object{{Key: "Name", Value: m["displayName"]}, {Key: "Enabled", Value: m["accountEnabled"]}})
				}
				return rows, nil
			},
		},
		Command{
			Name:      "webapp run",
			Short:     "Run a command in a web app's identity.",
			TakesRest: true,
			Params:    []Param{{Name: "name", Short: "n", Required: true, Help: "Name of the web app."}},
			Run: func(c *Context) (any, error) {
				return map[string]any{"name": c.String("name"), "rest": c.Rest}, nil
			},
		},
	)
	return a
}

// echo returns what the command sees of its arguments.
func echo(c *Context) (any, error) {
	return map[string]any{
		"display-name":        c.String("display-name"),
		"user-principal-name": c.String("user-principal-name"),
		"password":            c.String("password"),
		"object-id":           c.String("object-id"),
		"force":               c.Bool("force-change-password-next-sign-in"),
		"force-given":         c.Has("force-change-password-next-sign-in"),
		"mail-given":          c.Has("mail-nickname"),
		"secret-permissions":  c.Strings("secret-permissions"),
		"tags":                c.Strings("tags"),
		"sku":                 c.String("sku"),
		"subscription":        c.String("subscription"),
		"output":              c.String("output"),
	}, nil
}

// run runs the fixture, returning the exit code and what it wrote.
func run(a *App, args ...string) (code int, stdout, stderr string) {
	var out, errb strings.Builder
	code = a.Run(args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

// required are the required arguments of "ad user create".
var required = []string{"--display-name", "Al", "-u", "al@x", "--password", "p"}

func create(args ...string) []string {
	return append([]string{"ad", "user", "create"}, args...)
}

func withRequired(args ...string) []string {
	return create(append(append([]string{}, required...), args...)...)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   map[string]any // a subset of echo's result
		code   int
		stderr string
	}{
		{
			name: "long flags and defaults",
			args: withRequired(),
			want: map[string]any{"display-name": "Al", "user-principal-name": "al@x", "password": "p", "sku": "standard",
				"force": false, "force-given": false, "mail-given": false, "secret-permissions": nil, "output": "json"},
		},
		{
			name: "flags in any order",
			args: create("--password", "p", "--sku", "premium", "-u", "al@x", "--display-name", "Al"),
			want: map[string]any{"display-name": "Al", "sku": "premium"},
		},
		{name: "equals form", args: create("--display-name=A=B", "-u", "x", "--password="), want: map[string]any{"display-name": "A=B", "password": ""}},
		{name: "short with equals", args: create("--display-name", "Al", "-u=al@x", "--password", "p"), want: map[string]any{"user-principal-name": "al@x"}},
		{name: "short attached", args: create("--display-name", "Al", "-ual@x", "--password", "p"), want: map[string]any{"user-principal-name": "al@x"}},
		{name: "alias", args: withRequired("--id", "1234"), want: map[string]any{"object-id": "1234"}},
		{name: "repeated flag: last wins", args: withRequired("--display-name", "Bo"), want: map[string]any{"display-name": "Bo"}},
		{name: "value starting with a dash", args: withRequired("--object-id", "-1", "--mail-nickname", "-x"), want: map[string]any{"object-id": "-1", "mail-given": true}},
		{
			name: "multi takes tokens up to the next flag",
			args: create("--secret-permissions", "get", "list", "--display-name", "Al", "-u", "x", "--tags", "a=1", "b=-2", "--password", "p"),
			want: map[string]any{"secret-permissions": []any{"get", "list"}, "tags": []any{"a=1", "b=-2"}, "password": "p"},
		},
		{name: "multi stops at a short flag", args: withRequired("--tags", "a", "-o", "json"), want: map[string]any{"tags": []any{"a"}}},
		{name: "multi choices are case-insensitive", args: withRequired("--secret-permissions", "GET", "List"), want: map[string]any{"secret-permissions": []any{"get", "list"}}},
		{name: "multi with equals takes one value", args: withRequired("--tags=a b"), want: map[string]any{"tags": []any{"a b"}}},
		{name: "multi repeated: last wins", args: withRequired("--tags", "a", "--tags", "b", "c"), want: map[string]any{"tags": []any{"b", "c"}}},
		{name: "choice is case-insensitive", args: withRequired("--sku", "PREMIUM"), want: map[string]any{"sku": "premium"}},
		{name: "bool alone", args: withRequired("--force-change-password-next-sign-in"), want: map[string]any{"force": true, "force-given": true}},
		{name: "bool false", args: withRequired("--force-change-password-next-sign-in", "false"), want: map[string]any{"force": false, "force-given": true}},
		{name: "bool TRUE", args: withRequired("--force-change-password-next-sign-in", "TRUE"), want: map[string]any{"force": true}},
		{name: "bool equals false", args: withRequired("--force-change-password-next-sign-in=False"), want: map[string]any{"force": false}},
		{name: "bool before a flag", args: create("--force-change-password-next-sign-in", "--display-name", "Al", "-u", "x", "--password", "p"), want: map[string]any{"force": true}},
		{name: "global arguments", args: withRequired("--subscription", "sub1", "-o", "JSON", "--verbose"), want: map[string]any{"subscription": "sub1", "output": "json"}},
		{
			name:   "bool with another word",
			args:   withRequired("--force-change-password-next-sign-in", "maybe"),
			code:   2,
			stderr: "ERROR: unrecognized arguments: maybe\n",
		},
		{
			name:   "bool with a bad explicit value",
			args:   withRequired("--force-change-password-next-sign-in=maybe"),
			code:   2,
			stderr: "ERROR: keyhaven ad user create: 'maybe' is not a valid value for '--force-change-password-next-sign-in'. Allowed values: true, false.\n",
		},
		{
			name:   "invalid choice",
			args:   withRequired("--sku", "gold"),
			code:   2,
			stderr: "ERROR: keyhaven ad user create: 'gold' is not a valid value for '--sku'. Allowed values: standard, premium.\n",
		},
		{
			name:   "invalid output",
			args:   withRequired("-o", "yaml"),
			code:   2,
			stderr: "ERROR: keyhaven ad user create: 'yaml' is not a valid value for '--output'. Allowed values: json, jsonc, table, tsv, none.\n",
		},
		{
			name:   "invalid query",
			args:   withRequired("--query", "[?name=='x'"),
			code:   2,
			stderr: "ERROR: argument --query: invalid jmespath_type value: \"[?name=='x'\"\n",
		},
		{name: "unknown flag", args: withRequired("--bogus"), code: 2, stderr: "ERROR: unrecognized arguments: --bogus\n"},
		{name: "unknown flag and its value", args: withRequired("--bogus", "x", "-z"), code: 2, stderr: "ERROR: unrecognized arguments: --bogus x -z\n"},
		{name: "positional", args: withRequired("extra"), code: 2, stderr: "ERROR: unrecognized arguments: extra\n"},
		{name: "no prefix matching", args: withRequired("--display", "x"), code: 2, stderr: "ERROR: unrecognized arguments: --display x\n"},
		{
			name:   "missing required",
			args:   create("--display-name", "Al"),
			code:   2,
			stderr: "ERROR: the following arguments are required: --user-principal-name/-u, --password\n",
		},
		{
			name:   "missing required is reported before unrecognized",
			args:   create("--bogus"),
			code:   2,
			stderr: "ERROR: the following arguments are required: --display-name, --user-principal-name/-u, --password\n",
		},
		{name: "missing value at end", args: withRequired("--mail-nickname"), code: 2, stderr: "ERROR: argument --mail-nickname: expected one argument\n"},
		{name: "missing value before flag", args: create("--display-name", "-u", "x"), code: 2, stderr: "ERROR: argument --display-name: expected one argument\n"},
		{name: "multi without values", args: withRequired("--tags", "--sku", "standard"), code: 2, stderr: "ERROR: argument --tags: expected at least one argument\n"},
		{name: "rest without TakesRest", args: withRequired("--", "a", "b"), code: 2, stderr: "ERROR: unrecognized arguments: a b\n"},
	}
	a := fixture()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(a, tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Fatalf("exit %d, stderr %q; want exit %d, stderr %q", code, stderr, tt.code, tt.stderr)
			}
			if tt.want == nil {
				return
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout %q: %v", stdout, err)
			}
			for k, want := range tt.want {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

func TestRest(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   string
		code   int
		stderr string
	}{
		{name: "after --", args: []string{"--name", "app", "--", "printenv", "--flag", "-n", "x"},
			want: `{"name":"app","rest":["printenv","--flag","-n","x"]}`},
		{name: "flags after --", args: []string{"--", "-h"}, code: 2,
			stderr: "ERROR: the following arguments are required: --name/-n\n"},
		{name: "nothing after --", args: []string{"-n", "app", "--"}, want: `{"name":"app","rest":[]}`},
		{name: "no --", args: []string{"-n", "app"}, want: `{"name":"app","rest":null}`},
		{name: "positional before --", args: []string{"-n", "app", "cmd"}, code: 2,
			stderr: "ERROR: unrecognized arguments: cmd\n"},
	}
	a := fixture()
	for _, tt := range tests {
		code, stdout, stderr := run(a, append([]string{"webapp", "run", "-o", "tsv", "--query", "to_string(@)"}, tt.args...)...)
		if code != tt.code || stderr != tt.stderr {
			t.Errorf("%s: exit %d, stderr %q; want exit %d, stderr %q", tt.name, code, stderr, tt.code, tt.stderr)
			continue
		}
		if tt.want != "" && stdout != tt.want+"\n" {
			t.Errorf("%s: stdout %q, want %q", tt.name, stdout, tt.want)
		}
	}
}

func TestOutputFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "tsv", "--query", "[].displayName"}, "Alice\nBob\n"},
		{[]string{"--output", "table"}, "Name    Enabled\n------  ---------\nAlice   True\nBob     False\n"},
		{[]string{"-o", "table", "--query", "[?accountEnabled].{User:displayName, Id:id}"}, "User    Id\n------  ----\nAlice   1\n"},
		{[]string{"-o", "json", "--query", "[0].displayName"}, "\"Alice\"\n"},
		{[]string{"-o", "none"}, ""},
		{[]string{"--query", "[?id=='3']", "-o", "tsv"}, ""},
	}
	a := fixture()
	for _, tt := range tests {
		code, stdout, stderr := run(a, append([]string{"ad", "user", "list"}, tt.args...)...)
		if code != 0 || stderr != "" || stdout != tt.want {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want %q", tt.args, code, stderr, stdout, tt.want)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"plain error", errors.New("The vault 'kv' was not found."), 1, "ERROR: The vault 'kv' was not found.\n"},
		{"exit error", ExitError{Code: 3, Err: errors.New("conflict")}, 3, "ERROR: conflict\n"},
		{"exit error pointer", &ExitError{Code: 4, Err: errors.New("gone")}, 4, "ERROR: gone\n"},
		{"silent exit", ExitError{Code: 5}, 5, ""},
		{"usage error", Usagef("usage error: --a | --b"), 2, "ERROR: usage error: --a | --b\n"},
		{"wrapped exit error", errors.Join(errors.New("context"), ExitError{Code: 6, Err: errors.New("x")}), 6, "ERROR: context\nx\n"},
	}
	for _, tt := range tests {
		a := New("keyhaven", "")
		a.Register(Command{Name: "fail", Run: func(*Context) (any, error) { return "ignored", tt.err }})
		code, stdout, stderr := run(a, "fail")
		if code != tt.code || stderr != tt.stderr || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tt.name, code, stdout, stderr, tt.code, tt.stderr)
		}
	}
}

func TestLogging(t *testing.T) {
	a := New("keyhaven", "")
	a.Register(Command{Name: "log", Run: func(c *Context) (any, error) {
		c.Log.Debug("d")
		c.Log.Info("i", "k", 1)
		c.Log.Warn("w")
		c.Log.Error("e")
		return nil, nil
	}})
	tests := []struct {
		flag, want string
	}{
		{"", "WARNING: w\nERROR: e\n"},
		{"--verbose", "INFO: i k=1\nWARNING: w\nERROR: e\n"},
		{"--debug", "DEBUG: d\nINFO: i k=1\nWARNING: w\nERROR: e\n"},
		{"--only-show-errors", "ERROR: e\n"},
	}
	for _, tt := range tests {
		args := []string{"log"}
		if tt.flag != "" {
			args = append(args, tt.flag)
		}
		code, stdout, stderr := run(a, args...)
		if code != 0 || stdout != "" || stderr != tt.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", tt.flag, code, stdout, stderr, tt.want)
		}
	}
}

func TestCommandWords(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // prefix
		stderr string
	}{
		{"group without a command prints its help", []string{"ad"}, 0, "\nGroup\n    keyhaven ad : ", ""},
		{"group with only flags prints its help", []string{"ad", "user", "-o", "json"}, 0, "\nGroup\n    keyhaven ad user : ", ""},
		{"no arguments prints the top-level help", nil, 0, "\nGroup\n    keyhaven\n", ""},
		{"unknown command", []string{"ad", "xyz"}, 2, "", "ERROR: 'xyz' is misspelled or not recognized by the system.\n"},
		{"unknown group", []string{"bogus", "list"}, 2, "", "ERROR: 'bogus' is misspelled or not recognized by the system.\n"},
		{"help wins over missing arguments", create("--bogus", "-h"), 0, "\nCommand\n    keyhaven ad user create : ", ""},
		{"an error before -h wins", create("--display-name", "-h"), 2, "", "ERROR: argument --display-name: expected one argument\n"},
	}
	a := fixture()
	for _, tt := range tests {
		code, stdout, stderr := run(a, tt.args...)
		if code != tt.code || !strings.HasPrefix(stdout, tt.stdout) || stderr != tt.stderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q..., stderr %q",
				tt.name, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	run := func(*Context) (any, error) { return nil, nil }
	tests := []struct {
		name string
		cmds []Command
	}{
		{"no name", []Command{{Run: run}}},
		{"no run", []Command{{Name: "a"}}},
		{"duplicate command", []Command{{Name: "a b", Run: run}, {Name: "a  b", Run: run}}},
		{"command under a command", []Command{{Name: "a", Run: run}, {Name: "a b", Run: run}}},
		{"group over a command", []Command{{Name: "a b", Run: run}, {Name: "a", Run: run}}},
		{"flag twice", []Command{{Name: "a", Run: run, Params: []Param{{Name: "x"}, {Name: "y", Aliases: []string{"x"}}}}}},
		{"clash with a global flag", []Command{{Name: "a", Run: run, Params: []Param{{Name: "out", Short: "o"}}}}},
		{"dashes in the name", []Command{{Name: "a", Run: run, Params: []Param{{Name: "--x"}}}}},
		{"long short", []Command{{Name: "a", Run: run, Params: []Param{{Name: "x", Short: "xy"}}}}},
		{"bool and multi", []Command{{Name: "a", Run: run, Params: []Param{{Name: "x", Bool: true, Multi: true}}}}},
		{"default outside choices", []Command{{Name: "a", Run: run, Params: []Param{{Name: "x", Choices: []string{"p"}, Default: "q"}}}}},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", tt.name)
				}
			}()
			New("keyhaven", "").Register(tt.cmds...)
		}()
	}
}

func TestContextUnknownArgumentPanics(t *testing.T) {
	a := New("keyhaven", "")
	a.Register(Command{Name: "a", Run: func(c *Context) (any, error) { return c.String("nope"), nil }})
	defer func() {
		if recover() == nil {
			t.Error("Context.String of an undeclared argument did not panic")
		}
	}()
	run(a, "a")
}
