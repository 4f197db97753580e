"""storefront: the shop's HTTP API.

Products come from PostgreSQL (DATABASE_URL) through a Redis cache (CACHE_HOST/CACHE_PORT); carts live
in Redis; orders are written to PostgreSQL. Every call to a dependency is bounded (DEPENDENCY_TIMEOUT,
2 s by default), so a slow or frozen dependency surfaces as a logged timeout and a 5xx instead of a hung
request. Broken connections are dropped and re-opened on the next request.
"""

import json
import logging
import os
import queue
import select
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import psycopg2
import psycopg2.extensions
import redis

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://shop:shop-secret@localhost:5432/shop")
CACHE_HOST = os.environ.get("CACHE_HOST", "localhost")
CACHE_PORT = int(os.environ.get("CACHE_PORT", "6379"))
LISTEN_PORT = int(os.environ.get("PORT", "8080"))
TIMEOUT = float(os.environ.get("DEPENDENCY_TIMEOUT", "2"))
CACHE_TTL = int(os.environ.get("CACHE_TTL_SECONDS", "5"))
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "4"))

logging.basicConfig(
    stream=sys.stdout,
    level=logging.INFO,
    format="%(asctime)s %(levelname)s storefront %(message)s",
)
log = logging.getLogger("storefront")

DB_HOST = "%s:%s" % (urlparse(DATABASE_URL).hostname, urlparse(DATABASE_URL).port or 5432)
CACHE_ADDR = "%s:%d" % (CACHE_HOST, CACHE_PORT)


class DependencyError(Exception):
    """A call to a dependency failed; carries which one so logs and responses can name it."""

    def __init__(self, dependency, host, operation, cause):
        super().__init__("%s (%s) %s failed: %s" % (dependency, host, operation, cause))
        self.dependency = dependency
        self.host = host
        self.operation = operation
        self.kind = classify(cause)


def classify(cause):
    text = ("%s %s" % (type(cause).__name__, cause)).lower()
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "refused" in text:
        return "refused"
    if "name or service not known" in text or "could not translate host name" in text or "resolution" in text:
        return "dns"
    return "error"


# ---------------------------------------------------------------- metrics (Prometheus text format)


class Metrics:
    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}  # (method, route, status) -> count
        self.duration = {}  # route -> [bucket counts..., sum, count]
        self.dependency_errors = {}  # (dependency, kind) -> count
        self.cache = {"hit": 0, "miss": 0}
        self.started = time.time()

    def observe(self, method, route, status, seconds):
        with self.lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            d = self.duration.setdefault(route, [0] * len(self.BUCKETS) + [0.0, 0])
            for i, le in enumerate(self.BUCKETS):
                if seconds <= le:
                    d[i] += 1
            d[-2] += seconds
            d[-1] += 1

    def dependency_error(self, dependency, kind):
        with self.lock:
            key = (dependency, kind)
            self.dependency_errors[key] = self.dependency_errors.get(key, 0) + 1

    def cache_result(self, hit):
        with self.lock:
            self.cache["hit" if hit else "miss"] += 1

    def render(self):
        out = []
        with self.lock:
            out.append("# HELP http_requests_total HTTP requests served, by route and status.")
            out.append("# TYPE http_requests_total counter")
            for (method, route, status), n in sorted(self.requests.items()):
                out.append('http_requests_total{method="%s",route="%s",status="%s"} %d' % (method, route, status, n))
            out.append("# HELP http_request_duration_seconds Time to answer an HTTP request.")
            out.append("# TYPE http_request_duration_seconds histogram")
            for route, d in sorted(self.duration.items()):
                for i, le in enumerate(self.BUCKETS):
                    out.append('http_request_duration_seconds_bucket{route="%s",le="%g"} %d' % (route, le, d[i]))
                out.append('http_request_duration_seconds_bucket{route="%s",le="+Inf"} %d' % (route, d[-1]))
                out.append('http_request_duration_seconds_sum{route="%s"} %.6f' % (route, d[-2]))
                out.append('http_request_duration_seconds_count{route="%s"} %d' % (route, d[-1]))
            out.append("# HELP dependency_errors_total Failed calls to a dependency, by dependency and kind.")
            out.append("# TYPE dependency_errors_total counter")
            for (dep, kind), n in sorted(self.dependency_errors.items()):
                out.append('dependency_errors_total{dependency="%s",kind="%s"} %d' % (dep, kind, n))
            out.append("# HELP cache_requests_total Product cache lookups, by result.")
            out.append("# TYPE cache_requests_total counter")
            for result, n in sorted(self.cache.items()):
                out.append('cache_requests_total{result="%s"} %d' % (result, n))
            out.append("# HELP process_start_time_seconds Start time of the process since the epoch.")
            out.append("# TYPE process_start_time_seconds gauge")
            out.append("process_start_time_seconds %.3f" % self.started)
        return "\n".join(out) + "\n"


