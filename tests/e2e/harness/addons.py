"""The platform add-ons' images on the node: what the pinned charts run, built from source.

Every image reference the add-on Applications' charts render (their Deployments, DaemonSets and
hook Jobs, plus the ACME solver image cert-manager's controller is told to start) is mapped to a
binary built by tests/e2e/node/build-addon-tools.sh (or, for ingress-nginx, to the harness's
stand-in controller) and imported into the node's containerd under that exact reference. A
reference no entry maps fails the run: a chart bump that adds an image must add it here.

Each image is one layer, like the test images (oci.py): the binary where the upstream image
keeps it, its entrypoint, /etc/passwd and /etc/group, /tmp, and as /etc/ssl/certs the stand-in
internet's root CA (the public CAs of that internet, as distroless images carry Mozilla's). The
CSI driver's image also holds Debian's mount and umount with their libraries (upstream's is
Debian-based for them); the CRD hook image holds kubectl and the chart's own CRD files.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .kube import Manifest
from .oci import FileSpec
from .tools import E2E_DIR, REPO_ROOT, ToolsMissing

ADDON_BUILD_SCRIPT = E2E_DIR / "node" / "build-addon-tools.sh"
CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class AddonTools:
    """The add-ons' binaries (build-addon-tools.sh builds and caches them)."""

    paths: dict[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def find_addon_tools() -> AddonTools:
    out = subprocess.run(
        ["bash", str(ADDON_BUILD_SCRIPT), "--print-paths"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        paths[key.lower().replace("_", "-")] = Path(value)
    missing = [f"  {n}: {p}" for n, p in paths.items() if not p.is_file()]
    if missing:
        raise ToolsMissing(
            "the add-ons' binaries are missing:\n"
            + "\n".join(missing)
            + f"\nBuild them with: bash {ADDON_BUILD_SCRIPT.relative_to(REPO_ROOT)}"
            " (or run the node tier with make e2e-node)"
        )
    return AddonTools(paths)


def normalize(ref: str) -> str:
    """An image reference as containerd's CRI names it (docker's ParseDockerRef): docker.io and
    library/ added to short names, a tag dropped when a digest is given, `latest` when neither."""
    name, _, digest = ref.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        if "/" not in name:
            name = "library/" + name
        name = "docker.io/" + name
    if digest:
        return f"{name}@{digest}"
    return f"{name}:{tag or 'latest'}"


def repository(ref: str) -> str:
    """The repository of a normalized reference (no tag, no digest)."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def host_files(binaries: Iterable[str]) -> dict[str, FileSpec]:
    """Host binaries with every shared library `ldd` names (the dynamic loader included), at the
    paths ldd prints, as regular files."""
    files: dict[str, FileSpec] = {}
    for binary in binaries:
        path = Path(binary)
        files[str(path)] = (path.resolve(), 0o755)
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            m = re.search(r"(/\S+) \(0x", line)
            if m:
                lib = Path(m.group(1))
                files[str(lib)] = (lib.resolve(), 0o755)
    return files


@dataclass(frozen=True)
class AddonImage:
    """How an upstream image is made here: its binary (a key of the add-on or node tools),
    where the image keeps it, entrypoint and user, and any extra files."""

    binary: str
    path: str
    entrypoint: tuple[str, ...] | None = None  # None: the binary itself
    user: str = "65532:65532"
    host_binaries: tuple[str, ...] = ()
    chart_files: str = ""  # "<chart dir inside the package>/<folder>=<image folder>"
    description: str = ""


CERT_MANAGER = "quay.io/jetstack/cert-manager-"
IMAGES: dict[str, AddonImage] = {
    **{
        f"{CERT_MANAGER}{c}": AddonImage(
            f"cert-manager-{c}", f"/app/cmd/{c}/{c}", user="1000:1000", description="built"
        )
        for c in ("controller", "webhook", "cainjector", "acmesolver", "startupapicheck")
    },
    "registry.k8s.io/csi-secrets-store/driver": AddonImage(
        "secrets-store-csi-driver",
        "/secrets-store-csi",
        user="0:0",
        host_binaries=("/usr/bin/mount", "/usr/bin/umount"),
        description="built; Debian's mount and umount",
    ),
    "registry.k8s.io/csi-secrets-store/driver-crds": AddonImage(
        "kubectl",
        "/kubectl",
        user="0:0",
        chart_files="secrets-store-csi-driver/crds=/crds",
        description="kubectl built; the chart's CRDs",
    ),
    "registry.k8s.io/sig-storage/csi-node-driver-registrar": AddonImage(
        "csi-node-driver-registrar", "/csi-node-driver-registrar", user="0:0", description="built"
    ),
    "registry.k8s.io/sig-storage/livenessprobe": AddonImage(
        "livenessprobe", "/livenessprobe", user="0:0", description="built"
    ),
    "docker.io/infisical/infisical-csi-provider": AddonImage(
        "infisical-csi-provider", "/manager", user="0:0", description="built"
    ),
    # Stood in: no ingress controller builds from what the module proxy serves.
    "registry.k8s.io/ingress-nginx/controller": AddonImage(
        "e2e-ingress",
        "/nginx-ingress-controller",
        entrypoint=(),
        user="101:82",
        description="stand-in (tests/e2e/node/images/ingress)",
    ),
    "registry.k8s.io/ingress-nginx/kube-webhook-certgen": AddonImage(
        "e2e-ingress",
        "/kube-webhook-certgen",
        description="stand-in (tests/e2e/node/images/ingress)",
    ),
}


def _containers(obj: Manifest) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if obj.get("kind") in ("Deployment", "DaemonSet", "StatefulSet", "Job"):
        pod = (spec.get("template") or {}).get("spec") or {}
    elif obj.get("kind") == "CronJob":
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    elif obj.get("kind") == "Pod":
        pod = spec
    else:
        return []
    return list(pod.get("containers") or []) + list(pod.get("initContainers") or [])


def chart_images(rendered: Iterable[Manifest]) -> set[str]:
    """Every image reference a chart renders, normalized, with the solver image cert-manager's
    controller starts for HTTP-01 challenges (a flag, not a container)."""
    refs = set()
    for obj in rendered:
        for c in _containers(obj):
            refs.add(normalize(c["image"]))
            for arg in c.get("args") or []:
                if str(arg).startswith("--acme-http01-solver-image="):
                    refs.add(normalize(str(arg).split("=", 1)[1]))
    return refs


def image_files(
    ref: str,
    tools: Callable[[str], Path],
    chart_package: Callable[[str], Path],
    ca_bundle: bytes,
) -> tuple[AddonImage, dict[str, FileSpec], list[str]]:
    """The files and entrypoint of the image for `ref` (normalized). ToolsMissing when no entry
    maps its repository."""
    spec = IMAGES.get(repository(ref))
    if spec is None:
        raise ToolsMissing(
            f"the add-on charts run {ref}, which tests/e2e/harness/addons.py does not build:"
            " map its repository to a binary in IMAGES"
        )
    files: dict[str, FileSpec] = {
        spec.path: (tools(spec.binary), 0o755),
        CA_BUNDLE_PATH: (ca_bundle, 0o644),
    }
    files.update(host_files(spec.host_binaries))
    if spec.chart_files:
        source, _, target = spec.chart_files.partition("=")
        chart = source.split("/", 1)[0]
        with tarfile.open(chart_package(chart)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(source + "/"):
                    data = tar.extractfile(member)
                    assert data is not None
                    name = member.name.rsplit("/", 1)[1]
                    files[f"{target}/{name}"] = (data.read(), 0o644)
    entrypoint = [spec.path] if spec.entrypoint is None else list(spec.entrypoint)
    return spec, files, entrypoint
