package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/cli/output"
)

// The parser follows the argparse behaviour az inherits, with argparse's messages, except for values outside
// their choices, which get azure-cli's message (AzCliCommandParser._check_value):
//
//   - "--name value", "--name=value", "-n value", "-n=value" and "-nvalue"; flags in any order; a repeated
//     flag keeps its last value (argparse's store action);
//   - a single-valued flag takes the next token unless it is a flag; a Multi flag takes every following
//     token up to the next flag; a Bool flag takes the next token only if it is true or false;
//   - a token is a flag if it starts with "--" or begins with a declared short flag ("-n", "-nvalue");
//     unlike argparse, other tokens starting with "-" ("-1", "-foo") are values, not unknown options;
//   - choices and Bool values ("true"/"false", azure-cli's three-state flag) match case-insensitively;
//   - a bare "--" ends the flags; what follows goes to Context.Rest if the command takes it;
//   - -h/--help prints help as soon as it is reached; errors met before it win, as in argparse;
//   - missing required arguments are reported before unrecognized ones, as parse_args does.

// errHelp reports that -h/--help was given.
var errHelp = errors.New("help requested")

// globalParams are the arguments az adds to every command (knack's OutputProducer and CLIQuery, and
// azure-cli's logging and subscription arguments).
func globalParams(prog string) []Param {
	return []Param{
		{Name: "debug", Bool: true, Help: "Increase logging verbosity to show all debug logs."},
		{Name: "help", Short: "h", Bool: true, Help: "Show this help message and exit."},
		{Name: "only-show-errors", Bool: true, Help: "Only show errors, suppressing warnings."},
		{Name: "output", Short: "o", Default: "json", Choices: []string{"json", "jsonc", "table", "tsv", "none"},
			Help: "Output format."},
		{Name: "query", Help: "JMESPath query string. See http://jmespath.org/ for more information and examples.",
			Check: checkQuery},
		{Name: "subscription", Help: "Name or ID of subscription. You can configure the default subscription " +
			"using `" + prog + " account set -s NAME_OR_ID`."},
		{Name: "verbose", Bool: true, Help: "Increase logging verbosity. Use --debug for full debug logs."},
	}
}

// checkQuery is knack's jmespath_type argument type.
func checkQuery(q string) error {
	if output.ValidateQuery(q) != nil {
		return fmt.Errorf("invalid jmespath_type value: %s", output.Quote(q))
	}
	return nil
}

// parsed holds a command line's values by parameter name.
type parsed struct {
	params map[string]*Param
	values map[string][]string
	rest   []string
}

// parse parses args (what follows the command's name) against cmd's and the global parameters; prog is
// the program and command name used in messages: "keyhaven ad user create".
func parse(prog string, cmd *Command, global []Param, args []string) (*parsed, error) {
	p := &parsed{params: map[string]*Param{}, values: map[string][]string{}}
	flags := map[string]*Param{}
	var order []*Param
	for _, list := range [][]Param{cmd.Params, global} {
		for i := range list {
			prm := &list[i]
			p.params[prm.Name] = prm
			order = append(order, prm)
			for _, o := range prm.optionStrings() {
				flags[o] = prm
			}
		}
	}
	isFlag := func(tok string) bool {
		return strings.HasPrefix(tok, "--") || len(tok) >= 2 && tok[0] == '-' && flags[tok[:2]] != nil
	}

	var extras []string
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			if cmd.TakesRest {
				p.rest = append([]string{}, args[i+1:]...)
			} else {
				extras = append(extras, args[i+1:]...)
			}
			break
		}
		if !isFlag(tok) {
			extras = append(extras, tok)
			continue
		}
		name, val, hasVal := splitFlag(tok)
		prm := flags[name]
		if prm == nil {
			extras = append(extras, tok)
			continue
		}
		if prm.Name == "help" {
			return nil, errHelp
		}
		var vals []string
		switch {
		case hasVal:
			vals = []string{val}
		case prm.Bool:
			vals = []string{"true"}
			if i+1 < len(args) && isBoolWord(args[i+1]) {
				i++
				vals[0] = args[i]
			}
		case prm.Multi:
			for i+1 < len(args) && !isFlag(args[i+1]) {
				i++
				vals = append(vals, args[i])
			}
			if len(vals) == 0 {
				return nil, Usagef("argument %s: expected at least one argument", prm.display())
			}
		default:
			if i+1 >= len(args) || isFlag(args[i+1]) {
				return nil, Usagef("argument %s: expected one argument", prm.display())
			}
			i++
			vals = []string{args[i]}
		}
		for j, v := range vals {
			v, err := checkValue(prog, prm, v)
			if err != nil {
				return nil, err
			}
			vals[j] = v
		}
		p.values[prm.Name] = vals
	}

	var missing []string
	for _, prm := range order {
		if _, ok := p.values[prm.Name]; prm.Required && !ok {
			missing = append(missing, prm.display())
		}
	}
	if len(missing) > 0 {
		return nil, Usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if len(extras) > 0 {
		return nil, Usagef("unrecognized arguments: %s", strings.Join(extras, " "))
	}
	return p, nil
}

