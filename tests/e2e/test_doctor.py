"""`gitops-base doctor --env dev` against real servers, each check failing on a broken setup and
passing on a good one.

In the e2e suite's private network namespace (only loopback): a real kube-apiserver (no Argo
CD, no kubelet: the node is an object, as k3s registers it, with k3s's arguments annotation),
dnsmasq answering the hosts' A records, an HTTP listener on the "public address"
198.51.100.10:80, an HTTPS Infisical stand-in with a private CA (the config's ca_certificate),
and the Git server over HTTP with Basic authentication that bootstrap's journey uses.
doctor runs as the operator runs it, in a mount namespace of its own whose /etc/resolv.conf
names dnsmasq, so the system resolver answers from it.

Why here and not in `make unit`: binding ports 53, 80 and 443 and replacing /etc/resolv.conf
take root and namespaces, and the cluster checks need an API server; the unit suite runs as a
normal user without either. CI runs this suite as root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.harness import Cluster, GitRepo, Timings, Tools
from tests.e2e.harness.base import cli_path, gitops_base
from tests.e2e.harness.githttp import GitHttpServer
from tests.e2e.harness.pki import PKI
from tests.e2e.harness.tools import REPO_ROOT

ENV = "dev"
TOKEN = "doctor-read-token"
PUBLIC = "198.51.100.10"  # the node's public address (TEST-NET-2)
ELSEWHERE = "203.0.113.5"  # an address that is not the node's (TEST-NET-3)
INFISICAL_IP = "198.51.100.20"
INFISICAL_HOST = "infisical.doctor.example"
DNS_IP = "127.0.0.2"
HOSTS = ("api.shop.dev.example.com", "shop.dev.example.com", "www.shop.dev.example.com")
K3S_VERSION = (REPO_ROOT / "platform" / "k3s.env").read_text().split("K3S_VERSION=")[1].split()[0]


def dnsmasq() -> str:
    found = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin")
    assert found, "dnsmasq is missing: run tests/e2e/build-tools.sh (it installs dnsmasq-base)"
    return found


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Listener:
    """A real HTTP(S) server on one address and port, answering every GET with `status`."""

    def __init__(self, address: str, port: int, status: int, tls: ssl.SSLContext | None = None):
        answer = status

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = b'{"message":"Ok"}' if tls else b"404 page not found\n"
                self.send_response(answer)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((address, port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dns:
    """dnsmasq on DNS_IP:53, authoritative for exactly the records given, nothing else."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def serve(self, records: dict[str, str]) -> None:
        self.stop()
        args = [
            dnsmasq(),
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            f"--listen-address={DNS_IP}",
            "--bind-interfaces",
            "--port=53",
            f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            "--user=root",
            # Names it has no record for are answered NXDOMAIN, never forwarded.
            "--local=/example/",
            "--local=/example.com/",
            *(f"--host-record={name},{address}" for name, address in records.items()),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _answers(DNS_IP):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dnsmasq did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None


def _answers(address: str) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        # A DNS query for "shop.dev.example.com" A, id 0x1234.
        query = bytes.fromhex("123401000001000000000000")
        for label in "shop.dev.example.com".split("."):
            query += bytes([len(label)]) + label.encode()
        query += b"\x00\x00\x01\x00\x01"
        try:
            s.sendto(query, (address, 53))
            return s.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False


@pytest.fixture(scope="module")
def control_plane(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[Cluster]:
    """A real API server (and the private network namespace it enters), without Argo CD."""
    cluster = Cluster(tmp_path_factory.mktemp("cluster-doctor"), e2e_tools, argocd=False)
    try:
        cluster.start()
    except Exception as exc:
        pytest.fail(f"e2e cluster failed to start: {exc}", pytrace=False)
    e2e_timings["doctor: control plane up"] = round(cluster.timings["total"], 2)
    for address in (PUBLIC, INFISICAL_IP, DNS_IP):
        ip("addr", "add", f"{address}/32", "dev", "lo")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def setup(
    control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """The operator's repository, its Git server, the Infisical stand-in's CA, and the DNS
    server, each as the good setup has them; tests break one thing at a time."""
    work = tmp_path_factory.mktemp("doctor")
    pki = PKI(work / "pki")
    infisical_cert = pki.issue("infisical", INFISICAL_HOST, server_names=(INFISICAL_HOST,))
    served = work / "git"
    repo = GitRepo.create(served / "shop-gitops", source=REPO_ROOT)
    git = GitHttpServer(served, "git", TOKEN).start()
    url = git.url_for(repo.path)
    settings = repo.path / "clusters" / ENV / "cluster.yaml"
    text = re.sub(r"(?m)^  url: .*$", f"  url: {url}", settings.read_text())
    text = text.replace("platform@example.com", "platform@acme-shop.io")
    text = text.replace("exposure: node-ports", "exposure: service-lb")
    text = text.replace("[192.0.2.10]", f"[{PUBLIC}]")
    settings.write_text(text)
    config = repo.path / "config" / "app-config.yaml"
    pem = pki.ca.cert.read_text().strip().replace("\n", "\n      ")
    config.write_text(
        config.read_text().replace(
            "    url: https://app.infisical.com\n",
            f"    url: https://{INFISICAL_HOST}\n    ca_certificate: |\n      {pem}\n",
        )
    )
    gitops_base(repo.path, "synth")
    repo.commit_all("dev: the doctor's setup")
    resolv = work / "resolv.conf"
    resolv.write_text(f"nameserver {DNS_IP}\noptions timeout:1 attempts:1\n")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(infisical_cert.cert, infisical_cert.key)
    dns = Dns(work)
    yield {"repo": repo, "git": git, "url": url, "resolv": resolv, "tls": tls, "dns": dns}
    dns.stop()
    git.stop()


def doctor(
    setup: dict[str, object],
    cluster: Cluster,
    *,
    token: str | None = TOKEN,
    kubeconfig: Path | None = None,
) -> tuple[int, dict[str, list[str]], str]:
    """Run doctor with /etc/resolv.conf naming dnsmasq; (exit code, lines by check name,
    whole output)."""
    repo = setup["repo"]
    assert isinstance(repo, GitRepo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITOPS_BASE_REPO_")}
    env = {k: v for k, v in env.items() if k.lower() not in ("http_proxy", "https_proxy")}
    if token is not None:
        env["GITOPS_BASE_REPO_TOKEN"] = token
    command = [
        "unshare",
        "--mount",
        "sh",
        "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        str(setup["resolv"]),
        str(cli_path()),
        "doctor",
        "--env",
        ENV,
        "--kubeconfig",
        str(kubeconfig or cluster.kubeconfig),
    ]
    done = subprocess.run(
        command, cwd=repo.path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(✓|✗|!|-) (.+?): ", line)
        if match:
            lines.setdefault(match[2], []).append(match[1])
    return done.returncode, lines, done.stdout + done.stderr


def node(node_args: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "vm-1",
            "annotations": {"k3s.io/node-args": json.dumps(node_args)},
        },
    }


def set_node(cluster: Cluster, version: str, node_args: list[str]) -> None:
    kube = cluster.kube
    kube.delete("v1", "Node", "vm-1")
    cluster.wait_for(lambda: kube.get("v1", "Node", "vm-1") is None, 30, "node vm-1 deleted")
    kube.create(node(node_args))
    kube.patch(
        "v1",
        "Node",
        "vm-1",
        {
            "status": {
                "nodeInfo": {
                    "kubeletVersion": version,
                    "machineID": "m",
                    "systemUUID": "s",
                    "bootID": "b",
                    "kernelVersion": "6",
                    "osImage": "Debian",
                    "containerRuntimeVersion": "containerd://2",
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
                "addresses": [{"type": "InternalIP", "address": PUBLIC}],
            }
        },
        subresource="status",
    )


def load_balancer(cluster: Cluster, namespace: str, name: str, port: int, bound: bool) -> None:
    """A LoadBalancer Service, and what k3s's ServiceLB writes into its status once its pod
    holds the ports on the node (here: written by the test, as ServiceLB would)."""
    kube = cluster.kube
    kube.apply_one({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.apply_one(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": name},
                "ports": [{"name": "p", "port": port, "targetPort": port}],
            },
        }
    )
    if bound:
        kube.patch(
            "v1",
            "Service",
            name,
            {"status": {"loadBalancer": {"ingress": [{"ip": PUBLIC}]}}},
            namespace=namespace,
            subresource="status",
        )


def traefik(cluster: Cluster) -> None:
    """k3s's Traefik, as a server started without --disable=traefik runs it."""
    cluster.kube.apply_one(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "traefik", "namespace": "kube-system"},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "traefik"}},
                    "spec": {"containers": [{"name": "traefik", "image": "traefik:3"}]},
                },
            },
        }
    )


