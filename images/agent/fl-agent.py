#!/usr/bin/env python3
"""faultline's network agent: runs inside a target's network namespace and is the fault's dead-man switch.

  fl-agent run SPEC_JSON      apply the rules, print FAULTLINE-READY, wait for the deadline or SIGTERM,
                              revert the rules, print FAULTLINE-REVERTED
  fl-agent cleanup SPEC_JSON  best-effort revert of a fault whose agent died (revert commands + sweep by
                              the fault's marks)
  fl-agent sweep MARKS_JSON   removes everything carrying faultline's marks (no journal needed)
  fl-agent release-ingress DEV IFB
                              deletes DEV's ingress qdisc if its filter redirects to IFB (a revert step)
  fl-agent release-root DEV HANDLE
                              deletes DEV's root qdisc if it has HANDLE ("fa1a:") and no running agent
                              claims HANDLE on DEV (a revert step)
  fl-agent show               rules in this namespace (iptables both backends, tc, links), for verification
  fl-agent caps               which kernel features work here (netem, tbf, htb, ifb, iptables matches)

SPEC_JSON: {"faultId", "deadlineMs", "marks", "apply": [[argv...]], "revert": [[argv...]], "proxy"?: {...},
            "resetFlows"?: {"method", "commands": [[argv...]]}, "httpPorts"?: {...},
            "tcClaim"?: {"handle": "fa1a", "devices": ["eth0"], "range": ["fa00", "faff"]}}:
            after the rules are in place, resetFlows commands reset established flows in scope so they
            reconnect through the delay proxy. tcClaim: the handle of the root qdiscs the plan adds on
            shared devices; the agent claims it for its lifetime (an abstract unix socket, which lives in the
            network namespace and dies with the agent) or, when another fault holds it or a qdisc uses it,
            draws a free one from the range and rewrites apply and revert (READY reports it).
            proxy: started as the proxy uid before the rules; its "mode" picks the program: "delay" (the
            default: the delaying TCP proxy), "http" (the HTTP fault proxy), "dns" (the DNS responder).
            httpPorts: {"ports": [..], "detect"?: {"hosts": [..], "candidates": [..]}}: the HTTP ports a
            command naming "{httpPort}" is repeated for. With no ports given they are detected before
            anything is applied: the listening TCP ports of this namespace that answer HTTP (no hosts), or
            those of `candidates` (and of the connections this namespace has open to them) on which every
            one of `hosts` answers HTTP. READY reports them.
MARKS_JSON: regular expressions naming what is faultline's: {"comment", "chain", "ifb", "tcHandle"?,
            "ingressPrio"?} (iptables comments and chains, ifb devices, root qdisc handles, ingress filters).
Commands naming "iptables"/"iptables-save" run with the backend that holds Docker's own rules in this
namespace, so faultline's rules sit in the same tables as Docker's (mixing backends reorders NAT).
"""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

LIB = "/usr/local/lib/faultline/"
PROXY_SCRIPTS = {"delay": LIB + "fl_proxy.py", "http": LIB + "fl_http.py", "dns": LIB + "fl_dns.py"}
PROXY_UID = 4717
FAILED_LINGER_S = 30


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def sh(argv, timeout=10):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, str(e)


def iptables_backend():
    """The backend Docker used in this namespace (it holds DOCKER_OUTPUT); nft when neither does."""
    for backend in ("nft", "legacy"):
        code, out = sh(["iptables-%s-save" % backend, "-t", "nat"])
        if code == 0 and "DOCKER_OUTPUT" in out:
            return backend
    forced = os.environ.get("FAULTLINE_IPTABLES")
    return forced if forced in ("nft", "legacy") else "nft"


def resolve(argv, backend, proxy_ports):
    if argv and argv[0] in ("iptables", "iptables-save"):
        argv = [argv[0] + "-" + backend] + argv[1:]
    out = []
    for a in argv:
        for name, port in proxy_ports.items():
            a = a.replace("{%s}" % name, str(port))
        out.append(a)
    return out


HTTP_PORT = "{httpPort}"


def expand(cmds, http_ports):
    """Each command naming {httpPort} once per HTTP port; the others as they are."""
    out = []
    for c in cmds:
        if any(HTTP_PORT in a for a in c):
            out.extend([a.replace(HTTP_PORT, str(p)) for a in c] for p in http_ports)
        else:
            out.append(c)
    return out


