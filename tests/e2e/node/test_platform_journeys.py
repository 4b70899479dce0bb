"""The platform add-ons for real, on a node that runs them (docs/e2e.md, "The add-ons on the
node").

A fresh node; the add-on Applications' charts sync from the local Helm repository through Argo
CD, and their pods run from images built from source (harness/addons.py): cert-manager's
controller, webhook and cainjector (and its startupapicheck hook, its HTTP-01 solver), the
secrets-store CSI driver with its registrar and liveness probe (and its CRD hook), the Infisical
CSI provider. ingress-nginx's images are the harness's stand-in controller (no ingress
controller builds from what the module proxy serves). Outside the node, the stand-in internet
(harness/internet.py): public DNS, Pebble as the operator's ACME server and at Let's Encrypt's
names, an Infisical stand-in (harness/infisical.py) and the load balancer in front of the
ingress NodePorts.

The operator has prepared `clusters/dev/cluster.yaml` once: the repository URL, and Pebble as an
extra ACME issuer (`acme_issuers`, with its CA bundle) selected as the environment's
`tls_issuer`. Then, in file order:

1. a generated payload (tests/e2e/node/platform-payload.json, no hand edits) to the first
   HTTPS 200 on the app's host, in one timed run: generate, synth, commit, root.yaml; every
   Application Synced and Healthy wave by wave, every add-on pod Ready, the webhook answering,
   the CSI driver registered with the kubelet;
2. the certificate came through the base's own path: cert-manager's HTTP-01 solver pod in the
   app namespace (restricted Pod Security, default-deny) reached through the ingress
   controller, a chain to Pebble's root;
3. a secret from outside: the file and the env var the base renders, a rotated value in the
   file within the driver's rotation interval, the stand-in down: the running pod serves on,
   a new pod reports FailedMount saying why;
4.-6. each journey fails when the base's object it depends on is broken: the solver's
   NetworkPolicy removed, the SecretProviderClass's audience wrong, the Ingress's class wrong;
   and recovers once it is restored.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import GitRepo, KubeClient, Timings, wait_for
from tests.e2e.harness.addons import (
    PATH_ENV,
    AddonTools,
    chart_images,
    find_addon_tools,
    image_files,
)
from tests.e2e.harness.argocd_images import images as argocd_images
from tests.e2e.harness.argocd_images import manifest_images
from tests.e2e.harness.base import applications_in, assert_addon_synced, gitops_base, is_chart
from tests.e2e.harness.cluster import ARGOCD_NS
from tests.e2e.harness.githttp import GitHttpServer
from tests.e2e.harness.helmrepo import HelmRepo
from tests.e2e.harness.infisical import Identity, InfisicalStandIn
from tests.e2e.harness.internet import (
    INFISICAL_HOST,
    INFISICAL_IP,
    LB_IP,
    PEBBLE_DIRECTORY,
    Internet,
)
from tests.e2e.harness.kube import Manifest
from tests.e2e.harness.node import NODE_IP, NODE_NAME, Node, _run
from tests.e2e.harness.steps import BOOTSTRAP_STEPS, communicate_timed, step_times
from tests.e2e.harness.tools import REPO_ROOT, ToolsMissing
from tests.e2e.test_bootstrap_command import bootstrap, pinned_install_manifest

# No Argo CD from the harness: `gitops-base bootstrap` installs the pinned one, as pods.
HARNESS_ARGOCD = False
TIMINGS_PREFIX = "platform: "

ENV = "dev"
NS = "shop"
HOST = "shop.dev.example.com"
PAYLOAD = Path(__file__).resolve().parent / "platform-payload.json"
WEB_IMAGE = "ghcr.io/example/shop-web:1.9.0"
API_IMAGE = "ghcr.io/example/shop-api:2.4.0"
WEB = "app.kubernetes.io/name=web"
API = "app.kubernetes.io/name=api"
SOLVER = "acme.cert-manager.io/http01-solver=true"
PROJECT = "6f1a5c1e-8a42-4d0b-9b0e-2f7c4d9e1a10"
IDENTITY = "3c9d2b7a-1e4f-4a6b-8c5d-9e0f1a2b3c4d"
DATABASE_URL = "postgres://shop:first@db.example.com/shop"  # pragma: allowlist secret
JWT_KEY = "jwt signing key, version 1"
ROTATION_INTERVAL = 120  # the base's rotationPollInterval (2m)
ADDON_NAMESPACES = ("cert-manager", "ingress-nginx", "kube-system")
TOKEN = "read-only-deploy-token"  # the repository credential bootstrap puts into Argo CD
ARGOCD_WORKLOADS = (
    ("apps/v1", "StatefulSet", "argocd-application-controller"),
    ("apps/v1", "Deployment", "argocd-repo-server"),
    ("apps/v1", "Deployment", "argocd-server"),
    ("apps/v1", "Deployment", "argocd-redis"),
)


def _say(msg: str) -> None:
    print(f"[e2e platform] {msg}", flush=True)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def addon_tools() -> AddonTools:
    try:
        return find_addon_tools()
    except ToolsMissing as exc:
        error = str(exc)
    pytest.fail(error, pytrace=False)


@pytest.fixture(scope="module")
def internet(node: Node, addon_tools: AddonTools, e2e_timings: Timings) -> Iterator[Internet]:
    inet = Internet(
        node.outside_pid,
        node.workdir / "internet",
        NODE_IP,
        lambda name, argv, env: node.run_outside(name, argv, env),
        _run,
        log=_say,
    )
    try:
        inet.start(addon_tools.__getitem__, http_port=30080, https_port=30443)
        inet.add_a(INFISICAL_HOST, INFISICAL_IP)
        inet.add_a(HOST, LB_IP)
        for k, v in inet.timings.items():
            e2e_timings[f"platform: {k}"] = round(v, 2)
        yield inet
    finally:
        inet.stop()


@pytest.fixture(scope="module")
def infisical(node: Node, internet: Internet) -> Iterator[InfisicalStandIn]:
    """The stand-in, configured as an operator configures Infisical's Kubernetes auth: a
    token-reviewer service account bound to system:auth-delegator, its token, and a machine
    identity allowed for the app's service account."""
    cluster = node.cluster
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "infisical-token-reviewer", "namespace": "default"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "infisical-token-reviewer"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": "infisical-token-reviewer",
                    "namespace": "default",
                }
            ],
        },
    )
    token = cluster.kube.request(
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/infisical-token-reviewer/token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 7200},
        },
    )["status"]["token"]
    cert = internet.root_ca.issue("infisical", INFISICAL_HOST, server_names=(INFISICAL_HOST,))
    api_port = cluster.server.rsplit(":", 1)[1]
    stand_in = InfisicalStandIn(
        node.outside_pid, cert, f"https://{NODE_IP}:{api_port}", cluster.pki.ca.cert, token
    )
    stand_in.identities[IDENTITY] = Identity(
        project_id=PROJECT,
        audience="infisical",
        allowed_namespaces=(NS,),
        allowed_service_accounts=("shop",),
    )
    stand_in.put(PROJECT, ENV, "/api", "DATABASE_URL", DATABASE_URL)
    stand_in.put(PROJECT, ENV, "/api", "jwt-signing-key", JWT_KEY)
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def charts(
    node: Node, tmp_path_factory: pytest.TempPathFactory, helm_repo: HelmRepo
) -> Iterator[HelmRepo]:
    """The pinned charts served where Argo CD's repo server pod reaches them: the node's
    address (the harness's stand-in for the chart repositories on the internet)."""
    repo = HelmRepo(
        tmp_path_factory.mktemp("charts"), helm_repo.helm, helm_repo.charts, _say, host=NODE_IP
    ).start()
    yield repo
    repo.stop()


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory, node: Node) -> Iterator[GitHttpServer]:
    """The private Git host: HTTP with a token, on the node's address (pods reach it)."""
    server = GitHttpServer(tmp_path_factory.mktemp("git"), "git", TOKEN, host=NODE_IP).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def platform_repo(internet: Internet, git_server: GitHttpServer) -> GitRepo:
    """A copy of the base for a new app, as the operator prepared it: dev syncs from it on the
    Git host, Pebble is an extra ACME issuer selected as dev's issuer, and there is no config
    yet (the payload brings it)."""
    repo = GitRepo.create(git_server.root / "shop-gitops", source=REPO_ROOT)
    path = f"clusters/{ENV}/cluster.yaml"
    text = repo.read(path)
    for old, new in (
        (
            "url: https://github.com/example-org/shop-gitops.git",
            f"url: {git_server.url_for(repo.path)}",
        ),
        ("tls_issuer: letsencrypt-staging", "tls_issuer: pebble"),
        # A contact Let's Encrypt accepts: bootstrap refuses the example's (RFC 2606).
        ("acme_email: platform@example.com", "acme_email: platform@acme-shop.io"),
    ):
        assert old in text, f"{path} no longer has {old!r}"
        text = text.replace(old, new)
    bundle = "".join(f"      {line}\n" for line in internet.acme_ca_pem.strip().splitlines())
    text += (
        "acme_issuers:                    # the ACME server of this environment's CA\n"
        "  - name: pebble\n"
        f"    server: {PEBBLE_DIRECTORY}\n"
        "    ca_bundle: |\n" + bundle
    )
    repo.write(path, text)
    repo.remove("config/app-config.yaml")
    repo.commit_all(f"{ENV}: sync from this repository, issue from the environment's ACME CA")
    return repo


