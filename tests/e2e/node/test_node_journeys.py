"""The journeys on a node that runs containers (docs/e2e.md, "A real node").

One git copy of this repository is the GitOps repository of `dev`, as in test_journeys.py, with
no config of its own: `gitops-base generate` writes it from the version 2 payload
tests/e2e/node/payload.json, which declares the calls (`egress`), and nothing is written by
hand. The node (harness/node.py) runs what Argo CD applies: real kubelet, containerd, runc, CNI
bridge, kube-proxy, CoreDNS and kube-router's NetworkPolicy controller. The images are the test
server (tests/e2e/node/images/server) under the references the payload names.

1. bootstrap from the payload: the pods run, Ready through their own probes, as the restricted
   security context says (non-root, read-only root filesystem, seccomp, no capabilities);
2. cluster DNS answers from inside a pod, through the base's allow-dns policy;
3. the payload's `egress`, enforced: web -> api on `http` and api -> 198.51.100.10:80 work;
   web -> api on its other port (`admin`), api -> web, api -> another outside address and
   web -> outside are refused;
4. add a service, then remove it: its pod starts (closed to undeclared callers), then goes;
5. a rolling image update keeps the service answering (commit -> new pods Ready measured);
6. guard rails: objects the app's AppProject does not permit are refused, the pods run on.

The tests run in file order on one node: each starts from the state the previous one left.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import GitRepo, Timings
from tests.e2e.harness.base import gitops_base, wait_synced_or_refused
from tests.e2e.harness.kube import Manifest
from tests.e2e.harness.node import (
    CLUSTER_CIDR,
    CLUSTER_DNS,
    NODE_NAME,
    OUTSIDE_BODY,
    OUTSIDE_IP,
    OUTSIDE_OTHER_IP,
    SERVICE_CIDR,
    Node,
    Poller,
    in_cidr,
)
from tests.e2e.harness.tools import REPO_ROOT
from tests.e2e.test_journeys import BAD_OVERLAY

ENV = "dev"
NS = "shop"
PAYLOAD = Path(__file__).resolve().parent / "payload.json"
WEB_IMAGE = "ghcr.io/example/shop-web:1.9.0"
WEB_IMAGE_NEXT = "ghcr.io/example/shop-web:1.9.1"
API_IMAGE = "ghcr.io/example/shop-api:2.4.0"
SEARCH_IMAGE = "ghcr.io/example/shop-search:1.0.0"
SEARCH = "app.kubernetes.io/name=search"
WEB = "app.kubernetes.io/name=web"
API = "app.kubernetes.io/name=api"
API_PORT = 9000
API_ADMIN_PORT = 9001  # api's second port: web declares calls to `http` only
GIT_APPS = ("platform", "shop")
OUTSIDE_URL = f"http://{OUTSIDE_IP}/"  # api declares it: {"cidr": "198.51.100.10/32", ...}
OUTSIDE_OTHER_URL = f"http://{OUTSIDE_OTHER_IP}/"  # declared by nobody


def _say(msg: str) -> None:
    print(f"[e2e node] {msg}", flush=True)


@pytest.fixture(scope="module")
def shop_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitRepo]:
    """A copy of the base for a new app: dev syncs from the copy itself, and the base's example
    config is gone, so the config is the payload's alone (`generate` writes a new one)."""
    repo = GitRepo.create(
        tmp_path_factory.mktemp("node-journeys") / "shop-gitops", source=REPO_ROOT
    )
    cluster_yaml = f"clusters/{ENV}/cluster.yaml"
    text = repo.read(cluster_yaml)
    old = "url: https://github.com/example-org/shop-gitops.git"
    assert old in text, f"{cluster_yaml} no longer has {old!r}"
    repo.write(cluster_yaml, text.replace(old, f"url: {repo.url}"))
    repo.remove("config/app-config.yaml")
    repo.commit_all(f"{ENV}: sync from this repository; a new app, no config yet")
    yield repo


