"""storefront: the shop's HTTP API.

Products come from PostgreSQL (DATABASE_URL) through a Redis cache (CACHE_HOST/CACHE_PORT); carts live
in Redis; orders are written to PostgreSQL. Every call to a dependency is bounded (DEPENDENCY_TIMEOUT,
2 s by default): libpq's connect_timeout, a deadline on each query, redis-py's socket timeouts. A slow
or frozen dependency therefore surfaces as the driver's own exception in the log (with its traceback,
as any web framework writes it) and a 5xx, instead of a hung request.

Logging is what an ordinary Python web app writes: a common-log-format access line per request, the
driver's exception text when a dependency fails. Nothing in the log says which dependency broke or
how: telling that from raw driver messages is faultline's job.
"""

import json
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import psycopg2
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
    format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
)
log = logging.getLogger("storefront")
access_log = logging.getLogger("storefront.access")

_db = urlparse(DATABASE_URL)
DB_ADDR = "%s:%s" % (_db.hostname, _db.port or 5432)
DB_SAFE_URL = "%s://%s@%s%s" % (_db.scheme, _db.username or "", DB_ADDR, _db.path)
CACHE_URL = "redis://%s:%d/0" % (CACHE_HOST, CACHE_PORT)

# What a dependency failure is, as the drivers raise it: anything else is a bug (500).
DEPENDENCY_ERRORS = (psycopg2.Error, redis.RedisError, OSError)  # TimeoutError is an OSError


def exception_text(e):
    """The exception's last traceback line, e.g. "redis.exceptions.TimeoutError: Timeout reading from socket"."""
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def is_timeout(e):
    # For the metrics and the status code only: the log carries the driver's own words.
    return isinstance(e, (TimeoutError, socket.timeout, redis.TimeoutError)) or "timeout expired" in str(e)


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


# ---------------------------------------------------------------- PostgreSQL (bounded waits)


class Database:
    """A small pool of connections; a connection that failed once is closed, never reused.

    libpq bounds connecting (connect_timeout). A query on an open connection has no client-side bound in
    libpq, so each runs on a worker thread and the request gives up at the deadline; the abandoned
    connection is closed whenever its query returns.
    """

    def __init__(self, dsn, size):
        self.dsn = dsn
        self.idle = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(size)
        self.size = size

    def _connect(self):
        # libpq's connect_timeout counts whole seconds, at least 2.
        conn = psycopg2.connect(self.dsn, connect_timeout=max(2, int(TIMEOUT)), application_name="storefront")
        conn.autocommit = True
        return conn

    def query(self, sql, params=None):
        deadline = time.monotonic() + TIMEOUT
        if not self.slots.acquire(timeout=TIMEOUT):
            raise TimeoutError("no database connection free within %.1fs (pool of %d)" % (TIMEOUT, self.size))
        conn = None
        try:
            try:
                conn = self.idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            call = _Query(conn, sql, params)
            if not call.wait(deadline):
                conn = None  # the worker closes it once the query returns
                raise TimeoutError("query to %s got no answer within %.1fs" % (DB_ADDR, TIMEOUT))
            if call.error is not None:
                raise call.error
            self.idle.put(conn)
            conn = None
            return call.rows
        finally:
            if conn is not None:
                _close(conn)
            self.slots.release()


class _Query:
    """One query on a worker thread; whoever comes last (the worker or the give-up) owns the connection."""

    def __init__(self, conn, sql, params):
        self.conn = conn
        self.rows = None
        self.error = None
        self.lock = threading.Lock()
        self.finished = False
        self.abandoned = False
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(sql, params), daemon=True).start()

    def _run(self, sql, params):
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                self.rows = cur.fetchall() if cur.description else []
        except Exception as e:  # noqa: BLE001 - handed to the waiting request
            self.error = e
        with self.lock:
            self.finished = True
            if self.abandoned:
                _close(self.conn)
        self.done.set()

    def wait(self, deadline):
        """True when the query finished in time; False (and the connection abandoned) otherwise."""
        self.done.wait(max(0.0, deadline - time.monotonic()))
        with self.lock:
            if not self.finished:
                self.abandoned = True
            return self.finished


def _close(conn):
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - already broken
        pass


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


# ---------------------------------------------------------------- handlers