@pytest.fixture(scope="module")
def install_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pinned_install_manifest(tmp_path_factory.mktemp("argocd"))


@pytest.fixture(scope="module")
def addon_images(
    node: Node,
    addon_tools: AddonTools,
    charts: HelmRepo,
    internet: Internet,
    install_manifest: Path,
    e2e_timings: Timings,
) -> dict[str, str]:
    """Every image the add-on charts and Argo CD's install manifest run, imported under its
    reference; the app's images."""
    t0 = time.monotonic()
    refs: set[str] = set()
    for app in applications_in(REPO_ROOT / "dist" / ENV / "argocd").values():
        if is_chart(app):
            refs |= chart_images(charts.template(app, node.cluster.tools.kubernetes_version))
    ca = internet.root_ca.ca.cert.read_bytes()

    def tool(name: str) -> Path:
        if name in addon_tools.paths:
            return addon_tools[name]
        return node.tools[name]

    def chart_package(chart: str) -> Path:
        for c, path in charts.charts.items():
            if c.name == chart:
                return path
        raise ToolsMissing(f"no pinned chart {chart}")

    made = {}
    for ref in sorted(refs):
        spec, files, entrypoint = image_files(ref, tool, chart_package, ca)
        node.load_image(ref, files, entrypoint, user=spec.user, env={"PATH": PATH_ENV})
        made[ref] = spec.description
    install = [d for d in yaml.safe_load_all(install_manifest.read_text()) if d]
    tools = node.cluster.tools
    for ref, image in argocd_images(
        manifest_images(install), tools.argocd, tools.helm, tools.argocd_version, ca
    ).items():
        node.load_image(
            ref,
            image.files,
            image.entrypoint,
            user=image.user,
            env=image.env,
            links=image.links,
            dirs=image.dirs,
            working_dir=image.working_dir,
        )
        made[ref] = image.description
    node.server_image(WEB_IMAGE, "shop-web 1.9.0")
    node.server_image(API_IMAGE, "shop-api 2.4.0")
    e2e_timings["platform: images written and imported"] = round(time.monotonic() - t0, 2)
    _say("images: " + ", ".join(f"{r} ({d})" for r, d in made.items()))
    return made


