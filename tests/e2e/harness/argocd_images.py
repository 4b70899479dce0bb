"""Argo CD's own images on the node: the pinned install manifest that `gitops-base bootstrap`
applies runs as pods, from images made here (docs/e2e.md, "The add-ons on the node").

    quay.io/argoproj/argocd:<version>      the Argo CD built from source (tests/e2e/tools/argocd)
                                           with its argv[0] links, the helm it ships (built
                                           from source), upstream's git-verify-wrapper.sh and
                                           gpg-wrapper.sh from the same module, and Debian's
                                           git, gpg, gpg-agent, tini, sh, cp and ln with their
                                           libraries (upstream's image is Ubuntu with the same
                                           packages); tini as the entrypoint, user 999
    public.ecr.aws/docker/library/redis:…  Debian's redis-server (7.0; upstream ships 8.2),
                                           user 999
    ghcr.io/dexidp/dex:…                   stood in: the module proxy does not serve Dex. The
                                           pod runs `argocd-dex rundex` (Argo CD's binary,
                                           copied in by its init container), which starts
                                           `dex` only when SSO is configured; the base
                                           configures none. The image's `dex` is a script that
                                           fails saying so, should it ever run.

Every image also holds /etc/passwd and /etc/group with the users the manifest runs as, and the
stand-in internet's root CA as the system's CAs.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .addons import CA_BUNDLE_PATH, PATH_ENV, host_files, normalize, repository
from .kube import Manifest
from .oci import FileSpec
from .tools import ToolsMissing

ARGOCD = "quay.io/argoproj/argocd"
REDIS = "public.ecr.aws/docker/library/redis"
DEX = "ghcr.io/dexidp/dex"
ARGOCD_LINKS = (
    "argocd-server",
    "argocd-repo-server",
    "argocd-cmp-server",
    "argocd-application-controller",
    "argocd-dex",
    "argocd-notifications",
    "argocd-applicationset-controller",
    "argocd-k8s-auth",
    "argocd-commit-server",
)
ACCOUNTS: dict[str, FileSpec] = {
    "/etc/passwd": (
        b"root:x:0:0:root:/root:/sbin/nologin\n"
        b"argocd:x:999:999::/home/argocd:/bin/sh\n"
        b"dex:x:1001:1001::/home/dex:/sbin/nologin\n"
        b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
        0o644,
    ),
    "/etc/group": (b"root:x:0:\nargocd:x:999:\ndex:x:1001:\nnonroot:x:65532:\n", 0o644),
}
SHELL = ("/usr/bin/dash", "/usr/bin/cp", "/usr/bin/ln")
SHELL_LINKS = {"/bin/sh": "/usr/bin/dash", "/bin/cp": "/usr/bin/cp", "/bin/ln": "/usr/bin/ln"}
DEX_SCRIPT = (
    b"#!/bin/sh\n"
    b"echo 'dex: not in this image (the Go module proxy does not serve Dex); the base'"
    b" 'configures no SSO, so argocd-dex does not start it' >&2\n"
    b"exit 1\n"
)


@dataclass
class Image:
    files: dict[str, FileSpec]
    entrypoint: list[str]
    user: str
    links: dict[str, str] = field(default_factory=dict)
    dirs: tuple[str, ...] = ("/tmp",)
    env: dict[str, str] = field(default_factory=lambda: {"PATH": PATH_ENV})
    working_dir: str = "/"
    description: str = ""


def manifest_images(install: Iterable[Manifest]) -> set[str]:
    """Every image reference of the install manifest's workloads, normalized."""
    refs = set()
    for obj in install:
        if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            pod = obj["spec"]["template"]["spec"]
            for c in list(pod.get("containers") or []) + list(pod.get("initContainers") or []):
                refs.add(normalize(c["image"]))
    return refs


