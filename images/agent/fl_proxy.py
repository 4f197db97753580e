"""TCP delaying proxy for kernels without sch_netem.

iptables REDIRECTs the scoped connections here; each listener recovers the original destination with
SO_ORIGINAL_DST, connects to it and forwards both ways, holding every chunk of a delayed direction until
arrival + delay (± jitter). Release times never go backwards, so a stream is delayed, not reordered.
Runs as the proxy uid, which the REDIRECT rules exclude so its own upstream connections pass.

argv[1]: {"listeners": [{"name", "toUpstreamMs", "toDownstreamMs", "connectDelayMs"}], "jitterMs", "drainSeconds"}
Prints "LISTENING {name: port}" once every listener is bound.
"""
import asyncio
import json
import random
import signal
import socket
import struct
import sys

SO_ORIGINAL_DST = 80
CHUNK = 65536


def original_dst(sock):
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


def delay_s(base_ms, jitter_ms):
    if base_ms <= 0:
        return 0.0
    return max(0.0, base_ms + random.uniform(-jitter_ms, jitter_ms)) / 1000.0


async def pipe(reader, writer, base_ms, jitter_ms):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def pump():
        last = 0.0
        while True:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = b""
            release = max(last, loop.time() + delay_s(base_ms, jitter_ms))
            last = release
            await queue.put((release, data))
            if not data:
                return

    async def deliver():
        while True:
            release, data = await queue.get()
            wait = release - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof() and not writer.is_closing():
                    try:
                        writer.write_eof()
                    except OSError:
                        pass
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(pump(), deliver())


class Proxy:
    def __init__(self, spec):
        self.spec = spec
        self.jitter = float(spec.get("jitterMs", 0))
        self.connections = set()

    async def handle(self, listener, client_reader, client_writer):
        task = asyncio.current_task()
        self.connections.add(task)
        upstream_writer = None
        try:
            host, port = original_dst(client_writer.get_extra_info("socket"))
            await asyncio.sleep(delay_s(float(listener.get("connectDelayMs", 0)), self.jitter))
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
            await asyncio.gather(
                pipe(client_reader, upstream_writer, float(listener.get("toUpstreamMs", 0)), self.jitter),
                pipe(upstream_reader, client_writer, float(listener.get("toDownstreamMs", 0)), self.jitter),
            )
        except (OSError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            for w in (client_writer, upstream_writer):
                if w is not None:
                    w.close()
            self.connections.discard(task)

    async def serve(self):
        servers, ports = [], {}
        for listener in self.spec["listeners"]:
            server = await asyncio.start_server(
                lambda r, w, listener=listener: self.handle(listener, r, w), "0.0.0.0", 0, backlog=512
            )
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
        # Connections already proxied get a short drain before the agent's container goes away.
        if self.connections:
            await asyncio.wait(set(self.connections), timeout=float(self.spec.get("drainSeconds", 1)))


if __name__ == "__main__":
    asyncio.run(Proxy(json.loads(sys.argv[1])).serve())
