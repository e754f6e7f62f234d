#!/usr/bin/env bash
# Checks the release configuration on a clone of the current commit (a
# release is built from a commit; uncommitted changes are not in it):
# goreleaser check, then a snapshot build for this machine's platform whose
# `ecrbase --version` must name the snapshot version and this commit.
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
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
git clone --quiet --no-local . "$out/src"
cd "$out/src"
goreleaser check
goreleaser build --snapshot --single-target --clean -o "$out/ecrbase" >"$out/build.log" 2>&1 || {
	tail -n 30 "$out/build.log" >&2
	exit 1
}
version=$("$out/ecrbase" --version --json)
echo "$version"
head=$(git rev-parse HEAD)
short=$(git rev-parse --short=7 HEAD)
dirty=false
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
	goreleaser release --snapshot --clean >"$out/release.log" 2>&1 || {
		tail -n 30 "$out/release.log" >&2
		exit 1
	}
	ls -l dist/*.tar.gz dist/*.cdx.json dist/checksums.txt
	(cd dist && sha256sum -c checksums.txt)
fi