def _git_core() -> tuple[dict[str, FileSpec], dict[str, str]]:
    """/usr/lib/git-core as it is: files (ELF ones with their libraries) and symlinks."""
    files: dict[str, FileSpec] = {}
    links: dict[str, str] = {}
    root = Path("/usr/lib/git-core")
    if not (root / "git").exists():
        raise ToolsMissing("git's /usr/lib/git-core is missing: apt-get install git")
    elf = []
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            links[str(path)] = str(path.readlink())
        elif path.is_file():
            files[str(path)] = (path, path.stat().st_mode & 0o777)
            if path.read_bytes()[:4] == b"\x7fELF":
                elf.append(str(path))
    files.update(host_files(elf))
    templates = Path("/usr/share/git-core/templates")
    for path in templates.rglob("*"):
        if path.is_file():
            files[str(path)] = (path, path.stat().st_mode & 0o777)
    return files, links


def _module_file(zip_path: Path, version: str, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        return z.read(f"github.com/argoproj/argo-cd/v3@{version}/{name}")


def argocd_module_zip(version: str) -> Path:
    gomodcache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False
    ).stdout.strip() or str(Path.home() / "go" / "pkg" / "mod")
    path = Path(gomodcache) / f"cache/download/github.com/argoproj/argo-cd/v3/@v/{version}.zip"
    if not path.is_file():
        raise ToolsMissing(f"{path} not found: run `bash tests/e2e/build-tools.sh`")
    return path


def images(
    refs: Iterable[str], argocd: Path, helm: Path, version: str, ca_bundle: bytes
) -> dict[str, Image]:
    """The image of each reference of the install manifest; ToolsMissing for one not known."""
    out: dict[str, Image] = {}
    ca: dict[str, FileSpec] = {CA_BUNDLE_PATH: (ca_bundle, 0o644), **ACCOUNTS}
    for ref in refs:
        repo = repository(ref)
        if repo == ARGOCD:
            zip_path = argocd_module_zip(version)
            git_files, git_links = _git_core()
            files: dict[str, FileSpec] = {
                **ca,
                "/usr/local/bin/argocd": (argocd, 0o755),
                "/usr/local/bin/helm": (helm, 0o755),
                "/usr/local/bin/git-verify-wrapper.sh": (
                    _module_file(zip_path, version, "hack/git-verify-wrapper.sh"),
                    0o755,
                ),
                "/usr/local/bin/gpg-wrapper.sh": (
                    _module_file(zip_path, version, "hack/gpg-wrapper.sh"),
                    0o755,
                ),
                **git_files,
                **host_files(
                    (
                        "/usr/bin/git",
                        "/usr/bin/gpg",
                        "/usr/bin/gpg-agent",
                        "/usr/bin/gpgconf",
                        "/usr/bin/tini",
                        *SHELL,
                    )
                ),
            }
            links = {
                **git_links,
                **SHELL_LINKS,
                **{f"/usr/local/bin/{name}": "argocd" for name in ARGOCD_LINKS},
                "/etc/ssh/ssh_known_hosts": "/app/config/ssh/ssh_known_hosts",
            }
            out[ref] = Image(
                files,
                ["/usr/bin/tini", "--"],
                "999",
                links,
                dirs=(
                    "/tmp",
                    "/home/argocd",
                    "/app/config/ssh",
                    "/app/config/tls",
                    "/app/config/gpg/source",
                    "/app/config/gpg/keys",
                    "/helm-working-dir",
                ),
                env={
                    "PATH": PATH_ENV,
                    "USER": "argocd",
                    "GRPC_ENABLE_TXT_SERVICE_CONFIG": "false",
                },
                working_dir="/home/argocd",
                description="built; Debian's git, gpg, tini and shell",
            )
        elif repo == REDIS:
            out[ref] = Image(
                {**ca, **host_files(["/usr/bin/redis-server"])},
                ["/usr/bin/redis-server"],
                "999",
                description="Debian's redis-server",
            )
        elif repo == DEX:
            out[ref] = Image(
                {**ca, "/usr/local/bin/dex": (DEX_SCRIPT, 0o755), **host_files(SHELL)},
                ["/usr/local/bin/dex"],
                "1001",
                dict(SHELL_LINKS),
                description="stand-in (no Dex: not served; not started without SSO)",
            )
        else:
            raise ToolsMissing(
                f"Argo CD's install manifest runs {ref}, which tests/e2e/harness/argocd_images.py"
                " does not make"
            )
    return out
