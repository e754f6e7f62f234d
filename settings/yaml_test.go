package settings

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// aliasBomb is the "billion laughs" file: nine levels of nine aliases, 365
// bytes that expand to 9^9 strings when aliases are followed.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("version: 1\nbuild_args:\n  A: &a0 lol\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParseRefusesAliases(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bomb", aliasBomb(), ".ecrbase.yaml:4: a YAML alias (*name): aliases are not supported"},
		{"value", "version: 1\nregion: &r us-east-1\nbuild_args:\n  REGION: *r\n", ".ecrbase.yaml:4: a YAML alias"},
		{"merge key", "version: 1\nrepository:\n  tags: &t\n    team: a\nbuild_args:\n  <<: *t\n", ".ecrbase.yaml:6: a YAML alias"},
		{"whole root", "base: &b\n  version: 1\nother: *b\n", ".ecrbase.yaml:3: a YAML alias"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(".ecrbase.yaml", "/repo", []byte(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrAlias) {
				t.Errorf("Parse(%q) = %v, want %q (ErrAlias)", tc.yaml, err, tc.want)
			}
		})
	}
}

// TestCredentialScanIgnoresAliases: the credential scan never follows an
// alias, so a bomb costs it time linear in the file even without the alias
// check in front of it; the bound is loose, a test of termination.
func TestCredentialScanIgnoresAliases(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(aliasBomb()), &doc); err != nil {
		t.Fatal(err)
	}
	d := &decoder{cfg: &File{Path: ".ecrbase.yaml"}}
	done := make(chan error, 1)
	go func() { done <- d.credentials(doc.Content[0], "") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("credentials(bomb) = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("credential scan of a 9-level alias bomb did not finish in 30s")
	}
}

// TestConfigErrorExcerpt: a configuration error quotes at most an excerpt
// of a huge value.
func TestErrorExcerpt(t *testing.T) {
	_, err := Parse(".ecrbase.yaml", "/repo", []byte("version: 1\nregion: "+strings.Repeat("a", 1<<19)+"\n"))
	if err == nil || len(err.Error()) > 400 || !strings.HasPrefix(err.Error(), `.ecrbase.yaml:2: region: "aaaa`) {
		t.Errorf("Parse(huge region) = %.400v (%d bytes)", err, len(fmt.Sprint(err)))
	}
}
