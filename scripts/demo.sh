#!/usr/bin/env bash
# The main job on an included example, with no AWS account: it stands up a
# local "ECR" (moto for the API, a registry at the real ECR hostname over
# TLS) and "Docker Hub" (a registry behind a rate-limit proxy), then runs
#   ecrbase mirror --rewrite examples/python-app
#   docker build $(ecrbase build-args) ...
# on a copy of the example, shows the rewritten Dockerfile and the build, and
# cleans up after itself. Run as root on Debian:  bash scripts/demo.sh
#
# The setup (building the helpers, starting the servers) is quiet: its log
# goes to a file, shown only when something fails.
set -euo pipefail
setup_log=$(mktemp /tmp/ecrbase-demo.XXXXXX.log)
echo "Building ecrbase and starting a local Docker Hub, ECR and docker daemon (a minute or two the first time; log: $setup_log)..."
exec 3>&2
rc=0
E2E_STAGE=demo E2E_DEMO_FD=3 bash "$(dirname "${BASH_SOURCE[0]}")/e2e.sh" "$@" 2>"$setup_log" || rc=$?
if ((rc != 0)); then
	echo "The demo failed (exit $rc). Last lines of $setup_log:" >&2
	tail -n 25 "$setup_log" >&2
	exit "$rc"
fi
rm -f "$setup_log"
