"""Fast checks of how the node tier makes and serves images (harness/oci.py, harness/registry.py,
harness/argocd_images.py) and of how the platform journey times `gitops-base bootstrap`
(harness/steps.py). No cluster; the registry listens on loopback."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness.argocd_images import (
    ARGOCD,
    ARGOCD_LINKS,
    DEX,
    REDIS,
    argocd_module_zip,
    images,
    manifest_images,
)
from tests.e2e.harness.oci import layer_tar, write_image
from tests.e2e.harness.registry import Registry, split
from tests.e2e.harness.steps import BOOTSTRAP_STEPS, communicate_timed, step_times
from tests.e2e.harness.tools import ToolsMissing

QUAY = "quay.io/argoproj/argocd:v3.5.2"


# ------------------------------------------------------------------ oci layers
def test_a_layer_holds_files_parents_mount_points_and_links() -> None:
    layer = layer_tar(
        {"/usr/bin/tool": (b"#!/bin/sh\n", 0o755)},
        dirs=("/tmp",),
        links={"/bin/sh": "/usr/bin/dash", "/usr/local/bin/argocd-server": "argocd"},
    )
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        tool = tar.extractfile("usr/bin/tool")
        assert tool is not None and tool.read() == b"#!/bin/sh\n"
    assert sorted(members) == [
        "bin",
        "bin/sh",
        "tmp",
        "usr",
        "usr/bin",
        "usr/bin/tool",
        "usr/local",
        "usr/local/bin",
        "usr/local/bin/argocd-server",
    ]
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/usr/bin/dash"
    assert members["usr/local/bin/argocd-server"].linkname == "argocd"
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert members["usr/local/bin"].isdir() and members["usr/local/bin"].mode == 0o755
    assert members["usr/bin/tool"].mode == 0o755
    # Reproducible: the same input, the same bytes (and so the same digests).
    assert layer == layer_tar(
        {"/usr/bin/tool": (b"#!/bin/sh\n", 0o755)},
        dirs=("/tmp",),
        links={"/usr/local/bin/argocd-server": "argocd", "/bin/sh": "/usr/bin/dash"},
    )


# ------------------------------------------------------------------ registry
@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        (QUAY, ("quay.io", "argoproj/argocd", "v3.5.2")),
        ("docker.io/library/redis:8.2.3-alpine", ("docker.io", "library/redis", "8.2.3-alpine")),
        ("localhost:5000/a/b:1", ("localhost:5000", "a/b", "1")),
        (
            "registry.k8s.io/x/c@sha256:" + "a" * 64,
            ("registry.k8s.io", "x/c", "sha256:" + "a" * 64),
        ),
    ],
)
def test_split(ref: str, parts: tuple[str, str, str]) -> None:
    assert split(ref) == parts


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry("127.0.0.1", tmp_path / "hosts").start()
    yield reg
    reg.stop()


def _get(reg: Registry, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection(reg.url.removeprefix("http://"), timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_registry_serves_an_image_as_containerd_pulls_it(
    registry: Registry, tmp_path: Path
) -> None:
    archive = tmp_path / "argocd.tar"
    digest = write_image(archive, QUAY, {"/x": (b"x", 0o755)}, ["/x"], user="999")
    registry.add(archive)

    assert _get(registry, "/v2/")[0] == 200
    status, body, headers = _get(registry, "/v2/argoproj/argocd/manifests/v3.5.2")
    assert status == 200
    assert headers["docker-content-digest"] == digest == _sha(body)
    assert headers["content-type"] == "application/vnd.oci.image.manifest.v1+json"
    manifest = json.loads(body)
    for desc in [manifest["config"], *manifest["layers"]]:
        status, blob, headers = _get(registry, f"/v2/argoproj/argocd/blobs/{desc['digest']}")
        assert status == 200 and _sha(blob) == desc["digest"]
        assert int(headers["content-length"]) == desc["size"] == len(blob)
    assert (
        json.loads(_get(registry, f"/v2/argoproj/argocd/blobs/{manifest['config']['digest']}")[1])[
            "config"
        ]["User"]
        == "999"
    )
    # By digest too, and HEAD answers the length without a body.
    assert _get(registry, f"/v2/argoproj/argocd/manifests/{digest}")[1] == body
    status, empty, headers = _get(registry, "/v2/argoproj/argocd/manifests/v3.5.2", "HEAD")
    assert (status, empty, int(headers["content-length"])) == (200, b"", len(body))

    # What it does not have is unknown; it takes no pushes.
    status, unknown, _ = _get(registry, "/v2/argoproj/argocd/manifests/v9.9.9")
    assert status == 404 and json.loads(unknown)["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert _get(registry, "/v2/argoproj/argocd/blobs/sha256:" + "0" * 64)[0] == 404
    assert _get(registry, "/v2/_catalog")[0] == 404
    assert _get(registry, "/v2/argoproj/argocd/blobs/uploads/", "POST")[0] == 501

    # containerd is pointed here for quay.io, and only for the registries it serves.
    hosts = (registry.hosts_dir / "quay.io" / "hosts.toml").read_text()
    assert hosts == (
        'server = "https://quay.io"\n\n'
        f'[host."{registry.url}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    assert sorted(p.name for p in registry.hosts_dir.iterdir()) == ["quay.io"]


def test_docker_hub_images_and_digest_pins(registry: Registry, tmp_path: Path) -> None:
    redis = tmp_path / "redis.tar"
    write_image(redis, "docker.io/library/redis:8.2.3-alpine", {"/r": (b"r", 0o755)}, ["/r"])
    pinned = tmp_path / "pinned.tar"
    ref = "registry.k8s.io/ingress-nginx/controller@sha256:" + "5" * 64
    write_image(pinned, ref, {"/c": (b"c", 0o755)}, ["/c"])
    registry.add(redis)
    registry.add(pinned)
    assert _get(registry, "/v2/library/redis/manifests/8.2.3-alpine")[0] == 200
    assert (
        'server = "https://registry-1.docker.io"'
        in (registry.hosts_dir / "docker.io" / "hosts.toml").read_text()
    )
    # An image pinned by a digest its content does not have is not served (it stays imported
    # only), and its registry is not redirected here.
    assert _get(registry, f"/v2/ingress-nginx/controller/manifests/sha256:{'5' * 64}")[0] == 404
    assert not (registry.hosts_dir / "registry.k8s.io").exists()


# ------------------------------------------------------------------ Argo CD's images
def _deployment(kind: str, containers: list[str], init: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"image": i} for i in containers],
                    "initContainers": [{"image": i} for i in init],
                }
            }
        },
    }


def test_manifest_images_are_every_workload_image_normalized() -> None:
    install: list[dict[str, Any]] = [
        {"kind": "ConfigMap", "data": {"image": "not/this:1"}},
        _deployment("Deployment", ["quay.io/argoproj/argocd:v3.5.2"], ["redis:8.2.3-alpine"]),
        _deployment("StatefulSet", ["quay.io/argoproj/argocd:v3.5.2"], []),
        _deployment("Deployment", ["ghcr.io/dexidp/dex:v2.45.1"], []),
        _deployment("Job", ["busybox"], []),
    ]
    assert manifest_images(install) == {
        QUAY,
        "docker.io/library/redis:8.2.3-alpine",
        "ghcr.io/dexidp/dex:v2.45.1",
        "docker.io/library/busybox:latest",
    }


def test_an_image_the_harness_does_not_make_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(ToolsMissing, match=r"runs docker.io/library/busybox:latest, which"):
        images(["docker.io/library/busybox:latest"], tmp_path, tmp_path, "v3.5.2", b"")


def test_redis_and_dex_images() -> None:
    made = images(
        [f"{REDIS}:8.2.3-alpine", f"{DEX}:v2.45.1"], Path("/x"), Path("/x"), "v3.5.2", b"CA"
    )
    redis = made[f"{REDIS}:8.2.3-alpine"]
    assert redis.entrypoint == ["/usr/bin/redis-server"] and redis.user == "999"
    assert "/usr/bin/redis-server" in redis.files
    assert redis.files["/etc/ssl/certs/ca-certificates.crt"] == (b"CA", 0o644)
    assert b"argocd:x:999:999:" in redis.files["/etc/passwd"][0]  # type: ignore[operator]
    dex = made[f"{DEX}:v2.45.1"]
    script = dex.files["/usr/local/bin/dex"][0]
    assert isinstance(script, bytes) and b"the Go module proxy does not serve Dex" in script
    assert dex.user == "1001" and dex.links["/bin/sh"] == "/usr/bin/dash"
    # The stand-in says why and fails, should anything start it.
    result = subprocess.run(["sh", "-c", script.decode()], capture_output=True, text=True)
    assert result.returncode == 1 and "not in this image" in result.stderr


def test_the_argocd_image(tmp_path: Path) -> None:
    """Needs the Argo CD module zip that tests/e2e/build-tools.sh downloads."""
    from constructs_lib.model.versions import load_versions

    version = load_versions().argocd.version
    argocd_module_zip(version)  # ToolsMissing names the command when it is not there
    binary, helm = tmp_path / "argocd", tmp_path / "helm"
    made = images([f"{ARGOCD}:{version}"], binary, helm, version, b"CA")
    image = made[f"{ARGOCD}:{version}"]
    assert image.entrypoint == ["/usr/bin/tini", "--"] and image.user == "999"
    assert image.working_dir == "/home/argocd"
    assert image.files["/usr/local/bin/argocd"] == (binary, 0o755)
    assert image.files["/usr/local/bin/helm"] == (helm, 0o755)
    for name in ARGOCD_LINKS:
        assert image.links[f"/usr/local/bin/{name}"] == "argocd"
    wrapper = image.files["/usr/local/bin/git-verify-wrapper.sh"][0]
    assert isinstance(wrapper, bytes) and wrapper.startswith(b"#!")
    # git over HTTP(S) with its helper and the libraries it loads, gpg, tini and a shell.
    for path in (
        "/usr/bin/git",
        "/usr/lib/git-core/git-remote-http",
        "/usr/bin/gpg",
        "/usr/bin/gpg-agent",
        "/usr/bin/tini",
        "/usr/bin/dash",
    ):
        assert path in image.files, path
    assert any("libcurl" in p for p in image.files), "git-remote-http's libcurl"
    assert image.links["/bin/sh"] == "/usr/bin/dash"
    assert {"/tmp", "/home/argocd", "/app/config/ssh", "/helm-working-dir"} <= set(image.dirs)


# ------------------------------------------------------------------ bootstrap's steps
BOOTSTRAP_OUTPUT = [
    (0.4, "bootstrap dev: cluster https://127.0.0.1:54625 (context e2e)"),
    (1.5, "cluster checks passed (2 warning(s))"),
    (1.6, "Argo CD v3.5.2 from /tmp/install.yaml (sha256 verified)"),
    (1.7, "  created Namespace argocd"),
    (9.0, "Argo CD v3.5.2: 60 objects, 60 changed"),
    (40.0, "Argo CD is running (argocd-application-controller 1/1, argocd-repo-server 1/1)"),
    (40.1, "repository credential: token from GITOPS_BASE_REPO_TOKEN"),
    (40.3, "repository credential: 1 objects, 1 changed"),
    (40.4, "root: /tmp/shop-gitops/dist/dev/root.yaml"),
    (41.0, "root.yaml: 12 objects, 12 changed"),
    (41.1, "waiting for root, shop to be Synced and Healthy"),
    (150.0, "[  110s]    0  root                       Synced     Healthy      b2fb264"),
    (180.0, "dev is Synced and Healthy (181s)"),
]


def test_step_times_are_the_lines_that_end_each_step() -> None:
    assert step_times(BOOTSTRAP_OUTPUT) == {
        "cluster checks passed": 1.5,
        "Argo CD's install.yaml applied": 9.0,
        "Argo CD running": 40.0,
        "repository credential applied": 40.3,
        "root.yaml applied": 41.0,
        "every Application Synced and Healthy": 180.0,
    }
    assert [name for name, _ in BOOTSTRAP_STEPS] == list(step_times(BOOTSTRAP_OUTPUT))


def test_a_step_bootstrap_did_not_reach_is_missing() -> None:
    failed = [*BOOTSTRAP_OUTPUT[:6], (300.0, "dev is Synced and Healthy? no")]
    assert list(step_times(failed)) == [
        "cluster checks passed",
        "Argo CD's install.yaml applied",
        "Argo CD running",
    ]
    # A second run prints the same lines again: the first one counts.
    twice = [*BOOTSTRAP_OUTPUT, (200.0, "cluster checks passed (0 warning(s))")]
    assert step_times(twice)["cluster checks passed"] == 1.5


def test_communicate_timed_times_each_line() -> None:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            "import sys,time; print('a'); time.sleep(0.5); "
            "print('b'); print('oops', file=sys.stderr); sys.exit(3)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    code, lines, err = communicate_timed(proc, t0, timeout=30)
    assert code == 3 and err == "oops\n"
    assert [text for _, text in lines] == ["a", "b"]
    assert lines[1][0] - lines[0][0] >= 0.4


def test_communicate_timed_kills_a_command_that_runs_too_long() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t0 = time.monotonic()
    code, lines, _ = communicate_timed(proc, t0, timeout=0.5)
    assert code < 0 and lines == []
    assert time.monotonic() - t0 < 15
