#!/usr/bin/env bash
# Installs everything dockyard and its tests need on a fresh Debian 12/13 machine (run as root):
# the host tools from Debian, a virtualenv with dockyard and its test dependencies in .venv,
# and /usr/local/bin/dockyard. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  runc conmon nftables iproute2 aardvark-dns mmdebstrap busybox-static tini catatonit
  docker-registry apache2-utils uidmap ca-certificates python3-venv git
)
# With --test: what only the tests use. docker.io gives the real docker CLI (compatibility tests drive
# dockyard's API socket with it) and a dockerd that interop tests start privately; dockyard never needs it.
if [ "${1:-}" = "--test" ]; then
  PACKAGES+=(docker.io skopeo curl wrk)
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# docker-compose drives dockyard's API in a compatibility test; where Debian has no package of it, that test is
# skipped rather than the install failing.
if [ "${1:-}" = "--test" ] && ! command -v docker-compose >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; } \
      || echo "== docker-compose is not packaged here: its compatibility test will be skipped"
  fi
fi
# docker-registry starts a system service on :5000 when installed; tests start their own registries.
if systemctl is-active --quiet docker-registry 2>/dev/null; then systemctl stop docker-registry || true; fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
# setuptools' distutils-precedence.pth costs ~15 ms at every interpreter start; nothing needs it at run time
# (the editable install builds in an isolated environment).
.venv/bin/python -m pip uninstall -q -y setuptools >/dev/null 2>&1 || true
# Byte-compile now: with PYTHONDONTWRITEBYTECODE set, every run would otherwise recompile every module.
.venv/bin/python -m compileall -q src >/dev/null
# The same for the methods dataclasses generate (src/dockyard/cli/dcache.py): ~0.3 ms less per class defined.
.venv/bin/python -m dockyard.cli.dcache >/dev/null
# And the top-level --help, rendered by click for every width (src/dockyard/cli/helpcache.py): ~15 ms instead of ~50.
.venv/bin/python -m dockyard.cli.helpcache >/dev/null
ln -sf "$PWD/.venv/bin/dockyard" /usr/local/bin/dockyard
echo "== dockyard $(.venv/bin/dockyard --version | awk '{print $3}') installed at /usr/local/bin/dockyard"
