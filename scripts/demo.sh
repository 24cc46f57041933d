#!/usr/bin/env bash
# The demo: installs everything, then walks the tutorial (../shared/seed: Getting Started, part 2) with
# dockyard in place of docker, printing each step as the tutorial shows it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh >/dev/null
export PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== Base images (made locally from Debian packages: no Docker Hub needed)"
step dockyard image bootstrap busybox debian:bookworm-slim
step dockyard image ls
