#!/bin/sh
# Build the base images the tutorial needs, with dockyard itself, on top of a bootstrapped Debian:
#   debian:bookworm-slim (mmdebstrap), python:3.11-slim and redis:latest (recipes/*/Dockerfile).
# Usage: recipes/build.sh [--root DIR] [extra "dockyard build" options, e.g. --no-cache]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dockyard=${DOCKYARD:-dockyard}
global=""
if [ "${1:-}" = "--root" ]; then
	global="--root $2"
	shift 2
fi
# shellcheck disable=SC2086
$dockyard $global image bootstrap debian:bookworm-slim
# shellcheck disable=SC2086
$dockyard $global build "$@" -t python:3.11-slim "$here/python/3.11-slim"
# shellcheck disable=SC2086
$dockyard $global build "$@" -t redis:latest "$here/redis"
