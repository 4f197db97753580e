"""DNS fault responder: answers the queries a dns fault's REDIRECT rules send here with NXDOMAIN or SERVFAIL.

The rules pick a query by its first packet (iptables string match on the name), so one UDP flow that a
resolver reuses for several names can bring others here too: those are relayed to the nameserver the
target uses and its answer is passed back unchanged. Names match as in the rules: a query matches a name
when the name's labels appear in it in order ("db" matches db, db.internal and api.db.example).

argv[1]: {"listeners": [{"name"}], "rcode": "nxdomain"|"servfail", "names": [..], "upstream": [ip..]}
Prints "LISTENING {name: port}" once bound, and "COUNTS {...}" at exit.
"""
import asyncio
import json
import signal
import socket
import struct
import sys

RCODES = {"nxdomain": 3, "servfail": 2}
RELAY_TIMEOUT_S = 3


def question(packet):
    """(labels, end offset of the question) of a query, or None if it is not one."""
    if len(packet) < 12:
        return None
    flags, qdcount = struct.unpack_from("!HH", packet, 2)
    if flags & 0x8000 or qdcount < 1:
        return None
    labels, i = [], 12
    while i < len(packet):
        n = packet[i]
        if n == 0:
            end = i + 5
            return (labels, end) if end <= len(packet) else None
        if n & 0xC0:
            return None  # compression has no place in a query's first name
        labels.append(packet[i + 1 : i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return None


def matches(labels, names):
    if not names:
        return True
    for name in names:
        want = name.split(".")
        for start in range(len(labels) - len(want) + 1):
            if labels[start : start + len(want)] == want:
                return True
    return False


def answer(packet, end, rcode):
    """A response to the query with `rcode`: its id and question, recursion available, nothing else."""
    qid, flags = struct.unpack_from("!HH", packet, 0)
    opcode_rd = flags & 0x7900  # opcode and RD, as asked
    header = struct.pack("!HHHHHH", qid, 0x8000 | opcode_rd | 0x0080 | rcode, 1, 0, 0, 0)
    return header + packet[12:end]


class Responder(asyncio.DatagramProtocol):
    def __init__(self, spec):
        self.rcode = RCODES[spec["rcode"]]
        self.names = [n.lower().rstrip(".") for n in spec.get("names", [])]
        self.upstream = (spec.get("upstream") or ["127.0.0.11"])[0]
        self.counts = {"answered": 0, "relayed": 0}
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        q = question(data)
        if q is None:
            return
        labels, end = q
        if matches(labels, self.names):
            self.counts["answered"] += 1
            self.transport.sendto(answer(data, end, self.rcode), addr)
        else:
            self.counts["relayed"] += 1
            asyncio.ensure_future(self.relay(data, addr))

    async def relay(self, data, addr):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            await loop.sock_connect(s, (self.upstream, 53))
            await loop.sock_sendall(s, data)
            reply = await asyncio.wait_for(loop.sock_recv(s, 65535), RELAY_TIMEOUT_S)
            self.transport.sendto(reply, addr)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            s.close()


async def serve(spec):
    loop = asyncio.get_running_loop()
    responder = Responder(spec)
    transport, _ = await loop.create_datagram_endpoint(lambda: responder, local_addr=("0.0.0.0", 0))
    port = transport.get_extra_info("sockname")[1]
    sys.stdout.write("LISTENING " + json.dumps({l["name"]: port for l in spec["listeners"]}) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    transport.close()
    sys.stdout.write("COUNTS " + json.dumps(responder.counts) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