def list_products():
    cache_ok = True
    try:
        cached = CACHE.get("products:all")
        if cached is not None:
            METRICS.cache_result(True)
            return 200, json.loads(cached)
        METRICS.cache_result(False)
    except redis.RedisError as e:
        # The cache is an optimisation: degrade to the database, but say so.
        METRICS.dependency_error("cache", "timeout" if is_timeout(e) else "error")
        log.warning("cache %s unavailable, reading from the database: %s", CACHE_URL, exception_text(e))
        cache_ok = False
    rows = DB.query("SELECT id, sku, name, price_cents, stock FROM products ORDER BY id")
    products = [dict(id=r[0], sku=r[1], name=r[2], price_cents=r[3], stock=r[4]) for r in rows]
    if cache_ok:  # a cache that just failed would only add another timeout to this request
        try:
            CACHE.set("products:all", json.dumps(products), ex=CACHE_TTL)
        except redis.RedisError as e:
            METRICS.dependency_error("cache", "timeout" if is_timeout(e) else "error")
            log.warning("could not refresh the product cache at %s: %s", CACHE_URL, exception_text(e))
    return 200, products


def get_cart(customer):
    items = CACHE.hgetall("cart:" + customer)
    return 200, {"customer": customer, "items": {k: int(v) for k, v in items.items()}}


def add_to_cart(customer, body):
    sku = str(body.get("sku", ""))
    if not sku:
        return 400, {"error": "sku is required"}
    key = "cart:" + customer
    pipe = CACHE.pipeline()
    pipe.hincrby(key, sku, int(body.get("quantity", 1)))
    pipe.expire(key, 600)
    pipe.execute()
    return get_cart(customer)


def place_order(body):
    customer = str(body.get("customer", "anonymous"))
    sku = str(body.get("sku", ""))
    quantity = int(body.get("quantity", 1))
    rows = DB.query(
        "INSERT INTO orders (customer, product_id, quantity) "
        "SELECT %s, id, %s FROM products WHERE sku = %s RETURNING id",
        (customer, quantity, sku),
    )
    if not rows:
        return 404, {"error": "unknown sku %s" % sku}
    return 201, {"order": rows[0][0], "customer": customer, "sku": sku, "quantity": quantity}


def readiness():
    checks = {}
    for name, probe in (("cache", CACHE.ping), ("database", lambda: DB.query("SELECT 1"))):
        try:
            probe()
            checks[name] = "ok"
        except DEPENDENCY_ERRORS as e:
            log.warning("readiness: %s check failed: %s", name, exception_text(e))
            checks[name] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return (200 if ok else 503), {"status": "ready" if ok else "degraded", "dependencies": checks}


def dependency_of(e):
    return "database" if isinstance(e, psycopg2.Error) or "query to" in str(e) else "cache"


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
            body = METRICS.render().encode()
            self._send(status, body, "text/plain; version=0.0.4; charset=utf-8")
        else:
            try:
                status, payload = action()
            except DEPENDENCY_ERRORS as e:
                # What a web framework does with an exception it did not expect: log it with its traceback.
                log.exception("Exception on %s [%s]", path, method)
                timeout = is_timeout(e)
                METRICS.dependency_error(dependency_of(e), "timeout" if timeout else "error")
                status = 504 if timeout else 503
                payload = {"error": "Gateway Timeout" if timeout else "Service Unavailable"}
            except (ValueError, TypeError) as e:
                status, payload = 400, {"error": str(e)}
            except Exception as e:  # noqa: BLE001 - a bug must still answer
                log.exception("Exception on %s [%s]", path, method)
                status, payload = 500, {"error": type(e).__name__}
            body = json.dumps(payload).encode()
            self._send(status, body, "application/json")
        METRICS.observe(method, route, status, time.monotonic() - started)
        access_log.info(
            '%s - - [%s] "%s %s %s" %d %d',
            self.client_address[0],
            self.log_date_time_string(),
            method,
            self.path,
            self.request_version,
            status,
            len(body),
        )

    def _send(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.warning("client %s went away before the answer was sent", self.client_address[0])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    # As PID 1 the default SIGTERM action is ignored by the kernel; exit promptly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(("0.0.0.0", LISTEN_PORT), Handler)
    log.info("database %s, cache %s, dependency timeout %.1fs", DB_SAFE_URL, CACHE_URL, TIMEOUT)
    log.info("listening on http://0.0.0.0:%d", LISTEN_PORT)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")


if __name__ == "__main__":
    main()
