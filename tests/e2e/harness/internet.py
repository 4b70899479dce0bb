"""The node tier's stand-in internet, for the journeys of the platform add-ons.

node.py creates "the internet": a second network namespace behind the veth `ext0`, where
198.51.100.10 and .11 answer HTTP. This module adds what a fresh k3s node meets out there:

    198.51.100.53   public DNS: pebble-challtestsrv (Let's Encrypt's test DNS server), on port
                    53; the node's resolv.conf names it, so CoreDNS forwards outside names to it
    198.51.100.20   Pebble, Let's Encrypt's ACME test server: ACME on 14000 with a certificate
                    from a private CA (an operator's own ACME server: the ClusterIssuer carries
                    that CA as `caBundle`), management (its roots) on 15000. It resolves names
                    through the DNS above and validates HTTP-01 on port 80
    198.51.100.40   Let's Encrypt's ACME endpoints (acme-staging-v02.api.letsencrypt.org and
                    acme-v02.api.letsencrypt.org): the same Pebble, behind an HTTPS front with a
                    certificate from the internet's root CA for those names that maps their
                    /directory to Pebble's /dir. The base's Let's Encrypt ClusterIssuers register
                    there as they would on the internet (the platform Application is Healthy
                    only when every ClusterIssuer is Ready)
    198.51.100.30   app.infisical.com: the Infisical stand-in (infisical.py), with a
                    certificate from the internet's root CA

and on the node's side of the wire the load balancer an operator puts in front of a k3s node
whose ingress controller listens on NodePorts: 192.0.2.10 (the dev environment's
`publish_status_address`) forwards 80 and 443 to the NodePorts 30080 and 30443, as a router's
port forward does. It is plain TCP forwarding in the test process.

The internet's root CA is what the add-on images trust as "the public CAs" (addons.py).
"""

from __future__ import annotations

import ctypes
import http.client
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import http_get
from .pki import PKI, CertPair
from .procs import Proc

