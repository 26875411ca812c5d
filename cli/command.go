// Package cli is keyhaven's az-compatible command line: a tree of "group verb" commands, an argparse-style
// argument parser, knack-style help and az's global arguments, so that scripts written for az run unchanged
// with keyhaven in its place. Commands plug in with App.Register; results print through package output.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Command is one leaf command, such as "ad user create".
type Command struct {
	// Name is the command's words after the program name, space-separated: "ad user create".
	Name string
	// Short is the one-line summary shown in help.
	Short string
	// Long is an optional longer description shown under the summary in the command's own help.
	Long string
	// Params are the command's own arguments; the global arguments are added to every command.
	Params []Param
	// TakesRest lets the command accept the arguments after a bare "--", which it finds in Context.Rest.
	TakesRest bool
	// Table, if set, reshapes the result for -o table when no --query is given, like an az
	// table_transformer; see output.Options.Table.
	Table func(result any) (any, error)
	// Examples are shown at the end of the command's help.
	Examples []Example
	// Run does the work. The value it returns is printed in the requested output format; nil prints nothing.
	Run func(ctx *Context) (any, error)
}

// Example is one titled example invocation in a command's help.
type Example struct {
	Name string
	Text string
}

// Param describes one argument of a command.
type Param struct {
	// Name is the long form without dashes, such as "resource-group"; Context looks values up by it.
	Name string
	// Short is an optional one-letter form without the dash, such as "g".
	Short string
	// Aliases are other long forms without dashes, such as "id" beside "object-id".
	Aliases []string
	// Help is the argument's summary in help.
	Help string
	// Required makes the command fail with a usage error when the argument is missing.
	Required bool
	// Multi makes the argument take one or more values, like argparse's nargs='+': every following token
	// up to the next flag.
	Multi bool
	// Bool makes the argument a flag that takes no value; az's three-state form "--flag true|false" is also
	// accepted.
	Bool bool
	// Default is the value reported when the argument is not given.
	Default string
	// Choices, if set, are the only values accepted, compared case-insensitively.
	Choices []string
	// Check, if set, validates each value as it is parsed, like an argparse type function; its error
	// becomes the usage error "argument --name/-n: <error>".
	Check func(value string) error
	// Group, if set, lists the argument under "<Group> Arguments" in help, like az's arg_group.
	Group string
	// Hidden leaves the argument out of help.
	Hidden bool
}

// optionStrings returns the flag spellings in declaration order: --name, -n, then the aliases.
func (p *Param) optionStrings() []string {
	opts := []string{"--" + p.Name}
	if p.Short != "" {
		opts = append(opts, "-"+p.Short)
	}
	for _, a := range p.Aliases {
		opts = append(opts, "--"+a)
	}
	return opts
}

// display is how argparse names the argument in errors: "--name/-n".
func (p *Param) display() string {
	return strings.Join(p.optionStrings(), "/")
}

// Context is what a running command sees: its parsed arguments, standard streams and environment.
// It is a context.Context, cancelled when the invocation is.
type Context struct {
	context.Context

	// Stdin, Stdout and Stderr are the invocation's standard streams.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Env looks up an environment variable.
	Env func(string) string
	// Rest holds the arguments after a bare "--", for commands that set TakesRest.
	Rest []string
	// Log writes az-style "WARNING: ..." lines to Stderr at the level --verbose, --debug and
	// --only-show-errors select.
	Log *slog.Logger

	params map[string]*Param
	values map[string][]string
}

// String returns the value of the named argument, or its default when it was not given.
// It panics if the command declares no such argument, which is a programming error.
func (c *Context) String(name string) string {
	vs := c.Strings(name)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// Strings returns every value of the named argument (the values of a Multi argument), or its default.
func (c *Context) Strings(name string) []string {
	p := c.param(name)
	if vs, ok := c.values[name]; ok {
		return vs
	}
	if p.Default != "" {
		return []string{p.Default}
	}
	return nil
}

// Bool reports whether the named flag is on: given without a value or with "true", or defaulting to true.
func (c *Context) Bool(name string) bool {
	return strings.EqualFold(c.String(name), "true")
}

// Has reports whether the named argument was given on the command line.
func (c *Context) Has(name string) bool {
	c.param(name)
	_, ok := c.values[name]
	return ok
}

func (c *Context) param(name string) *Param {
	p, ok := c.params[name]
	if !ok {
		panic(fmt.Sprintf("cli: command has no argument %q", name))
	}
	return p
}
