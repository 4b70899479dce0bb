"""Promotion between environments, from one version 2 payload, on three clusters.

dev, test and prod each get their own control plane and Argo CD (as three k3s clusters would
have), all syncing one git copy of this repository. The copy starts without a config:
`gitops-base generate` writes it from tests/e2e/fixtures/payloads/shop-v2.json (a version 2
payload using every field a new config can take), `gitops-base synth` renders dist/, and
nothing is written by hand. Each env's cluster gets its `platform` and app Applications and
AppProjects from dist/<env>/argocd/, exactly as rendered.

1. bootstrap: every env syncs the commit `generate --commit` made; generate + synth pass the
   checks of `make check`; the hosts are the env's own; the NetworkPolicies Argo CD applied
   allow exactly the calls the payload declares (per port), no more; generate pinned every
   service in prod (promotion.held's default) to the payload's image, so the first deploy runs
   everywhere with no pin written by hand; `gitops-base wait` returns for each env;
2. promotion that checks: `promote web --from dev --to test` is refused while dev runs
   another image and before the soak time (clusters/dev/cluster.yaml `promotion.soak`), and
   succeeds after it; `set-image --env dev` and each promotion change one config line and one
   file of dist/<env>/ and only that env's Deployment, committed by `--commit` with the
   promotion record; `wait` returns once the env runs the commit, and never for an older one;
   `promote --force --reason` moves prod without the checks;
3. a release that never gets ready: `wait` fails with the Deployment's reason and its pods'
   events, the deploy status reports it, `promote` is refused while dev is Progressing and
   Degraded; rolling back recovers;
4. an object the app's project refuses: `wait` fails at the first refused sync, naming it;
5. `history web` shows all of it, per environment, in order.

dev reports a deploy status (clusters/dev/cluster.yaml `deploy_status`) to a stand-in of
GitHub's commit-status API (harness/commitstatus.py); test and prod have none, and nothing is
sent for them. The tests run in file order and share the clusters and the repository.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.cli.support.deploy_status_token import token_secret
from tests.e2e.conftest import _run_cluster
from tests.e2e.harness import Cluster, GitRepo, Timings, Tools
from tests.e2e.harness.base import (
    applications_in,
    cli_path,
    gitops_base,
    wait_synced_or_refused,
)
from tests.e2e.harness.commitstatus import Call, CommitStatusStandIn
from tests.e2e.harness.kube import Manifest
from tests.e2e.harness.tools import REPO_ROOT
from tests.e2e.test_journeys import container

ENVS = ("dev", "test", "prod")
NS = "shop"
GIT_APPS = ("platform", "shop")
PAYLOAD = Path(__file__).resolve().parent / "fixtures" / "payloads" / "shop-v2.json"
CONFIG = "config/app-config.yaml"
WEB_IMAGE = "ghcr.io/example/shop-web:1.9.0"
WEB_IMAGE_NEXT = "ghcr.io/example/shop-web:1.9.1"
# A release whose pods the stand-in kubelet never reports Ready (they crash-loop).
WEB_IMAGE_BROKEN = "ghcr.io/example/shop-web:1.9.2"
SOAK_SECONDS = 30
# dev's web Deployment gives up on a rollout after this long (an overlay patch), so a release
# that never gets ready turns Degraded within the journey, not after Kubernetes' 10 minutes.
PROGRESS_DEADLINE = 20
STATUS_TOKEN = "e2e-status-token"  # pragma: allowlist secret (the stand-in's)
STATUS_REPO = "example-org/shop-gitops"
STATUS_LINK = "https://argocd.example.com/applications/argocd/shop"
NOTIFIED = "notified.notifications.argoproj.io"
API_IMAGE = "ghcr.io/example/shop-api:2.4.0"
# Hosts per environment: shop.example.com moves onto each env's domain (clusters/<env>);
# www.acme-shop.com is outside the domain, served by prod only (ingress.env_hosts).
WEB_HOSTS = {
    "dev": ["shop.dev.example.com"],
    "test": ["shop.test.example.com"],
    "prod": ["shop.example.com", "www.acme-shop.com"],
}
# The base's own policies (default deny, DNS, the ingress controller, ACME solvers): every
# other NetworkPolicy exists because the payload declared a call.
BASE_POLICIES = {
    "default-deny",
    "allow-dns",
    "allow-from-ingress-controller",
    "allow-acme-http01-solver",
}
NAME_LABEL = "app.kubernetes.io/name"
# What a `host` entry of egress.external opens: public addresses on its ports.
PUBLIC = "public addresses"

Flow = tuple[str, str, str | int]


def _say(msg: str) -> None:
    print(f"[e2e promotion] {msg}", flush=True)


@pytest.fixture(scope="module")
def env_clusters(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[dict[str, Cluster]]:
    """One control plane + Argo CD per environment."""
    with contextlib.ExitStack() as stack:
        clusters = {}
        for env in ENVS:
            workdir = tmp_path_factory.mktemp(f"cluster-promotion-{env}")
            run = contextlib.contextmanager(_run_cluster)
            clusters[env] = stack.enter_context(
                run(workdir, e2e_tools, e2e_timings, f"promotion {env}: ")
            )
        yield clusters


@pytest.fixture(scope="module")
def status_api() -> Iterator[CommitStatusStandIn]:
    """The commit-status API dev's deploy status posts to."""
    api = CommitStatusStandIn().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def app_repo(
    tmp_path_factory: pytest.TempPathFactory, status_api: CommitStatusStandIn
) -> Iterator[GitRepo]:
    """A copy of the base for a new app: every env syncs from the copy itself, and the base's
    example config is gone, so the config is the payload's alone. dev and test keep an image
    SOAK_SECONDS before it is promoted out; dev reports a deploy status to `status_api`."""
    repo = GitRepo.create(tmp_path_factory.mktemp("promotion") / "shop-gitops", source=REPO_ROOT)
    old = "url: https://github.com/example-org/shop-gitops.git"
    for env in ENVS:
        path = f"clusters/{env}/cluster.yaml"
        text = repo.read(path)
        assert old in text, f"{path} no longer has {old!r}"
        text = text.replace(old, f"url: {repo.url}")
        if env in ("dev", "test"):
            text += f"promotion:\n  soak: {SOAK_SECONDS}s\n"
        if env == "dev":
            text += (
                "deploy_status:\n  provider: github\n"
                f"  url: {status_api.url}\n  repository: {STATUS_REPO}\n"
                f"  target_url: {STATUS_LINK}\n"
            )
        repo.write(path, text)
    repo.write(
        "overlays/dev/patches.yaml",
        {
            "patches": [
                {
                    "target": {"kind": "Deployment", "name": "web"},
                    "patch": [
                        {
                            "op": "add",
                            "path": "/spec/progressDeadlineSeconds",
                            "value": PROGRESS_DEADLINE,
                        }
                    ],
                }
            ]
        },
    )
    # The progress deadline is not among the fields a patch may change: a reviewed exception.
    repo.write(
        "overlays/dev/allow.yaml",
        {
            "allow": [
                {
                    "kind": "Deployment",
                    "namespace": "shop",
                    "name": "web",
                    "field": "/spec/progressDeadlineSeconds",
                    "reason": "A release that never gets ready turns Degraded within the test.",
                }
            ]
        },
    )
    repo.remove(CONFIG)
    repo.commit_all("every env syncs from this repository; a new app, no config yet")
    yield repo


