"""The Pod Security level of each add-on namespace is the strictest its pods pass: every pod
template the pinned chart renders is created as a Pod (server-side dry run) in a namespace
labelled as the base labels the add-on's namespace, against the real API server's PodSecurity
admission."""

from __future__ import annotations

import time
from typing import Any

import pytest

from constructs_lib.constructs.security import pod_security_labels
from constructs_lib.model.addons import ADDONS
from constructs_lib.model.value_types import PodSecurityLevel
from tests.e2e.addon_kinds import charts_dir, helm_binary, render_chart, synthesized
from tests.e2e.harness.cluster import Cluster
from tests.e2e.harness.kube import KubeError

POD_SPEC = {
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
}


def pods(app: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every workload the add-on's chart renders."""
    out = []
    for obj in render_chart(app, helm_binary(), charts_dir()):
        if obj["kind"] in POD_SPEC:
            spec = obj
            for key in POD_SPEC[obj["kind"]]:
                spec = spec[key]
            out.append((f"{obj['kind']} {obj['metadata']['name']}", spec))
    return out


def admitted(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> str | None:
    """None when the API server would create the pod, else its refusal."""
    spec = {**spec, "serviceAccountName": "default", "automountServiceAccountToken": False}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name.split()[-1][:60], "namespace": namespace},
        "spec": spec,
    }
    try:
        cluster.kube.request(
            "POST", f"/api/v1/namespaces/{namespace}/pods", params={"dryRun": "All"}, body=pod
        )
    except KubeError as exc:
        return str(exc)
    return None


def namespace(cluster: Cluster, name: str, labels: dict[str, str]) -> str:
    """The namespace, labelled, once its default ServiceAccount exists (the pods use it)."""
    metadata = {"name": name, "labels": labels}
    cluster.kube.apply_one({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    deadline = time.monotonic() + 30
    while cluster.kube.get("v1", "ServiceAccount", "default", name) is None:
        assert time.monotonic() < deadline, f"no ServiceAccount default in {name} after 30 s"
        time.sleep(0.2)
    return name


@pytest.fixture(scope="module")
def addons() -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in synthesized()
        if o["kind"] == "Application" and "chart" in o["spec"]["source"]
    }


def test_each_labelled_addon_namespace_admits_every_pod_of_its_chart(
    cluster: Cluster, addons: dict[str, dict[str, Any]]
) -> None:
    labelled = [a for a in ADDONS.values() if a.pod_security is not None]
    assert labelled, "no add-on namespace with Pod Security labels"
    for addon in labelled:
        assert addon.pod_security is not None
        app = addons[addon.name]
        labels = app["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
        assert labels == pod_security_labels(addon.pod_security)
        ns = namespace(cluster, f"psa-{addon.name}", labels)
        workloads = pods(app)
        assert workloads, addon.name
        refused = [(n, r) for n, spec in workloads if (r := admitted(cluster, ns, n, spec))]
        assert refused == [], addon.name


def test_the_check_refuses_a_pod_that_needs_more(
    cluster: Cluster, addons: dict[str, dict[str, Any]]
) -> None:
    """The CSI driver (hostPath, privileged) is refused at restricted and baseline, which is
    why it stays in kube-system (SECURITY.md)."""
    workloads = dict(pods(addons["secrets-store-csi-driver"]))
    daemonset = workloads["DaemonSet secrets-store-csi-driver"]
    levels: tuple[PodSecurityLevel, ...] = ("restricted", "baseline")
    for level in levels:
        ns = namespace(cluster, f"psa-csi-{level}", pod_security_labels(level))
        refusal = admitted(cluster, ns, "DaemonSet secrets-store-csi-driver", daemonset)
        assert refusal is not None and "violates PodSecurity" in refusal, refusal
    ns = namespace(cluster, "psa-csi-privileged", pod_security_labels("privileged"))
    assert admitted(cluster, ns, "DaemonSet secrets-store-csi-driver", daemonset) is None
