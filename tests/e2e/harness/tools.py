"""Where the e2e binaries and the pinned CRDs are.

The binaries are built by tests/e2e/build-tools.sh from the wrapper modules in
tests/e2e/tools/*/go.mod and cached outside the repository, keyed by version.
This module computes the same paths (from the same go.mod files) and fails
loudly when something is missing: nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = E2E_DIR.parent.parent
TOOLS_DIR = E2E_DIR / "tools"
BUILD_SCRIPT = E2E_DIR / "build-tools.sh"


class ToolsMissing(RuntimeError):
    """A binary or the CRD folder the harness needs is not there."""


def cache_dir() -> Path:
    env = os.environ.get("GITOPS_BASE_E2E_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "gitops-base" / "e2e"


def module_version(wrapper: str, module: str) -> str:
    """Version of `module` required by tests/e2e/tools/<wrapper>/go.mod."""
    gomod = TOOLS_DIR / wrapper / "go.mod"
    text = gomod.read_text()
    in_replace = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("replace"):
            in_replace = stripped.endswith("(")
            continue
        if in_replace:
            if stripped == ")":
                in_replace = False
            continue
        m = re.match(r"^(?:require\s+)?(\S+)\s+(v\S+)", stripped)
        if m and m.group(1) == module:
            return m.group(2)
    raise ToolsMissing(f"{module} is not required in {gomod}")


@dataclass(frozen=True)
class Tools:
    kube_apiserver: Path
    kube_controller_manager: Path
    etcd: Path
    argocd: Path
    helm: Path
    redis_server: Path
    git: Path
    kubernetes_version: str
    etcd_version: str
    argocd_version: str
    helm_version: str

    def describe(self) -> str:
        return (
            f"kube-apiserver/kube-controller-manager {self.kubernetes_version}, "
            f"etcd {self.etcd_version}, Argo CD {self.argocd_version}, "
            f"helm {self.helm_version}, "
            f"redis-server {self.redis_server}"
        )


def _binary(env: str, default: Path) -> Path:
    override = os.environ.get(env)
    return Path(override) if override else default


def find_tools() -> Tools:
    """Locate every binary; raise ToolsMissing listing all that are absent."""
    k8s = module_version("kubernetes", "k8s.io/kubernetes")
    etcd = module_version("etcd", "go.etcd.io/etcd/server/v3")
    argocd = module_version("argocd", "github.com/argoproj/argo-cd/v3")
    helm = module_version("helm", "helm.sh/helm/v4")
    binroot = cache_dir() / "bin"
    paths = {
        "kube-apiserver": _binary(
            "GITOPS_BASE_E2E_KUBE_APISERVER", binroot / f"kube-apiserver-{k8s}"
        ),
        "kube-controller-manager": _binary(
            "GITOPS_BASE_E2E_KUBE_CONTROLLER_MANAGER", binroot / f"kube-controller-manager-{k8s}"
        ),
        "etcd": _binary("GITOPS_BASE_E2E_ETCD", binroot / f"etcd-{etcd}"),
        "argocd": _binary("GITOPS_BASE_E2E_ARGOCD", binroot / f"argocd-{argocd}"),
        "helm": _binary("GITOPS_BASE_E2E_HELM", binroot / f"helm-{helm}"),
    }
    missing = [f"  {name}: {path}" for name, path in paths.items() if not os.access(path, os.X_OK)]
    redis = os.environ.get("GITOPS_BASE_E2E_REDIS_SERVER") or shutil.which("redis-server")
    if not redis:
        missing.append("  redis-server: not on PATH (Debian package redis-server)")
    git = shutil.which("git")
    if not git:
        missing.append("  git: not on PATH")
    if not shutil.which("openssl"):
        missing.append("  openssl: not on PATH (Debian package openssl)")
    if missing:
        raise ToolsMissing(
            "e2e binaries are missing:\n"
            + "\n".join(missing)
            + f"\nBuild them with: bash {BUILD_SCRIPT.relative_to(REPO_ROOT)}"
            " (or run the whole suite with bash tests/e2e/run.sh)"
        )
    return Tools(
        kube_apiserver=paths["kube-apiserver"],
        kube_controller_manager=paths["kube-controller-manager"],
        etcd=paths["etcd"],
        argocd=paths["argocd"],
        helm=paths["helm"],
        redis_server=Path(redis),  # type: ignore[arg-type]
        git=Path(git),  # type: ignore[arg-type]
        kubernetes_version=k8s,
        etcd_version=etcd,
        argocd_version=argocd,
        helm_version=helm,
    )


def crd_files() -> list[Path]:
    """The pinned CRD files (platform/crds.yaml), each checked against its SHA-256: from
    $CRDS_DIR, <repo>/../shared/crds, or the cache (downloaded there when missing)."""
    from constructs_lib.render.crds import CrdsError, crd_paths, ensure_crds

    try:
        return crd_paths(ensure_crds())
    except CrdsError as exc:
        raise ToolsMissing("; ".join(exc.problems)) from None
