#!/usr/bin/env bash
# Checks the release configuration: goreleaser check, then a snapshot build
# for this machine's platform whose `ecrbase --version` must name the
# snapshot version, this commit and whether the tree is modified.
#   bash scripts/release-check.sh          # check + host snapshot build
#   bash scripts/release-check.sh --full   # also every platform, archives, checksums, SBOMs
# GoReleaser v2.15.1 and cyclonedx-gomod (the SBOM generator) come from the
# Go module proxy into $GOBIN when they are not on PATH. Installing
# GoReleaser compiles a large program: expect minutes the first time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin:$(go env GOPATH)/bin
say() { echo "release-check: $*" >&2; }

command -v goreleaser >/dev/null || {
	say "installing goreleaser v2.15.1"
	GOFLAGS= go install github.com/goreleaser/goreleaser/v2@v2.15.1
}
goreleaser check

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
goreleaser build --snapshot --single-target --clean -o "$out/ecrbase" >"$out/build.log" 2>&1 || {
	tail -n 30 "$out/build.log" >&2
	exit 1
}
version=$("$out/ecrbase" --version --json)
echo "$version"
head=$(git rev-parse HEAD)
short=$(git rev-parse --short=7 HEAD)
dirty=false
[ -z "$(git status --porcelain)" ] || dirty=true
jq -e --arg head "$head" --arg short "$short" --argjson dirty "$dirty" \
	'(.version | test("-snapshot\\+" + $short + "$")) and .revision == $head and .modified == $dirty' \
	<<<"$version" >/dev/null || {
	say "the snapshot's --version does not say ${short}, $head, modified $dirty"
	exit 1
}
say "snapshot build reports the right version"

if [ "${1:-}" = --full ]; then
	command -v cyclonedx-gomod >/dev/null || {
		say "installing cyclonedx-gomod v1.10.0"
		GOFLAGS= go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
	}
	goreleaser release --snapshot --clean
	ls -l dist/*.tar.gz dist/*.cdx.json dist/checksums.txt
fi
