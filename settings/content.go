package settings

import "gopkg.in/yaml.v3"

// contentSources decodes `content_sources: {docker.io: [URL, ...]}`: each
// registry's URLs in order of preference. An empty mapping turns the
// defaults off.
func (d *decoder) contentSources(n *yaml.Node) error {
	const name = "content_sources"
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s: want a mapping of registries to lists of URLs, such as {docker.io: [https://mirror.gcr.io]}, got %s", name, kind(n))
	}
	out := []Pair{}
	err := d.entries(n, name, "a registry name", func(k, v *yaml.Node) error {
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, item := range items {
			item = resolve(item)
			s, err := d.scalar(item, name+"."+k.Value)
			if err != nil {
				return err
			}
			if err := CheckMirror(k.Value, s); err != nil {
				return d.errorf(item, "%s.%s: %v", name, k.Value, err)
			}
			out = append(out, Pair{k.Value, s, item.Line})
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.cfg.ContentSources = Value[[]Pair]{out, n.Line}
	return nil
}
