"""shopper: simulated customers sending steady traffic to the storefront (TARGET_URL).

Browses products, fills carts and places the odd order at REQUESTS_PER_SECOND. Every failure is logged
the way a plain urllib client would: the URL and the exception as Python prints it ("urllib.error.HTTPError:
HTTP Error 504: Gateway Timeout", "TimeoutError: timed out", ...). A heartbeat file lets the healthcheck
tell a live loop from a stuck one.

Open loop: requests start on schedule whether or not earlier ones have answered (up to MAX_IN_FLIGHT),
as real customers do. A closed loop would slow down exactly when the storefront does and so hide most
of an outage from its own logs (coordinated omission).
"""

import json
import logging
import os
import random
import signal
import sys
import threading
import time
import traceback
import urllib.request

TARGET_URL = os.environ.get("TARGET_URL", "http://localhost:8080").rstrip("/")
RATE = float(os.environ.get("REQUESTS_PER_SECOND", "3"))
TIMEOUT = float(os.environ.get("REQUEST_TIMEOUT", "3"))
HEARTBEAT = os.environ.get("HEARTBEAT_FILE", "/tmp/shopper.heartbeat")
SUMMARY_EVERY = float(os.environ.get("SUMMARY_SECONDS", "10"))
MAX_IN_FLIGHT = int(os.environ.get("MAX_IN_FLIGHT", "16"))

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s shopper %(message)s")
log = logging.getLogger("shopper")

SKUS = ["KB-101", "MS-202", "MN-303", "HS-404", "CB-505", "DK-606"]


def call(method, path, body=None):
    """One request; returns the HTTP status, or raises what urllib raises (HTTPError for 4xx/5xx)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(TARGET_URL + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        resp.read()
        return resp.status


def exception_text(e):
    """The exception's last traceback line, e.g. "urllib.error.URLError: <urlopen error timed out>"."""
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def next_action(customer):
    roll = random.random()
    if roll < 0.5:
        return "GET", "/api/products", None
    if roll < 0.8:
        return "POST", "/api/cart/" + customer, {"sku": random.choice(SKUS), "quantity": 1}
    return "POST", "/api/orders", {"customer": customer, "sku": random.choice(SKUS), "quantity": 1}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0

    def add(self, ok):
        with self.lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1

    def take(self):
        with self.lock:
            ok, failed = self.ok, self.failed
            self.ok = self.failed = 0
            return ok, failed


def one_request(customer, tally, slots):
    try:
        method, path, body = next_action(customer)
        started = time.monotonic()
        try:
            call(method, path, body)
            tally.add(True)
        except Exception as e:  # noqa: BLE001 - urllib, socket and http.client errors alike
            tally.add(False)
            log.error(
                "%s %s%s failed after %.0fms: %s",
                method, TARGET_URL, path, (time.monotonic() - started) * 1000, exception_text(e),
            )
    finally:
        slots.release()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("sending %.1f req/s to %s (timeout %.1fs)", RATE, TARGET_URL, TIMEOUT)
    interval = 1.0 / RATE if RATE > 0 else 1.0
    tally = Tally()
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
    last_summary = time.monotonic()
    next_at = time.monotonic()
    while True:
        customer = "customer-%d" % random.randint(1, 20)
        # Beyond MAX_IN_FLIGHT the loop waits: a bound on threads, far above what the timeout allows.
        slots.acquire()
        threading.Thread(target=one_request, args=(customer, tally, slots), daemon=True).start()
        with open(HEARTBEAT, "w") as f:
            f.write(str(time.time()))
        now = time.monotonic()
        if now - last_summary >= SUMMARY_EVERY:
            ok, failed = tally.take()
            log.info("last %.0fs: ok=%d failed=%d", now - last_summary, ok, failed)
            last_summary = now
        next_at = max(next_at + interval, now)
        time.sleep(max(0.0, next_at - time.monotonic()))


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")
