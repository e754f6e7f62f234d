package rewrite

import (
	"maps"
	"slices"
)

// Registries returns the registry hosts that have a pull-through-cache
// prefix of their own (docker.io, quay.io, ...), sorted.
func Registries() []string {
	return slices.Sorted(maps.Keys(pullThroughPrefixes))
}