def sync_to(node: Node, sha: str, changed: tuple[str, ...], timeout: float = 180) -> float:
    """Hard-refresh root and the git-sourced apps; wait until all report the commit `sha` and
    the `changed` ones synced it successfully. Returns the seconds it took."""
    cluster = node.cluster
    t0 = time.monotonic()
    for app in ("root", *GIT_APPS):
        cluster.refresh_app(app, hard=True)
    for app in changed:
        cluster.wait_app(
            app, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=timeout
        )
    took = time.monotonic() - t0
    for app in ("root", *GIT_APPS):
        cluster.wait_app(app, sync="Synced", revision=sha, timeout=timeout)
    return took


def fetch(node: Node, pod: Manifest, url: str, port: int = 8080) -> tuple[int, Any]:
    """Ask the test server in `pod` to GET `url`: (200, {"status", "body"}) when it got an
    answer, (502, {"error"}) when it did not."""
    from urllib.parse import quote

    result: tuple[int, Any] = node.pod_get(pod, f"/fetch?url={quote(url, safe='')}", port)
    return result


def reaches(node: Node, pod: Manifest, url: str, port: int = 8080) -> bool:
    code, body = fetch(node, pod, url, port)
    return code == 200 and isinstance(body, dict) and body.get("status") == 200


def eventually(pred: Any, timeout: float, what: str, node: Node) -> None:
    node.cluster.wait_for(pred, timeout, what, 1.0, logs=["kube-router"])


def refused_for(
    node: Node, pod: Manifest, url: str, port: int = 8080, seconds: float = 8, settle: float = 60
) -> float:
    """`url` becomes unreachable from `pod` within `settle` seconds and stays so for `seconds`
    (every attempt fails). Returns how long it took to be refused: kube-router applies the
    policies to a new pod shortly after it starts, not before."""
    t0 = time.monotonic()

    def refused() -> bool:
        code, body = fetch(node, pod, url, port)
        return code == 502 and "error" in body

    eventually(refused, settle, f"{pod['metadata']['name']} to be refused {url}", node)
    took = time.monotonic() - t0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, body = fetch(node, pod, url, port)
        assert code == 502, f"{pod['metadata']['name']} reached {url}: {code} {body}"
        assert "error" in body, body
    return took