# ------------------------------------------------------------------ helpers
def https_get(
    host: str, path: str, cadata: str, timeout: float = 5
) -> tuple[int, str, dict[str, Any]]:
    """GET https://<host><path> through the load balancer, verifying the chain against
    `cadata` and the name against `host`: (status, body, peer certificate)."""
    ctx = ssl.create_default_context(cadata=cadata)
    with socket.create_connection((LB_IP, 443), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert() or {}
            tls.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return status, body.decode(errors="replace"), cert


def pod_read(node: Node, pod: Manifest, path: str, port: int) -> tuple[int, Any]:
    return node.pod_get(pod, f"/read?path={path}", port)  # type: ignore[no-any-return]


def environ(node: Node, pod: Manifest, port: int) -> dict[str, str]:
    code, text = pod_read(node, pod, "/proc/self/environ", port)
    assert code == 200, text
    return dict(e.partition("=")[::2] for e in str(text).split("\0") if "=" in e)


def sync_commit(node: Node, sha: str, apps: tuple[str, ...], timeout: float = 180) -> None:
    cluster = node.cluster
    for app in ("root", "platform", "shop"):
        cluster.refresh_app(app, hard=True)
    for app in apps:
        cluster.wait_app(
            app, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=timeout
        )


class Recorder:
    """Polls the API server in the background (its own client) and records when each
    Application first became Synced and Healthy, and every solver pod and Ingress seen."""

    def __init__(self, node: Node):
        c = node.cluster
        self.kube = KubeClient(c.server, c.pki.ca.cert, c.admin.cert, c.admin.key)
        self.t0 = time.monotonic()
        self.healthy_at: dict[str, float] = {}
        self.argocd_ready_at: float | None = None
        self.solver_pods: dict[str, Manifest] = {}
        self.solver_ingresses: dict[str, Manifest] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.argocd_ready_at is None and all(
                    ((self.kube.get(a, k, n, ARGOCD_NS) or {}).get("status") or {}).get(
                        "readyReplicas"
                    )
                    for a, k, n in ARGOCD_WORKLOADS
                ):
                    self.argocd_ready_at = time.monotonic() - self.t0
                for app in self.kube.list("argoproj.io/v1alpha1", "Application", ARGOCD_NS):
                    st = app.get("status") or {}
                    name = app["metadata"]["name"]
                    if (
                        name not in self.healthy_at
                        and (st.get("sync") or {}).get("status") == "Synced"
                        and (st.get("health") or {}).get("status") == "Healthy"
                    ):
                        self.healthy_at[name] = time.monotonic() - self.t0
                for pod in self.kube.list("v1", "Pod", NS, label_selector=SOLVER):
                    name = pod["metadata"]["name"]
                    prev = self.solver_pods.get(name)
                    if prev is None or (pod.get("status") or {}).get("phase") == "Running":
                        self.solver_pods[name] = pod
                for ing in self.kube.list("networking.k8s.io/v1", "Ingress", NS):
                    if ing["metadata"]["name"].startswith("cm-acme-http-solver"):
                        self.solver_ingresses[ing["metadata"]["name"]] = ing
            except Exception:
                pass
            self._stop.wait(0.3)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)
        self.kube.close()


