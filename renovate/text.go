package renovate

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the configuration as `ecrbase renovate --format table`
// prints it: a table of the aliases (the key Renovate sees, the registry it
// stands for), then a line per package rule with the packages it names.
func (c Config) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALIAS\tREGISTRY")
	for _, a := range c.Aliases {
		fmt.Fprintf(tw, "%s\t%s\n", a.Key, a.Value)
	}
	tw.Flush()
	for _, r := range c.PackageRules {
		fmt.Fprintf(&b, "package rule: %s (%s)\n", r.Description, strings.Join(r.MatchPackageNames, ", "))
	}
	_, err := w.Write(b.Bytes())
	return err
}
