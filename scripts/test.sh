#!/usr/bin/env bash
# The test command: installs everything (Debian packages, dockyard in .venv, base images), then runs
# ruff, mypy and the whole test suite (unit, integration and compat tests; run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export PATH="$PWD/.venv/bin:$PATH"

echo "== base root filesystems (cached in /var/cache/dockyard/bootstrap)"
DOCKYARD_ROOT=$(mktemp -d) dockyard image bootstrap busybox >/dev/null

echo "== ruff"
ruff check src tests
ruff format --check src tests
echo "== mypy"
mypy
echo "== pytest"
python -m pytest -q -p no:cacheprovider "$@"