HTTP_PROBE = b"OPTIONS * HTTP/1.1\r\nHost: faultline\r\nUser-Agent: faultline-agent\r\nConnection: close\r\n\r\n"


def answers_http(host, port, timeout=1.5):
    """Whether host:port answers an `OPTIONS *` with an HTTP status line (any status)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(HTTP_PROBE)
            got = b""
            while len(got) < 5:
                data = s.recv(5 - len(got))
                if not data:
                    break
                got += data
            return got == b"HTTP/"
    except OSError:
        return False


def listening_tcp():
    """(address to reach it by, port) of every TCP listener of this namespace others can reach."""
    code, out = sh(["ss", "-ltnH"])
    found = {}
    for line in out.splitlines() if code == 0 else []:
        cols = line.split()
        if len(cols) < 4:
            continue
        addr, _, port = cols[3].rpartition(":")
        addr = addr.strip("[]").split("%")[0]
        if not port.isdigit() or addr.startswith("127.") or addr == "::1":
            continue
        reach = "127.0.0.1" if addr in ("0.0.0.0", "*", "::") else addr
        if ":" not in reach:
            found.setdefault(int(port), reach)
    return sorted((a, p) for p, a in found.items())


def connected_ports(hosts):
    """Remote ports of the TCP connections open from this namespace to any of `hosts`."""
    code, out = sh(["ss", "-tnH", "state", "established"])
    ports = set()
    for line in out.splitlines() if code == 0 else []:
        cols = line.split()
        if len(cols) >= 4:
            addr, _, port = cols[-1].rpartition(":")
            if addr.strip("[]") in hosts and port.isdigit():
                ports.add(int(port))
    return ports


def probe_all(pairs):
    results = {}

    def one(pair):
        results[pair] = answers_http(*pair)

    threads = [threading.Thread(target=one, args=(p,)) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def detect_http_ports(detect):
    hosts = detect.get("hosts") or []
    if not hosts:
        results = probe_all(listening_tcp())
        return sorted({port for (_, port), ok in results.items() if ok})
    candidates = set(detect.get("candidates") or []) | connected_ports(set(hosts))
    results = probe_all([(h, p) for h in hosts for p in sorted(candidates)])
    return sorted(p for p in candidates if all(results.get((h, p)) for h in hosts))


def http_ports_of(spec):
    """The HTTP ports the spec's {httpPort} commands are for (detected when not given); [] if none."""
    hp = spec.get("httpPorts")
    if not hp:
        return None
    if hp.get("ports"):
        return list(hp["ports"])
    detect = hp.get("detect") or {}
    ports = detect_http_ports(detect)
    if not ports:
        where = ("on %s (tried ports %s and those it is connected to)" % (
            ",".join(detect["hosts"]), ",".join(str(p) for p in sorted(detect.get("candidates") or [])) or "none"
        )) if detect.get("hosts") else "listening in this namespace"
        raise RuntimeError("no port answering HTTP %s: name the port" % where)
    return ports


def nameservers():
    """The resolvers this namespace's resolv.conf names (shared with the target's container)."""
    try:
        with open("/etc/resolv.conf") as f:
            return [l.split()[1] for l in f if l.startswith("nameserver") and len(l.split()) > 1]
    except OSError:
        return []


def run_all(cmds, backend, proxy_ports, stop_on_error, held=None):
    """Runs cmds; `held` are the tc handle claims this agent holds (release-root runs in-process with them)."""
    errors = []
    for c in cmds:
        argv = resolve(c, backend, proxy_ports)
        if argv[:2] == ["fl-agent", "release-root"] and len(argv) == 4:
            code, out = release_root(argv[2], argv[3], held or {})
        else:
            code, out = sh(argv)
        if code != 0:
            errors.append("%s -> %s" % (" ".join(argv), out or "exit %d" % code))
            if stop_on_error:
                break
    return errors


CLAIM_PREFIX = "faultline-tc-root:"


