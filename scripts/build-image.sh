#!/usr/bin/env bash
# Builds faultline's own image (images/faultline/Dockerfile) from files prepared on this host:
#   1. npm run build            -> dist/
#   2. a staged copy of node_modules pruned to production dependencies (npm prune works offline)
#   3. the host's node binary   (Debian bookworm's nodejs is 18; faultline needs >= 20)
# then `docker build` of that staged context. npm never runs inside the build and no CA bundle is added.
#
#   scripts/build-image.sh [--tag faultline/faultline:dev] [--skip-build] [--if-missing]
#
# Prints the image tag on stdout. Exit codes: 0 built (or present with --if-missing), 2 a prerequisite is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[build-image] %s\n' "$*" >&2; }
fail() {
  printf '[build-image] error: %s\n' "$*" >&2
  exit 2
}

TAG="${FAULTLINE_IMAGE:-faultline/faultline:latest}"
SKIP_BUILD=0
IF_MISSING=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag)
      TAG="${2:?--tag needs a value}"
      shift
      ;;
    --skip-build) SKIP_BUILD=1 ;;
    --if-missing) IF_MISSING=1 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
  shift
done

command -v docker >/dev/null 2>&1 || fail "docker is not installed"
NODE_BIN="$(command -v node)" || fail "node is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  fail "node $(node --version) is too old: faultline needs node >= 20"

if [ "$IF_MISSING" = 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG: present"
  echo "$TAG"
  exit 0
fi

[ -d node_modules ] || fail "node_modules is missing: run scripts/setup.sh (or npm ci) first"
if [ "$SKIP_BUILD" = 0 ]; then
  say "compiling (npm run build)"
  npm run --silent build >&2
fi
[ -f dist/src/cli/main.js ] || fail "dist/src/cli/main.js is missing: npm run build failed or was skipped"

context="$(mktemp -d "${TMPDIR:-/tmp}/faultline-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
app="$context/app"
mkdir -p "$app/dist" "$app/images"

say "staging the build context in $context"
cp "$NODE_BIN" "$context/node"
cp images/faultline/Dockerfile "$context/Dockerfile"
cp package.json package-lock.json "$app/"
cp -r dist/src "$app/dist/src"
# The live page's static files (tsc compiles no assets): next to the compiled module that serves them.
cp -r src/api/live/page "$app/dist/src/api/live/page"
# The fault agent's build context: faultline builds that image itself the first time a network or
# resource fault needs it. Byproducts are left out (they are not part of the agent image's tag either).
cp -r images/agent "$app/images/agent"
find "$app/images" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$app/dist" -name '*.map' -delete
cp -a node_modules "$app/node_modules"
(cd "$app" && npm prune --omit=dev --no-audit --no-fund --offline >/dev/null 2>&1) ||
  fail "npm prune --omit=dev failed in the staged copy"

say "building $TAG"
docker build --quiet --tag "$TAG" "$context" >/dev/null
say "built $TAG ($(docker image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$TAG"
