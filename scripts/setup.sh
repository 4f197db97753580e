#!/usr/bin/env bash
# Idempotent set-up: a Docker engine and compose, the Node dependencies, the base image and faultline's
# images (fault agent + demo shop). Safe to run again and again; each step checks before it acts.
#
#   scripts/setup.sh               what the demo needs
#   scripts/setup.sh --for-tests   also Debian's chromium (the report test drives it with playwright-core)
#                                  and prometheus (the Prometheus integration tests run the real server)
#
# Exit codes: 0 ready, 2 a prerequisite cannot be had on this machine (the message says which).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
fail() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 2
}
# Whatever else stops this script also means "not ready": report it with the documented exit code.
trap 'rc=$?; if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then printf "[setup] error: unexpected failure (exit %s)\n" "$rc" >&2; exit 2; fi' EXIT

FOR_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --for-tests) FOR_TESTS=1 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown option $arg (use --for-tests or --help)" ;;
  esac
done

BASE_IMAGE="${FAULTLINE_BASE_IMAGE:-debian:bookworm-slim}"
DOCKERD_LOG="${FAULTLINE_DOCKERD_LOG:-/tmp/faultline-dockerd.log}"
APT_UPDATED=0

have() { command -v "$1" >/dev/null 2>&1; }
engine_up() { timeout 10 docker info >/dev/null 2>&1; }
compose_available() { docker compose version >/dev/null 2>&1 || have docker-compose; }

apt_install() {
  [ "$(id -u)" = 0 ] || fail "need root to install $* (or install it yourself and run this again)"
  have apt-get || fail "no apt-get on this machine: install $* yourself and run this again"
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq </dev/null >/dev/null ||
      fail "apt-get update failed (is the Debian mirror reachable?)"
    APT_UPDATED=1
  fi
  say "installing $* (apt)"
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null ||
    fail "apt-get install $* failed"
}

ensure_node_modules() {
  have node || fail "Node.js >= 20 is required and not installed"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || fail "Node.js >= 20 is required (found $(node --version))"
  have npm || fail "npm is required and not installed"
  # npm writes node_modules/.package-lock.json on every install: newer than the manifests means up to date.
  if [ -f node_modules/.package-lock.json ] && [ ! package.json -nt node_modules/.package-lock.json ] &&
    { [ ! -f package-lock.json ] || [ ! package-lock.json -nt node_modules/.package-lock.json ]; }; then
    say "npm dependencies: present"
    return
  fi
  say "installing npm dependencies"
  local out
  if [ -f package-lock.json ]; then
    out=$(timeout 900 npm ci --no-audit --no-fund --loglevel=error </dev/null 2>&1) && return
    say "npm ci failed, trying npm install: $(tail -n 3 <<<"$out")"
  fi
  out=$(timeout 900 npm install --no-audit --no-fund --loglevel=error </dev/null 2>&1) ||
    fail "npm install failed (is the npm registry reachable?): $(tail -n 5 <<<"$out")"
}

ensure_engine() {
  if engine_up; then
    say "Docker engine: running ($(docker version --format '{{.Server.Version}}'))"
    return
  fi
  have docker || apt_install docker.io
  have dockerd || apt_install docker.io
  have iptables || apt_install iptables
  if ! engine_up; then
    [ "$(id -u)" = 0 ] || fail "no Docker engine is running and this is not root: start dockerd, or join the docker group"
    if pgrep -x dockerd >/dev/null; then
      say "dockerd is running but not answering yet; waiting"
    else
      say "starting dockerd in the background (log: $DOCKERD_LOG)"
      # setsid: the engine must outlive this script and the terminal or CI step that ran it.
      setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    for _ in $(seq 1 60); do
      engine_up && break
      sleep 1
    done
    engine_up || fail "dockerd did not answer within 60 s; see $DOCKERD_LOG"
  fi
  say "Docker engine: running ($(docker version --format '{{.Server.Version}}'))"
}

ensure_compose() {
  compose_available || apt_install docker-compose
  compose_available || fail "neither 'docker compose' nor 'docker-compose' works after installing docker-compose"
  if docker compose version >/dev/null 2>&1; then
    say "compose: docker compose $(docker compose version --short 2>/dev/null || true)"
  else
    say "compose: $(docker-compose version --short 2>/dev/null || echo docker-compose)"
  fi
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE: present"
    return
  fi
  say "pulling $BASE_IMAGE"
  if timeout 180 docker pull -q "$BASE_IMAGE" </dev/null >/dev/null 2>&1; then return; fi
  [[ "$BASE_IMAGE" == debian:bookworm* ]] ||
    fail "cannot pull $BASE_IMAGE and only debian:bookworm can be built locally; pull it yourself"
  say "pull failed; building $BASE_IMAGE locally with mmdebstrap (a few minutes)"
  have mmdebstrap || apt_install mmdebstrap
  timeout 1200 mmdebstrap --quiet --variant=minbase bookworm - </dev/null |
    docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null ||
    fail "could neither pull nor build $BASE_IMAGE (mmdebstrap needs root and the Debian mirror)"
  say "base image $BASE_IMAGE: built"
}

ensure_chromium() {
  if have chromium; then
    say "chromium: present"
    return
  fi
  apt_install chromium
  have chromium || fail "chromium was installed but is not on PATH"
}

ensure_prometheus() {
  # The Prometheus integration tests run the real server (Debian's package ships prometheus and promtool).
  if have prometheus && have promtool; then
    say "prometheus: present"
    return
  fi
  apt_install prometheus
  # Debian's package starts a system service where an init system runs; the tests start their own.
  have prometheus || fail "prometheus was installed but is not on PATH"
}

faultline() { timeout 1800 node --import tsx src/cli/main.ts "$@" </dev/null; }

ensure_images() {
  faultline images build --only agent || fail "building the fault agent image failed (output above)"
  # The demo images carry fixed tags, so a changed examples/shop would otherwise be served by a stale
  # image; with the layer cache an unchanged rebuild takes about a second per image.
  faultline images build --force --only demo || fail "building the demo shop images failed (output above)"
}

ensure_node_modules
ensure_engine
ensure_compose
ensure_base_image
if [ "$FOR_TESTS" = 1 ]; then
  ensure_chromium
  ensure_prometheus
fi
ensure_images
say "ready"