def claim(dev, handle):
    """Claims tc `handle` ("fa1a" or "fa1a:") on `dev` for this process: binds an abstract unix socket, which
    is scoped to the network namespace and released when the process dies, however it dies. None if a live
    process holds the claim."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind("\0%s%s:%s" % (CLAIM_PREFIX, dev, handle.rstrip(":")))
        return s
    except OSError:
        s.close()
        return None


def qdisc_handles(dev):
    return {q.get("handle", "") for q in tc_json(["tc", "-j", "qdisc", "show", "dev", dev])}


def claim_tc_handle(tc):
    """Claims tc["handle"] on all tc["devices"] or, if a running agent claims it or a qdisc there uses it, the
    next free handle of tc["range"]. Returns (handle, {(dev, handle): socket})."""
    lo, hi = int(tc["range"][0], 16), int(tc["range"][1], 16)
    first, size = int(tc["handle"], 16), hi - lo + 1
    for i in range(size):
        handle = "%x" % (lo + (first - lo + i) % size)
        held = {}
        for dev in tc["devices"]:
            s = claim(dev, handle)
            if s is None:
                break
            held[(dev, handle)] = s
        # Checked once claimed: any agent adding a qdisc with this handle now has to claim it first.
        if len(held) == len(tc["devices"]) and not any(
            handle + ":" in qdisc_handles(dev) for dev in tc["devices"]
        ):
            return handle, held
        for s in held.values():
            s.close()
    raise RuntimeError("no free tc handle in %s-%s on %s" % (tc["range"][0], tc["range"][1], ",".join(tc["devices"])))


def rehandle(cmds, old, new):
    """The commands with tc handle `old` ("fa1a") replaced by `new` in every handle or class id argument."""
    prefix = old + ":"
    return [[new + a[len(old):] if a.startswith(prefix) else a for a in c] for c in cmds]


def release_root(dev, handle, held):
    """Deletes dev's root qdisc if it has `handle` and no other live agent claims that handle on dev: a fault
    whose apply failed (or a replay of it) never removes the root another fault holds with the same handle."""
    handle = handle if handle.endswith(":") else handle + ":"
    key = (dev, handle[:-1])
    mine = None
    if key not in held:
        mine = claim(dev, handle)
        if mine is None:
            return 0, "root %s on %s is claimed by a running fault: left alone" % (handle, dev)
    try:
        roots = [q for q in tc_json(["tc", "-j", "qdisc", "show", "dev", dev]) if q.get("root")]
        if not any(q.get("handle") == handle for q in roots):
            return 0, "no root qdisc %s on %s: nothing to release" % (handle, dev)
        return sh(["tc", "qdisc", "del", "dev", dev, "root", "handle", handle])
    finally:
        if mine is not None:
            mine.close()


def note(code, what, out, removed, leftovers):
    if code == 0:
        removed.append(what)
    else:
        leftovers.append("%s: %s" % (what, out or "exit %d" % code))


def comment_of(args):
    """The --comment of an iptables-save rule (already split), or None."""
    for i, a in enumerate(args[:-1]):
        if a == "--comment":
            return args[i + 1]
    return None


def sweep_iptables(marks, backend, removed, leftovers):
    """In both backends: deletes the rules whose comment matches marks["comment"] (the hooks into the
    built-in chains), then flushes and deletes every chain named like marks["chain"]."""
    comment_re, chain_re = re.compile(marks["comment"]), re.compile(marks["chain"])
    for b in dict.fromkeys([backend, "nft", "legacy"]):
        code, dump = sh(["iptables-%s-save" % b])
        if code != 0:
            continue
        table = None
        hooks, chains = [], []
        for line in dump.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":"):
                name = line[1:].split()[0]
                if chain_re.search(name):
                    chains.append((table, name))
            elif line.startswith("-A "):
                args = shlex.split(line[3:])
                comment = comment_of(args)
                # Rules inside faultline's chains go with their chain.
                if comment and comment_re.search(comment) and not chain_re.search(args[0]):
                    hooks.append((table, args))
        for table, args in hooks:
            # iptables-save prints rules in a form iptables accepts back with -A -> -D.
            code, out = sh(["iptables-%s" % b, "-t", table, "-D"] + args)
            note(code, "iptables-%s -t %s -D %s" % (b, table, " ".join(args)), out, removed, leftovers)
        # Flush them all first: one may still jump (goto) to another.
        for table, chain in chains:
            sh(["iptables-%s" % b, "-t", table, "-F", chain])
        for table, chain in chains:
            code, out = sh(["iptables-%s" % b, "-t", table, "-X", chain])
            note(code, "iptables-%s -t %s -X %s" % (b, table, chain), out, removed, leftovers)


def tc_json(argv):
    code, out = sh(argv)
    if code != 0 or not out.strip():
        return []
    try:
        return json.loads(out)
    except ValueError:
        return []


def sweep_tc(marks, removed, leftovers):
    """Root qdiscs with a handle like marks["tcHandle"], ingress filters at marks["ingressPrio"] (and the
    ingress qdisc once nothing else is in it), then ifb devices named like marks["ifb"]."""
    ifb_re = re.compile(marks["ifb"])
    ifbs = [l.get("ifname", "") for l in tc_json(["ip", "-j", "link", "show"])]
    ifbs = [n for n in ifbs if ifb_re.search(n)]
    handle = marks.get("tcHandle")
    prio = marks.get("ingressPrio")

    def run(argv):
        code, out = sh(argv)
        note(code, " ".join(argv), out, removed, leftovers)

    for q in tc_json(["tc", "-j", "qdisc", "show"]) if (handle or prio is not None) else []:
        dev = q.get("dev", "")
        if ifb_re.search(dev):
            continue  # goes with its device
        if handle and q.get("root") and re.search(handle, q.get("handle", "")):
            run(["tc", "qdisc", "del", "dev", dev, "root", "handle", q["handle"]])
        if prio is not None and q.get("kind") == "ingress":
            listing = ["tc", "-j", "filter", "show", "dev", dev, "parent", "ffff:"]
            ours = [f for f in tc_json(listing) if f.get("pref") == prio]
            for proto in dict.fromkeys(f.get("protocol", "ip") for f in ours):
                run(["tc", "filter", "del", "dev", dev, "parent", "ffff:", "protocol", proto, "prio", str(prio)])
            # faultline never shares an ingress qdisc (adding one fails when it exists): once its filters
            # are gone an empty one is faultline's too (also when the agent died before adding the filter).
            if (ours or ifbs) and not tc_json(listing):
                run(["tc", "qdisc", "del", "dev", dev, "ingress"])
    for name in ifbs:
        run(["ip", "link", "del", name])


def sweep(marks, backend):
    """Removes everything in this namespace carrying the marks; returns (removed, leftovers)."""
    removed, leftovers = [], []
    sweep_iptables(marks, backend, removed, leftovers)
    sweep_tc(marks, removed, leftovers)
    return removed, leftovers


def cmd_show():
    for b in ("nft", "legacy"):
        code, out = sh(["iptables-%s-save" % b])
        say("### iptables-%s" % b)
        say(out if code == 0 else "(unavailable: %s)" % out)
    for what in (["tc", "qdisc", "show"], ["tc", "class", "show", "dev", "eth0"], ["tc", "filter", "show", "dev", "eth0"], ["ip", "-o", "link"]):
        code, out = sh(what)
        say("### " + " ".join(what))
        say(out)
    return 0


def cmd_caps():
    caps = {}
    code, _ = sh(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "fe01:", "netem", "delay", "1ms"])
    caps["netem"] = code == 0
    sh(["tc", "qdisc", "del", "dev", "lo", "root", "handle", "fe01:"])
    code, _ = sh(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "fe02:", "tbf", "rate", "1mbit", "burst", "32kb", "latency", "50ms"])
    caps["tbf"] = code == 0
    sh(["tc", "qdisc", "del", "dev", "lo", "root", "handle", "fe02:"])
    code, _ = sh(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "fe03:", "htb", "default", "0"])
    caps["htb"] = code == 0
    sh(["tc", "qdisc", "del", "dev", "lo", "root", "handle", "fe03:"])
    code, _ = sh(["ip", "link", "add", "flcaps0", "type", "ifb"])
    caps["ifb"] = code == 0
    sh(["ip", "link", "del", "flcaps0"])
    backend = iptables_backend()
    ipt = "iptables-" + backend
    caps["iptablesBackend"] = backend
    probes = {
        "statistic": ["-m", "statistic", "--mode", "random", "--probability", "0.5"],
        "owner": ["-m", "owner", "!", "--uid-owner", str(PROXY_UID)],
        "string": ["-m", "string", "--algo", "bm", "--icase", "--hex-string", "|02|db|"],
        "conntrack": ["-m", "conntrack", "--ctorigdstport", "53"],
    }
    sh([ipt, "-N", "FL-caps"])
    for name, match in probes.items():
        code, _ = sh([ipt, "-A", "FL-caps"] + match + ["-j", "RETURN"])
        caps[name] = code == 0
    code, _ = sh([ipt, "-t", "nat", "-N", "FL-caps"])
    code2, _ = sh([ipt, "-t", "nat", "-A", "FL-caps", "-p", "tcp", "-j", "REDIRECT", "--to-ports", "1"])
    caps["redirect"] = code == 0 and code2 == 0
    for table in ("filter", "nat"):
        sh([ipt, "-t", table, "-F", "FL-caps"])
        sh([ipt, "-t", table, "-X", "FL-caps"])
    caps["sockDestroy"] = probe_sock_destroy()
    code, _ = sh(["conntrack", "-L", "-p", "tcp"])
    caps["conntrackDelete"] = code == 0
    say(json.dumps(caps))
    return 0


def probe_sock_destroy():
    """Whether `ss -K` really aborts an established loopback connection (needs INET_DIAG_DESTROY)."""
    import socket

    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=2)
        server, _ = listener.accept()
        sh(["ss", "-K", "-t", "-n", "-H", "state", "established", "(", "sport", "=", ":%d" % port, ")"])
        server.settimeout(1)
        try:
            server.recv(1)
            return False
        except OSError:
            return True
        finally:
            client.close()
            server.close()
    except OSError:
        return False
    finally:
        listener.close()


def reset_flows(spec, backend, ports):
    """Resets established flows in scope (best effort): returns a summary for the READY line."""
    reset = spec.get("resetFlows")
    if not reset:
        return None
    errors, count = [], 0
    for c in reset["commands"]:
        argv = resolve(c, backend, ports)
        code, out = sh(argv)
        if reset["method"] == "sock-destroy":
            # ss prints every socket it destroyed; it exits 0 even when nothing matched.
            count += len([l for l in out.splitlines() if l.strip()]) if code == 0 else 0
        elif code == 0 or "0 flow entries" in out:
            m = [w for w in out.split() if w.isdigit()]
            count += int(m[0]) if m else 0
            code = 0
        if code != 0:
            errors.append("%s -> %s" % (" ".join(argv), out or "exit %d" % code))
    return {"method": reset["method"], "count": count, "errors": errors}


class Stopper:
    def __init__(self):
        self.event = threading.Event()
        self.reason = "deadline"

    def on_signal(self, signum, _frame):
        self.reason = signal.Signals(signum).name
        self.event.set()


class ProxyOutput:
    """Drains the proxy's stdout so it never blocks on a full pipe; keeps its last COUNTS line."""

    def __init__(self, stream):
        self.counts = None
        self.thread = threading.Thread(target=self.drain, args=(stream,), daemon=True)
        self.thread.start()

    def drain(self, stream):
        for line in stream:
            if line.startswith("COUNTS "):
                try:
                    self.counts = json.loads(line[len("COUNTS "):])
                except ValueError:
                    pass