STATE: dict[str, Any] = {}


# ----------------------------------------------------------------- journey 1 (and 4)
def test_a_payload_to_the_first_https_response(
    node: Node,
    platform_repo: GitRepo,
    addon_images: dict[str, str],
    infisical: InfisicalStandIn,
    internet: Internet,
    charts: HelmRepo,
    install_manifest: Path,
    e2e_timings: Timings,
) -> None:
    cluster = node.cluster
    waves = {
        name: int(app["metadata"]["annotations"].get("argocd.argoproj.io/sync-wave", "0"))
        for name, app in applications_in(REPO_ROOT / "dist" / ENV / "argocd").items()
    }
    pebble_root = internet.pebble_root()
    with Recorder(node) as rec:
        t0 = rec.t0
        gitops_base(platform_repo.path, "generate", "--input", str(PAYLOAD))
        gitops_base(platform_repo.path, "synth")
        # The charts' repositories are the local Helm repository (the harness's stand-in for
        # the chart repositories on the internet).
        platform_repo.rewrite_chart_urls(charts.mapping)
        sha = platform_repo.commit_all("deploy web and api")
        t_commit = time.monotonic() - t0
        # The quickstart's step 7 on the empty node: Argo CD from its pinned manifest (its
        # pods run here), the repository credential, root.yaml; wait for every Application.
        proc = bootstrap(platform_repo.path, cluster, install_manifest, TOKEN, "--timeout", "900")
        code, lines, err = communicate_timed(proc, t0, timeout=960)
        t_healthy = time.monotonic() - t0
        out = "".join(f"{line}\n" for _, line in lines)
        _say(f"bootstrap:\n{out}{err}")
        assert code == 0, (
            f"bootstrap exited {code}\nstdout:\n{out}\nstderr:\n{err}\n"
            + node.pod_logs(ARGOCD_NS, 15)
            + node.describe_pods(ARGOCD_NS)
        )

        def first_200() -> tuple[int, str, dict[str, Any]] | None:
            try:
                got = https_get(HOST, "/version", pebble_root)
            except (OSError, ssl.SSLError):
                return None
            return got if got[0] == 200 else None

        status, body, cert = cluster.wait_for(
            first_200, 600, f"HTTPS 200 from https://{HOST}/", 0.5, logs=["kubelet"]
        )
        t_https = time.monotonic() - t0
    STATE.update(recorder=rec, cert=cert, body=body, pebble_root=pebble_root, sha=sha)
    assert f"{ENV} is Synced and Healthy" in out, out
    # Argo CD's pods pull their image (`imagePullPolicy: Always` in its manifest): containerd
    # resolved it on the node's registry.
    assert node.registry is not None
    argocd_manifest = f"/v2/argoproj/argocd/manifests/{cluster.tools.argocd_version}"
    pulled = [(m, p.split("?", 1)[0]) for m, p, status in node.registry.requests if status == 200]
    assert ("HEAD", argocd_manifest) in pulled or ("GET", argocd_manifest) in pulled, pulled
    _say(f"node registry: {len(pulled)} answered requests: {sorted(set(pulled))}")
    assert "repository credential: token from GITOPS_BASE_REPO_TOKEN" in out, out
    assert TOKEN not in out + err

    # The timed run, from the start of bootstrap: its own steps, as it reports them, and each
    # wave as the API server shows it.
    t_start = t_commit
    steps = step_times(lines)
    assert list(steps) == [name for name, _ in BOOTSTRAP_STEPS], (list(steps), out)
    assert rec.argocd_ready_at is not None
    e2e_timings["platform: generate + synth + commit"] = round(t_commit, 2)
    for name, at in steps.items():
        e2e_timings[f"platform: bootstrap -> {name}"] = round(at - t_start, 2)
    e2e_timings[
        "platform: bootstrap -> Argo CD's pods Ready (controller, repo server, server, Redis)"
    ] = round(rec.argocd_ready_at - t_start, 2)
    for wave in sorted(set(waves.values())):
        apps = sorted(n for n, w in waves.items() if w == wave)
        at = max(rec.healthy_at[n] for n in apps) - t_start
        e2e_timings[f"platform: bootstrap -> wave {wave} Healthy ({', '.join(apps)})"] = round(
            at, 2
        )
    e2e_timings["platform: bootstrap -> exit 0"] = round(t_healthy - t_start, 2)
    e2e_timings["platform: payload -> first HTTPS 200 (headline)"] = round(t_https, 2)
    _say(
        f"payload -> generate+synth+commit {t_commit:.1f}s, bootstrap -> Argo CD Ready "
        f"{rec.argocd_ready_at - t_start:.1f}s, -> all Healthy {t_healthy - t_start:.1f}s, "
        f"-> first HTTPS 200 {t_https:.1f}s"
    )
    assert (status, body) == (200, "shop-web 1.9.0")

    # Every add-on synced as a user's cluster syncs it: hook Jobs completed, every object its
    # chart renders in the API server; and its pods run, Ready through their own probes.
    for name, app in applications_in(platform_repo.path / "dist" / ENV / "argocd").items():
        if is_chart(app):
            counts = assert_addon_synced(cluster, charts, app)
            _say(f"{name}: {counts}")
    for ns in (*ADDON_NAMESPACES, ARGOCD_NS):
        pods = [
            p
            for p in node.pods(ns)
            if not (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "Job"
        ]
        assert pods, ns
        not_ready = [p["metadata"]["name"] for p in pods if not node.pod_ready(p)]
        assert not not_ready, (ns, not_ready, node.describe_pods(ns))
    for deployment in ("cert-manager", "cert-manager-webhook", "cert-manager-cainjector"):
        d = cluster.must_get("apps/v1", "Deployment", deployment, "cert-manager")
        assert d["status"].get("readyReplicas") == d["spec"]["replicas"], d["status"]
    ds = cluster.must_get("apps/v1", "DaemonSet", "secrets-store-csi-driver", "kube-system")
    assert ds["status"].get("numberReady") == 1, ds["status"]
    # cert-manager's webhook answers the API server: it refuses an invalid Certificate.
    bad = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "no-names", "namespace": NS},
        "spec": {"secretName": "x", "issuerRef": {"name": "pebble", "kind": "ClusterIssuer"}},
    }
    with pytest.raises(Exception) as refused:
        cluster.kube.request(
            "POST",
            f"/apis/cert-manager.io/v1/namespaces/{NS}/certificates",
            params={"dryRun": "All"},
            body=bad,
        )
    assert 'admission webhook "webhook.cert-manager.io" denied the request' in str(refused.value)
    # The CSI driver registered with the kubelet (node-driver-registrar), and its provider's
    # socket answered: api's pod mounted its secrets to start.
    csinode = cluster.must_get("storage.k8s.io/v1", "CSINode", NODE_NAME)
    assert "secrets-store.csi.k8s.io" in [d["name"] for d in csinode["spec"]["drivers"] or []]
    assert node.wait_pods_ready(NS, API, 1, API_IMAGE, timeout=30)
    # Every ClusterIssuer registered its ACME account: the Let's Encrypt ones with the stand-in
    # internet's Let's Encrypt, pebble with the environment's CA.
    for issuer in ("letsencrypt-staging", "letsencrypt-production", "pebble"):
        obj = cluster.must_get("cert-manager.io/v1", "ClusterIssuer", issuer)
        ready = [c for c in obj["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", obj["status"]


# ----------------------------------------------------------------- journey 2
def test_the_certificate_came_through_the_base_path(node: Node, internet: Internet) -> None:
    cluster = node.cluster
    rec: Recorder = STATE["recorder"]
    ingress = cluster.must_get("networking.k8s.io/v1", "Ingress", "web", NS)
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "pebble"
    secret_name = ingress["spec"]["tls"][0]["secretName"]
    certificate = cluster.must_get("cert-manager.io/v1", "Certificate", secret_name, NS)
    assert certificate["spec"]["issuerRef"]["name"] == "pebble"
    assert certificate["spec"]["dnsNames"] == [HOST]
    ready = {c["type"]: c["status"] for c in certificate["status"]["conditions"]}
    assert ready.get("Ready") == "True", certificate["status"]

    # cert-manager's HTTP-01 solver ran in the app's namespace, admitted under restricted Pod
    # Security, behind the base's default-deny and its allow-acme-http01-solver policy.
    namespace = cluster.must_get("v1", "Namespace", NS)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {
        p["metadata"]["name"]
        for p in cluster.kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
    }
    assert {"default-deny", "allow-acme-http01-solver"} <= policies, policies
    assert rec.solver_pods, "no HTTP-01 solver pod was seen in the app namespace"
    for pod in rec.solver_pods.values():
        assert pod["metadata"]["namespace"] == NS
        c = pod["spec"]["containers"][0]
        assert c["image"] == "quay.io/jetstack/cert-manager-acmesolver:v1.21.1", c["image"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert c["resources"]["requests"], c  # admitted under the namespace's quota
    assert any((p.get("status") or {}).get("phase") == "Running" for p in rec.solver_pods.values())
    assert rec.solver_ingresses, "no solver Ingress was seen"
    for ing in rec.solver_ingresses.values():
        assert ing["spec"]["ingressClassName"] == "nginx"
        [rule] = ing["spec"]["rules"]
        assert rule["host"] == HOST
        assert rule["http"]["paths"][0]["path"].startswith("/.well-known/acme-challenge/")
    # Pebble validated through the load balancer, the ingress controller and the policy: it
    # answered only once the solver served the token there.
    assert internet.lb is not None and internet.lb.connections > 0

    # The HTTPS answer came from web's pod, over a certificate for the host that chains to
    # Pebble's root (verified when it was fetched).
    cert = STATE["cert"]
    assert ("DNS", HOST) in cert["subjectAltName"], cert
    issuer = dict(x[0] for x in cert["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA"), issuer
    status, body, _ = https_get(HOST, "/whoami", STATE["pebble_root"])
    web = node.pods(NS, WEB)[0]
    assert status == 200 and json.loads(body)["hostname"] == web["metadata"]["name"], body


def _probe_pod(node: Node, name: str) -> Manifest:
    """A new pod of api, outside its ReplicaSet: the Deployment's pod template as is."""
    cluster = node.cluster
    template = cluster.must_get("apps/v1", "Deployment", "api", NS)["spec"]["template"]
    labels = {k: v for k, v in template["metadata"]["labels"].items() if k != "pod-template-hash"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {**labels, "e2e-probe": "true"}},
        "spec": template["spec"],
    }
    cluster.kube.create(pod)
    return pod


def _failed_mount(node: Node, pod: str, timeout: float = 120) -> str:
    cluster = node.cluster

    def event() -> str | None:
        for e in cluster.kube.events(NS, pod):
            if e.get("reason") == "FailedMount":
                return str(e.get("message"))
        return None

    return cluster.wait_for(event, timeout, f"a FailedMount event for {pod}", 1.0, logs=["kubelet"])


def _delete_pod(node: Node, name: str) -> None:
    cluster = node.cluster
    cluster.kube.delete("v1", "Pod", name, NS)
    cluster.wait_for(lambda: cluster.get("v1", "Pod", name, NS) is None, 60, f"{name} gone")


# ----------------------------------------------------------------- journey 3
def test_a_secret_from_outside(
    node: Node, infisical: InfisicalStandIn, e2e_timings: Timings
) -> None:
    cluster = node.cluster
    api = node.pods(NS, API)[0]
    # The file and the env var the base renders, from the stand-in, through the real driver
    # and provider: the login was a TokenReview of the pod's token, with the audience the
    # driver requested.
    assert pod_read(node, api, "/mnt/secrets/jwt.pem", 9000) == (200, JWT_KEY)
    assert environ(node, api, 9000)["DATABASE_URL"] == DATABASE_URL
    synced = cluster.must_get("v1", "Secret", "api-infisical", NS)
    assert base64.b64decode(synced["data"]["DATABASE_URL"]).decode() == DATABASE_URL
    assert ("POST", "/api/v1/auth/kubernetes-auth/login", 200) in infisical.calls
    assert ("GET", "/api/v3/secrets/raw/jwt-signing-key", 200) in infisical.calls

    # A rotated value reaches the file within the driver's rotation interval.
    rotated = "jwt signing key, version 2"
    t0 = time.monotonic()
    infisical.rotate(PROJECT, ENV, "/api", "jwt-signing-key", rotated)
    cluster.wait_for(
        lambda: pod_read(node, api, "/mnt/secrets/jwt.pem", 9000) == (200, rotated),
        ROTATION_INTERVAL + 30,
        "the rotated value in the mounted file",
        2.0,
        logs=["kubelet"],
    )
    took = time.monotonic() - t0
    e2e_timings["platform: secret rotated -> new value in the file"] = round(took, 2)
    _say(f"rotation: new value in the file after {took:.1f}s (interval {ROTATION_INTERVAL}s)")
    assert took <= ROTATION_INTERVAL + 15, took

    # Infisical down: the running pod serves on with what it mounted; a new pod cannot mount
    # and says why.
    infisical.stop()
    try:
        _probe_pod(node, "api-while-infisical-is-down")
        message = _failed_mount(node, "api-while-infisical-is-down")
        _say(f"with Infisical down: FailedMount: {message}")
        assert "unable to login with Kubernetes auth" in message, message
        assert f"{INFISICAL_IP}:443: connect: connection refused" in message, message
        assert node.pod_ready(cluster.must_get("v1", "Pod", api["metadata"]["name"], NS))
        assert pod_read(node, api, "/mnt/secrets/jwt.pem", 9000) == (200, rotated)
        assert node.pod_get(api, "/healthz", 9000) == (200, "ok")
    finally:
        infisical.start()
    # Back up: the kubelet retries the mount and the new pod starts.
    cluster.wait_for(
        lambda: node.pod_ready(
            cluster.get("v1", "Pod", "api-while-infisical-is-down", NS) or {"metadata": {}}
        ),
        180,
        "the new pod to mount its secrets once Infisical answers again",
        2.0,
        logs=["kubelet"],
    )
    _delete_pod(node, "api-while-infisical-is-down")


# ----------------------------------------------------------------- the base's objects, broken
def _commit_and_sync(node: Node, repo: GitRepo, message: str, apps: tuple[str, ...]) -> str:
    sha = repo.commit_all(message)
    sync_commit(node, sha, apps)
    return sha


def _revert(node: Node, repo: GitRepo, apps: tuple[str, ...]) -> None:
    repo.git("revert", "--no-edit", "HEAD")
    sync_commit(node, repo.head(), apps)


def test_without_the_solver_policy_no_certificate_is_issued(
    node: Node, platform_repo: GitRepo, e2e_timings: Timings
) -> None:
    cluster = node.cluster
    path = f"dist/{ENV}/platform/networkpolicy-allow-acme-http01-solver.yaml"
    platform_repo.remove(path)
    _commit_and_sync(node, platform_repo, "drop the solver's policy", ("platform",))
    cluster.wait_for(
        lambda: (
            cluster.get("networking.k8s.io/v1", "NetworkPolicy", "allow-acme-http01-solver", NS)
            is None
        ),
        60,
        "the solver's policy to be pruned",
    )
    # A new certificate for the host (its Secret deleted: cert-manager issues again).
    cluster.kube.delete("v1", "Secret", "web-tls", NS)

    def self_check_fails() -> str | None:
        """The reason cert-manager gives once its self check reached the solver's route and
        not the solver (a first check may come before the ingress routes the solver's path,
        and get web's 404)."""
        for ch in cluster.kube.list("acme.cert-manager.io/v1", "Challenge", NS):
            reason = str((ch.get("status") or {}).get("reason") or "")
            if reason.startswith("Waiting for HTTP-01 challenge propagation:") and (
                "self check" in reason or "'502'" in reason or "'504'" in reason
            ):
                return reason
        return None

    def challenges() -> str:
        return json.dumps(
            [c.get("status") for c in cluster.kube.list("acme.cert-manager.io/v1", "Challenge", NS)]
        )

    reason = wait_for(
        self_check_fails, 180, "cert-manager's HTTP-01 self check to fail", 2.0, challenges
    )
    _say(f"without allow-acme-http01-solver: challenge: {reason}")
    time.sleep(20)  # and it stays so: nothing reaches the solver
    certificate = cluster.must_get("cert-manager.io/v1", "Certificate", "web-tls", NS)
    ready = {c["type"]: c["status"] for c in certificate["status"]["conditions"]}
    assert ready.get("Ready") != "True", certificate["status"]
    assert cluster.get("v1", "Secret", "web-tls", NS) is None
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(HOST, "/version", STATE["pebble_root"])

    t0 = time.monotonic()
    _revert(node, platform_repo, ("platform",))

    def issued() -> bool:
        try:
            return https_get(HOST, "/version", STATE["pebble_root"])[0] == 200
        except (OSError, ssl.SSLError):
            return False

    cluster.wait_for(issued, 300, "the certificate once the policy is back", 2.0)
    e2e_timings["platform: solver policy restored -> HTTPS 200 again"] = round(
        time.monotonic() - t0, 2
    )


def test_with_a_wrong_audience_the_secret_cannot_mount(
    node: Node, platform_repo: GitRepo, infisical: InfisicalStandIn
) -> None:
    cluster = node.cluster
    path = f"dist/{ENV}/app/secretproviderclass-api.yaml"
    text = platform_repo.read(path)
    assert "audience: infisical\n" in text, text
    platform_repo.write(path, text.replace("audience: infisical\n", "audience: infisical-api\n"))
    _commit_and_sync(node, platform_repo, "a SecretProviderClass with another audience", ("shop",))
    _probe_pod(node, "api-with-a-wrong-audience")
    message = _failed_mount(node, "api-with-a-wrong-audience")
    _say(f"with audience infisical-api: FailedMount: {message}")
    assert "no service account token received" in message, message
    # The running pod keeps what it mounted.
    api = node.pods(NS, API)
    assert api and all(
        node.pod_ready(p) for p in api if not p["metadata"]["name"].startswith("api-with")
    )
    _revert(node, platform_repo, ("shop",))
    cluster.wait_for(
        lambda: node.pod_ready(
            cluster.get("v1", "Pod", "api-with-a-wrong-audience", NS) or {"metadata": {}}
        ),
        180,
        "the new pod to mount once the audience is right again",
        2.0,
        logs=["kubelet"],
    )
    _delete_pod(node, "api-with-a-wrong-audience")


def test_with_another_ingress_class_the_host_is_not_served(
    node: Node, platform_repo: GitRepo
) -> None:
    cluster = node.cluster
    path = f"dist/{ENV}/app/ingress-web.yaml"
    text = platform_repo.read(path)
    assert "ingressClassName: nginx\n" in text, text
    platform_repo.write(
        path, text.replace("ingressClassName: nginx\n", "ingressClassName: traefik\n")
    )
    _commit_and_sync(node, platform_repo, "an Ingress of another class", ("shop",))

    def refused() -> str | None:
        try:
            status, body, _ = https_get(HOST, "/version", STATE["pebble_root"])
        except ssl.SSLCertVerificationError as exc:
            return f"TLS: {exc.verify_message}"
        return None if status == 200 else f"HTTP {status}: {body.strip()}"

    why = cluster.wait_for(refused, 60, "the host to stop being served", 1.0)
    _say(f"with ingressClassName traefik: {why}")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((LB_IP, 443), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as tls:
            tls.sendall(
                f"GET /version HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
            )
            answer = tls.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 404"), answer
    _revert(node, platform_repo, ("shop",))
    cluster.wait_for(
        lambda: https_get(HOST, "/version", STATE["pebble_root"])[0] == 200,
        60,
        "the host served again",
        1.0,
    )
