"""HTTP/1.1-aware fault proxy: aborts or delays the requests a fault selects, passes every other byte as is.

iptables REDIRECTs the fault's connections here (inbound: PREROUTING; outbound: nat OUTPUT, this uid
excluded). Each listener recovers the original destination with SO_ORIGINAL_DST and opens one upstream
connection per client connection, so keep-alive and pipelining map one to one. Requests and responses
are parsed only for their framing (Content-Length, chunked, until close, 1xx, HEAD/204/304, CONNECT,
101 Switching Protocols) and forwarded verbatim: heads as received, chunked bodies with their chunk
lines. A request the fault does not select reaches the server exactly as the client sent it; a
selected one waits `delayMs` (± `jitterMs`) and/or is answered with `status` by the proxy. Bytes that
are not HTTP/1.x (TLS, HTTP/2, another protocol) are piped through untouched.

At SIGTERM the listeners close; an idle keep-alive connection is closed at once (clients reconnect on a
closed idle connection), one in the middle of an exchange once its response is out, all of them after
`drainSeconds` at the latest.

argv[1]: {"faultId", "listeners": [{"name"}], "select": {"methods": [..], "paths": [regex..],
          "headers": [{"name", "value": regex|null}], "percent"}, "status"?, "delayMs"?, "jitterMs"?,
          "drainSeconds"}
Prints "LISTENING {name: port}" once every listener is bound.
"""
import asyncio
import json
import random
import re
import signal
import socket
import struct
import sys

SO_ORIGINAL_DST = 80
CHUNK = 65536
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT_S = 10

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 418: "I'm a teapot", 429: "Too Many Requests",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}
# HTTP/1.x only: an HTTP/2 preface ("PRI * HTTP/2.0") is another protocol and goes through as is.
REQUEST_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) (\S+) HTTP/(1)\.(\d)$")
METHOD_PREFIX = re.compile(rb"^[A-Za-z_-]{1,24}( |$)")
STATUS_LINE = re.compile(rb"^HTTP/(\d)\.(\d) (\d{3})(?: .*)?$")


def original_dst(sock):
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


class Closed(Exception):
    """The peer closed in the middle of a message."""


