package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes what `ecrbase config` prints: the configuration file in
// effect (and the flag or variable that named it), then a table of Rows,
// each setting's value and source.
func (s *Settings) WriteTable(w io.Writer) error {
	rows, err := s.Rows()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	switch src, ok := s.given.Source("config"); {
	case s.File.Path == "":
		fmt.Fprintln(&b, "config file: none (no .ecrbase.yaml from here up to the repository root)")
	case ok:
		fmt.Fprintf(&b, "config file: %s (%s)\n", s.File.Path, src)
	default:
		fmt.Fprintf(&b, "config file: %s\n", s.File.Path)
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, r := range rows {
		name := r.Name
		if r.Key != "" {
			name += "[" + r.Key + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, cell(r.Value), r.Source)
	}
	tw.Flush()
	_, err = w.Write(b.Bytes())
	return err
}

// WriteJSON writes what `ecrbase config --json` prints, indented by two
// spaces: {"file": the configuration file or null, "settings": Rows}, each
// row an object of name, key (for a mapping's entry), value and the fields
// of its Source.
func (s *Settings) WriteJSON(w io.Writer) error {
	rows, err := s.Rows()
	if err != nil {
		return err
	}
	doc := struct {
		File     *string   `json:"file"`
		Settings []jsonRow `json:"settings"`
	}{Settings: make([]jsonRow, len(rows))}
	if s.File.Path != "" {
		doc.File = &s.File.Path
	}
	for i, r := range rows {
		doc.Settings[i] = jsonRow{Name: r.Name, Key: r.Key, Value: r.Value, Source: r.Source}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// jsonRow is a Row as `ecrbase config --json` writes it: the source's
// fields beside the value, not nested.
type jsonRow struct {
	Name  string `json:"name"`
	Key   string `json:"key,omitempty"`
	Value any    `json:"value"`
	Source
}

// cell is a value in the table: a list joined with commas, a dash for
// nothing.
func cell(v any) string {
	switch v := v.(type) {
	case []string:
		return dash(strings.Join(v, ","))
	case map[string]string:
		return "-"
	case string:
		return dash(v)
	}
	return fmt.Sprint(v)
}

// dash stands for an empty cell of a table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