def test_every_check_fails_on_a_broken_setup(
    control_plane: Cluster, setup: dict[str, object], tmp_path: Path, e2e_timings: Timings
) -> None:
    """A wrong token, k3s too old, started without --disable=traefik (its Traefik runs beside
    ingress-nginx) and with --disable=servicelb, another LoadBalancer on port 80, one host
    without a record and one pointing elsewhere, nothing on port 80, no Infisical; then no
    kubeconfig at all."""
    cluster = control_plane
    dns = setup["dns"]
    assert isinstance(dns, Dns)
    dns.serve({"shop.dev.example.com": ELSEWHERE, "www.shop.dev.example.com": PUBLIC})
    set_node(cluster, "v1.33.1+k3s1", ["server", "--disable", "servicelb"])
    traefik(cluster)
    load_balancer(cluster, "web", "caddy", 80, bound=False)
    repo = setup["repo"]
    assert isinstance(repo, GitRepo)
    t0 = time.monotonic()
    code, lines, output = doctor(setup, cluster, token="wrong-token")
    e2e_timings["doctor: broken setup"] = round(time.monotonic() - t0, 2)
    print(output)
    assert code == 1
    assert lines["ACME contact"] == ["✓"]  # broken below, in a copy of the settings
    assert lines["repository"] == ["✗"], output
    assert f"{setup['url']} refuses the token from GITOPS_BASE_REPO_TOKEN" in output
    assert "wrong-token" not in output and TOKEN not in output
    assert lines["Infisical"] == ["✗"], output
    assert lines["kubeconfig"] == ["✓"]
    assert lines["k3s version"] == ["✗"], output
    assert "node vm-1 runs v1.33.1+k3s1" in output
    assert lines["k3s components"] == ["✗", "✗"], output
    assert (
        "ingress.controller is nginx but k3s runs Traefik (Deployment kube-system/traefik): "
        "restart the k3s server with --disable=traefik" in output
    )
    assert "ingress.exposure is service-lb but k3s runs with --disable=servicelb" in output
    assert lines["listener"] == ["✗"], output
    assert "Service web/caddy is a LoadBalancer on port 80" in output
    assert lines["DNS api.shop.dev.example.com"] == ["✗"]  # no record
    assert lines["HTTP api.shop.dev.example.com:80"] == ["-"]
    assert lines["DNS shop.dev.example.com"] == ["✗"]  # points elsewhere
    assert f"{ELSEWHERE} is not the public address {PUBLIC}" in output
    assert lines["HTTP shop.dev.example.com:80"] == ["✗"]  # what Let's Encrypt would reach
    assert lines["DNS www.shop.dev.example.com"] == ["✓"]
    assert lines["HTTP www.shop.dev.example.com:80"] == ["✗"]  # nothing listens on port 80
    assert f"{PUBLIC}:80 refuses the connection" in output

    # The contact and the kubeconfig, broken too.
    settings = repo.path / "clusters" / ENV / "cluster.yaml"
    good = settings.read_text()
    settings.write_text(good.replace("platform@acme-shop.io", "ops@shop.local"))
    try:
        code, lines, output = doctor(setup, cluster, kubeconfig=tmp_path / "no-kubeconfig")
    finally:
        settings.write_text(good)
    assert code == 1
    assert lines["ACME contact"] == ["✗"]
    assert "'.local' is not a public top-level domain" in output
    assert lines["kubeconfig"] == ["✗"] and lines["k3s"] == ["-"]


