#!/usr/bin/env bash
# The whole test suite (`npm test`): set-up, static checks, then one node test run over the unit and
# integration tests against ONE shared demo stack, which is removed again at exit (with any helper
# containers faultline left on it).
#
# Exit code: the test runner's; 1 if the tests passed but a static check failed; 2 if set-up failed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[test] %s\n' "$*" >&2; }

bash scripts/setup.sh --for-tests || exit 2

# ------------------------------------------------------------------ static checks
failed_checks=()
check() {
  local name=$1
  shift
  say "$name"
  if ! "$@"; then failed_checks+=("$name"); fi
}
check "prettier --check" node_modules/.bin/prettier --check --log-level warn .
check "eslint" node_modules/.bin/eslint . --max-warnings 0
check "tsc --noEmit" node_modules/.bin/tsc --noEmit -p .
if [ "${#failed_checks[@]}" -gt 0 ]; then
  say "static checks FAILED: ${failed_checks[*]} (the tests still run; the exit code will be non-zero)"
fi

# ------------------------------------------------------------------ shared demo stack
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
export FAULTLINE_TEST_PROJECT="faultline-test-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export FAULTLINE_TEST_COMPOSE_FILE="$PWD/examples/shop/docker-compose.yml"
stack() { "${compose[@]}" --project-name "$FAULTLINE_TEST_PROJECT" --file "$FAULTLINE_TEST_COMPOSE_FILE" "$@"; }

# Helper containers faultline started against this stack: their target label or network/pid namespace names
# one of the stack's containers. Other runs' helpers on the same engine are left alone.
remove_run_helpers() {
  local ids owned id refs
  ids=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$FAULTLINE_TEST_PROJECT" 2>/dev/null) || return 0
  [ -n "$ids" ] || return 0
  owned=$(docker ps -aq --no-trunc --filter "label=faultline.owned=true" 2>/dev/null) || return 0
  for id in $owned; do
    refs=$(docker inspect --format '{{index .Config.Labels "faultline.target"}} {{.HostConfig.NetworkMode}} {{.HostConfig.PidMode}}' "$id" 2>/dev/null) || continue
    for target in $ids; do
      if [[ "$refs" == *"${target:0:12}"* ]]; then
        docker rm -f "$id" >/dev/null 2>&1 || true
        break
      fi
    done
  done
}

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  # Quiet on success so the output ends with the test runner's summary.
  remove_run_helpers
  timeout 120 "${compose[@]}" --project-name "$FAULTLINE_TEST_PROJECT" --file "$FAULTLINE_TEST_COMPOSE_FILE" \
    down --volumes --remove-orphans --timeout 2 >/dev/null 2>&1 || say "warning: could not remove $FAULTLINE_TEST_PROJECT"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting the shared demo stack $FAULTLINE_TEST_PROJECT"
if ! timeout 180 "${compose[@]}" --project-name "$FAULTLINE_TEST_PROJECT" --file "$FAULTLINE_TEST_COMPOSE_FILE" \
  up -d --no-build </dev/null; then
  stack ps >&2 || true
  # Integration tests fail fast with this instead of each waiting for a stack that will never be ready.
  export FAULTLINE_TEST_STACK_ERROR="compose up of $FAULTLINE_TEST_PROJECT failed (see its output above the tests)"
  say "the demo stack did not start; integration tests will report it"
fi

# ------------------------------------------------------------------ tests
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts)
set +e
# Bounded: a hung test must fail the run, not hold CI forever.
timeout --kill-after=30 1800 node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" </dev/null
rc=$?
set -e
if [ "$rc" = 124 ]; then say "the test run exceeded 30 minutes and was stopped"; fi
if [ "$rc" = 0 ] && [ "${#failed_checks[@]}" -gt 0 ]; then rc=1; fi
exit "$rc"
