"""Every pod template in dist/ meets the `restricted` Pod Security Standard.

The checks follow the controls of the standard
(kubernetes.io/docs/concepts/security/pod-security-standards);
the e2e suite also has the real API server's admission reject a non-compliant pod.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support import ROOT

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "dist").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = doc.get("spec", {})
            template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get(
                "template"
            )
            if template:
                yield str(path.relative_to(ROOT)), template["spec"]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    problems = []
    pod_ctx = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(flag)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']}: {kinds - ALLOWED_VOLUMES}")
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        ctx = container.get("securityContext", {})
        name = container["name"]
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot must be true")
        if ctx.get("runAsUser") == 0 or pod_ctx.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser 0")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: must drop ALL capabilities")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities beyond NET_BIND_SERVICE")
        for port in container.get("ports", []):
            if "hostPort" in port:
                problems.append(f"{name}: hostPort")
    return problems


PODS = list(pod_specs())


def test_dist_has_pod_templates() -> None:
    assert len(PODS) >= 12  # 4 workloads x 3 environments


@pytest.mark.parametrize(("path", "pod"), PODS, ids=[p for p, _ in PODS])
def test_pod_template_is_restricted(path: str, pod: dict[str, Any]) -> None:
    assert restricted_violations(pod) == []


def test_the_checker_catches_violations() -> None:
    bad = {
        "containers": [{"name": "c", "securityContext": {"privileged": True}}],
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
    }
    assert restricted_violations(bad) == [
        "volume h: {'hostPath'}",
        "c: privileged",
        "c: allowPrivilegeEscalation must be false",
        "c: runAsNonRoot must be true",
        "c: seccompProfile must be RuntimeDefault or Localhost",
        "c: must drop ALL capabilities",
    ]


def test_namespace_enforces_restricted() -> None:
    # The platform renders the namespace (dist/<env>/platform/); the app no longer creates it.
    namespace = yaml.safe_load(
        (ROOT / "dist" / "dev" / "platform" / "namespace-shop.yaml").read_text()
    )
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
