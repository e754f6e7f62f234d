package renovate

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"ecrbase/rewrite"
)

// Found gathers, from rewritten Dockerfiles (Add), what their Renovate
// configuration needs: the ECR hosts they name, the registries their
// images come from, and those images.
type Found struct {
	hosts      []string
	registries map[string]string // registry: its default prefix
	packages   []string
}

// Add reads one file: its rewritten bytes, and the references the rewrite
// found in it. Errors are *rewrite.Error naming the file.
func (f *Found) Add(name string, rewritten []byte, refs []rewrite.Ref) error {
	hosts, err := Hosts(rewritten)
	if err != nil {
		return &rewrite.Error{File: name, Err: err}
	}
	for _, h := range hosts {
		if !slices.Contains(f.hosts, h) {
			f.hosts = append(f.hosts, h)
		}
	}
	if f.registries == nil {
		f.registries = map[string]string{}
	}
	for _, r := range refs {
		if r.Upstream == "" || r.Status == rewrite.StatusExcluded || r.Status == rewrite.StatusKept {
			continue
		}
		named, err := reference.ParseNormalizedNamed(r.Upstream)
		if err != nil {
			continue
		}
		reg := rewrite.NormalizeRegistry(reference.Domain(named))
		if _, ok := f.registries[reg]; !ok {
			f.registries[reg] = rewrite.DefaultPrefix(reg)
		}
		if p := named.Name(); !slices.Contains(f.packages, p) {
			f.packages = append(f.packages, p)
		}
	}
	return nil
}

// Hosts are the ECR hosts the files name once rewritten, in the order
// found; none means Renovate has nothing to alias.
func (f *Found) Hosts() []string { return slices.Clone(f.hosts) }

// Config is the configuration for what was found: an alias per host and
// repository prefix (the built-in ones, the registries found, and prefixes,
// which win), and, when mirror copies only some platforms, a package rule
// that turns off Renovate's digest updates for the images found, since
// their digests in ECR are not upstream's.
func (f *Found) Config(prefixes map[string]string, platforms []string) Config {
	all := map[string]string{}
	for _, reg := range rewrite.Registries() {
		all[reg] = rewrite.DefaultPrefix(reg)
	}
	for reg, p := range f.registries {
		if _, ok := all[reg]; !ok {
			all[reg] = p
		}
	}
	for reg, p := range prefixes {
		all[rewrite.NormalizeRegistry(reg)] = p
	}
	cfg := Config{Aliases: Aliases(f.hosts, all)}
	if len(platforms) > 0 && len(f.packages) > 0 {
		packages := slices.Sorted(slices.Values(f.packages))
		cfg.PackageRules = append(cfg.PackageRules, PackageRule{
			Description: ruleMarker + "mirror copies only " + strings.Join(platforms, ", ") +
				", so these images' digests in ECR are not upstream's; Renovate must not pin or update digests",
			MatchDatasources:  []string{"docker"},
			MatchPackageNames: packages,
			MatchUpdateTypes:  []string{"digest", "pinDigest"},
			Enabled:           false,
		})
	}
	return cfg
}

// Merged is a Renovate configuration file merged with ecrbase's.
type Merged struct {
	Path string
	// Data is the merged configuration.
	Data     []byte
	existing []byte // nil when the file did not exist
}

// MergeFile merges c into the Renovate configuration in path (see Merge);
// a missing file counts as empty. Errors name the file.
func MergeFile(path string, c Config) (*Merged, error) {
	existing, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := Merge(existing, c)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.Replace(err.Error(), "renovate.json", path, 1))
	}
	return &Merged{Path: path, Data: out, existing: existing}, nil
}

// Write writes the merged configuration back to its file: an existing
// file is replaced atomically, keeping its owner and mode, and not over an
// edit made since MergeFile read it.
func (m *Merged) Write() error {
	var err error
	if m.existing == nil {
		err = os.WriteFile(m.Path, m.Data, 0o644)
	} else {
		err = rewrite.WriteFile(m.Path, m.Data, rewrite.WithOriginal(m.existing))
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", m.Path, err)
	}
	return nil
}
