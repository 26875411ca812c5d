package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/keyhaven/keyhaven/cli/output"
)

// App is a command tree: groups of groups ending in commands, as az's "ad user create".
type App struct {
	prog string
	root *node
}

// node is a group (children) or a command (cmd) in the tree.
type node struct {
	short, long string
	children    map[string]*node
	cmd         *Command
}

// Group describes a command group for help, like az's command group help entries.
type Group struct {
	// Name is the group's words after the program name: "ad user".
	Name string
	// Short is the one-line summary shown in help.
	Short string
	// Long is an optional longer description shown in the group's own help.
	Long string
}

// New returns an empty App whose help and messages call the program prog (such as "keyhaven");
// short summarises it in the top-level help.
func New(prog, short string) *App {
	return &App{prog: prog, root: &node{short: short, children: map[string]*node{}}}
}

// Register adds commands to the tree. It panics on a malformed command (no name or Run, a flag declared
// twice or clashing with a global argument, a default outside its choices) or one whose name is taken by
// another command or group, as these are programming errors.
func (a *App) Register(cmds ...Command) {
	for i := range cmds {
		cmd := cmds[i]
		if err := validate(&cmd); err != nil {
			panic(fmt.Sprintf("cli: command %q: %v", cmd.Name, err))
		}
		words := strings.Fields(cmd.Name)
		parent := a.walk(words[:len(words)-1], true)
		if parent == nil || parent.cmd != nil {
			panic(fmt.Sprintf("cli: command %q: a parent is a command", cmd.Name))
		}
		leaf := words[len(words)-1]
		if _, dup := parent.children[leaf]; dup {
			panic(fmt.Sprintf("cli: command %q: name already registered", cmd.Name))
		}
		parent.children[leaf] = &node{cmd: &cmd}
	}
}

// Describe sets the help summaries of command groups. It panics if a name is a command.
func (a *App) Describe(groups ...Group) {
	for _, g := range groups {
		n := a.walk(strings.Fields(g.Name), true)
		if n == nil || n.cmd != nil {
			panic(fmt.Sprintf("cli: group %q: name is a command", g.Name))
		}
		n.short, n.long = g.Short, g.Long
	}
}

// walk follows words down the tree, creating groups if create is set; nil if a word is missing or a command
// is in the way.
func (a *App) walk(words []string, create bool) *node {
	n := a.root
	for _, w := range words {
		if n.cmd != nil {
			return nil
		}
		c, ok := n.children[w]
		if !ok {
			if !create {
				return nil
			}
			c = &node{children: map[string]*node{}}
			n.children[w] = c
		}
		n = c
	}
	return n
}

// childNames returns the names of the children that are commands or groups holding commands, sorted.
func (n *node) childNames() []string {
	var names []string
	for name, c := range n.children {
		if c.hasCommands() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func (n *node) hasCommands() bool {
	if n.cmd != nil {
		return true
	}
	for _, c := range n.children {
		if c.hasCommands() {
			return true
		}
	}
	return false
}

// Run runs the command named by args (the arguments after the program name) and returns the process exit
// code: 0 on success or help, 1 when the command fails, 2 on a usage error, or an ExitError's code.
// Errors are written to stderr as az writes them: "ERROR: <message>".
func (a *App) Run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return a.RunContext(context.Background(), args, stdin, stdout, stderr, getenv)
}

// RunContext is Run with a context that the command's Context carries, for cancellation.
func (a *App) RunContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	n, i := a.root, 0
	for ; i < len(args) && n.cmd == nil && !strings.HasPrefix(args[i], "-"); i++ {
		c, ok := n.children[args[i]]
		if !ok || !c.hasCommands() {
			return report(stderr, Usagef("'%s' is misspelled or not recognized by the system.", args[i]))
		}
		n = c
	}
	if n.cmd == nil {
		// az prints a group's help when it is given no command.
		writeGroupHelp(stdout, a.prog, args[:i], n)
		return 0
	}
	cmd := n.cmd
	global := globalParams(a.prog)
	p, err := parse(a.prog+" "+strings.Join(strings.Fields(cmd.Name), " "), cmd, global, args[i:])
	if errors.Is(err, errHelp) {
		writeCommandHelp(stdout, a.prog, cmd, global)
		return 0
	}
	if err != nil {
		return report(stderr, err)
	}

	c := &Context{
		Context: ctx,
		Stdin:   stdin,
		Stdout:  stdout,
		Stderr:  stderr,
		Env:     getenv,
		Rest:    p.rest,
		params:  p.params,
		values:  p.values,
	}
	c.Log = newLogger(stderr, logLevel(c))
	result, err := cmd.Run(c)
	if err != nil {
		return report(stderr, err)
	}
	opts := output.Options{Format: c.String("output"), Query: c.String("query"), Table: cmd.Table}
	if err := opts.Print(stdout, result); err != nil {
		if te := (*output.TableError)(nil); errors.As(err, &te) {
			c.Log.Debug("table output failed", "error", te.Err)
		}
		return report(stderr, err)
	}
	return 0
}

// report writes err as az does and returns its exit code.
func report(stderr io.Writer, err error) int {
	code, silent := 1, false
	var ee ExitError
	var pe *ExitError
	if errors.As(err, &ee) {
		code, silent = ee.Code, ee.Err == nil
	} else if errors.As(err, &pe) && pe != nil {
		code, silent = pe.Code, pe.Err == nil
	}
	if !silent {
		fmt.Fprintf(stderr, "ERROR: %s\n", err)
	}
	return code
}

// ExitError is an error that sets the process exit code; az exits 1 for failures and 2 for usage errors.
// A nil Err exits with Code and prints nothing.
type ExitError struct {
	Code int
	Err  error
}

// Error returns Err's message.
func (e ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e ExitError) Unwrap() error { return e.Err }

// Usagef returns a usage error (exit code 2), the kind az's argument validators raise.
func Usagef(format string, args ...any) error {
	return ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}
