#!/usr/bin/env bash
# The demo (`npm run demo`): set up, start the demo shop as compose project "shop", wait until it serves
# traffic, then let faultline map it. The shop keeps running afterwards so you can break it on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT="${FAULTLINE_DEMO_PROJECT:-shop}"
COMPOSE_FILE="$PWD/examples/shop/docker-compose.yml"
say() { printf '[demo] %s\n' "$*" >&2; }

bash scripts/setup.sh || exit 2

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
compose_cmd="${compose[*]} -p $PROJECT -f examples/shop/docker-compose.yml"

say "starting the demo shop (compose project $PROJECT)"
timeout 180 "${compose[@]}" --project-name "$PROJECT" --file "$COMPOSE_FILE" up -d --no-build </dev/null

say "waiting for every service to be healthy (up to 90 s)"
services=$("${compose[@]}" --project-name "$PROJECT" --file "$COMPOSE_FILE" config --services)
deadline=$((SECONDS + 90))
while :; do
  pending=()
  for service in $services; do
    id=$("${compose[@]}" --project-name "$PROJECT" --file "$COMPOSE_FILE" ps -q "$service" 2>/dev/null || true)
    health=$([ -n "$id" ] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
    case "$health" in healthy | running) ;; *) pending+=("$service:$health") ;; esac
  done
  [ "${#pending[@]}" = 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "not healthy after 90 s: ${pending[*]} (see: $compose_cmd logs)"
    exit 1
  fi
  sleep 2
done
say "all services healthy; the shopper is sending traffic to the storefront"

main=(node --import tsx src/cli/main.ts)
if "${main[@]}" --help 2>/dev/null | grep -qE '^\s+graph\b'; then
  say "mapping the stack: faultline graph --project $PROJECT"
  "${main[@]}" graph --project "$PROJECT"
else
  say "the 'graph' command is not available in this build yet; the stack is up for you to explore:"
  say "  $compose_cmd ps"
fi

cat >&2 <<EOT

[demo] the shop is still running. Try:
[demo]   npm run faultline -- graph --project $PROJECT
[demo]   $compose_cmd logs -f shopper
[demo] stop it with:
[demo]   $compose_cmd down --volumes
EOT