METRICS = Metrics()


# ---------------------------------------------------------------- PostgreSQL (async libpq, bounded waits)


def _wait(conn, deadline):
    """Drive an async psycopg2 connection until it is ready, or raise once `deadline` passes."""
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer within %.1fs" % TIMEOUT)
        if state == psycopg2.extensions.POLL_READ:
            select.select([conn.fileno()], [], [], remaining)
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [conn.fileno()], [], remaining)
        else:
            raise psycopg2.OperationalError("bad poll state %r" % state)


class Database:
    """A small pool of async connections; a connection that failed once is closed, never reused."""

    def __init__(self, dsn, size):
        self.dsn = dsn
        self.idle = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(size)

    def _connect(self, deadline):
        conn = psycopg2.connect(self.dsn, async_=1, connect_timeout=max(1, int(TIMEOUT)))
        try:
            _wait(conn, deadline)
        except BaseException:
            conn.close()
            raise
        return conn

    def query(self, operation, sql, params=None):
        deadline = time.monotonic() + TIMEOUT
        if not self.slots.acquire(timeout=TIMEOUT):
            raise DependencyError("ledger", DB_HOST, operation, TimeoutError("connection pool exhausted"))
        conn = None
        try:
            try:
                conn = self.idle.get_nowait()
            except queue.Empty:
                conn = self._connect(deadline)
            cur = conn.cursor()
            cur.execute(sql, params)
            _wait(conn, deadline)
            rows = cur.fetchall() if cur.description else []
            self.idle.put(conn)
            conn = None
            return rows
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            raise DependencyError("ledger", DB_HOST, operation, e) from e
        finally:
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
            self.slots.release()


DB = Database(DATABASE_URL, POOL_SIZE)

# redis-py re-opens pooled connections after a failure by itself.
CACHE = redis.Redis(
    host=CACHE_HOST,
    port=CACHE_PORT,
    socket_timeout=TIMEOUT,
    socket_connect_timeout=TIMEOUT,
    retry_on_timeout=False,
    decode_responses=True,
)


