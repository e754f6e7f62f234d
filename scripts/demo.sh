#!/usr/bin/env bash
# The main job on an included example, with no AWS account: it stands up a
# local "ECR" (moto for the API, a registry at the real ECR hostname over
# TLS) and "Docker Hub" (a registry behind a rate-limit proxy), then runs
#   ecrbase mirror --rewrite examples/python-app
#   docker build $(ecrbase build-args) ...
# on a copy of the example, shows the rewritten Dockerfile and the build, and
# cleans up after itself. Run as root on Debian:  bash scripts/demo.sh
set -euo pipefail
E2E_STAGE=demo exec bash "$(dirname "${BASH_SOURCE[0]}")/e2e.sh" "$@"
