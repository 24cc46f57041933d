#!/usr/bin/env bash
# The demo: installs everything, then walks Docker's "Getting Started, part 2: Containers" (../shared/seed)
# with dockyard typed where the tutorial says docker, on a host with no Docker and no Docker Hub:
#   base images made from Debian packages -> build friendlyhello -> image ls -> run -p 4000:80 (foreground,
#   Ctrl-C) -> run -d, container ls, stop -> a registry on loopback with a password -> login, tag, push ->
#   remove the local copy -> run pulls it back.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
if ! bash scripts/install.sh >/tmp/dockyard-install.log 2>&1; then
  cat /tmp/dockyard-install.log >&2
  exit 1
fi
export PATH="$REPO/.venv/bin:$PATH"

PORT=${DEMO_PORT:-4000}
REGISTRY=${DEMO_REGISTRY:-127.0.0.1:5000}
WORK=$(mktemp -d /tmp/dockyard-demo.XXXXXX)
REG_PID=""

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
step() { printf '\n\033[1;34m$ %s\033[0m\n' "$*"; "$@"; }
fail() { printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2; exit 1; }

cleanup() {
  set +e
  dockyard rm -f redis web web2 web3 >/dev/null 2>&1
  dockyard network rm tutorial >/dev/null 2>&1
  dockyard logout "$REGISTRY" >/dev/null 2>&1
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

page() {  # curl the app until it answers (it takes a moment to start)
  local out
  for _ in $(seq 1 100); do
    if out=$(curl -fsS "http://127.0.0.1:$PORT" 2>/dev/null); then printf '%s\n' "$out"; return 0; fi
    sleep 0.1
  done
  return 1
}

bold "== 0. Base images, made locally (no Docker Hub): busybox, debian:bookworm-slim, python:3.11-slim, redis"
# This host re-signs outbound HTTPS with its own CA (/usr/local/share/ca-certificates): let RUN steps trust the
# host's CAs, the documented opt-in (dockyard build --host-ca, or "host-ca": true in dockyard's config.json).
HOST_CA=()
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then HOST_CA=(--host-ca); fi
step dockyard image bootstrap busybox
step bash recipes/build.sh "${HOST_CA[@]}"

bold "== 1. Define an app with a Dockerfile (the tutorial's, FROM python:3.11-slim)"
mkdir -p "$WORK/my-first-docker-image"
cp examples/friendlyhello/{Dockerfile,app.py,requirements.txt} "$WORK/my-first-docker-image/"
printf '.git\n*.pyc\n__pycache__\n' > "$WORK/my-first-docker-image/.dockerignore"
cd "$WORK/my-first-docker-image"
step ls
step cat Dockerfile

bold "== 2. Build the app"
step dockyard build "${HOST_CA[@]}" -t friendlyhello .
bold "   (again: every step comes from the cache)"
step dockyard build "${HOST_CA[@]}" -t friendlyhello .
step dockyard image ls

bold "== 3. Run the app (redis on a user network answers to the name \"redis\", as app.py expects)"
step dockyard network create tutorial
step dockyard run -d --name redis --network tutorial redis
printf '\n\033[1;34m$ dockyard run -p %s:80 --network tutorial friendlyhello    # foreground; Ctrl-C stops it\033[0m\n' "$PORT"
dockyard run --name web -p "$PORT:80" --network tutorial friendlyhello &
RUN_PID=$!
out=$(page) || fail "the app did not answer on port $PORT"
printf '\n\033[1;34m$ curl http://localhost:%s\033[0m\n%s\n' "$PORT" "$out"
short=$(dockyard inspect --format '{{.Id}}' web | cut -c1-12)
grep -q "<b>Hostname:</b> $short" <<<"$out" || fail "Hostname is not the container's short ID ($short)"
grep -q "Hello World" <<<"$out" || fail "ENV NAME=World is not set in the container"
grep -q "<b>Visits:</b> 1" <<<"$out" || fail "redis did not count the visit"
printf '\n(Ctrl-C)\n'
kill -INT "$RUN_PID"
wait "$RUN_PID" || true
dockyard rm web >/dev/null

bold "   Detached: -d prints the full container ID"
printf '\n\033[1;34m$ dockyard run -d -p %s:80 --network tutorial friendlyhello\033[0m\n' "$PORT"
CID=$(dockyard run -d --name web2 -p "$PORT:80" --network tutorial friendlyhello)
echo "$CID"
[[ $CID =~ ^[0-9a-f]{64}$ ]] || fail "run -d did not print a 64-hex ID"
page >/dev/null || fail "the detached app did not answer"
printf '\n\033[1;34m$ curl http://localhost:%s\033[0m\n' "$PORT"; page
step dockyard container ls
step dockyard container stop "${CID:0:12}"
dockyard rm web2 >/dev/null

bold "== 4. Share the image: a registry on loopback with a password (dockyard's own), login, tag, push"
htpasswd -Bbn demo demo-password > "$WORK/htpasswd"
dockyard registry serve --addr "$REGISTRY" --storage "$WORK/registry" --htpasswd "$WORK/htpasswd" \
  >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://$REGISTRY/v2/" && break; sleep 0.1; done
printf '\n\033[1;34m$ dockyard login %s -u demo --password-stdin\033[0m\n' "$REGISTRY"
echo demo-password | dockyard login "$REGISTRY" -u demo --password-stdin
step dockyard tag friendlyhello "$REGISTRY/pango/get-started:part2"
step dockyard image ls
step dockyard push "$REGISTRY/pango/get-started:part2"

bold "== 5. Pull and run the image from the registry (the local copy removed first)"
step dockyard rmi "$REGISTRY/pango/get-started:part2" friendlyhello
printf '\n\033[1;34m$ dockyard run -d -p %s:80 --network tutorial %s/pango/get-started:part2\033[0m\n' "$PORT" "$REGISTRY"
dockyard run -d --name web3 -p "$PORT:80" --network tutorial "$REGISTRY/pango/get-started:part2"
out=$(page) || fail "the pulled app did not answer"
printf '\n\033[1;34m$ curl http://localhost:%s\033[0m\n%s\n' "$PORT" "$out"
step dockyard container ls
step dockyard container stop web3

bold "== The tutorial ran end to end with dockyard."