# ----------------------------------------------------------------- journey 1
def test_bootstrap_runs_real_pods(node: Node, shop_repo: GitRepo, e2e_timings: Timings) -> None:
    cluster = node.cluster
    # The node as k3s would present it.
    n = cluster.must_get("v1", "Node", NODE_NAME)
    assert in_cidr(n["spec"]["podCIDR"], CLUSTER_CIDR), n["spec"]
    kubernetes = cluster.must_get("v1", "Service", "kubernetes", "default")
    assert in_cidr(kubernetes["spec"]["clusterIP"], SERVICE_CIDR), kubernetes["spec"]
    dns = cluster.must_get("v1", "Service", "kube-dns", "kube-system")
    assert dns["spec"]["clusterIP"] == CLUSTER_DNS
    assert node.pods("kube-system", "k8s-app=kube-dns"), "CoreDNS is not running"

    for ref, version in (
        (WEB_IMAGE, "shop-web 1.9.0"),
        (WEB_IMAGE_NEXT, "shop-web 1.9.1"),
        (API_IMAGE, "shop-api 2.4.0"),
    ):
        node.server_image(ref, version)

    t0 = time.monotonic()
    gitops_base(shop_repo.path, "generate", "--input", str(PAYLOAD))
    gitops_base(shop_repo.path, "synth")
    sha = shop_repo.commit_all("deploy web and api")
    t_commit = time.monotonic()
    cluster.apply(shop_repo.path / "dist" / ENV / "root.yaml")
    wait_synced_or_refused(cluster, "root")
    for app in GIT_APPS:
        st = wait_synced_or_refused(cluster, app)
        assert st["revision"] == sha, st
    e2e_timings["node: apply root.yaml -> platform, shop Synced"] = round(
        time.monotonic() - t_commit, 2
    )
    webs = node.wait_pods_ready(NS, WEB, 2, WEB_IMAGE)
    apis = node.wait_pods_ready(NS, API, 1, API_IMAGE)
    ready = time.monotonic() - t_commit
    e2e_timings["node: apply root.yaml -> web and api pods Ready"] = round(ready, 2)
    _say(
        f"bootstrap: generate+synth+commit {t_commit - t0:.1f}s,"
        f" root.yaml -> pods Ready {ready:.1f}s"
    )
    # Argo CD's health of the app comes from the real pods now.
    cluster.wait_app("shop", sync="Synced", health="Healthy", timeout=120)
    # cert-manager does not run on the node: its ClusterIssuers (platform) get the stand-in
    # Ready condition of the control-plane suite, so platform can become Healthy too.
    stood_in = cluster.stand_in_controllers()
    assert stood_in["Ingress"] == 0 and stood_in["HorizontalPodAutoscaler"] == 0, stood_in
    cluster.refresh_app("platform", hard=False)
    cluster.wait_app("platform", sync="Synced", health="Healthy", timeout=120)

    for pod in webs + apis:
        name = pod["metadata"]["name"]
        port = API_PORT if pod in apis else 8080
        assert in_cidr(pod["status"]["podIP"], CLUSTER_CIDR), pod["status"]
        assert pod["spec"]["nodeName"] == NODE_NAME
        # Ready through its own readiness probe: the kubelet polled /healthz.
        probe = pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]
        assert probe["path"] == "/healthz", probe
        code, who = node.pod_get(pod, "/whoami", port)
        assert code == 200 and who["uid"] == 65532 and who["gid"] == 65532, (name, who)
        code, body = node.pod_get(pod, "/write?path=/etc/e2e/written", port)
        assert code == 500 and "read-only file system" in body["error"], (name, body)
        code, body = node.pod_get(pod, "/write?path=/tmp/written", port)
        assert code == 200 and body == {"written": True}, (name, body)
        code, status = node.pod_get(pod, "/read?path=/proc/self/status", port)
        assert code == 200, (name, status)
        fields = dict(
            (k.strip(), v.strip())
            for k, _, v in (line.partition(":") for line in status.splitlines())
        )
        assert fields["Seccomp"] == "2", (name, "seccomp filter mode expected", fields["Seccomp"])
        assert fields["NoNewPrivs"] == "1", (name, fields["NoNewPrivs"])
        for cap in ("CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(fields[cap], 16) == 0, (name, cap, fields[cap])
    code, version = node.pod_get(webs[0], "/version")
    assert (code, version) == (200, "shop-web 1.9.0")


# ----------------------------------------------------------------- journey 2
def test_cluster_dns_answers_in_pods(node: Node) -> None:
    cluster = node.cluster
    web = node.pods(NS, WEB)[0]
    api_svc = cluster.must_get("v1", "Service", "api", NS)
    for name in ("api", f"api.{NS}", f"api.{NS}.svc.cluster.local"):
        code, body = node.pod_get(web, f"/resolve?name={name}")
        assert code == 200 and body["addrs"] == [api_svc["spec"]["clusterIP"]], (name, body)
    kubernetes = cluster.must_get("v1", "Service", "kubernetes", "default")
    code, body = node.pod_get(web, "/resolve?name=kubernetes.default.svc.cluster.local")
    assert code == 200 and body["addrs"] == [kubernetes["spec"]["clusterIP"]], body
    code, body = node.pod_get(web, "/resolve?name=nosuch.shop.svc.cluster.local")
    assert code == 502 and "no such host" in body["error"], body
    code, resolv = node.pod_get(web, "/read?path=/etc/resolv.conf")
    assert f"nameserver {CLUSTER_DNS}" in resolv, resolv
    assert f"search {NS}.svc.cluster.local" in resolv, resolv


# ----------------------------------------------------------------- journey 3
def test_the_payloads_egress_is_enforced(node: Node, e2e_timings: Timings) -> None:
    """The calls the payload declares work, on the declared port and address only: web -> api
    on `http`, api -> 198.51.100.10:80. Everything else is refused: api's other port, api ->
    web, another outside address, web -> outside."""
    cluster = node.cluster
    web = node.pods(NS, WEB)[0]
    api = node.pods(NS, API)[0]
    api_ip = cluster.must_get("v1", "Service", "api", NS)["spec"]["clusterIP"]
    policies = {
        p["metadata"]["name"]
        for p in cluster.kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
    }
    assert {"allow-egress-to-api", "allow-to-api", "allow-external-egress-api"} <= policies, (
        policies
    )
    assert "allow-internet-egress" not in policies, policies
    # Both ports of api answer (from the node, which kube-router always lets through, as
    # kubelet probes need): a refusal below is the policy, not a closed port.
    for port in (API_PORT, API_ADMIN_PORT):
        code, _ = node.pod_get(api, "/healthz", port)
        assert code == 200, port

    eventually(lambda: reaches(node, web, "http://api/healthz"), 90, "web to reach api", node)
    code, body = fetch(node, web, f"http://api.{NS}.svc.cluster.local/version")
    assert code == 200 and body == {"status": 200, "body": "shop-api 2.4.0"}, body
    eventually(lambda: reaches(node, api, OUTSIDE_URL, API_PORT), 60, "api to reach out", node)
    code, body = fetch(node, api, OUTSIDE_URL, API_PORT)
    assert body == {"status": 200, "body": OUTSIDE_BODY}, body

    # The same app on a port web did not declare: refused, by the Service and the pod address.
    refused_for(node, web, f"http://api:{API_ADMIN_PORT}/healthz")
    code, body = fetch(node, web, f"http://api:{API_ADMIN_PORT}/healthz")
    assert f"dial tcp {api_ip}:{API_ADMIN_PORT}" in body["error"], body  # not a DNS failure
    refused_for(node, web, f"http://{api['status']['podIP']}:{API_ADMIN_PORT}/healthz", seconds=2)
    # ... while the declared port of the same pod still answers.
    assert reaches(node, web, f"http://{api['status']['podIP']}:{API_PORT}/healthz")
    # Another app nobody declared a call to.
    refused_for(node, api, f"http://web.{NS}.svc.cluster.local/healthz", API_PORT, seconds=2)
    # An outside address api did not declare, on the same port; and web declared none.
    refused_for(node, api, OUTSIDE_OTHER_URL, API_PORT, seconds=2)
    assert reaches(node, api, OUTSIDE_URL, API_PORT)
    refused_for(node, web, OUTSIDE_URL, seconds=2)
    refused_for(node, web, OUTSIDE_OTHER_URL, seconds=2)


# ----------------------------------------------------------------- journey 4
def test_add_then_remove_a_service(
    node: Node, shop_repo: GitRepo, e2e_timings: Timings, tmp_path: Path
) -> None:
    cluster = node.cluster
    node.server_image(SEARCH_IMAGE, "shop-search 1.0.0")
    payload = json.loads(PAYLOAD.read_text())
    payload["deployed_apps"].append(
        {
            "name": "search",
            "image": SEARCH_IMAGE,
            "ports": [{"name": "http", "container_port": 8080, "service_port": 80}],
            "probes": {"readiness": {"http": {"path": "/healthz", "port": "http"}}},
        }
    )
    bigger = tmp_path / "payload-plus-search.json"
    bigger.write_text(json.dumps(payload))

    gitops_base(shop_repo.path, "generate", "--input", str(bigger))
    gitops_base(shop_repo.path, "synth")
    sha = shop_repo.commit_all("add search")
    t0 = time.monotonic()
    sync_to(node, sha, ("shop",))
    pods = node.wait_pods_ready(NS, SEARCH, 1, SEARCH_IMAGE)
    took = time.monotonic() - t0
    e2e_timings["node: add a service: commit -> pod Ready"] = round(took, 2)
    _say(f"add a service: commit -> search pod Ready in {took:.1f}s")
    code, version = node.pod_get(pods[0], "/version")
    assert (code, version) == (200, "shop-search 1.0.0")
    # A new service is closed like the others: nobody declared a call to it.
    refused_for(node, node.pods(NS, WEB)[0], "http://search/healthz", seconds=2)

    gitops_base(shop_repo.path, "generate", "--input", str(PAYLOAD))
    gitops_base(shop_repo.path, "synth")
    sha = shop_repo.commit_all("remove search")
    t0 = time.monotonic()
    sync_to(node, sha, ("shop",))
    cluster.wait_for(
        lambda: (
            not node.pods(NS, SEARCH)
            and cluster.get("apps/v1", "Deployment", "search", NS) is None
            and cluster.get("v1", "Service", "search", NS) is None
        ),
        120,
        "the search Deployment, Service and pod to be gone",
    )
    took = time.monotonic() - t0
    e2e_timings["node: remove a service: commit -> pod gone"] = round(took, 2)
    _say(f"remove a service: commit -> search pod gone in {took:.1f}s")
    # The others kept running.
    node.wait_pods_ready(NS, WEB, 2, WEB_IMAGE, timeout=30)
    node.wait_pods_ready(NS, API, 1, API_IMAGE, timeout=30)


# ----------------------------------------------------------------- journey 5
def test_roll_an_image_keeps_answering(
    node: Node, shop_repo: GitRepo, e2e_timings: Timings
) -> None:
    cluster = node.cluster
    before = {p["metadata"]["name"] for p in node.pods(NS, WEB)}
    web_ip = cluster.must_get("v1", "Service", "web", NS)["spec"]["clusterIP"]
    gitops_base(shop_repo.path, "set-image", "web", "1.9.1")
    gitops_base(shop_repo.path, "synth")
    with Poller(f"http://{web_ip}/version") as poller:
        time.sleep(1)
        assert poller.answers.get("shop-web 1.9.0"), (poller.answers, poller.failures)
        sha = shop_repo.commit_all("roll web to 1.9.1")
        t_commit = time.monotonic()
        took_sync = sync_to(node, sha, ("shop",))
        pods = node.wait_pods_ready(NS, WEB, 2, WEB_IMAGE_NEXT, timeout=240)
        t_ready = time.monotonic() - t_commit
        time.sleep(2)
    e2e_timings["node: roll an image: commit -> Synced"] = round(took_sync, 2)
    e2e_timings["node: roll an image: commit -> new pods Ready"] = round(t_ready, 2)
    _say(
        f"roll: commit -> Synced {took_sync:.1f}s, -> new pods Ready {t_ready:.1f}s; "
        f"answers {poller.answers}, failures {len(poller.failures)}"
    )
    assert not before & {p["metadata"]["name"] for p in pods}, "the old pods are still there"
    assert poller.answers.get("shop-web 1.9.1"), poller.answers
    assert set(poller.answers) == {"shop-web 1.9.0", "shop-web 1.9.1"}, poller.answers
    assert not poller.failures, poller.failures[:10]
    # The new pods get the same policies: web still reaches api, and only api.
    web = pods[0]
    eventually(lambda: reaches(node, web, "http://api/healthz"), 60, "new web to reach api", node)
    refused_for(node, web, OUTSIDE_URL, seconds=2)
    cluster.wait_app("shop", sync="Synced", health="Healthy", timeout=120)


# ----------------------------------------------------------------- journey 6
def test_guard_rails_refuse_objects_outside_the_project(node: Node, shop_repo: GitRepo) -> None:
    cluster = node.cluster
    for name, obj in BAD_OVERLAY.items():
        shop_repo.write(f"dist/{ENV}/app/{name}", obj)
    sha = shop_repo.commit_all("a bad overlay: a ClusterRole and an object in kube-system")
    cluster.refresh_app("shop", hard=True)
    hits = cluster.wait_app_condition(
        "shop",
        lambda c: "not permitted in project" in (c.get("message") or ""),
        timeout=120,
        description="a message saying a resource is not permitted in project shop",
    )
    text = "\n".join(c["message"] for c in hits)
    assert re.search(r"ClusterRole is not permitted in project '?shop'?", text), text
    assert re.search(r"namespace kube-system is not permitted in project '?shop'?", text), text
    assert cluster.app_status("shop")["revision"] == sha
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", "sneaky") is None
    assert cluster.get("v1", "ConfigMap", "sneaky", "kube-system") is None
    # The pods kept running through the refused sync.
    node.wait_pods_ready(NS, WEB, 2, WEB_IMAGE_NEXT, timeout=30)
    for name in BAD_OVERLAY:
        shop_repo.remove(f"dist/{ENV}/app/{name}")
    sha = shop_repo.commit_all("drop the bad overlay")
    cluster.terminate_operation("shop")
    cluster.refresh_app("shop", hard=True)
    cluster.wait_app("shop", sync="Synced", revision=sha, timeout=120)
