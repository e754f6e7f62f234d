package main

import "github.com/urfave/cli/v2"

// contentFlags are mirror's flags for content sources and referrers.
func contentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "content-source", Usage: "for `REGISTRY=URL`, read that registry's images by digest from URL first, verified; repeatable, in order of preference (replaces the defaults)", EnvVars: envVar("content-source")},
		&cli.BoolFlag{Name: "no-content-sources", Usage: "read every image from its own registry, defaults included", EnvVars: envVar("no-content-sources")},
		&cli.BoolFlag{Name: "no-referrers", Usage: "do not copy signatures, attestations and other referrers of the images", EnvVars: envVar("no-referrers")},
	}
}
