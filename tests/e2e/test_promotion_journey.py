"""Promotion between environments, from one version 2 payload, on three clusters.

dev, test and prod each get their own control plane and Argo CD (as three k3s clusters would
have), all syncing one git copy of this repository. The copy starts without a config:
`gitops-base generate` writes it from tests/e2e/fixtures/payloads/shop-v2.json (a version 2
payload using every field a new config can take), `gitops-base synth` renders dist/, and
nothing is written by hand. Each env's cluster gets its `platform` and app Applications and
AppProjects from dist/<env>/argocd/, exactly as rendered.

1. bootstrap: every env syncs the commit; generate + synth pass the checks of `make check`;
   the hosts are the env's own; the NetworkPolicies Argo CD applied allow exactly the calls
   the payload declares (per port), no more;
   generate pinned every service in prod (promotion.held's default) to the payload's image,
   so the first deploy runs everywhere with no pin written by hand;
2. promotion: `set-image web 1.9.1 --env dev` changes one config line and one file of
   dist/dev/, and only dev's Deployment in the API servers; `promote web --from dev --to test`
   changes one config line and one file of dist/test/, test runs 1.9.1, prod still 1.9.0;
   `promote web --from test --to prod` changes prod's pin line and one file of dist/prod/.

The tests run in file order and share the clusters and the repository.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import _run_cluster
from tests.e2e.harness import Cluster, GitRepo, Timings, Tools
from tests.e2e.harness.base import applications_in, gitops_base, wait_synced_or_refused
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
def app_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitRepo]:
    """A copy of the base for a new app: every env syncs from the copy itself, and the base's
    example config is gone, so the config is the payload's alone."""
    repo = GitRepo.create(tmp_path_factory.mktemp("promotion") / "shop-gitops", source=REPO_ROOT)
    old = "url: https://github.com/example-org/shop-gitops.git"
    for env in ENVS:
        path = f"clusters/{env}/cluster.yaml"
        text = repo.read(path)
        assert old in text, f"{path} no longer has {old!r}"
        repo.write(path, text.replace(old, f"url: {repo.url}"))
    repo.remove(CONFIG)
    repo.commit_all("every env syncs from this repository; a new app, no config yet")
    yield repo


