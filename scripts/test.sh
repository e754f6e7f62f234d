#!/usr/bin/env bash
# The whole test suite, from nothing: the packages the tests need, go vet,
# go mod tidy -diff, the unit tests (the CLI, settings, project and rewrite
# also under -race),
# the end-to-end suite on the real stack (scripts/e2e.sh), and a smoke pass
# of the benchmark harness (bench/run --smoke).
# Run as root on Debian:  bash scripts/test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
export DEBIAN_FRONTEND=noninteractive

# Unit tests start moto_server (preinstalled) and docker-registry with
# htpasswd auth; the suites below install the rest of what they use.
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v patch >/dev/null || need+=(patch) # TestDiffPatch applies --diff output
command -v pre-commit >/dev/null || need+=(pre-commit)
command -v npm >/dev/null || need+=(nodejs npm)
command -v git >/dev/null || need+=(git) # the pre-commit hook tests run on git checkouts
if ((${#need[@]})); then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The real Renovate for the registryAliases test (its native modules are
# optional: --ignore-scripts leaves them out).
command -v renovate >/dev/null || npm install -g --ignore-scripts --no-audit --no-fund renovate@39 >/dev/null

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
# The developer tools (bench, the e2e helpers, the hubproxy command) are Go
# modules of their own, so that pre-commit's go install ./... at the root
# builds ecrbase alone; each is vetted, checked and tested here too.
modules=(. bench e2e internal/hubproxy/cmd)
for m in "${modules[@]}"; do
	go -C "$m" vet ./...
	# go.mod lists what the code imports, direct requirements without
	# "// indirect", and nothing else.
	if ! go -C "$m" mod tidy -diff; then
		echo "$m/go.mod or go.sum is not tidy: run go mod tidy in $m" >&2
		exit 1
	fi
done
for m in "${modules[@]}"; do
	go -C "$m" test ./...
done
# The CLI, project and the rewrite engine run Dockerfiles in parallel with shared
# options; the race detector checks they stay read-only.
go test -race . ./settings ./project ./rewrite
bash scripts/e2e.sh
# The demo shows ecrbase's work, not the suite's setup.
demo_out=$(bash scripts/demo.sh)
printf '%s\n' "$demo_out"
if grep -E 'go: downloading|^\[e2e|examples: [0-9]+ Dockerfiles' <<<"$demo_out" ||
	! grep -q 'requests reached Docker Hub while it ran' <<<"$demo_out"; then
	echo "scripts/demo.sh: its output shows the suite's internals or misses the build" >&2
	exit 1
fi
bash bench/run --smoke
# The release check (goreleaser check and a snapshot build whose --version
# must be right) installs GoReleaser, which takes many minutes on 2 cores:
# it runs when asked. CI (.ci/run) asks.
if [ "${ECRBASE_RELEASE_CHECK:-}" = 1 ]; then
	bash scripts/release-check.sh
else
	echo "scripts/test.sh: release check not run (ECRBASE_RELEASE_CHECK=1 runs scripts/release-check.sh)"
fi