def cli(repo: GitRepo, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`gitops-base ARGS` in the repository, whatever its exit code."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    done = subprocess.run(
        [str(cli_path()), *map(str, args)],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def wait_env(
    repo: GitRepo, env: str, cluster: Cluster, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:
    """`gitops-base wait --env ENV` for the Applications the journey applies, asking Argo CD
    to read the repository now; (the run, its JSON document, seconds it took)."""
    t0 = time.monotonic()
    done = cli(
        repo,
        "wait",
        "--env",
        env,
        "--app",
        "platform",
        "--app",
        "shop",
        "--refresh",
        "--output",
        "json",
        "--kubeconfig",
        cluster.kubeconfig,
        *extra,
    )
    took = time.monotonic() - t0
    assert done.stdout, done.stderr
    return done, json.loads(done.stdout), took


CI_READ_ACCESS = REPO_ROOT / "docs" / "how-to" / "ci-read-access.yaml"


def read_only_kubeconfig(cluster: Cluster, path: Path) -> Path:
    """A kubeconfig with a token of the ServiceAccount docs/how-to/ci-read-access.yaml
    defines (applied as that page says), which is all the pipeline gets: `promote`'s checks
    and `wait` without --refresh run with it."""
    cluster.apply(CI_READ_ACCESS)
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = cluster.kube.request(
        "POST",
        "/api/v1/namespaces/argocd/serviceaccounts/gitops-base-ci/token",
        body=request,
    )["status"]["token"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "ci",
                "cluster": {
                    "server": cluster.server,
                    "certificate-authority": str(cluster.pki.ca.cert),
                },
            }
        ],
        "users": [{"name": "ci", "user": {"token": token}}],
        "contexts": [{"name": "ci", "context": {"cluster": "ci", "user": "ci"}}],
        "current-context": "ci",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    # Least privilege: it can read no Secret and change no Application.
    for method, api in (
        ("GET", "/api/v1/namespaces/argocd/secrets"),
        ("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop"),
    ):
        assert status_of(cluster, token, method, api) == 403, (method, api)
    return path


def status_of(cluster: Cluster, token: str, method: str, api: str) -> int:
    context = ssl.create_default_context(cafile=str(cluster.pki.ca.cert))
    host, port = cluster.server.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    try:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/merge-patch+json",
        }
        conn.request(method, api, body=b"{}" if method == "PATCH" else None, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def trailers(repo: GitRepo, ref: str = "HEAD") -> list[str]:
    return repo.git("log", "-1", "--format=%(trailers:only,unfold)", ref).splitlines()


def status_for(sha: str, state: str) -> Any:
    """Matches dev's commit status for `sha` in `state` (success, failure, error)."""

    def match(call: Call) -> bool:
        return bool(
            call.path == f"/repos/{STATUS_REPO}/statuses/{sha}" and call.json.get("state") == state
        )

    return match


def assert_status(call: Call, sha: str, state: str, description: str) -> None:
    assert call.method == "POST", call
    assert call.headers.get("Authorization") == f"Bearer {STATUS_TOKEN}", call.headers
    assert call.json == {
        "state": state,
        "context": "gitops-base/dev",
        "description": description,
        "target_url": STATUS_LINK,
    }, call.json


def web_of(cluster: Cluster) -> tuple[str, int]:
    """(image, metadata.generation) of the web Deployment: the generation moves only when its
    spec does."""
    web = cluster.must_get("apps/v1", "Deployment", "web", NS)
    return container(web, "web")["image"], web["metadata"]["generation"]


def generations(cluster: Cluster) -> dict[str, int]:
    return {
        f"{kind} {o['metadata']['name']}": o["metadata"]["generation"]
        for api, kind in (("apps/v1", "Deployment"), ("batch/v1", "CronJob"))
        for o in cluster.kube.list(api, kind, NS)
    }


def rolled_out(cluster: Cluster, name: str, image: str) -> bool:
    """Every replica of the Deployment runs `image` and is available (the stand-in kubelet
    marks pods Ready)."""
    d = cluster.must_get("apps/v1", "Deployment", name, NS)
    st = d.get("status") or {}
    return bool(
        container(d, name)["image"] == image
        and st.get("observedGeneration") == d["metadata"]["generation"]
        and st.get("replicas")
        and st.get("updatedReplicas") == st.get("availableReplicas") == st.get("replicas")
    )


def both_rolled_out(cluster: Cluster) -> bool:
    return rolled_out(cluster, "web", WEB_IMAGE) and rolled_out(cluster, "api", API_IMAGE)


# ------------------------------------------------------- what the payload declares
def declared_flows(payload: dict[str, Any]) -> tuple[set[Flow], set[Flow]]:
    """The payload's egress: ({(caller, callee, port name)}, {(app, CIDR or PUBLIC, port)})."""
    apps = {a["name"]: a for a in payload["deployed_apps"]}
    calls: set[Flow] = set()
    external: set[Flow] = set()
    for name, app in apps.items():
        egress = app.get("egress") or {}
        assert not egress.get("internet"), f"{name}: the journey expects no internet egress"
        for call in egress.get("apps", []):
            ports = apps[call["name"]]["ports"]
            by_service_port = {p.get("service_port", p["container_port"]): p["name"] for p in ports}
            for port in call.get("ports") or [p["name"] for p in ports]:
                calls.add(
                    (name, call["name"], port if isinstance(port, str) else by_service_port[port])
                )
        for entry in egress.get("external", []):
            for port in entry["ports"]:
                external.add((name, entry.get("cidr", PUBLIC), port))
    return calls, external


def _services(selector: dict[str, Any]) -> list[str]:
    """The app's services a pod selector of the base picks (instance label + name In [...])."""
    assert selector["matchLabels"] == {"app.kubernetes.io/instance": "shop"}, selector
    (expr,) = selector["matchExpressions"]
    assert expr["key"] == NAME_LABEL and expr["operator"] == "In", expr
    values: list[str] = expr["values"]
    return values


def _to(peers: list[dict[str, Any]]) -> str:
    """An egress rule's ipBlocks as one address range, or PUBLIC for the pair of public
    blocks a `host` entry renders (every address but the private ranges)."""
    blocks = [p["ipBlock"] for p in peers]
    if len(blocks) == 2 and {b["cidr"] for b in blocks} == {"0.0.0.0/0", "::/0"}:
        assert all(b.get("except") for b in blocks), blocks
        return PUBLIC
    (block,) = blocks
    assert "except" not in block, block
    cidr: str = block["cidr"]
    return cidr


def applied_flows(policies: list[Manifest]) -> tuple[set[Flow], set[Flow], set[Flow]]:
    """What the app's own policies allow: (egress to pods, ingress from pods, egress to
    addresses), each flow (from, to, port)."""
    out: set[Flow] = set()
    into: set[Flow] = set()
    external: set[Flow] = set()
    for policy in policies:
        spec = policy["spec"]
        selected = _services(spec["podSelector"])
        for rule in spec.get("egress", []):
            ports = [p["port"] for p in rule["ports"]]
            assert all(p.get("protocol") == "TCP" for p in rule["ports"]), rule
            if all("ipBlock" in peer for peer in rule["to"]):
                to = _to(rule["to"])
                external |= {(s, to, port) for s in selected for port in ports}
                continue
            for peer in rule["to"]:
                assert set(peer) == {"podSelector"}, peer  # the app's own namespace only
                out |= {
                    (s, c, port)
                    for s in selected
                    for c in _services(peer["podSelector"])
                    for port in ports
                }
        for rule in spec.get("ingress", []):
            ports = [p["port"] for p in rule["ports"]]
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, peer
                into |= {
                    (c, s, port)
                    for s in selected
                    for c in _services(peer["podSelector"])
                    for port in ports
                }
    return out, into, external


# ----------------------------------------------------------------- journey 1
def test_every_env_runs_the_payload(
    env_clusters: dict[str, Cluster],
    app_repo: GitRepo,
    status_api: CommitStatusStandIn,
    e2e_timings: Timings,
) -> None:
    repo = app_repo
    t0 = time.monotonic()
    generated = gitops_base(repo.path, "generate", "--input", str(PAYLOAD), "--commit")
    sha = repo.head()
    assert f"committed {sha[:7]}: 15 image change(s) recorded" in generated, generated
    assert repo.git("status", "--porcelain") == "", "generate --commit left files uncommitted"
    # The record: every service in every environment, as the payload gives it.
    record = trailers(repo)
    assert record[:4] == [
        "Gitops-Base-Service: web",
        "Gitops-Base-To: dev",
        f"Gitops-Base-Image: {WEB_IMAGE}",
        "Gitops-Base-Service: web",
    ], record
    # prod is held from the start: every service is pinned there to the payload's image.
    services = yaml.safe_load(repo.read(CONFIG))["services"]
    for app in json.loads(PAYLOAD.read_text())["deployed_apps"]:
        image = next(s["image"] for s in services if s["name"] == app["name"])
        pin = {k: image[k] for k in ("tag", "digest") if k in image}
        assert image["envs"] == {"prod": pin}, (app["name"], image)
    e2e_timings["promotion: generate + synth + commit (5 apps, 3 envs)"] = round(
        time.monotonic() - t0, 2
    )
    # What `make check` runs, on this copy: the config and clusters, then every rendered
    # manifest against the Kubernetes and CRD schemas.
    gitops_base(repo.path, "validate")
    check = subprocess.run(
        [sys.executable, "-m", "constructs_lib.render.schema_check", str(repo.path / "dist")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "files valid" in check.stdout, check.stdout

    # dev's deploy status, as `gitops-base bootstrap` installs it: the keys root.yaml adds to
    # argocd-notifications-cm, and the token in argocd-notifications-secret.
    dev_root = yaml.safe_load_all((repo.path / "dist/dev/root.yaml").read_text())
    (notifications,) = [d for d in dev_root if d["metadata"]["name"] == "argocd-notifications-cm"]
    env_clusters["dev"].apply(notifications, token_secret(STATUS_TOKEN, "argocd"))
    for env in ("test", "prod"):
        root = yaml.safe_load_all((repo.path / f"dist/{env}/root.yaml").read_text())
        objects = [(d["kind"], d["metadata"]["name"]) for d in root]
        assert ("ConfigMap", "argocd-notifications-cm") not in objects, f"{env}: no deploy status"

    t_commit = time.monotonic()
    for env, cluster in env_clusters.items():
        argocd = repo.path / "dist" / env / "argocd"
        apps = applications_in(argocd)
        assert {"platform", "shop"} <= set(apps), apps
        for app in GIT_APPS:
            cluster.apply(argocd / f"appproject-{app}.yaml")
        for app in GIT_APPS:
            cluster.apply(argocd / f"application-{app}.yaml")
    for env, cluster in env_clusters.items():
        for app in GIT_APPS:
            st = wait_synced_or_refused(cluster, app)
            assert st["revision"] == sha, (env, app, st)
        cluster.start_fake_kubelet([NS], never_ready=frozenset({WEB_IMAGE_BROKEN}))
    synced = time.monotonic() - t_commit
    e2e_timings["promotion: apply -> platform, shop Synced in 3 envs"] = round(synced, 2)
    for env, cluster in env_clusters.items():
        cluster.wait_for(
            functools.partial(both_rolled_out, cluster),
            120,
            f"{env}: web and api to roll out",
            logs=["kube-controller-manager"],
        )
    ready = time.monotonic() - t_commit
    e2e_timings["promotion: apply -> web and api rolled out in 3 envs"] = round(ready, 2)
    _say(f"bootstrap: apply -> Synced in 3 envs {synced:.1f}s, rolled out {ready:.1f}s")
    # What absent controllers would do (ingress controller, cert-manager, HPA controller), so
    # the Applications can turn Healthy; then `wait` returns for each env at the commit.
    for env, cluster in env_clusters.items():
        cluster.stand_in_controllers()
        done, doc, took = wait_env(repo, env, cluster, "--timeout", "3m")
        assert done.returncode == 0, done.stderr
        assert (doc["outcome"], doc["revision"]) == ("healthy", sha), doc
        e2e_timings[f"promotion: bootstrap: wait returns ({env})"] = round(took, 2)
    # dev reported the commit deployed; the notifications controllers of test and prod, which
    # have no deploy status, sent nothing and recorded nothing.
    call = status_api.wait_for(status_for(sha, "success"), 60)
    assert_status(call, sha, "success", "dev: Synced and Healthy")
    for env in ("test", "prod"):
        assert env_clusters[env].procs["argocd-notifications"].alive(), env
        shop = env_clusters[env].must_get("argoproj.io/v1alpha1", "Application", "shop", "argocd")
        assert NOTIFIED not in (shop["metadata"].get("annotations") or {}), env

    payload = json.loads(PAYLOAD.read_text())
    calls, external = declared_flows(payload)
    assert calls == {("web", "api", "http"), ("worker", "api", "http")}, calls
    for env, cluster in env_clusters.items():
        assert web_of(cluster)[0] == WEB_IMAGE, env
        ing = cluster.must_get("networking.k8s.io/v1", "Ingress", "web", NS)
        hosts = [r["host"] for r in ing["spec"]["rules"]]
        assert hosts == WEB_HOSTS[env], (env, hosts)
        assert ing["spec"]["tls"] == [{"hosts": WEB_HOSTS[env], "secretName": "shop-web-cert"}]
        # The NetworkPolicies Argo CD applied: exactly the declared calls, both ways, on the
        # declared ports; exactly the declared external ranges and ports; nothing else.
        live = cluster.kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
        names = {p["metadata"]["name"] for p in live}
        assert {"default-deny", "allow-dns", "allow-from-ingress-controller"} <= names, names
        out, into, ext = applied_flows(
            [p for p in live if p["metadata"]["name"] not in BASE_POLICIES]
        )
        assert out == calls, (env, out)
        assert into == calls, (env, into)
        assert ext == external, (env, ext)
        # ... and web may not call the worker or api's metrics port: neither is declared.
        assert ("web", "api", "metrics") not in out | into
        assert not {f for f in out if f[1] == "worker"}, out


def committed_changes(repo: GitRepo) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """What HEAD changed: (the config's changed lines as `+...`/`-...`, {changed file: (lines
    added, lines removed)})."""
    numstat: dict[str, tuple[int, int]] = {}
    for line in repo.git("show", "--format=", "--numstat", "HEAD").splitlines():
        added, removed, path = line.split("\t")
        numstat[path] = (int(added), int(removed))
    diff = repo.git("show", "--format=", "--unified=0", "HEAD", "--", CONFIG).splitlines()
    lines = [
        d for d in diff if d[:1] in "+-" and not d.startswith("+++") and not d.startswith("---")
    ]
    return lines, numstat


def roll_to(
    repo: GitRepo,
    env: str,
    cluster: Cluster,
    image: str,
    step: str,
    e2e_timings: Timings,
) -> str:
    """`wait` for `env` to run HEAD (just committed), then for its web to roll out to
    `image`; records commit -> wait returning under `step`. Returns HEAD."""
    sha = repo.head()
    done, doc, took = wait_env(repo, env, cluster)
    assert done.returncode == 0, done.stderr
    assert (doc["outcome"], doc["revision"]) == ("healthy", sha), doc
    assert rolled_out(cluster, "web", image), f"{env}: wait returned before web rolled out"
    e2e_timings[f"promotion: {step}: commit -> wait returns ({env})"] = round(took, 2)
    _say(f"{step}: commit -> wait returned for {env} in {took:.1f}s")
    return sha


def promote(repo: GitRepo, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`promote web ARGS`, its checks reading the source's cluster through `kubeconfig`."""
    return cli(repo, "promote", "web", *args, "--kubeconfig", kubeconfig)


@pytest.fixture(scope="module")
def dev_read_only(
    env_clusters: dict[str, Cluster], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """dev as the pipeline sees it: the documented read-only access (after bootstrap, which
    created the app namespace its Role lives in)."""
    return read_only_kubeconfig(
        env_clusters["dev"], tmp_path_factory.mktemp("ci") / "dev.kubeconfig"
    )


# ----------------------------------------------------------------- journey 2
def test_promotion_is_checked_recorded_and_waited_for(
    env_clusters: dict[str, Cluster],
    app_repo: GitRepo,
    status_api: CommitStatusStandIn,
    dev_read_only: Path,
    e2e_timings: Timings,
) -> None:
    repo = app_repo
    clusters = env_clusters
    dev, test, prod = clusters["dev"], clusters["test"], clusters["prod"]
    before = {env: generations(c) for env, c in clusters.items()}
    base = repo.head()

    # CI set 1.9.1 for dev but has not pushed it: dev still runs 1.9.0, so no promotion.
    gitops_base(repo.path, "set-image", "web", "1.9.1", "--env", "dev")
    edited = repo.read(CONFIG)
    refused = promote(repo, dev_read_only, "--from", "dev", "--to", "test")
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.splitlines() == [
        f"dev: Deployment shop/web runs {WEB_IMAGE}, not {WEB_IMAGE_NEXT}, the image the "
        "promotion would take: wait until dev synced it (gitops-base wait --env dev)",
        f"dev: Application shop is at {base[:7]}, whose config does not give dev {WEB_IMAGE_NEXT}",
        "promote: refused (2 problem(s)); config/app-config.yaml was not changed",
    ]
    assert repo.read(CONFIG) == edited

    # Commit it with the record (`--commit` renders dist/ first), then wait for dev.
    out = gitops_base(repo.path, "set-image", "web", "1.9.1", "--env", "dev", "--commit")
    assert "1 image change(s) recorded" in out, out
    lines, files = committed_changes(repo)
    assert lines == ['+        dev: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 0), "dist/dev/app/deployment-web.yaml": (1, 1)}, files
    assert trailers(repo) == [
        "Gitops-Base-Service: web",
        "Gitops-Base-To: dev",
        f"Gitops-Base-Image: {WEB_IMAGE_NEXT}",
    ]
    sha = roll_to(repo, "dev", dev, WEB_IMAGE_NEXT, "set-image --env dev", e2e_timings)
    # The pipeline's read-only access is enough to wait (without --refresh, which patches).
    done = cli(
        repo, "wait", "--env", "dev", "--app", "platform", "--app", "shop",
        "--timeout", "1m", "--kubeconfig", dev_read_only,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"dev: Synced and Healthy at {sha[:7]}")
    call = status_api.wait_for(status_for(sha, "success"), 60)
    assert_status(call, sha, "success", "dev: Synced and Healthy")
    after = {env: generations(c) for env, c in clusters.items()}
    assert web_of(dev) == (WEB_IMAGE_NEXT, before["dev"]["Deployment web"] + 1)
    assert {k: v for k, v in after["dev"].items() if k != "Deployment web"} == {
        k: v for k, v in before["dev"].items() if k != "Deployment web"
    }
    for env in ("test", "prod"):
        assert web_of(clusters[env])[0] == WEB_IMAGE, env
        assert after[env] == before[env], (env, before[env], after[env])

    # Healthy, but not for the soak time yet.
    refused = promote(repo, dev_read_only, "--from", "dev", "--to", "test")
    assert refused.returncode == 1, refused.stdout
    (problem, summary) = refused.stderr.splitlines()
    assert problem.startswith(f"dev: {WEB_IMAGE_NEXT} has run Synced and Healthy for "), problem
    assert f"less than the soak time {SOAK_SECONDS}s: promote again after " in problem, problem
    assert summary == "promote: refused (1 problem(s)); config/app-config.yaml was not changed"

    # `wait` never returns for a commit the env does not run: one on another branch, after
    # HEAD, which no env tracks (so every env stays at an older commit).
    repo.git("checkout", "-q", "-b", "unmerged")
    repo.write("NOTES.md", "not merged\n")
    unmerged = repo.commit_all("a commit on a branch no environment tracks")
    repo.git("checkout", "-q", "main")
    done = cli(
        repo, "wait", "--env", "test", "--app", "shop", "--revision", unmerged,
        "--timeout", "8s", "--refresh", "--kubeconfig", test.kubeconfig,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "(older), waiting for it" in done.stdout, done.stdout
    assert done.stderr.splitlines()[-1] == (
        f"error: test: not Synced and Healthy at {unmerged[:7]} after 8s: shop behind"
    ), done.stderr

    # After the soak time the checks pass: test runs what dev ran, recorded as checked.
    time.sleep(SOAK_SECONDS)
    for _ in range(20):
        done = promote(repo, dev_read_only, "--from", "dev", "--to", "test", "--commit")
        if "less than the soak time" not in done.stderr:
            break
        time.sleep(3)  # Argo CD recorded the sync later than this clock started
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        f"checked dev: Deployment shop/web runs {WEB_IMAGE_NEXT}; Application shop Synced and "
        f"Healthy at {sha[:7]} for at least the soak time {SOAK_SECONDS}s",
        f"promoted web in test: {WEB_IMAGE_NEXT} (from dev, checked)",
    ], done.stdout
    lines, files = committed_changes(repo)
    assert lines == ['+        test: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 0), "dist/test/app/deployment-web.yaml": (1, 1)}, files
    assert trailers(repo) == [
        "Gitops-Base-Service: web",
        "Gitops-Base-From: dev",
        "Gitops-Base-To: test",
        f"Gitops-Base-Image: {WEB_IMAGE_NEXT}",
        "Gitops-Base-Check: checked",
    ]
    roll_to(repo, "test", test, WEB_IMAGE_NEXT, "promote --to test", e2e_timings)
    final = {env: generations(c) for env, c in clusters.items()}
    assert web_of(test) == (WEB_IMAGE_NEXT, before["test"]["Deployment web"] + 1)
    assert final["dev"] == after["dev"]
    assert final["prod"] == before["prod"]
    assert web_of(prod) == (WEB_IMAGE, before["prod"]["Deployment web"])

    # prod without waiting for test's soak: forced, and the reason is recorded.
    reason = "release 1.9.1 approved in the change meeting"
    done = cli(
        repo, "promote", "web", "--from", "test", "--to", "prod", "--force", "--reason", reason,
        "--commit",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"promoted web in prod: {WEB_IMAGE_NEXT} (from test, forced: {reason})"
    ), done.stdout
    lines, files = committed_changes(repo)
    assert lines == ['-        prod: {tag: "1.9.0"}', '+        prod: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 1), "dist/prod/app/deployment-web.yaml": (1, 1)}, files
    assert trailers(repo)[-2:] == ["Gitops-Base-Check: forced", f"Gitops-Base-Reason: {reason}"]
    roll_to(repo, "prod", prod, WEB_IMAGE_NEXT, "promote --to prod", e2e_timings)
    assert web_of(prod) == (WEB_IMAGE_NEXT, before["prod"]["Deployment web"] + 1)
    prod_now = generations(prod)
    assert {k: v for k, v in prod_now.items() if k != "Deployment web"} == {
        k: v for k, v in before["prod"].items() if k != "Deployment web"
    }
    assert {env: generations(c) for env, c in clusters.items() if env != "prod"} == {
        "dev": final["dev"],
        "test": final["test"],
    }
    # Nothing was sent for test or prod: every status is dev's.
    assert {c.json["context"] for c in status_api.calls} == {"gitops-base/dev"}


# ----------------------------------------------------------------- journey 3
def test_a_release_that_never_gets_ready(
    env_clusters: dict[str, Cluster],
    app_repo: GitRepo,
    status_api: CommitStatusStandIn,
    dev_read_only: Path,
    e2e_timings: Timings,
) -> None:
    repo, dev = app_repo, env_clusters["dev"]
    gitops_base(repo.path, "set-image", "web", "1.9.2", "--env", "dev", "--commit")
    sha = repo.head()
    t_commit = time.monotonic()
    dev.refresh_app("shop", hard=False)
    dev.wait_app("shop", revision=sha, operation_phase="Succeeded", timeout=120)
    dev.wait_app("shop", health="Progressing", revision=sha, timeout=60)
    # Synced, the new pod crash-looping: no promotion while the rollout is in progress.
    refused = promote(repo, dev_read_only, "--from", "dev", "--to", "test")
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.splitlines()[0] == (
        f"dev: Application shop is Synced, Progressing at {sha[:7]}; it must be Synced and "
        "Healthy (gitops-base wait --env dev)"
    ), refused.stderr

    done, doc, _ = wait_env(repo, "dev", dev, "--timeout", "3m")
    took_from_commit = time.monotonic() - t_commit
    assert done.returncode == 1, done.stderr
    assert doc["outcome"] == "degraded", doc
    err = done.stderr.splitlines()
    assert (
        'shop: Deployment shop/web: Degraded (Deployment "web" exceeded its progress deadline)'
        in err
    ), done.stderr
    assert "shop: last events of Deployment shop/web:" in err, done.stderr
    assert any(
        "Warning BackOff Pod/web-" in line and "Back-off restarting failed container web" in line
        for line in err
    ), done.stderr
    assert err[-1] == f"error: dev: degraded at {sha[:7]}: shop degraded", done.stderr
    e2e_timings["promotion: broken release: commit -> wait reports Degraded (dev)"] = round(
        took_from_commit, 2
    )
    _say(f"broken release: commit -> wait reported Degraded in {took_from_commit:.1f}s")
    call = status_api.wait_for(status_for(sha, "failure"), 60)
    assert_status(call, sha, "failure", "dev: Degraded after the sync")
    assert not status_api.received(status_for(sha, "success"))

    refused = promote(repo, dev_read_only, "--from", "dev", "--to", "test")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        f"dev: Application shop is Synced, Degraded at {sha[:7]}; it must be Synced and "
        "Healthy (gitops-base wait --env dev)"
    ), refused.stderr

    # Roll dev back: the config's line again, and dev recovers.
    gitops_base(repo.path, "set-image", "web", "1.9.1", "--env", "dev", "--commit")
    back = roll_to(repo, "dev", dev, WEB_IMAGE_NEXT, "roll back dev", e2e_timings)
    call = status_api.wait_for(status_for(back, "success"), 60)
    assert_status(call, back, "success", "dev: Synced and Healthy")


# ----------------------------------------------------------------- journey 4
SNEAKY: Manifest = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "sneaky"},
    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
}


def test_an_object_the_project_refuses_fails_the_wait(
    env_clusters: dict[str, Cluster],
    app_repo: GitRepo,
    status_api: CommitStatusStandIn,
    e2e_timings: Timings,
) -> None:
    repo, dev = app_repo, env_clusters["dev"]
    # Written straight into dist/, past the synth's policy (which would refuse it).
    repo.write("dist/dev/app/clusterrole-sneaky.yaml", SNEAKY)
    sha = repo.commit_all("a ClusterRole in the app's folder")
    done, doc, took = wait_env(repo, "dev", dev, "--timeout", "3m")
    assert done.returncode == 1, done.stderr
    assert doc["outcome"] == "failed", doc
    err = done.stderr.splitlines()
    assert any(
        line.startswith("shop: ClusterRole ")
        and "sneaky: " in line
        and "ClusterRole is not permitted in project" in line
        for line in err
    ), done.stderr
    assert err[-1] == f"error: dev: failed at {sha[:7]}: shop failed", done.stderr
    e2e_timings["promotion: refused object: commit -> wait fails (dev)"] = round(took, 2)
    _say(f"refused object: commit -> wait failed in {took:.1f}s")
    call = status_api.wait_for(status_for(sha, "error"), 60)
    assert_status(call, sha, "error", "dev: the sync failed")
    assert dev.get("rbac.authorization.k8s.io/v1", "ClusterRole", "sneaky") is None

    # Remove it; the sync Argo CD keeps retrying is stopped (argocd app terminate-op).
    repo.remove("dist/dev/app/clusterrole-sneaky.yaml")
    repo.commit_all("drop the ClusterRole")
    dev.terminate_operation("shop")
    roll_to(repo, "dev", dev, WEB_IMAGE_NEXT, "recover from a refused object", e2e_timings)


# ----------------------------------------------------------------- journey 5
def test_history_shows_every_move_in_order(app_repo: GitRepo) -> None:
    out = gitops_base(app_repo.path, "history", "web")
    rows = [line.split("  ") for line in out.splitlines()]
    view = [r[0] if len(r) == 1 else (r[4], r[5]) for r in rows]
    reason = "release 1.9.1 approved in the change meeting"
    assert view == [
        "dev:",
        (WEB_IMAGE, "set"),
        (WEB_IMAGE_NEXT, "set"),
        (WEB_IMAGE_BROKEN, "set"),
        (WEB_IMAGE_NEXT, "set"),
        "test:",
        (WEB_IMAGE, "set"),
        (WEB_IMAGE_NEXT, "from dev, checked"),
        "prod:",
        (WEB_IMAGE, "set"),
        (WEB_IMAGE_NEXT, f"from test, forced: {reason}"),
    ], out
    doc = json.loads(gitops_base(app_repo.path, "history", "web", "--output", "json"))
    log = app_repo.git("log", "--reverse", "--format=%H").splitlines()
    assert [log.index(d["commit"]) for d in doc if d["to_env"] == "dev"] == sorted(
        log.index(d["commit"]) for d in doc if d["to_env"] == "dev"
    )
    assert {d["author"] for d in doc} == {"e2e"}
