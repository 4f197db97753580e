#!/usr/bin/env bash
# The demo (`npm run demo`): set up, start the demo shop as compose project "shop", wait until it serves
# traffic, let faultline map it, run a graph-ordered experiment on it and write the report. The shop keeps
# running afterwards so you can break it some more.
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
REPORT_DIR="${FAULTLINE_DEMO_REPORT:-$PWD/report}"

say "mapping the stack: faultline graph --project $PROJECT"
"${main[@]}" graph --project "$PROJECT"

say "breaking it on purpose, most depended-on service first: pause, then 500ms latency, on each service"
"${main[@]}" run --project "$PROJECT" --kinds pause,latency -o latency.latency=500ms \
  --duration 10s --baseline 8s --recovery 8s --out "$REPORT_DIR"
say "report: $REPORT_DIR/report.html (also report.md and report.json)"

cat >&2 <<EOT

[demo] the shop is still running. Try:
[demo]   npm run faultline -- graph --project $PROJECT --format mermaid
[demo]   npm run faultline -- inject --project $PROJECT --target sessions --kind latency --latency 300ms --duration 30s
[demo]   $compose_cmd logs -f shopper
[demo] stop it with:
[demo]   $compose_cmd down --volumes
EOT