def start_proxy(spec):
    spec = dict(spec)
    if spec.get("mode") == "dns" and not spec.get("upstream"):
        spec["upstream"] = nameservers()
    proxy = subprocess.Popen(
        ["python3", PROXY_SCRIPTS[spec.get("mode", "delay")], json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        user=PROXY_UID,
        group=PROXY_UID,
    )
    ports = {}
    deadline = time.time() + 5
    while time.time() < deadline:
        line = proxy.stdout.readline()
        if not line:
            break
        if line.startswith("LISTENING "):
            ports = json.loads(line[len("LISTENING "):])
            break
    if not ports:
        proxy.kill()
        raise RuntimeError("%s proxy did not start (exit %s)" % (spec.get("mode", "delay"), proxy.poll()))
    proxy.output = ProxyOutput(proxy.stdout)
    return proxy, ports


def stop_proxy(proxy, drain_s):
    if proxy is None or proxy.poll() is not None:
        return
    proxy.send_signal(signal.SIGTERM)
    try:
        proxy.wait(timeout=drain_s + 2)
    except subprocess.TimeoutExpired:
        proxy.kill()
    # Its last lines (COUNTS) are read before the verdict is printed.
    proxy.output.thread.join(1)


def cmd_run(spec):
    stopper = Stopper()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stopper.on_signal)
    backend = iptables_backend()
    proxy, ports = None, {}
    # Held until the agent exits: while it runs, no other fault's agent draws (or releases) its handle.
    claims, rehandled, http_ports = {}, None, None
    try:
        tc = spec.get("tcClaim")
        if tc:
            handle, claims = claim_tc_handle(tc)
            if handle != tc["handle"]:
                spec["apply"] = rehandle(spec["apply"], tc["handle"], handle)
                spec["revert"] = rehandle(spec["revert"], tc["handle"], handle)
                rehandled = {"handle": handle, "revert": spec["revert"]}
        http_ports = http_ports_of(spec)
        if http_ports is not None:
            spec["apply"] = expand(spec["apply"], http_ports)
            if spec.get("resetFlows"):
                spec["resetFlows"]["commands"] = expand(spec["resetFlows"]["commands"], http_ports)
        if spec.get("proxy"):
            proxy, ports = start_proxy(spec["proxy"])
        errors = run_all(spec["apply"], backend, ports, stop_on_error=True)
    except Exception as e:  # noqa: BLE001 - any failure must still revert
        errors = [str(e)]
    if errors:
        # release-root only deletes a root with this fault's handle, which no other live agent can hold.
        run_all(spec["revert"], backend, ports, stop_on_error=False, held=claims)
        sweep(spec["marks"], backend)
        stop_proxy(proxy, 0)
        say("FAULTLINE-FAILED " + json.dumps({"errors": errors}))
        # Linger so faultline can read this line before the container is removed.
        stopper.event.wait(FAILED_LINGER_S)
        return 3
    reset = reset_flows(spec, backend, ports)
    ready = {"backend": backend, "ports": ports, "reset": reset, "rehandled": rehandled}
    if http_ports is not None:
        ready["httpPorts"] = http_ports
    say("FAULTLINE-READY " + json.dumps(ready))
    remaining = spec["deadlineMs"] / 1000.0 - time.time()
    while not stopper.event.is_set() and remaining > 0:
        stopper.event.wait(min(remaining, 1.0))
        if proxy is not None and proxy.poll() is not None:
            stopper.reason = "proxy-exited"
            break
        remaining = spec["deadlineMs"] / 1000.0 - time.time()
    # Rules first: new connections stop being redirected before the proxy goes away.
    errors = run_all(spec["revert"], backend, ports, stop_on_error=False, held=claims)
    _, leftovers = sweep(spec["marks"], backend)
    stop_proxy(proxy, spec.get("proxy", {}).get("drainSeconds", 1) if proxy else 0)
    verdict = {"reason": stopper.reason, "errors": errors, "leftovers": leftovers}
    if proxy is not None and proxy.output.counts is not None:
        verdict["counts"] = proxy.output.counts
    say("FAULTLINE-REVERTED " + json.dumps(verdict))
    return 0 if not leftovers else 4


