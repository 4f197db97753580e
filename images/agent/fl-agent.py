#!/usr/bin/env python3
"""faultline's network agent: runs inside a target's network namespace and is the fault's dead-man switch.

  fl-agent run SPEC_JSON      apply the rules, print FAULTLINE-READY, wait for the deadline or SIGTERM,
                              revert the rules, print FAULTLINE-REVERTED
  fl-agent cleanup SPEC_JSON  best-effort revert of a fault whose agent died (revert commands + sweep by id)
  fl-agent show               rules in this namespace (iptables both backends, tc, links), for verification
  fl-agent caps               which kernel features work here (netem, tbf, htb, ifb, iptables matches)

SPEC_JSON: {"faultId", "deadlineMs", "apply": [[argv...]], "revert": [[argv...]], "proxy"?: {...},
            "resetFlows"?: {"method", "commands": [[argv...]]}}: after the rules are in place, resetFlows
            commands reset established flows in scope so they reconnect through the delay proxy.
Commands naming "iptables"/"iptables-save" run with the backend that holds Docker's own rules in this
namespace, so faultline's rules sit in the same tables as Docker's (mixing backends reorders NAT).
"""
import json
import shlex
import os
import signal
import subprocess
import sys
import threading
import time

PROXY_SCRIPT = "/usr/local/lib/faultline/fl_proxy.py"
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


def run_all(cmds, backend, proxy_ports, stop_on_error):
    errors = []
    for c in cmds:
        argv = resolve(c, backend, proxy_ports)
        code, out = sh(argv)
        if code != 0:
            errors.append("%s -> %s" % (" ".join(argv), out or "exit %d" % code))
            if stop_on_error:
                break
    return errors


def sweep(fault_id, chain_prefix, backend):
    """Deletes every iptables rule commented faultline:<id> and every chain <chain_prefix>* in both backends."""
    tag = "faultline:" + fault_id
    leftovers = []
    for b in dict.fromkeys([backend, "nft", "legacy"]):
        code, dump = sh(["iptables-%s-save" % b])
        if code != 0:
            continue
        table = None
        jumps, chains = [], []
        for line in dump.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":" + chain_prefix):
                chains.append((table, line[1:].split()[0]))
            elif line.startswith("-A ") and tag in line:
                jumps.append((table, line))
        for table, line in jumps:
            # iptables-save prints rules in a form iptables accepts back with -A -> -D.
            args = shlex.split(line[3:])
            code, out = sh(["iptables-%s" % b, "-t", table, "-D"] + args)
            if code != 0:
                leftovers.append("%s %s: %s" % (b, line, out))
        for table, chain in chains:
            sh(["iptables-%s" % b, "-t", table, "-F", chain])
            code, out = sh(["iptables-%s" % b, "-t", table, "-X", chain])
            if code != 0:
                leftovers.append("%s chain %s/%s: %s" % (b, table, chain, out))
    return leftovers


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


def start_proxy(spec):
    proxy = subprocess.Popen(
        ["python3", PROXY_SCRIPT, json.dumps(spec)],
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
        raise RuntimeError("delay proxy did not start (exit %s)" % proxy.poll())
    # Keep draining its stdout so it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proxy.stdout], daemon=True).start()
    return proxy, ports


def stop_proxy(proxy, drain_s):
    if proxy is None or proxy.poll() is not None:
        return
    proxy.send_signal(signal.SIGTERM)
    try:
        proxy.wait(timeout=drain_s + 2)
    except subprocess.TimeoutExpired:
        proxy.kill()


def cmd_run(spec):
    stopper = Stopper()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stopper.on_signal)
    fault_id = spec["faultId"]
    backend = iptables_backend()
    proxy, ports = None, {}
    try:
        if spec.get("proxy"):
            proxy, ports = start_proxy(spec["proxy"])
        errors = run_all(spec["apply"], backend, ports, stop_on_error=True)
    except Exception as e:  # noqa: BLE001 - any failure must still revert
        errors = [str(e)]
    if errors:
        run_all(spec["revert"], backend, ports, stop_on_error=False)
        sweep(fault_id, spec["chainPrefix"], backend)
        stop_proxy(proxy, 0)
        say("FAULTLINE-FAILED " + json.dumps({"errors": errors}))
        # Linger so faultline can read this line before the container is removed.
        stopper.event.wait(FAILED_LINGER_S)
        return 3
    reset = reset_flows(spec, backend, ports)
    say("FAULTLINE-READY " + json.dumps({"backend": backend, "ports": ports, "reset": reset}))
    remaining = spec["deadlineMs"] / 1000.0 - time.time()
    while not stopper.event.is_set() and remaining > 0:
        stopper.event.wait(min(remaining, 1.0))
        if proxy is not None and proxy.poll() is not None:
            stopper.reason = "proxy-exited"
            break
        remaining = spec["deadlineMs"] / 1000.0 - time.time()
    # Rules first: new connections stop being redirected before the proxy goes away.
    errors = run_all(spec["revert"], backend, ports, stop_on_error=False)
    leftovers = sweep(fault_id, spec["chainPrefix"], backend)
    stop_proxy(proxy, spec.get("proxy", {}).get("drainSeconds", 1) if proxy else 0)
    say("FAULTLINE-REVERTED " + json.dumps({"reason": stopper.reason, "errors": errors, "leftovers": leftovers}))
    return 0 if not leftovers else 4


def cmd_cleanup(spec):
    backend = iptables_backend()
    errors = run_all(spec.get("revert", []), backend, spec.get("ports", {}), stop_on_error=False)
    leftovers = sweep(spec["faultId"], spec["chainPrefix"], backend)
    say("FAULTLINE-CLEANED " + json.dumps({"errors": errors, "leftovers": leftovers}))
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
    if mode in ("run", "cleanup") and len(argv) == 3:
        spec = json.loads(argv[2])
        return cmd_run(spec) if mode == "run" else cmd_cleanup(spec)
    say("unknown usage: " + " ".join(argv[1:]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