def test_every_check_passes_on_a_good_setup(
    control_plane: Cluster, setup: dict[str, object], e2e_timings: Timings
) -> None:
    cluster = control_plane
    dns = setup["dns"]
    assert isinstance(dns, Dns)
    dns.serve({**{host: PUBLIC for host in HOSTS}, INFISICAL_HOST: INFISICAL_IP})
    set_node(cluster, K3S_VERSION, ["server", "--disable", "traefik", "--tls-san", "k3s.example"])
    cluster.kube.delete("apps/v1", "Deployment", "traefik", "kube-system")
    cluster.kube.delete("v1", "Service", "caddy", "web")
    load_balancer(cluster, "ingress-nginx", "ingress-nginx-controller", 80, bound=True)
    tls = setup["tls"]
    assert isinstance(tls, ssl.SSLContext)
    listeners = [Listener(PUBLIC, 80, 404), Listener(INFISICAL_IP, 443, 200, tls)]
    try:
        t0 = time.monotonic()
        code, lines, output = doctor(setup, cluster)
        e2e_timings["doctor: good setup"] = round(time.monotonic() - t0, 2)
    finally:
        for listener in listeners:
            listener.stop()
    print(output)
    assert code == 0, output
    expected = {
        "ACME contact",
        "repository",
        "Infisical",
        "kubeconfig",
        "k3s version",
        "k3s components",
        "listener",
        *(f"DNS {h}" for h in HOSTS),
        *(f"HTTP {h}:80" for h in HOSTS),
    }
    assert set(lines) == expected
    assert all(marks == ["✓"] for marks in lines.values()), output
    assert "'main' is there" in output
    assert f"HTTP 404 from {PUBLIC}" in output
    assert TOKEN not in output


