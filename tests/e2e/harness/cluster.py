"""A throw-away Kubernetes control plane plus Argo CD, as local processes.

    etcd -> kube-apiserver -> kube-controller-manager
         -> Redis -> argocd-repo-server -> argocd-application-controller
                                        -> argocd-notifications (controller)

There is no kubelet and no scheduler: Deployments get ReplicaSets and Pods
(admission, PodSecurity included, is real), Pods stay Pending unless a test
calls `mark_pods_ready()`. Argo CD runs outside the cluster with
ARGOCD_FAKE_IN_CLUSTER=true, so https://kubernetes.default.svc destinations
use the harness's kubeconfig.

Everything listens on 127.0.0.1 inside a private network namespace (see
netns.py), lives in one work directory and is torn down by `stop()` (also at
interpreter exit, and children die with the harness: see procs.py).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from . import netns
from .kube import KubeClient, KubeError, Manifest
from .pki import PKI, CertPair
from .procs import Proc, install_sigterm_handler
from .tools import Tools, crd_files, find_tools
from .wait import T, wait_for
from .webhooks import WebhookStandIn

ARGOCD_NS = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
SERVICE_CIDR = "10.96.0.0/16"
# An address of the service CIDR put on `lo` (with its prefix: the whole CIDR
# becomes local) by the admission webhook stand-in; see webhooks.py.
SERVICE_CIDR_LOOPBACK = "10.96.255.254/16"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"

# Bounded start-up timeouts (seconds); generous for a loaded 2-core CI box.
ETCD_TIMEOUT = 60
APISERVER_TIMEOUT = 120
KCM_TIMEOUT = 90
ARGOCD_TIMEOUT = 120


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_NO_PROXY = urllib.request.ProxyHandler({})
_INSECURE = ssl.create_default_context()
_INSECURE.check_hostname = False
_INSECURE.verify_mode = ssl.CERT_NONE


def http_get(url: str, insecure: bool = False, timeout: float = 2) -> tuple[int, str]:
    """GET on loopback without proxies; (status, body). `insecure` skips TLS
    verification (kcm serves a self-signed cert)."""
    handlers: list[urllib.request.BaseHandler] = [_NO_PROXY]
    if insecure:
        handlers.append(urllib.request.HTTPSHandler(context=_INSECURE))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "kubeconfig")
    }
    env["NO_PROXY"] = "*"
    env.update(extra)
    return env


class Cluster:
    def __init__(
        self,
        workdir: Path,
        tools: Tools | None = None,
        crds: list[Path] | None = None,
        log: Callable[[str], None] = print,
        app_resync_seconds: int = 30,
        service_cidr: str = "10.96.0.0/16",
        node_ip: str | None = None,
        kcm_args: tuple[str, ...] = (),
        argocd: bool = True,
    ):
        self.workdir = Path(workdir)
        self.tools = tools or find_tools()
        self.crds = crds or crd_files()
        self.log = log
        self.app_resync_seconds = app_resync_seconds
        # A real node (harness/node.py) needs the API server on an address its pods can
        # reach: `node_ip`, a local address of the network namespace, advertised as the
        # endpoint of the `kubernetes` Service. Without it, loopback only.
        self.service_cidr = service_cidr
        self.node_ip = node_ip
        self.kcm_args = kcm_args
        # False: no Argo CD objects and processes at start; something else installs Argo CD's
        # objects (CRDs, argocd namespace, ConfigMaps) and start_argocd() runs the processes.
        self.with_argocd = argocd
        self.procs: dict[str, Proc] = {}
        self.timings: dict[str, float] = {}
        self.network = ""
        self._kube: KubeClient | None = None  # set by start()
        self._started = False
        self.webhooks: WebhookStandIn | None = None

    @property
    def kube(self) -> KubeClient:
        """The admin REST client (available once the API server is up)."""
        if self._kube is None:
            raise ClusterError("cluster not started: no API server client yet")
        return self._kube

    # ------------------------------------------------------------------ life
    def start(self) -> Cluster:
        install_sigterm_handler()
        t_all = time.monotonic()
        self.network = netns.ensure_private_network()
        self.log(f"e2e: network: {self.network}")
        self.log(f"e2e: tools: {self.tools.describe()}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._started = True
        try:
            self._phase("pki", self._make_pki)
            self._phase("etcd", self._start_etcd)
            self._phase("kube-apiserver", self._start_apiserver)
            self._phase("kube-controller-manager", self._start_kcm)
            self._phase("crds+argocd-config", self._bootstrap_objects)
            if self.with_argocd:
                self._start_argocd_processes()
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - t_all
        self.log(f"e2e: cluster up in {self.timings['total']:.1f}s (workdir {self.workdir})")
        return self

    def _start_argocd_processes(self) -> None:
        self._phase("redis", self._start_redis)
        self._phase("argocd-repo-server", self._start_repo_server)
        self._phase("argocd-application-controller", self._start_controller)
        self._phase("argocd-notifications", self._start_notifications)

    def start_argocd(self) -> None:
        """Start Redis and the Argo CD processes of a cluster created with argocd=False,
        once its Argo CD objects are installed: they stand in for the Pods of an Argo CD
        install that this cluster, without a kubelet, cannot run."""
        try:
            self._start_argocd_processes()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.stop_fake_kubelet()
        self.stop_webhook_stand_in()
        for name in reversed(list(self.procs)):
            self.procs[name].stop()
        if self._kube is not None:
            self._kube.close()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _phase(self, name: str, fn: Callable[[], None]) -> None:
        t0 = time.monotonic()
        fn()
        self.timings[name] = time.monotonic() - t0
        self.log(f"e2e: {name} ready in {self.timings[name]:.1f}s")

    # ------------------------------------------------------------ diagnostics
    def diagnostics(self, lines: int = 25, only: list[str] | None = None) -> str:
        out = []
        for name, proc in self.procs.items():
            if only and name not in only:
                continue
            out.append(f"--- {proc.status_line()}\n{proc.tail(lines)}")
        return "\n".join(out)

    def _spawn(
        self, name: str, argv: list[str | os.PathLike[str]], env: dict[str, str] | None = None
    ) -> Proc:
        proc = Proc(
            name,
            argv,
            self.workdir / "logs" / f"{name}.log",
            env=_clean_env(env or {}),
            cwd=self.workdir,
        )
        self.procs[name] = proc.start()
        return proc

    def _wait_ready(self, proc: Proc, check: Callable[[], Any], timeout: float) -> None:
        """Poll `check` until truthy; fail at once if the process exits, and
        after `timeout` with the process's log tail."""
        deadline = time.monotonic() + timeout
        last = "no probe yet"
        while True:
            if not proc.alive():
                raise ClusterError(
                    f"{proc.name} exited with code {proc.exit_code()} while starting\n"
                    f"--- {proc.status_line()}\n{proc.tail(40)}"
                )
            try:
                if check():
                    return
                last = "probe returned false"
            except Exception as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"{proc.name} did not become ready within {timeout}s (last probe: {last})\n"
                    f"--- {proc.status_line()}\n{proc.tail(60)}"
                )
            time.sleep(0.2)

    # ------------------------------------------------------------------ steps
    def _make_pki(self) -> None:
        self.pki = PKI(self.workdir / "pki")
        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.serving = self.pki.issue(
            "apiserver",
            "kube-apiserver",
            server_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
            ),
            server_ips=(
                "127.0.0.1",
                str(ipaddress.ip_network(self.service_cidr)[1]),
                *((self.node_ip,) if self.node_ip else ()),
            ),
        )
        self.sa = self.pki.service_account_keys()
        self.admin = self.pki.issue("admin", "e2e-admin", ("system:masters",), client=True)
        # Control-plane components and Argo CD get admin rights: this is a test
        # cluster; what is under test is the GitOps config, not their RBAC.
        kcm = self.pki.issue(
            "kcm", "system:kube-controller-manager", ("system:masters",), client=True
        )
        argocd = self.pki.issue(
            "argocd", "argocd-application-controller", ("system:masters",), client=True
        )
        self.kubeconfig = self._write_kubeconfig("admin.kubeconfig", self.admin, "default")
        self.kcm_kubeconfig = self._write_kubeconfig("kcm.kubeconfig", kcm, "kube-system")
        self.argocd_kubeconfig = self._write_kubeconfig("argocd.kubeconfig", argocd, ARGOCD_NS)

    def _write_kubeconfig(self, name: str, pair: CertPair, namespace: str) -> Path:
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "e2e",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self.pki.ca.cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "e2e",
                    "user": {"client-certificate": str(pair.cert), "client-key": str(pair.key)},
                }
            ],
            "contexts": [
                {
                    "name": "e2e",
                    "context": {"cluster": "e2e", "user": "e2e", "namespace": namespace},
                }
            ],
            "current-context": "e2e",
        }
        path = self.workdir / name
        path.write_text(yaml.safe_dump(cfg))
        path.chmod(0o600)
        return path

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        proc = self._spawn(
            "etcd",
            [
                self.tools.etcd,
                "--name=e2e",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",  # throw-away data: no fsync, much faster
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            code, body = http_get(f"{self.etcd_url}/health")
            return code == 200 and '"health":"true"' in body.replace(" ", "")

        self._wait_ready(proc, healthy, ETCD_TIMEOUT)

    def _start_apiserver(self) -> None:
        proc = self._spawn(
            "kube-apiserver",
            [
                self.tools.kube_apiserver,
                f"--etcd-servers={self.etcd_url}",
                f"--bind-address={'0.0.0.0' if self.node_ip else '127.0.0.1'}",
                f"--advertise-address={self.node_ip or '127.0.0.1'}",
                f"--secure-port={self.apiserver_port}",
                f"--cert-dir={self.workdir / 'apiserver'}",
                f"--tls-cert-file={self.serving.cert}",
                f"--tls-private-key-file={self.serving.key}",
                f"--client-ca-file={self.pki.ca.cert}",
                f"--service-account-key-file={self.sa.cert}",
                f"--service-account-signing-key-file={self.sa.key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={self.service_cidr}",
                "--authorization-mode=Node,RBAC",
                # Defaults stay on (NamespaceLifecycle, LimitRanger,
                # ServiceAccount, PodSecurity, ResourceQuota, validating and
                # mutating admission policies/webhooks, ...); named explicitly
                # so a changed default cannot silently drop PodSecurity.
                "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,"
                "NodeRestriction,ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,"
                "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
                "--allow-privileged=true",
                # Endpoints for the `kubernetes` Service must not be loopback: with a
                # node, they are the node address; without, there are none.
                f"--endpoint-reconciler-type={'lease' if self.node_ip else 'none'}",
                "--profiling=false",
                "--event-ttl=1h",
                "--v=1",
            ],
        )
        kube = self._kube = KubeClient(
            self.server, self.pki.ca.cert, self.admin.cert, self.admin.key
        )

        def ready() -> bool:
            return bool(kube.request("GET", "/readyz") == "ok")

        self._wait_ready(proc, ready, APISERVER_TIMEOUT)
        # Bootstrap RBAC and priority classes are created by post-start hooks
        # that /readyz waits for; the default namespace/SA come with kcm.

    def _start_kcm(self) -> None:
        port = free_port()
        proc = self._spawn(
            "kube-controller-manager",
            [
                self.tools.kube_controller_manager,
                f"--kubeconfig={self.kcm_kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'kcm'}",
                "--leader-elect=false",
                f"--service-account-private-key-file={self.sa.key}",
                f"--root-ca-file={self.pki.ca.cert}",
                f"--cluster-signing-cert-file={self.pki.ca.cert}",
                f"--cluster-signing-key-file={self.pki.ca.key}",
                "--use-service-account-credentials=false",
                # No kubelet: keep the (absent) node lifecycle from interfering.
                # No metrics API: the HPA controller would only mark every
                # HorizontalPodAutoscaler unable to fetch metrics (Argo CD:
                # Degraded), so it is off and HPAs stay as applied (Healthy).
                # With a node (node_ip), node lifecycle runs: it lifts the not-ready taint
                # a kubelet registers with.
                "--controllers=*,-cloud-node-lifecycle,-horizontalpodautoscaling"
                + ("" if self.node_ip else ",-nodelifecycle"),
                *self.kcm_args,
                "--v=1",
            ],
        )

        def healthy() -> bool:
            return http_get(f"https://127.0.0.1:{port}/healthz", insecure=True) == (200, "ok")

        self._wait_ready(proc, healthy, KCM_TIMEOUT)

        # The ServiceAccount admission plugin rejects Pods until the namespace's
        # `default` ServiceAccount exists; kcm creates it. Wait for `default`.
        def default_sa() -> bool:
            return self.kube.get("v1", "ServiceAccount", "default", "default") is not None

        self._wait_ready(proc, default_sa, KCM_TIMEOUT)

    def _bootstrap_objects(self) -> None:
        kube = self.kube
        assert kube is not None
        crds = list(self.crds)
        if not self.with_argocd:
            # The add-ons' CRDs stand in for the charts that cannot be rendered offline.
            kube.apply([p for p in crds if not p.name.startswith("argoproj.io_")])
            return
        kube.apply(crds)
        kube.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NS}},
            *self.argocd_config_objects(),
        )

    def argocd_config_objects(self) -> list[Manifest]:
        """argocd-cm, argocd-rbac-cm, argocd-secret, the notifications controller's
        ConfigMap and Secret (empty, as the install manifest ships them) and the `default`
        project: the minimum an Argo CD install ships with."""
        labels = {"app.kubernetes.io/part-of": "argocd"}
        secret_key = base64.b64encode(secrets.token_bytes(32)).decode()
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": ARGOCD_NS, "labels": labels},
                "data": {},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-rbac-cm", "namespace": ARGOCD_NS, "labels": labels},
                "data": {},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "argocd-secret", "namespace": ARGOCD_NS, "labels": labels},
                "type": "Opaque",
                "stringData": {"server.secretkey": secret_key},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "argocd-notifications-cm",
                    "namespace": ARGOCD_NS,
                    "labels": labels,
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "argocd-notifications-secret",
                    "namespace": ARGOCD_NS,
                    "labels": labels,
                },
                "type": "Opaque",
            },
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": "default", "namespace": ARGOCD_NS},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"server": "*", "namespace": "*"}],
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                },
            },
        ]

    def _start_redis(self) -> None:
        self.redis_port = free_port()
        (self.workdir / "redis").mkdir(exist_ok=True)
        proc = self._spawn(
            "redis",
            [
                self.tools.redis_server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--protected-mode",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir / "redis"),
                "--daemonize",
                "no",
                "--logfile",
                "",
            ],
        )

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")

        self._wait_ready(proc, pong, ARGOCD_TIMEOUT)

    def _argocd_env(self, binary_name: str) -> dict[str, str]:
        base = self.workdir / "argocd"
        dirs = {
            "HOME": base / "home",
            "TMPDIR": base / "tmp" / binary_name,
            "ARGOCD_TLS_DATA_PATH": base / "tls",
            "ARGOCD_SSH_DATA_PATH": base / "ssh",
            "ARGOCD_GNUPGHOME": base / "gpg" / "keys",
            "ARGOCD_GPG_DATA_PATH": base / "gpg" / "source",
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        bindir = self._argocd_helper_bin()
        return {
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            **{k: str(v) for k, v in dirs.items()},
            "ARGOCD_BINARY_NAME": binary_name,
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            "KUBECONFIG": str(self.argocd_kubeconfig),
            "ARGOCD_GPG_ENABLED": "false",
            # unix socket: keep the path short (108-byte limit)
            "ARGOCD_ASK_PASS_SOCK": str(base / f"{binary_name.split('-')[-1]}.sock"),
            "ARGOCD_RECONCILIATION_JITTER": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    def _argocd_helper_bin(self) -> Path:
        """Helpers the Argo CD image puts on PATH and the repo server execs:
        `argocd` (GIT_ASKPASS=argocd), `helm` (the version Argo CD ships,
        built by build-tools.sh) and `git-verify-wrapper.sh`, which
        v3.5 runs for every revision. The harness neither signs commits nor
        configures GnuPG, so the stand-in reports "no signature" the way the
        real wrapper does for an unsigned commit: no output, exit 0."""
        bindir = self.workdir / "argocd" / "bin"
        if not bindir.exists():
            bindir.mkdir(parents=True)
            (bindir / "argocd").symlink_to(self.tools.argocd)
            # Helm sources: the repo server runs `helm pull` / `helm template`.
            (bindir / "helm").symlink_to(self.tools.helm)
            wrapper = bindir / "git-verify-wrapper.sh"
            wrapper.write_text(
                "#!/bin/sh\n"
                "# e2e harness stand-in: commits are unsigned and GnuPG is off.\n"
                "exit 0\n"
            )
            wrapper.chmod(0o755)
        return bindir

    def _http_ok(self, url: str) -> bool:
        return http_get(url)[0] == 200

    def _start_repo_server(self) -> None:
        self.repo_server_port = free_port()
        metrics = free_port()
        proc = self._spawn(
            "argocd-repo-server",
            [
                self.tools.argocd,
                "--address=127.0.0.1",
                f"--port={self.repo_server_port}",
                "--metrics-address=127.0.0.1",
                f"--metrics-port={metrics}",
                f"--redis=127.0.0.1:{self.redis_port}",
                "--disable-tls",
                # Its default points at a mounted Secret path, and a non-empty
                # value is refused together with --disable-tls.
                "--client-ca-path=",
                "--loglevel=info",
                "--logformat=text",
            ],
            env=self._argocd_env("argocd-repo-server"),
        )
        self._wait_ready(
            proc, lambda: self._http_ok(f"http://127.0.0.1:{metrics}/healthz"), ARGOCD_TIMEOUT
        )

    def _start_controller(self) -> None:
        metrics = free_port()
        proc = self._spawn(
            "argocd-application-controller",
            [
                self.tools.argocd,
                f"--repo-server=127.0.0.1:{self.repo_server_port}",
                "--repo-server-plaintext",
                f"--redis=127.0.0.1:{self.redis_port}",
                # Hard-coded to listen on 0.0.0.0: hence the private netns.
                f"--metrics-port={metrics}",
                # Not used (hydrator disabled); point it at loopback anyway.
                f"--commit-server=127.0.0.1:{free_port()}",
                f"--app-resync={self.app_resync_seconds}",
                "--status-processors=5",
                "--operation-processors=5",
                "--self-heal-timeout-seconds=0",
                # Keep per-resource health in Application status (3.x default
                # is Redis only) so tests can assert on it.
                "--persist-resource-health=true",
                "--loglevel=info",
                "--logformat=text",
            ],
            env=self._argocd_env("argocd-application-controller"),
        )
        self._wait_ready(
            proc, lambda: self._http_ok(f"http://127.0.0.1:{metrics}/healthz"), ARGOCD_TIMEOUT
        )

    def _start_notifications(self) -> None:
        """Argo CD's notifications controller (the same binary, by its name): it reads
        argocd-notifications-cm and -secret in Argo CD's namespace and the subscriptions
        annotated on Applications, and sends from this network namespace."""
        metrics = free_port()
        proc = self._spawn(
            "argocd-notifications",
            [
                self.tools.argocd,
                f"--argocd-repo-server=127.0.0.1:{self.repo_server_port}",
                "--argocd-repo-server-plaintext",
                # Hard-coded to listen on 0.0.0.0, as the application controller's.
                f"--metrics-port={metrics}",
                "--loglevel=debug",
                "--logformat=text",
            ],
            env=self._argocd_env("argocd-notifications"),
        )
        self._wait_ready(
            proc, lambda: self._http_ok(f"http://127.0.0.1:{metrics}/metrics"), ARGOCD_TIMEOUT
        )

    # ------------------------------------------------------------ kube helpers
    def apply(self, *manifests: Any) -> list[Manifest]:
        """Server-side apply YAML text / Paths / dicts (see kube.load_manifests)."""
        return self.kube.apply(*manifests)

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        return self.kube.get(api_version, kind, name, namespace)

    def must_get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest:
        """The object; AssertionError when it does not exist."""
        obj = self.kube.get(api_version, kind, name, namespace)
        where = f"{namespace}/{name}" if namespace else name
        assert obj is not None, f"{kind} {where} ({api_version}) does not exist"
        return obj

    def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 60,
        description: str = "condition",
        interval: float = 0.5,
        logs: list[str] | None = None,
    ) -> T:
        """wait_for() that appends the tail of component logs on timeout
        (`logs`: component names; default: the Argo CD ones)."""
        only = logs or ["argocd-application-controller", "argocd-repo-server"]
        return wait_for(
            predicate,
            timeout,
            description,
            interval,
            describe_last=lambda: self.diagnostics(20, only),
        )

    def set_ingress_status(
        self, name: str, namespace: str, ip: str = "127.0.0.1", hostname: str | None = None
    ) -> Manifest:
        """Stand in for an ingress controller: publish a load-balancer address
        in the Ingress status, which is what Argo CD's Ingress health check
        waits for (Progressing -> Healthy)."""
        entry: dict[str, str] = {"hostname": hostname} if hostname else {"ip": ip}
        return self.kube.patch(
            "networking.k8s.io/v1",
            "Ingress",
            name,
            {"status": {"loadBalancer": {"ingress": [entry]}}},
            namespace=namespace,
            subresource="status",
        )

    def set_ready_condition(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        message: str = "set by the e2e harness (stand-in controller)",
    ) -> Manifest:
        """Stand in for a controller that is not running (e.g. cert-manager
        for ClusterIssuers/Certificates): set status.conditions Ready=True,
        which is what Argo CD's health checks for such kinds look at."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj = self.kube.get(api_version, kind, name, namespace)
        if obj is None:
            raise KubeError(404, f"{kind} {namespace + '/' if namespace else ''}{name} not found")
        cond = {
            "type": "Ready",
            "status": "True",
            "reason": "E2EStandIn",
            "message": message,
            "lastTransitionTime": now,
            "observedGeneration": obj["metadata"].get("generation", 1),
        }
        return self.kube.patch(
            api_version,
            kind,
            name,
            {"status": {"conditions": [cond]}},
            namespace=namespace,
            subresource="status",
        )

    def set_hpa_status(self, name: str, namespace: str) -> Manifest:
        """Stand in for the HPA controller (off: there is no metrics API):
        report the HPA able to scale and active at its current replica count,
        which Argo CD's HPA health check reads as Healthy."""
        hpa = self.kube.get("autoscaling/v2", "HorizontalPodAutoscaler", name, namespace)
        if hpa is None:
            raise KubeError(404, f"HorizontalPodAutoscaler {namespace}/{name} not found")
        ref = hpa["spec"]["scaleTargetRef"]
        target = self.kube.get(
            ref.get("apiVersion", "apps/v1"), ref["kind"], ref["name"], namespace
        )
        replicas = ((target or {}).get("spec") or {}).get("replicas") or hpa["spec"].get(
            "minReplicas", 1
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conds = [
            {
                "type": t,
                "status": "True",
                "reason": "E2EStandIn",
                "message": "set by the e2e harness",
                "lastTransitionTime": now,
            }
            for t in ("AbleToScale", "ScalingActive")
        ]
        return self.kube.patch(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            name,
            {
                "status": {
                    "currentReplicas": replicas,
                    "desiredReplicas": replicas,
                    "conditions": conds,
                }
            },
            namespace=namespace,
            subresource="status",
        )

    def stand_in_controllers(self, namespace: str | None = None) -> dict[str, int]:
        """Do once what absent controllers would: publish an address on every
        Ingress (ingress controller), mark cert-manager issuers and
        certificates Ready, report HPAs active (HPA controller + metrics
        API). `namespace=None`: all namespaces. Returns counts per kind. Pods
        are separate: mark_pods_ready() / start_fake_kubelet()."""
        counts = {"Ingress": 0, "cert-manager": 0, "HorizontalPodAutoscaler": 0}
        for ing in self.kube.list("networking.k8s.io/v1", "Ingress", namespace):
            self.set_ingress_status(ing["metadata"]["name"], ing["metadata"]["namespace"])
            counts["Ingress"] += 1
        for kind in ("ClusterIssuer", "Issuer", "Certificate"):
            try:
                objs = self.kube.list("cert-manager.io/v1", kind, namespace)
            except KubeError:
                continue  # CRD not installed
            for o in objs:
                self.set_ready_condition(
                    "cert-manager.io/v1",
                    kind,
                    o["metadata"]["name"],
                    o["metadata"].get("namespace"),
                )
                counts["cert-manager"] += 1
        for hpa in self.kube.list("autoscaling/v2", "HorizontalPodAutoscaler", namespace):
            self.set_hpa_status(hpa["metadata"]["name"], hpa["metadata"]["namespace"])
            counts["HorizontalPodAutoscaler"] += 1
        return counts

    def mark_pods_ready(
        self,
        namespace: str | None,
        label_selector: str | None = None,
        kube: KubeClient | None = None,
        finish_jobs: bool = True,
        never_ready: frozenset[str] = frozenset(),
    ) -> int:
        """Stand in for a kubelet: mark matching Pods Running and Ready (so
        ReplicaSets count them ready and Deployments become Available /
        Healthy). With `finish_jobs`, a Pod controlled by a Job is reported
        as having run to completion instead (phase Succeeded, every
        container terminated with exit code 0), so the Job controller
        completes the Job (hook Jobs, CronJob runs). Nothing is executed: the
        containers' work is not done. `namespace=None` means all namespaces.
        A Pod running an image of `never_ready` is reported Running with its
        containers crash-looping, never Ready, with the BackOff Event a kubelet
        writes (a release that cannot start). Returns how many pods were updated.
        See also start_fake_kubelet()."""
        kube = kube or self.kube
        assert kube is not None
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        count = 0
        for pod in kube.list("v1", "Pod", namespace, label_selector=label_selector):
            phase = pod.get("status", {}).get("phase")
            if pod["metadata"].get("deletionTimestamp") or phase in ("Succeeded", "Failed"):
                continue
            owned_by_job = any(
                o.get("kind") == "Job" and o.get("controller")
                for o in pod["metadata"].get("ownerReferences") or []
            )
            broken = any(c.get("image") in never_ready for c in pod["spec"].get("containers", []))
            if finish_jobs and owned_by_job:
                status = self._pod_completed_status(pod, now)
            elif phase == "Running":
                continue
            elif broken:
                status = self._pod_crashing_status(pod, now)
                self._back_off_event(kube, pod, now)
            else:
                status = self._pod_ready_status(pod, now)
            kube.patch(
                "v1",
                "Pod",
                pod["metadata"]["name"],
                {"status": status},
                namespace=pod["metadata"]["namespace"],
                subresource="status",
            )
            count += 1
        return count

    @staticmethod
    def _pod_ready_status(pod: Manifest, now: str) -> dict[str, Any]:
        return {
            "phase": "Running",
            "podIP": "127.0.0.1",
            "hostIP": "127.0.0.1",
            "startTime": now,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for c in pod["spec"].get("containers", [])
            ],
        }

    @staticmethod
    def _pod_crashing_status(pod: Manifest, now: str) -> dict[str, Any]:
        status = Cluster._pod_ready_status(pod, now)
        for condition in status["conditions"]:
            if condition["type"] in ("ContainersReady", "Ready"):
                condition.update(status="False", reason="ContainersNotReady")
        for container in status["containerStatuses"]:
            container.update(
                ready=False,
                started=False,
                restartCount=3,
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container",
                    }
                },
            )
        return status

    @staticmethod
    def _back_off_event(kube: KubeClient, pod: Manifest, now: str) -> None:
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]["name"]
        kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.backoff", "namespace": meta["namespace"]},
                "involvedObject": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                },
                "reason": "BackOff",
                "message": f"Back-off restarting failed container {container} in pod "
                f"{meta['name']}",
                "type": "Warning",
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "source": {"component": "kubelet", "host": "e2e-stand-in"},
            }
        )

    @staticmethod
    def _pod_completed_status(pod: Manifest, now: str) -> dict[str, Any]:
        done = {"type": "Ready", "status": "False", "reason": "PodCompleted"}
        return {
            "phase": "Succeeded",
            "podIP": "127.0.0.1",
            "hostIP": "127.0.0.1",
            "startTime": now,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {**done, "type": "ContainersReady", "lastTransitionTime": now},
                {**done, "lastTransitionTime": now},
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": now,
                            "finishedAt": now,
                        }
                    },
                }
                for c in pod["spec"].get("containers", [])
            ],
        }

    def start_fake_kubelet(
        self,
        namespaces: list[str] | None = None,
        interval: float = 1.0,
        never_ready: frozenset[str] = frozenset(),
    ) -> None:
        """Keep marking new Pods Running + Ready in the background (all
        namespaces by default), and Job Pods Succeeded, so rollouts, HPA
        scale-ups and Jobs (Argo CD hook Jobs included) progress as if a
        kubelet ran them. Stopped by stop_fake_kubelet()
        or stop(). Errors go to logs/fake-kubelet.log."""
        self.stop_fake_kubelet()
        kube = KubeClient(self.server, self.pki.ca.cert, self.admin.cert, self.admin.key)
        stop = threading.Event()
        log_path = self.workdir / "logs" / "fake-kubelet.log"

        def loop() -> None:
            with open(log_path, "a") as log:
                while not stop.is_set():
                    targets: list[str | None] = list(namespaces) if namespaces else [None]
                    for ns in targets:
                        try:
                            n = self.mark_pods_ready(ns, kube=kube, never_ready=never_ready)
                            if n:
                                log.write(
                                    f"{time.strftime('%H:%M:%S')} marked {n} pod(s) ready"
                                    f" in {ns or 'all namespaces'}\n"
                                )
                                log.flush()
                        except Exception as exc:
                            log.write(f"{time.strftime('%H:%M:%S')} error: {exc}\n")
                            log.flush()
                    stop.wait(interval)
            kube.close()

        thread = threading.Thread(target=loop, name="fake-kubelet", daemon=True)
        thread.start()
        self._kubelet: tuple[threading.Thread, threading.Event] | None = (thread, stop)

    def start_webhook_stand_in(self) -> WebhookStandIn:
        """Answer the Service-backed admission webhooks the add-ons register
        (ingress-nginx, cert-manager), whose servers are pods that do not run
        here: from now on, and for webhooks registered later. It ALLOWS every
        request and records it (`.calls`); `.pause()` / `.resume()` stop and
        restart answering. See webhooks.py for what is real and what is not."""
        if self.webhooks is None:
            kube = KubeClient(self.server, self.pki.ca.cert, self.admin.cert, self.admin.key)
            self.webhooks = WebhookStandIn(
                kube,
                self.pki,
                SERVICE_CIDR_LOOPBACK,
                self.workdir / "logs" / "webhook-stand-in.log",
            ).start()
        return self.webhooks

    def stop_webhook_stand_in(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None

    def stop_fake_kubelet(self) -> None:
        kubelet = getattr(self, "_kubelet", None)
        if kubelet:
            thread, stop = kubelet
            stop.set()
            thread.join(10)
            self._kubelet = None

    # ---------------------------------------------------------- Argo CD helpers
    def app(self, name: str, namespace: str = ARGOCD_NS) -> Manifest | None:
        return self.get("argoproj.io/v1alpha1", "Application", name, namespace)

    def app_status(self, name: str, namespace: str = ARGOCD_NS) -> dict[str, Any]:
        """A compact view of an Application's status: sync, revision, health,
        conditions, operation phase/message, and per-resource statuses."""
        app = self.app(name, namespace)
        if app is None:
            return {"exists": False}
        st = app.get("status") or {}
        op = st.get("operationState") or {}
        return {
            "exists": True,
            "sync": (st.get("sync") or {}).get("status"),
            "revision": (st.get("sync") or {}).get("revision"),
            "health": (st.get("health") or {}).get("status"),
            "conditions": [
                {"type": c.get("type"), "message": c.get("message")}
                for c in st.get("conditions") or []
            ],
            "operation": {
                "phase": op.get("phase"),
                "message": op.get("message"),
                "revision": (op.get("syncResult") or {}).get("revision"),
            },
            "resources": [
                {k: r.get(k) for k in ("group", "kind", "namespace", "name", "status")}
                | {"health": (r.get("health") or {}).get("status")}
                for r in st.get("resources") or []
            ],
            "refresh_pending": REFRESH_ANNOTATION in (app["metadata"].get("annotations") or {}),
        }

    def refresh_app(self, name: str, hard: bool = True, namespace: str = ARGOCD_NS) -> None:
        """Ask the controller to re-read git now (annotation refresh=hard|normal)."""
        self.kube.patch(
            "argoproj.io/v1alpha1",
            "Application",
            name,
            {"metadata": {"annotations": {REFRESH_ANNOTATION: "hard" if hard else "normal"}}},
            namespace=namespace,
        )

    def wait_app(
        self,
        name: str,
        sync: str | None = "Synced",
        health: str | None = None,
        revision: str | None = None,
        operation_phase: str | None = None,
        timeout: float = 120,
        namespace: str = ARGOCD_NS,
    ) -> dict[str, Any]:
        """Wait until the Application reports the given sync status / health /
        revision / last operation phase; returns app_status()."""
        want = {k: v for k, v in (("sync", sync), ("health", health), ("revision", revision)) if v}

        def check() -> dict[str, Any] | None:
            st = self.app_status(name, namespace)
            if not st["exists"] or st["refresh_pending"]:
                return None
            if any(st.get(k) != v for k, v in want.items()):
                return None
            if operation_phase and st["operation"]["phase"] != operation_phase:
                return None
            if revision and operation_phase and st["operation"]["revision"] != revision:
                return None
            return st

        last: dict[str, Any] = {}

        def describe() -> str:
            last.update(self.app_status(name, namespace))
            return (
                f"Application {namespace}/{name} status:\n{yaml.safe_dump(last, sort_keys=False)}"
                + self.diagnostics(20, ["argocd-application-controller", "argocd-repo-server"])
            )

        wanted = ", ".join(f"{k}={v}" for k, v in want.items())
        if operation_phase:
            wanted += f", operation={operation_phase}"
        return wait_for(check, timeout, f"Application {name} to be {wanted}", 0.5, describe)

    def wait_app_condition(
        self,
        name: str,
        match: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        description: str = "a matching condition",
        namespace: str = ARGOCD_NS,
    ) -> list[dict[str, Any]]:
        """Wait until some entry of status.conditions or the last operation's
        message satisfies `match` (called with {"type", "message"}); returns
        all matching entries."""

        def check() -> list[dict[str, Any]] | None:
            st = self.app_status(name, namespace)
            if not st["exists"]:
                return None
            entries = list(st["conditions"])
            if st["operation"]["message"]:
                entries.append(
                    {
                        "type": f"operation:{st['operation']['phase']}",
                        "message": st["operation"]["message"],
                    }
                )
            hits = [c for c in entries if match(c)]
            return hits or None

        return wait_for(
            check,
            timeout,
            f"Application {name}: {description}",
            0.5,
            lambda: yaml.safe_dump(self.app_status(name, namespace), sort_keys=False),
        )

    def terminate_operation(self, name: str, namespace: str = ARGOCD_NS) -> bool:
        """Stop a running (e.g. endlessly retrying) sync, like `argocd app
        terminate-op`. Returns whether there was one to stop."""
        app = self.app(name, namespace)
        phase = ((app or {}).get("status") or {}).get("operationState", {}).get("phase")
        if phase != "Running":
            return False
        self.kube.patch(
            "argoproj.io/v1alpha1",
            "Application",
            name,
            {"status": {"operationState": {"phase": "Terminating"}}},
            namespace=namespace,
        )
        return True

    def delete_app(
        self, name: str, wait: bool = True, timeout: float = 120, namespace: str = ARGOCD_NS
    ) -> None:
        """Delete an Application; with Argo CD's resources finalizer on it,
        that cascades to everything it manages (child Applications too).
        Argo CD does not finalize an Application while a sync is running, so
        running syncs of it and of Applications being deleted are terminated.
        `wait` blocks until the Application object is gone."""
        self.terminate_operation(name, namespace)
        self.kube.delete("argoproj.io/v1alpha1", "Application", name, namespace)
        if not wait:
            return

        def gone() -> bool:
            for app in self.kube.list("argoproj.io/v1alpha1", "Application", namespace):
                if app["metadata"].get("deletionTimestamp"):
                    self.terminate_operation(app["metadata"]["name"], namespace)
            return self.app(name, namespace) is None

        self.wait_for(gone, timeout, f"Application {name} (and what it manages) to be deleted")

    def events_text(self, namespace: str, involved_name: str | None = None) -> str:
        try:
            evs = self.kube.events(namespace, involved_name)
        except KubeError as exc:
            return f"(events unavailable: {exc})"
        return "\n".join(
            f"{e.get('type')} {e.get('reason')} {e['involvedObject'].get('kind')}/"
            f"{e['involvedObject'].get('name')}: {e.get('message')}"
            for e in evs
        )
