#!/bin/sh
# role http PORT | role tcp PORT | role client   (client reads HTTP_UPSTREAM and TCP_UPSTREAM)
set -u
case "${1:-}" in
  http)
    mkdir -p /www && echo ok > /www/index.html && echo ok > /www/health
    echo "serving http on :$2"
    exec busybox httpd -f -v -p "$2" -h /www
    ;;
  tcp)
    echo "serving tcp on :$2"
    exec socat TCP-LISTEN:"$2",fork,reuseaddr EXEC:cat
    ;;
  client)
    echo "connecting to $TCP_UPSTREAM"
    # One long-lived connection to the TCP upstream (retried until the server is up) ...
    socat TCP:"$TCP_UPSTREAM",retry=120,interval=0.5 EXEC:"sleep 1000000" &
    # ... and an HTTP call now and then, logged with the URL.
    while true; do
      if busybox wget -q -O /dev/null "$HTTP_UPSTREAM"; then echo "GET $HTTP_UPSTREAM ok"; else echo "GET $HTTP_UPSTREAM failed"; fi
      sleep 5
    done
    ;;
  *)
    echo "usage: role http PORT | tcp PORT | client" >&2
    exit 64
    ;;
esac
