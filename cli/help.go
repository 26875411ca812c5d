package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Help follows knack's CLIHelp (knack/help.py), which az uses: a "Group" or "Command" header, then the
// subgroups and commands of a group, or the arguments of a command, in aligned " : " columns wrapped at
// 100 characters.

const (
	firstLinePrefix = " : "
	requiredTag     = "[Required]"
)

// printIndent is knack's _print_indent: each paragraph of s wrapped, indented by four spaces per level and
// continued at subsequent spaces (or the same indent when subsequent is negative).
func printIndent(w io.Writer, s string, indent, subsequent int) {
	first := strings.Repeat("    ", indent)
	rest := first
	if subsequent >= 0 {
		rest = strings.Repeat(" ", subsequent)
	}
	for _, p := range strings.Split(s, "\n") {
		fmt.Fprintln(w, fill(p, first, rest, helpWidth))
	}
}

// normalizeText is knack's HelpObject._normalize_text: trimmed, first letter upper-cased, ending in a period.
func normalizeText(s string) string {
	if runeLen(s) < 2 {
		return s
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = capitalize(s)
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

func capitalize(s string) string {
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// hangingIndent is knack's _get_hanging_indent: where wrapped summary lines continue.
func hangingIndent(maxLen, indent int) int {
	return maxLen + indent*4 + len(firstLinePrefix) - 1
}

// printHeader is knack's _print_header.
func printHeader(w io.Writer, kind, prog string, words []string, short, long string) {
	printIndent(w, "", 0, -1)
	printIndent(w, kind, 0, -1)
	line := prog
	if len(words) > 0 {
		line += " " + strings.Join(words, " ")
	}
	if s := normalizeText(short); s != "" {
		line += firstLinePrefix + s
	}
	printIndent(w, line, 1, -1)
	long = normalizeText(long)
	printIndent(w, long, 2, -1)
	if long != "" {
		printIndent(w, "", 0, -1)
	}
}

// writeGroupHelp prints a group's help, as knack's _print_groups: subgroups, then commands, sorted by name.
func writeGroupHelp(w io.Writer, prog string, words []string, n *node) {
	printHeader(w, "Group", prog, words, n.short, n.long)
	type item struct{ name, summary string }
	var groups, commands []item
	maxLen := 0
	for _, name := range n.childNames() {
		c := n.children[name]
		if c.cmd != nil {
			commands = append(commands, item{name, c.cmd.Short})
		} else {
			groups = append(groups, item{name, c.short})
		}
		maxLen = max(maxLen, runeLen(name)+1)
	}
	list := func(title string, items []item) {
		if len(items) == 0 {
			return
		}
		printIndent(w, title, 0, -1)
		for _, it := range items {
			summary := strings.ReplaceAll(normalizeText(it.summary), "\n", " ")
			line := it.name + strings.Repeat(" ", maxLen-runeLen(it.name)-1)
			if summary != "" {
				line += firstLinePrefix + summary
			}
			printIndent(w, line, 1, hangingIndent(maxLen, 1))
		}
		printIndent(w, "", 0, -1)
	}
	list("Subgroups:", groups)
	list("Commands:", commands)
}

// helpParam is one line of a command's argument list.
type helpParam struct {
	name     string // option strings sorted and space-joined: "--name -n"
	group    string // "" for the command's own arguments
	required bool
	summary  string
}

// writeCommandHelp prints a command's help, as knack's _print_arguments and _print_examples.
func writeCommandHelp(w io.Writer, prog string, cmd *Command, global []Param) {
	printHeader(w, "Command", prog, strings.Fields(cmd.Name), cmd.Short, cmd.Long)
	printIndent(w, "Arguments", 0, -1)

	var items []helpParam
	add := func(p *Param, group string) {
		if p.Hidden {
			return
		}
		opts := p.optionStrings()
		sort.Strings(opts)
		summary := normalizeText(p.Help)
		if i := strings.Index(summary, " Possible values include"); i >= 0 {
			summary = summary[:i]
		}
		if len(p.Choices) > 0 {
			choices := append([]string(nil), p.Choices...)
			sort.Strings(choices)
			summary += "  Allowed values: " + strings.Join(choices, ", ") + "."
		}
		if p.Default != "" {
			summary += "  Default: " + p.Default + "."
		}
		items = append(items, helpParam{
			name:     strings.Join(opts, " "),
			group:    group,
			required: p.Required,
			summary:  strings.TrimSpace(summary),
		})
	}
	for i := range cmd.Params {
		p := &cmd.Params[i]
		group := ""
		if p.Group != "" {
			group = p.Group + " Arguments"
		}
		add(p, group)
	}
	for i := range global {
		add(&global[i], "Global Arguments")
	}

	// ArgumentGroupRegistry: the command's own arguments first, then named groups alphabetically, then the
	// global ones; within a group required arguments first, then by name.
	priority := map[string]int{"": 0, "Global Arguments": 1000}
	var named []string
	for _, it := range items {
		if _, ok := priority[it.group]; !ok {
			priority[it.group] = -1
			named = append(named, it.group)
		}
	}
	sort.Strings(named)
	for i, g := range named {
		priority[g] = 2 + i
	}
	sort.SliceStable(items, func(i, j int) bool {
		return sortKey(items[i], priority) < sortKey(items[j], priority)
	})

	lineLen := func(it helpParam) int {
		if it.required {
			return runeLen(it.name) + len(requiredTag) + 2
		}
		return runeLen(it.name) + 1
	}
	maxLen := 0
	for _, it := range items {
		maxLen = max(maxLen, lineLen(it))
	}
	last := "\x00"
	for _, it := range items {
		if it.group != last {
			if it.group != "" {
				fmt.Fprintln(w)
				fmt.Fprintln(w, it.group)
			}
			last = it.group
		}
		line := it.name
		if it.required {
			line += strings.Repeat(" ", maxLen-lineLen(it)+1) + requiredTag
		} else {
			line += strings.Repeat(" ", maxLen-lineLen(it))
		}
		if it.summary != "" {
			line += firstLinePrefix + it.summary
		}
		printIndent(w, line, 1, hangingIndent(maxLen, 1))
	}
	printIndent(w, "", 0, -1)

	if len(cmd.Examples) > 0 {
		printIndent(w, "Examples", 0, -1)
		for _, e := range cmd.Examples {
			printIndent(w, e.Name, 1, -1)
			printIndent(w, e.Text, 2, -1)
			fmt.Fprintln(w)
		}
	}
}

// sortKey is knack's _get_parameter_key: group priority, then str(not required), then name.
func sortKey(it helpParam, priority map[string]int) string {
	notRequired := "True"
	if it.required {
		notRequired = "False"
	}
	return fmt.Sprintf("%06d%s%s", priority[it.group], notRequired, it.name)
}