class Reader:
    """A StreamReader with its own buffer, so a head can be looked at before its bytes are forwarded."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = bytearray()
        self.eof = False

    async def fill(self):
        if self.eof:
            return False
        try:
            data = await self.stream.read(CHUNK)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    async def until(self, marker, limit):
        """Bytes up to and including `marker`; None at EOF or past `limit` (the bytes stay buffered)."""
        start = 0
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                out = bytes(self.buf[: i + len(marker)])
                del self.buf[: i + len(marker)]
                return out
            if len(self.buf) > limit:
                return None
            start = max(0, len(self.buf) - len(marker) + 1)
            if not await self.fill():
                return None

    async def head(self):
        """The next message head; None at EOF, or when the bytes cannot start an HTTP/1 request (TLS,
        another protocol: they stay buffered, to be piped through). Decided on the first bytes, so a
        client that speaks and then waits for the server is never kept waiting for a head that never ends."""
        while True:
            start = self.buf.lstrip(b"\r\n")[:25]
            if start and not METHOD_PREFIX.match(start):
                return None
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                return self.take(i + 4)
            if len(self.buf) > MAX_HEAD or not await self.fill():
                return None

    def take(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def forward(self, n, writer):
        """Forwards exactly n bytes to `writer` (None: discards them)."""
        while n > 0:
            if not self.buf and not await self.fill():
                raise Closed()
            data = self.take(min(n, len(self.buf)))
            n -= len(data)
            if writer is not None:
                writer.write(data)
                await writer.drain()

    async def forward_chunked(self, writer):
        """Forwards a chunked body with its chunk lines and trailers, as received."""
        while True:
            line = await self.until(b"\r\n", 4096)
            if line is None:
                raise Closed()
            if writer is not None:
                writer.write(line)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:
                    trailer = await self.until(b"\r\n", MAX_HEAD)
                    if trailer is None:
                        raise Closed()
                    if writer is not None:
                        writer.write(trailer)
                    if trailer == b"\r\n":
                        if writer is not None:
                            await writer.drain()
                        return
            await self.forward(size + 2, writer)

    async def forward_rest(self, writer):
        """Everything until EOF."""
        while True:
            if self.buf:
                writer.write(self.take(len(self.buf)))
                await writer.drain()
            if not await self.fill():
                return


class Message:
    """A parsed head: what framing and selection need, nothing rewritten."""

    def __init__(self, first, version, headers):
        self.first = first
        self.version = version
        self.headers = headers

    def values(self, name):
        return [v for k, v in self.headers if k == name]

    def tokens(self, name):
        return {t.strip().lower() for v in self.values(name) for t in v.split(",") if t.strip()}

    def chunked(self):
        codings = [t.strip().lower() for v in self.values("transfer-encoding") for t in v.split(",")]
        return bool(codings) and codings[-1] == "chunked"

    def content_length(self):
        values = self.values("content-length")
        if not values:
            return None
        try:
            return int(values[0].split(",")[0].strip())
        except ValueError:
            return None

    def keep_alive(self):
        conn = self.tokens("connection")
        if "close" in conn:
            return False
        return self.version >= (1, 1) or "keep-alive" in conn


def parse_head(head, line_re):
    text = head.lstrip(b"\r\n")
    lines = text[:-4].split(b"\r\n")
    m = line_re.match(lines[0])
    if not m:
        return None, None
    headers = []
    for raw in lines[1:]:
        name, sep, value = raw.partition(b":")
        if not sep:
            return None, None
        headers.append((name.strip().decode("latin-1").lower(), value.strip().decode("latin-1")))
    return m, headers


def parse_request(head):
    m, headers = parse_head(head, REQUEST_LINE)
    if m is None:
        return None
    req = Message(m, (int(m.group(3)), int(m.group(4))), headers)
    req.method = m.group(1).decode("latin-1").upper()
    target = m.group(2).decode("latin-1")
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    req.path = target.split("?", 1)[0]
    return req


def parse_response(head):
    m, headers = parse_head(head, STATUS_LINE)
    if m is None:
        return None
    resp = Message(m, (int(m.group(1)), int(m.group(2))), headers)
    resp.status = int(m.group(3))
    return resp


class Selector:
    def __init__(self, spec):
        select = spec.get("select", {})
        self.methods = {m.upper() for m in select.get("methods", [])}
        self.paths = [re.compile(p) for p in select.get("paths", [])]
        self.headers = [
            (h["name"].lower(), re.compile(h["value"]) if h.get("value") is not None else None)
            for h in select.get("headers", [])
        ]
        self.percent = float(select.get("percent", 100))

    def __call__(self, req):
        if self.methods and req.method not in self.methods:
            return False
        if self.paths and not any(p.fullmatch(req.path) for p in self.paths):
            return False
        for name, value in self.headers:
            values = req.values(name)
            if not values or (value is not None and not any(value.fullmatch(v) for v in values)):
                return False
        return self.percent >= 100 or random.random() * 100 < self.percent


class Exchange:
    """What the upstream side needs to know about a forwarded request, or a synthetic answer to send."""

    def __init__(self, req=None, answer=None, close_after=False):
        self.req = req
        self.answer = answer
        self.close_after = close_after
        self.verdict = None  # set for an upgrade/CONNECT: tunnel or not


class Connection:
    def __init__(self, proxy, client_reader, client_writer):
        self.proxy = proxy
        self.client = Reader(client_reader)
        self.client_writer = client_writer
        self.upstream = None
        self.upstream_writer = None
        self.queue = []  # exchanges in request order whose answers are not out yet
        self.wakeup = asyncio.Event()
        self.idle = True
        self.stopping = False
        self.closed = False

    # ------------------------------------------------------------------ life cycle
    async def run(self):
        sock = self.client_writer.get_extra_info("socket")
        host, port = original_dst(sock)
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            return
        self.upstream, self.upstream_writer = Reader(r), w
        requests = asyncio.ensure_future(self.requests())
        responses = asyncio.ensure_future(self.responses())
        try:
            await responses
        finally:
            requests.cancel()
            await asyncio.gather(requests, return_exceptions=True)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for w in (self.client_writer, self.upstream_writer):
            if w is not None:
                w.close()
        self.wakeup.set()

    def stop(self):
        """Revert: close now if idle, else after the exchange in progress."""
        self.stopping = True
        if self.idle and not self.queue and not self.client.buf:
            self.close()

    # ------------------------------------------------------------------ client -> upstream
    async def requests(self):
        try:
            while not self.closed:
                self.idle = not self.queue
                if self.stopping and self.idle and not self.client.buf:
                    self.close()
                    return
                head = await self.client.head()
                self.idle = False
                if head is None:
                    if self.client.buf:
                        # Not HTTP (or a head too large to be one): the rest goes through as it is.
                        await self.tunnel_client()
                    elif self.upstream_writer.can_write_eof() and not self.closed:
                        self.upstream_writer.write_eof()  # the client half-closed: so does the proxy
                    return
                req = parse_request(head)
                if req is None:
                    self.upstream_writer.write(head)
                    await self.tunnel_client()
                    return
                if not await self.request(head, req):
                    return
        except Exception:  # noqa: BLE001 - a malformed message or a reset ends this connection only
            self.close()

    async def request(self, head, req):
        """Handles one request; False when no further request may follow on this connection."""
        proxy = self.proxy
        selected = proxy.select(req)
        if selected and proxy.delay_ms > 0:
            await asyncio.sleep(proxy.delay_s())
        expects_body = req.chunked() or (req.content_length() or 0) > 0
        if selected and proxy.status is not None:
            proxy.counts["aborted"] += 1
            # A client waiting for 100-continue has not sent its body: answer and close, never read it.
            waiting = "100-continue" in req.tokens("expect") and expects_body
            if not waiting:
                await self.body(req, None)
            keep = req.keep_alive() and not waiting and not self.stopping
            self.answer(Exchange(answer=proxy.abort_response(req, keep), close_after=not keep))
            return keep
        proxy.counts["delayed" if selected else "passed"] += 1
        exchange = Exchange(req=req, close_after=not req.keep_alive())
        self.queue.append(exchange)
        self.wakeup.set()
        self.upstream_writer.write(head)
        await self.body(req, self.upstream_writer)
        if req.method == "CONNECT" or req.values("upgrade"):
            # Whatever follows is another protocol if the server agrees: wait for its answer.
            exchange.verdict = asyncio.get_running_loop().create_future()
            if await exchange.verdict:
                await self.tunnel_client()
                return False
        return not exchange.close_after

    async def body(self, req, writer):
        if req.chunked():
            await self.client.forward_chunked(writer)
        else:
            await self.client.forward(req.content_length() or 0, writer)

    def answer(self, exchange):
        """A synthetic answer goes out in order: at once if nothing is pending, else after what is."""
        self.queue.append(exchange)
        self.wakeup.set()

    async def tunnel_client(self):
        await self.client.forward_rest(self.upstream_writer)
        if self.upstream_writer.can_write_eof() and not self.closed:
            self.upstream_writer.write_eof()

    # ------------------------------------------------------------------ upstream -> client
    async def responses(self):
        try:
            while not self.closed:
                if not self.queue:
                    self.wakeup.clear()
                    # Idle: the server closing (or talking unasked, e.g. a 408) must reach the client now.
                    waiter = asyncio.ensure_future(self.wakeup.wait())
                    filler = asyncio.ensure_future(self.upstream.fill()) if not self.upstream.buf else None
                    pending = {waiter} | ({filler} if filler else set())
                    done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    if filler is not None and filler not in done:
                        filler.cancel()
                        await asyncio.gather(filler, return_exceptions=True)
                    if not self.queue:
                        if self.upstream.buf or self.upstream.eof:
                            await self.upstream.forward_rest(self.client_writer)
                            self.close()
                            return
                        continue
                exchange = self.queue[0]
                if exchange.answer is not None:
                    self.client_writer.write(exchange.answer)
                    await self.client_writer.drain()
                else:
                    tunnel = await self.response(exchange)
                    if tunnel:
                        self.queue.pop(0)
                        await self.upstream.forward_rest(self.client_writer)
                        self.close()
                        return
                self.queue.pop(0)
                if exchange.close_after or (self.stopping and not self.queue):
                    self.close()
                    return
        except Exception:  # noqa: BLE001
            self.close()

    async def response(self, exchange):
        """Forwards interim responses and the final one; True when the connection becomes a tunnel."""
        req = exchange.req
        while True:
            head = await self.upstream.until(b"\r\n\r\n", MAX_HEAD)
            if head is None:
                if self.upstream.buf:
                    await self.upstream.forward_rest(self.client_writer)
                raise Closed()
            resp = parse_response(head)
            self.client_writer.write(head)
            if resp is None:
                await self.upstream.forward_rest(self.client_writer)
                raise Closed()
            if resp.status == 101 or (req.method == "CONNECT" and 200 <= resp.status < 300):
                await self.client_writer.drain()
                if exchange.verdict is not None and not exchange.verdict.done():
                    exchange.verdict.set_result(True)
                return True
            if 100 <= resp.status < 200:
                await self.client_writer.drain()
                continue
            break
        if exchange.verdict is not None and not exchange.verdict.done():
            exchange.verdict.set_result(False)
        if req.method == "HEAD" or resp.status in (204, 304):
            pass
        elif resp.chunked():
            await self.upstream.forward_chunked(self.client_writer)
        elif resp.content_length() is not None:
            await self.upstream.forward(resp.content_length(), self.client_writer)
        else:
            await self.upstream.forward_rest(self.client_writer)
            exchange.close_after = True
            return False
        await self.client_writer.drain()
        if not resp.keep_alive():
            exchange.close_after = True
        return False


class Proxy:
    def __init__(self, spec):
        self.spec = spec
        self.fault_id = spec.get("faultId", "faultline")
        self.select = Selector(spec)
        self.status = spec.get("status")
        self.delay_ms = float(spec.get("delayMs", 0) or 0)
        self.jitter_ms = float(spec.get("jitterMs", 0) or 0)
        self.connections = set()
        self.counts = {"passed": 0, "delayed": 0, "aborted": 0}

    def delay_s(self):
        return max(0.0, self.delay_ms + random.uniform(-self.jitter_ms, self.jitter_ms)) / 1000.0

    def abort_response(self, req, keep):
        status = int(self.status)
        reason = REASONS.get(status, "Fault Injected")
        body = b"" if status in (204, 304) or req.method == "HEAD" else (
            "faultline: %d injected by fault %s\n" % (status, self.fault_id)
        ).encode()
        length = "" if status in (204, 304) else "Content-Length: %d\r\n" % len(body)
        head = (
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n%sX-Faultline-Fault: %s\r\n"
            "Connection: %s\r\n\r\n" % (status, reason, length, self.fault_id, "keep-alive" if keep else "close")
        )
        return head.encode("latin-1") + body

    async def handle(self, reader, writer):
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        except Exception:  # noqa: BLE001 - one broken connection must never take the proxy down
            pass
        finally:
            conn.close()
            self.connections.discard(conn)

    async def serve(self):
        servers, ports = [], {}
        for listener in self.spec["listeners"]:
            server = await asyncio.start_server(self.handle, "0.0.0.0", 0, backlog=512)
            servers.append(server)
            ports[listener["name"]] = server.sockets[0].getsockname()[1]
        sys.stdout.write("LISTENING " + json.dumps(ports) + "\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, stop.set)
        await stop.wait()
        for server in servers:
            server.close()
        for conn in list(self.connections):
            conn.stop()
        deadline = loop.time() + float(self.spec.get("drainSeconds", 2))
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.close()
        sys.stdout.write("COUNTS " + json.dumps(self.counts) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(Proxy(json.loads(sys.argv[1])).serve())
