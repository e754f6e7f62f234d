#!/usr/bin/env bash
# The whole test suite, from nothing: the packages the tests need, go vet,
# go mod tidy -diff, the unit tests (the CLI and rewrite also under -race),
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
if ((${#need[@]})); then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

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
# The CLI and the rewrite engine run Dockerfiles in parallel with shared
# options; the race detector checks they stay read-only.
go test -race . ./rewrite
bash scripts/e2e.sh
bash bench/run --smoke