def test_a_missing_branch_is_named(control_plane: Cluster, setup: dict[str, object]) -> None:
    """Argo CD would sync a revision that is not pushed yet: the quickstart's push, forgotten."""
    repo = setup["repo"]
    assert isinstance(repo, GitRepo)
    settings = repo.path / "clusters" / ENV / "cluster.yaml"
    good = settings.read_text()
    settings.write_text(good.replace("  revision: main", "  revision: release"))
    try:
        code, lines, output = doctor(setup, control_plane)
    finally:
        settings.write_text(good)
    assert code == 1
    assert lines["repository"] == ["✗"]
    assert "has no branch or tag 'release'" in output
    assert "git push origin release" in output


def node_port_service(cluster: Cluster, namespace: str, name: str, *node_ports: int) -> None:
    kube = cluster.kube
    kube.apply_one({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.apply_one(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "type": "NodePort",
                "selector": {"app": name},
                "ports": [
                    {"name": f"p{n}", "port": 80 + i, "targetPort": 80 + i, "nodePort": n}
                    for i, n in enumerate(node_ports)
                ],
            },
        }
    )


def test_node_ports_the_listener_and_the_router_in_front(
    control_plane: Cluster, setup: dict[str, object]
) -> None:
    """exposure: node-ports, a router forwarding the public address's port 80 to the node
    (the HTTP listener stands for both): another Service holding node port 30080 fails the
    listener; the controller's NodePort Service on 30080 and 30443 passes it."""
    cluster = control_plane
    repo = setup["repo"]
    dns = setup["dns"]
    tls = setup["tls"]
    assert isinstance(repo, GitRepo) and isinstance(dns, Dns) and isinstance(tls, ssl.SSLContext)
    dns.serve({**{host: PUBLIC for host in HOSTS}, INFISICAL_HOST: INFISICAL_IP})
    set_node(cluster, K3S_VERSION, ["server", "--disable=traefik,servicelb"])
    cluster.kube.delete("v1", "Service", "ingress-nginx-controller", "ingress-nginx")
    cluster.wait_for(
        lambda: cluster.get("v1", "Service", "ingress-nginx-controller", "ingress-nginx") is None,
        30,
        "the LoadBalancer Service deleted",
    )
    settings = repo.path / "clusters" / ENV / "cluster.yaml"
    good = settings.read_text()
    settings.write_text(good.replace("exposure: service-lb", "exposure: node-ports"))
    listeners = [Listener(PUBLIC, 80, 404), Listener(INFISICAL_IP, 443, 200, tls)]
    try:
        node_port_service(cluster, "web", "debug", 30080)
        code, lines, output = doctor(setup, cluster)
        print(output)
        assert code == 1
        assert lines["k3s components"] == ["✓"], output  # ServiceLB off: node ports need none
        assert lines["listener"] == ["✗"], output
        assert "Service web/debug holds node port 30080" in output
        assert all(lines[f"HTTP {h}:80"] == ["✓"] for h in HOSTS), output

        cluster.kube.delete("v1", "Service", "debug", "web")
        cluster.wait_for(
            lambda: cluster.get("v1", "Service", "debug", "web") is None, 30, "debug deleted"
        )
        node_port_service(cluster, "ingress-nginx", "ingress-nginx-controller", 30080, 30443)
        code, lines, output = doctor(setup, cluster)
        print(output)
        assert code == 0, output
        assert lines["listener"] == ["✓"], output
        assert "nginx can listen on node ports 30080 and 30443" in output
    finally:
        settings.write_text(good)
        for listener in listeners:
            listener.stop()