DNS_IP = "198.51.100.53"
PEBBLE_IP = "198.51.100.20"
INFISICAL_IP = "198.51.100.30"
LETSENCRYPT_IP = "198.51.100.40"
LETSENCRYPT_HOSTS = ("acme-staging-v02.api.letsencrypt.org", "acme-v02.api.letsencrypt.org")
INFISICAL_HOST = "app.infisical.com"
LB_IP = "192.0.2.10"
PEBBLE_DIRECTORY = f"https://{PEBBLE_IP}:14000/dir"
PEBBLE_MANAGEMENT = f"https://{PEBBLE_IP}:15000"

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class HTTPServer(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer without the reverse DNS lookup of its own address at bind time
    (http.server's server_bind): nothing answers it on the stand-in internet, and the lookup
    waits for a timeout."""

    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


def start_in_netns(pid: int, target: Callable[[], None], name: str) -> threading.Thread:
    """Run `target` in a daemon thread that first joins the network namespace of `pid`: the
    sockets it creates live there, and so do the threads it starts."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    ready = threading.Event()
    error: list[BaseException] = []

    def run() -> None:
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the internet's namespace")
        except BaseException as exc:
            error.append(exc)
            ready.set()
            return
        finally:
            os.close(fd)
        ready.set()
        target()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    ready.wait(10)
    if error:
        raise error[0]
    return thread


def in_netns(pid: int, fn: Callable[[], Any]) -> Any:
    """Call `fn` in the network namespace of `pid` (a helper thread) and return its result."""
    result: list[Any] = []
    error: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)
        finally:
            done.set()

    start_in_netns(pid, target, "in-netns")
    done.wait(60)
    if error:
        raise error[0]
    return result[0] if result else None


class LoadBalancer:
    """TCP port forwards from LB_IP (a local address of the node's namespace) to the node's
    ingress NodePorts."""

    def __init__(self, node_ip: str, ports: dict[int, int]):
        self.node_ip = node_ip
        self.ports = ports
        self._socks: list[socket.socket] = []
        self._stop = threading.Event()
        self.connections = 0

    def start(self) -> LoadBalancer:
        for listen, target in self.ports.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((LB_IP, listen))
            s.listen(64)
            self._socks.append(s)
            threading.Thread(
                target=self._accept, args=(s, target), name=f"lb-{listen}", daemon=True
            ).start()
        return self

    def _accept(self, s: socket.socket, target: int) -> None:
        while not self._stop.is_set():
            try:
                client, _ = s.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._pipe, args=(client, target), daemon=True).start()

    def _pipe(self, client: socket.socket, target: int) -> None:
        try:
            upstream = socket.create_connection((self.node_ip, target), timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pair = {client: upstream, upstream: client}
        try:
            while pair:
                readable, _, _ = select.select(list(pair), [], [], 60)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        other = pair.pop(s)
                        try:
                            other.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        if other not in pair:
                            pair.clear()
                        continue
                    pair[s].sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def stop(self) -> None:
        self._stop.set()
        for s in self._socks:
            s.close()


class Internet:
    """DNS, Pebble and the load balancer; infisical.py adds the Infisical stand-in."""

    def __init__(
        self,
        namespace_pid: int,
        workdir: Path,
        node_ip: str,
        run: Callable[[str, list[str], dict[str, str] | None], Proc],
        ip: Callable[..., str],
        log: Callable[[str], None] = print,
    ):
        self.pid = namespace_pid
        self.workdir = workdir
        self.node_ip = node_ip
        self._run = run  # spawn a process in the internet's namespace
        self._ip = ip  # `ip` in the node's namespace
        self.log = log
        self.procs: dict[str, Proc] = {}
        self.timings: dict[str, float] = {}
        workdir.mkdir(parents=True, exist_ok=True)
        # The public CAs of this internet, and an operator's private CA for its ACME server.
        self.root_ca = PKI(workdir / "root-ca", common_name="e2e internet root CA")
        self.acme_ca = PKI(workdir / "acme-ca", common_name="e2e private ACME server CA")
        self.lb: LoadBalancer | None = None
        self.letsencrypt: HTTPServer | None = None

    # ------------------------------------------------------------------ life
    def start(self, tools: Callable[[str], Path], http_port: int, https_port: int) -> Internet:
        t0 = time.monotonic()
        inside = ("nsenter", "-t", str(self.pid), "-n", "ip")
        for address in (DNS_IP, PEBBLE_IP, INFISICAL_IP, LETSENCRYPT_IP):
            self._ip(*inside, "addr", "add", f"{address}/24", "dev", "ext1")
        self._start_dns(tools("pebble-challtestsrv"))
        self._start_pebble(tools("pebble"))
        self._start_letsencrypt()
        for host in LETSENCRYPT_HOSTS:
            self.add_a(host, LETSENCRYPT_IP)
        self._ip("ip", "addr", "add", f"{LB_IP}/32", "dev", "lo")
        self.lb = LoadBalancer(self.node_ip, {80: http_port, 443: https_port}).start()
        self.timings["internet: DNS, Pebble, load balancer"] = time.monotonic() - t0
        return self

    def stop(self) -> None:
        if self.lb is not None:
            self.lb.stop()
        if self.letsencrypt is not None:
            self.letsencrypt.shutdown()
            self.letsencrypt.server_close()
        for proc in self.procs.values():
            proc.stop()

    def _wait(self, proc: Proc, check: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited while starting:\n{proc.tail(30)}")
            try:
                if check():
                    return
            except Exception as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not come up in {timeout}s ({last}):\n{proc.tail(30)}")

    # ------------------------------------------------------------------- DNS
    def _start_dns(self, binary: Path) -> None:
        proc = self._run(
            "internet-dns",
            [
                str(binary),
                "-dnsserver",
                f"{DNS_IP}:53",
                "-management",
                f"{DNS_IP}:8055",
                "-defaultIPv4",
                "",
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-doh",
                "",
            ],
            None,
        )
        self.procs["dns"] = proc
        self._wait(
            proc,
            lambda: http_get(f"http://{DNS_IP}:8055/dns-request-history?host=x")[0] < 500,
            "the DNS server",
        )

    def add_a(self, host: str, address: str) -> None:
        """Publish an A record on the internet's DNS."""
        body = json.dumps({"host": host, "addresses": [address]}).encode()
        req = urllib.request.Request(f"http://{DNS_IP}:8055/add-a", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200, resp.status

    # ---------------------------------------------------------------- Pebble
    def _start_pebble(self, binary: Path) -> None:
        pair = self.acme_ca.issue(
            "pebble",
            "acme.e2e.internet",
            server_names=("acme.e2e.internet",),
            server_ips=(PEBBLE_IP,),
        )
        config = {
            "pebble": {
                "listenAddress": f"{PEBBLE_IP}:14000",
                "managementListenAddress": f"{PEBBLE_IP}:15000",
                "certificate": str(pair.cert),
                "privateKey": str(pair.key),
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "retryAfter": {"authz": 1, "order": 1},
                "keyAlgorithm": "ecdsa",
                "profiles": {
                    "default": {"description": "as Let's Encrypt's", "validityPeriod": 7776000}
                },
            }
        }
        path = self.workdir / "pebble.json"
        path.write_text(json.dumps(config, indent=2))
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            # No random sleep before validating, no rejected nonces, and every order validated
            # afresh (reusing an earlier authorization would hide a broken solver path).
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": "0",
            "PEBBLE_AUTHZREUSE": "0",
        }
        proc = self._run(
            "internet-pebble",
            [str(binary), "-config", str(path), "-dnsserver", f"{DNS_IP}:53", "-strict=false"],
            env,
        )
        self.procs["pebble"] = proc
        self._wait(proc, lambda: bool(self.pebble_root()), "Pebble")

    @property
    def acme_ca_pem(self) -> str:
        return self.acme_ca.ca.cert.read_text()

    def _tls_context(self, ca: CertPair) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(ca.cert))

    def pebble_root(self) -> str:
        """The PEM of the root Pebble chains its certificates to (it makes a new one per run)."""
        ctx = self._tls_context(self.acme_ca.ca)
        with urllib.request.urlopen(f"{PEBBLE_MANAGEMENT}/roots/0", context=ctx, timeout=5) as r:
            return str(r.read().decode())

    # --------------------------------------------------------- Let's Encrypt
    def _start_letsencrypt(self) -> None:
        """An HTTPS front at Let's Encrypt's names for Pebble: /directory -> /dir, everything
        else as is, the Host header kept (Pebble builds its URLs from it)."""
        pair = self.root_ca.issue(
            "letsencrypt", LETSENCRYPT_HOSTS[0], server_names=LETSENCRYPT_HOSTS
        )
        upstream = self._tls_context(self.acme_ca.ca)
        calls: list[tuple[str | None, str, str, int]] = []
        self.letsencrypt_calls = calls

        class Front(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = "/dir" if self.path == "/directory" else self.path
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn = http.client.HTTPSConnection(PEBBLE_IP, 14000, context=upstream, timeout=30)
                try:
                    conn.request(self.command, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                calls.append((self.headers.get("Host"), self.command, self.path, resp.status))
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _forward

            def log_message(self, *args: Any) -> None:
                pass

        started = threading.Event()
        error: list[BaseException] = []

        def serve() -> None:
            try:
                server = HTTPServer((LETSENCRYPT_IP, 443), Front)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(str(pair.cert), str(pair.key))
                server.socket = ctx.wrap_socket(server.socket, server_side=True)
                self.letsencrypt = server
            except BaseException as exc:
                error.append(exc)
                return
            finally:
                started.set()
            server.serve_forever(poll_interval=0.2)

        start_in_netns(self.pid, serve, "letsencrypt-front")
        started.wait(10)
        if error:
            raise error[0]