def cache_call(operation, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise DependencyError("sessions", CACHE_ADDR, operation, e) from e


# ---------------------------------------------------------------- handlers


def list_products():
    cache_ok = True
    try:
        cached = cache_call("GET products", CACHE.get, "products:all")
        if cached is not None:
            METRICS.cache_result(True)
            return 200, json.loads(cached)
        METRICS.cache_result(False)
    except DependencyError as e:
        # The cache is an optimisation: degrade to the database, but say so.
        report(e)
        cache_ok = False
    rows = DB.query("SELECT products", "SELECT id, sku, name, price_cents, stock FROM products ORDER BY id")
    products = [dict(id=r[0], sku=r[1], name=r[2], price_cents=r[3], stock=r[4]) for r in rows]
    if cache_ok:  # a cache that just failed would only add another timeout to this request
        try:
            cache_call("SET products", CACHE.set, "products:all", json.dumps(products), ex=CACHE_TTL)
        except DependencyError as e:
            report(e)
    return 200, products


def get_cart(customer):
    items = cache_call("HGETALL cart", CACHE.hgetall, "cart:" + customer)
    return 200, {"customer": customer, "items": {k: int(v) for k, v in items.items()}}


def add_to_cart(customer, body):
    sku = str(body.get("sku", ""))
    if not sku:
        return 400, {"error": "sku is required"}
    key = "cart:" + customer
    pipe = CACHE.pipeline()
    pipe.hincrby(key, sku, int(body.get("quantity", 1)))
    pipe.expire(key, 600)
    cache_call("HINCRBY cart", pipe.execute)
    return get_cart(customer)


def place_order(body):
    customer = str(body.get("customer", "anonymous"))
    sku = str(body.get("sku", ""))
    quantity = int(body.get("quantity", 1))
    rows = DB.query(
        "INSERT orders",
        "INSERT INTO orders (customer, product_id, quantity) "
        "SELECT %s, id, %s FROM products WHERE sku = %s RETURNING id",
        (customer, quantity, sku),
    )
    if not rows:
        return 404, {"error": "unknown sku %s" % sku}
    return 201, {"order": rows[0][0], "customer": customer, "sku": sku, "quantity": quantity}


def readiness():
    checks = {}
    for name, probe in (
        ("sessions", lambda: cache_call("PING", CACHE.ping)),
        ("ledger", lambda: DB.query("SELECT 1", "SELECT 1")),
    ):
        try:
            probe()
            checks[name] = "ok"
        except DependencyError as e:
            report(e)
            checks[name] = e.kind
    ok = all(v == "ok" for v in checks.values())
    return (200 if ok else 503), {"status": "ready" if ok else "degraded", "dependencies": checks}


def report(e):
    METRICS.dependency_error(e.dependency, e.kind)
    log.error("dependency=%s host=%s op=%r kind=%s error=%s", e.dependency, e.host, e.operation, e.kind, e)


class Handler(BaseHTTPRequestHandler):
    server_version = "storefront/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one access line per request is written in _dispatch instead

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        return json.loads(self.rfile.read(min(length, 65536)) or b"{}")

    def _route(self, method, path):
        parts = [p for p in path.split("/") if p]
        if method == "GET" and path == "/health":
            return "/health", lambda: (200, {"status": "ok"})
        if method == "GET" and path == "/ready":
            return "/ready", readiness
        if method == "GET" and path == "/metrics":
            return "/metrics", None
        if method == "GET" and path == "/api/products":
            return "/api/products", list_products
        if len(parts) == 3 and parts[:2] == ["api", "cart"]:
            if method == "GET":
                return "/api/cart/:customer", lambda: get_cart(parts[2])
            if method == "POST":
                return "/api/cart/:customer", lambda: add_to_cart(parts[2], self._body())
        if method == "POST" and path == "/api/orders":
            return "/api/orders", lambda: place_order(self._body())
        return "unmatched", lambda: (404, {"error": "not found"})

    def _dispatch(self, method):
        started = time.monotonic()
        path = urlparse(self.path).path
        route, action = self._route(method, path)
        if action is None:
            status = 200
            self._send(status, METRICS.render().encode(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            try:
                status, payload = action()
            except DependencyError as e:
                report(e)
                status = 504 if e.kind == "timeout" else 503
                payload = {"error": "%s unavailable" % e.dependency, "kind": e.kind}
            except (ValueError, TypeError) as e:
                status, payload = 400, {"error": str(e)}
            except Exception as e:  # noqa: BLE001 - a bug must still answer
                log.exception("unhandled error on %s %s", method, path)
                status, payload = 500, {"error": type(e).__name__}
            self._send(status, json.dumps(payload).encode(), "application/json")
        elapsed = time.monotonic() - started
        METRICS.observe(method, route, status, elapsed)
        if route not in ("/health", "/metrics"):
            log.info("%s %s %d %.0fms peer=%s", method, path, status, elapsed * 1000, self.client_address[0])

    def _send(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.warning("client went away before the answer was sent")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    # As PID 1 the default SIGTERM action is ignored by the kernel; exit promptly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(("0.0.0.0", LISTEN_PORT), Handler)
    log.info("listening on :%d (database %s, cache %s, timeout %.1fs)", LISTEN_PORT, DB_HOST, CACHE_ADDR, TIMEOUT)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")


if __name__ == "__main__":
    main()