def cmd_cleanup(spec):
    backend = iptables_backend()
    errors = run_all(spec.get("revert", []), backend, spec.get("ports", {}), stop_on_error=False)
    _, leftovers = sweep(spec["marks"], backend)
    say("FAULTLINE-CLEANED " + json.dumps({"errors": errors, "leftovers": leftovers}))
    return 0 if not leftovers else 4


def cmd_release_ingress(dev, ifb):
    """Deletes dev's ingress qdisc when its filter redirects to `ifb` (the reverting fault's own); an
    ingress qdisc of anything else stays."""
    filters = tc_json(["tc", "-j", "filter", "show", "dev", dev, "parent", "ffff:"])
    actions = [a for f in filters for a in (f.get("options") or {}).get("actions", [])]
    if not any(a.get("kind") == "mirred" and a.get("to_dev") == ifb for a in actions):
        say("no ingress redirect to %s on %s: nothing to release" % (ifb, dev))
        return 0
    code, out = sh(["tc", "qdisc", "del", "dev", dev, "ingress"])
    if code != 0:
        say(out)
    return code


def cmd_sweep(marks):
    removed, leftovers = sweep(marks, iptables_backend())
    say("FAULTLINE-SWEPT " + json.dumps({"removed": removed, "leftovers": leftovers}))
    return 0 if not leftovers else 4


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        say(__doc__)
        return 0
    mode = argv[1]
    if mode == "show":
        return cmd_show()
    if mode == "caps":
        return cmd_caps()
    if mode == "release-ingress" and len(argv) == 4:
        return cmd_release_ingress(argv[2], argv[3])
    if mode == "release-root" and len(argv) == 4:
        code, out = release_root(argv[2], argv[3], {})
        say(out)
        return code
    if mode in ("run", "cleanup", "sweep") and len(argv) == 3:
        spec = json.loads(argv[2])
        return {"run": cmd_run, "cleanup": cmd_cleanup, "sweep": cmd_sweep}[mode](spec)
    say("unknown usage: " + " ".join(argv[1:]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