// splitFlag splits a flag token into its option string and an explicit value: "--name=v", "-n=v", "-nv".
func splitFlag(tok string) (name, val string, hasVal bool) {
	if strings.HasPrefix(tok, "--") {
		return strings.Cut(tok, "=")
	}
	name, val = tok[:2], tok[2:]
	if val == "" {
		return name, "", false
	}
	return name, strings.TrimPrefix(val, "="), true
}

func isBoolWord(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}

// checkValue validates one value of prm and returns it in canonical form: a choice as declared, a Bool as
// "true" or "false". prog names the command in the error, as azure-cli's parser (_check_value) does.
func checkValue(prog string, prm *Param, v string) (string, error) {
	choices := prm.Choices
	if prm.Bool {
		choices = []string{"true", "false"} // azure-cli's get_three_state_flag
	}
	if len(choices) > 0 {
		canon := ""
		for _, c := range choices {
			if strings.EqualFold(c, v) {
				canon = c
				break
			}
		}
		if canon == "" {
			return "", Usagef("%s: '%s' is not a valid value for '%s'. Allowed values: %s.",
				prog, v, prm.optionStrings()[0], strings.Join(choices, ", "))
		}
		v = canon
	}
	if prm.Check != nil {
		if err := prm.Check(v); err != nil {
			return "", Usagef("argument %s: %v", prm.display(), err)
		}
	}
	return v, nil
}

// validate checks a command definition when it is registered.
func validate(cmd *Command) error {
	if len(strings.Fields(cmd.Name)) == 0 {
		return errors.New("no name")
	}
	if cmd.Run == nil {
		return errors.New("no Run function")
	}
	seen := map[string]bool{}
	for _, g := range globalParams("") {
		seen[g.Name] = true
		for _, o := range g.optionStrings() {
			seen[o] = true
		}
	}
	for i := range cmd.Params {
		prm := &cmd.Params[i]
		switch {
		case prm.Name == "" || strings.HasPrefix(prm.Name, "-"):
			return fmt.Errorf("parameter %q: Name must be the long form without dashes", prm.Name)
		case prm.Short != "" && (len(prm.Short) != 1 || prm.Short == "-"):
			return fmt.Errorf("parameter %q: Short must be one character without the dash", prm.Name)
		case prm.Bool && prm.Multi:
			return fmt.Errorf("parameter %q: cannot be both Bool and Multi", prm.Name)
		case prm.Bool && len(prm.Choices) > 0:
			return fmt.Errorf("parameter %q: a Bool takes no Choices", prm.Name)
		}
		if seen[prm.Name] {
			return fmt.Errorf("parameter %q declared twice or clashes with a global argument", prm.Name)
		}
		seen[prm.Name] = true
		for _, o := range prm.optionStrings() {
			if seen[o] {
				return fmt.Errorf("flag %s declared twice or clashes with a global argument", o)
			}
			seen[o] = true
		}
		if prm.Default != "" {
			if _, err := checkValue(cmd.Name, prm, prm.Default); err != nil {
				return fmt.Errorf("parameter %q: default %q: %v", prm.Name, prm.Default, err)
			}
		}
	}
	return nil
}
