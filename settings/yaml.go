package settings

import "gopkg.in/yaml.v3"

// noAliases refuses YAML aliases (*name, and so merge keys) anywhere in the
// file, naming the first one's line. A configuration has no use for them,
// and nested aliases expand exponentially: a few hundred bytes would make
// every command, the pre-commit check included, spend minutes walking
// them. The walk never follows an alias, so it costs time linear in the
// file. The message does not quote the alias: nothing from the file is
// echoed before the credential scan.
func (d *decoder) noAliases(doc *yaml.Node) error {
	var first *yaml.Node
	stack := []*yaml.Node{doc}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.AliasNode && (first == nil || n.Line < first.Line) {
			first = n
		}
		stack = append(stack, n.Content...)
	}
	if first != nil {
		return d.fail(first, ErrAlias, "a YAML alias (*name): aliases are not supported, write the value out")
	}
	return nil
}