def staged_changes(repo: GitRepo) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Stage everything; (the config's changed lines as `+...`/`-...`, {changed file:
    (lines added, lines removed)})."""
    repo.git("add", "-A")
    numstat: dict[str, tuple[int, int]] = {}
    for line in repo.git("diff", "--cached", "--numstat").splitlines():
        added, removed, path = line.split("\t")
        numstat[path] = (int(added), int(removed))
    diff = repo.git("diff", "--cached", "--unified=0", "--", CONFIG).splitlines()
    lines = [
        d for d in diff if d[:1] in "+-" and not d.startswith("+++") and not d.startswith("---")
    ]
    return lines, numstat


def sync_envs(
    clusters: dict[str, Cluster], sha: str, changed: tuple[str, ...], timeout: float = 120
) -> dict[str, float]:
    """Hard-refresh every env's Applications; wait until all report commit `sha`, and the app
    of the `changed` envs synced it. Returns, per changed env, the seconds from the call (right
    after the commit) to its app Synced."""
    t0 = time.monotonic()
    for cluster in clusters.values():
        for app in GIT_APPS:
            cluster.refresh_app(app, hard=True)
    took = {}
    for env in changed:
        clusters[env].wait_app(
            "shop", sync="Synced", revision=sha, operation_phase="Succeeded", timeout=timeout
        )
        took[env] = time.monotonic() - t0
    for cluster in clusters.values():
        for app in GIT_APPS:
            cluster.wait_app(app, sync="Synced", revision=sha, timeout=timeout)
    return took


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
    env_clusters: dict[str, Cluster], app_repo: GitRepo, e2e_timings: Timings
) -> None:
    repo = app_repo
    t0 = time.monotonic()
    gitops_base(repo.path, "generate", "--input", str(PAYLOAD))
    gitops_base(repo.path, "synth")
    sha = repo.commit_all("deploy the shop from the pipeline's payload")
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
        cluster.start_fake_kubelet([NS])
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


def ship(
    repo: GitRepo,
    clusters: dict[str, Cluster],
    message: str,
    env: str,
    step: str,
    e2e_timings: Timings,
) -> None:
    """Commit, wait for `env` to sync it and roll web out to WEB_IMAGE_NEXT; record how long
    each took under `step`."""
    sha = repo.commit_all(message)
    t_commit = time.monotonic()
    took = sync_envs(clusters, sha, (env,))[env]
    clusters[env].wait_for(
        lambda: rolled_out(clusters[env], "web", WEB_IMAGE_NEXT), 90, f"{env}: web to roll out"
    )
    rolled = time.monotonic() - t_commit
    e2e_timings[f"promotion: {step}: commit -> {env} Synced"] = round(took, 2)
    e2e_timings[f"promotion: {step}: commit -> {env} rolled out"] = round(rolled, 2)
    _say(f"{step}: commit -> Synced {took:.1f}s, rolled out {rolled:.1f}s")


# ----------------------------------------------------------------- journey 2
def test_promote_dev_to_test_leaves_prod_alone_until_promoted(
    env_clusters: dict[str, Cluster], app_repo: GitRepo, e2e_timings: Timings
) -> None:
    repo = app_repo
    clusters = env_clusters
    before = {env: generations(c) for env, c in clusters.items()}

    # CI ships 1.9.1 to dev.
    gitops_base(repo.path, "set-image", "web", "1.9.1", "--env", "dev")
    gitops_base(repo.path, "synth")
    lines, files = staged_changes(repo)
    assert lines == ['+        dev: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 0), "dist/dev/app/deployment-web.yaml": (1, 1)}, files
    ship(repo, clusters, "web 1.9.1 in dev", "dev", "set-image --env dev", e2e_timings)
    after = {env: generations(c) for env, c in clusters.items()}
    assert web_of(clusters["dev"]) == (WEB_IMAGE_NEXT, before["dev"]["Deployment web"] + 1)
    assert {k: v for k, v in after["dev"].items() if k != "Deployment web"} == {
        k: v for k, v in before["dev"].items() if k != "Deployment web"
    }
    for env in ("test", "prod"):
        assert web_of(clusters[env])[0] == WEB_IMAGE, env
        assert after[env] == before[env], (env, before[env], after[env])

    # dev is good: promote what it runs to test.
    gitops_base(repo.path, "promote", "web", "--from", "dev", "--to", "test")
    gitops_base(repo.path, "synth")
    lines, files = staged_changes(repo)
    assert lines == ['+        test: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 0), "dist/test/app/deployment-web.yaml": (1, 1)}, files
    ship(repo, clusters, "promote web to test", "test", "promote --to test", e2e_timings)
    final = {env: generations(c) for env, c in clusters.items()}
    assert web_of(clusters["test"]) == (WEB_IMAGE_NEXT, before["test"]["Deployment web"] + 1)
    assert final["dev"] == after["dev"]
    assert final["prod"] == before["prod"]
    assert web_of(clusters["prod"]) == (WEB_IMAGE, before["prod"]["Deployment web"])

    # test is good: promote to prod, whose pin generate wrote.
    gitops_base(repo.path, "promote", "web", "--from", "test", "--to", "prod")
    gitops_base(repo.path, "synth")
    lines, files = staged_changes(repo)
    assert lines == ['-        prod: {tag: "1.9.0"}', '+        prod: {tag: "1.9.1"}'], lines
    assert files == {CONFIG: (1, 1), "dist/prod/app/deployment-web.yaml": (1, 1)}, files
    ship(repo, clusters, "promote web to prod", "prod", "promote --to prod", e2e_timings)
    assert web_of(clusters["prod"]) == (WEB_IMAGE_NEXT, before["prod"]["Deployment web"] + 1)
    prod = generations(clusters["prod"])
    assert {k: v for k, v in prod.items() if k != "Deployment web"} == {
        k: v for k, v in before["prod"].items() if k != "Deployment web"
    }
    assert {env: generations(c) for env, c in clusters.items() if env != "prod"} == {
        "dev": final["dev"],
        "test": final["test"],
    }
    # The audit trail: one commit per step, each naming what moved.
    log = repo.git("log", "--format=%s", "-4", "--", CONFIG).splitlines()
    assert log == [
        "promote web to prod",
        "promote web to test",
        "web 1.9.1 in dev",
        "deploy the shop from the pipeline's payload",
    ], log
