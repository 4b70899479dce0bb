"""The admission guards against generated shapes, on the real kube-apiserver: the shapes the
synth's rule set refuses that reach the guards when Argo CD (or anyone) writes them.

- an AppProject with each glob character (`* ? [ ] { } ! \\`) in each field Argo CD reads as a
  pattern (sourceRepos, sourceNamespaces, destinations' server, name and namespace, the
  whitelists' group, kind and name), generated from constructs_lib/constructs/trust_rules.py;
- an AppProject without one or both resource whitelists, and one with a cluster-scoped entry
  that names no object;
- a Pod Security label lowered through the `namespaces/status` and `namespaces/finalize`
  subresources, which keep the labels they are sent (shown on a namespace no guard names);
- an argocd-rbac-cm above the size the guard reads, refused with its own message rather than
  the API server's CEL cost error, and one at the size, whose lines are still checked.

Each refusal leaves the object as it was; a valid project of each shape is admitted.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import pytest

from constructs_lib.constructs.trust_rules import RBAC_POLICY_MAX_CHARACTERS
from tests.e2e.harness import Cluster, KubeError, load_manifests
from tests.e2e.test_admission_guards import ARGO, DIST, ENFORCE, activate_guards, refused
from tests.support.allowlist_cases import glob_projects, project

APPPROJECTS = "gitops-base-appprojects"


@pytest.fixture(scope="module")
def guarded(isolated_cluster: Cluster) -> Cluster:
    """A cluster of this module's own with root.yaml's policies enforced."""
    return activate_guards(isolated_cluster)


def dry_run_create(cluster: Cluster, obj: dict[str, Any]) -> Any:
    meta = obj["metadata"]
    path = cluster.kube.path(obj["apiVersion"], obj["kind"], namespace=meta.get("namespace"))
    return cluster.kube.request("POST", path, params={"dryRun": "All"}, body=obj)


def test_every_glob_character_in_every_pattern_field_is_refused(guarded: Cluster) -> None:
    cluster = guarded
    dry_run_create(cluster, project("glob"))  # the same project without the character passes
    cases = list(glob_projects())
    for what, field, shape in cases:
        message = refused(
            partial(dry_run_create, cluster, shape), APPPROJECTS, f"{field} may not hold"
        )
        assert "a glob character" in message, what
    assert len(cases) == 80
    print(f"[e2e generated] {len(cases)} glob shapes refused", flush=True)


def test_a_project_without_its_whitelists_or_with_an_unnamed_cluster_entry_is_refused(
    guarded: Cluster,
) -> None:
    cluster = guarded
    for missing in (
        ("namespaceResourceWhitelist",),
        ("clusterResourceWhitelist",),
        ("clusterResourceWhitelist", "namespaceResourceWhitelist"),
    ):
        shape = project("open")
        for field in missing:
            del shape["spec"][field]
        refused(
            partial(dry_run_create, cluster, shape),
            APPPROJECTS,
            "an AppProject needs clusterResourceWhitelist and namespaceResourceWhitelist",
        )
    unnamed = project("open", clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}])
    refused(
        partial(dry_run_create, cluster, unnamed),
        APPPROJECTS,
        "every clusterResourceWhitelist entry needs a name",
    )
    named = project(
        "named", clusterResourceWhitelist=[{"group": "", "kind": "Namespace", "name": "shop"}]
    )
    dry_run_create(cluster, named)
    # Patched into a project the base renders: refused, the project unchanged.
    cluster.apply(*load_manifests(DIST / "argocd" / "appproject-shop.yaml"))
    before = cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"]
    for patch in (
        [{"op": "remove", "path": "/spec/namespaceResourceWhitelist"}],
        [
            {
                "op": "add",
                "path": "/spec/clusterResourceWhitelist/-",
                "value": unnamed["spec"]["clusterResourceWhitelist"][0],
            }
        ],
        [{"op": "add", "path": "/spec/destinations/0/namespace", "value": "{shop,kube-system}"}],
    ):
        send = partial(cluster.kube.patch, ARGO, "AppProject", "shop", patch, "argocd")
        refused(partial(send, patch_type="json"), APPPROJECTS, "")
    assert cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"] == before


@pytest.mark.parametrize("subresource", ["status", "finalize"])
def test_pod_security_cannot_be_lowered_through_a_subresource(
    guarded: Cluster, subresource: str
) -> None:
    cluster = guarded
    # A namespace no guard names: the subresource does change its labels, so it is a way in.
    name = f"open-{subresource}"
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {ENFORCE: "restricted"}},
        }
    )
    live = cluster.must_get("v1", "Namespace", name)
    lowered = copy.deepcopy(live)
    lowered["metadata"]["labels"][ENFORCE] = "privileged"
    path = cluster.kube.path("v1", "Namespace", name, subresource=subresource)
    cluster.kube.request("PUT", path, body=lowered)
    assert cluster.must_get("v1", "Namespace", name)["metadata"]["labels"][ENFORCE] == "privileged"
    # The app namespace the base labels: refused there.
    cluster.apply(*load_manifests(DIST / "platform" / "namespace-shop.yaml"))
    shop = cluster.must_get("v1", "Namespace", "shop")
    lowered = copy.deepcopy(shop)
    lowered["metadata"]["labels"][ENFORCE] = "privileged"
    path = cluster.kube.path("v1", "Namespace", "shop", subresource=subresource)
    refused(
        lambda: cluster.kube.request("PUT", path, body=lowered),
        "gitops-base-pod-security",
        f'namespace shop must keep label {ENFORCE}=restricted (got "privileged")',
    )
    assert cluster.must_get("v1", "Namespace", "shop")["metadata"]["labels"][ENFORCE] == (
        "restricted"
    )


def rbac_cm(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
        "data": {"policy.csv": policy},
    }


def sized(characters: int, last: str = "") -> str:
    line = "g, my-org:team-00000, role:team-00000\n"
    body = (line * (characters // len(line) + 1))[: characters - len(last)]
    return body + last


def test_an_oversized_rbac_policy_is_refused_by_name_not_by_the_cost_limit(
    guarded: Cluster,
) -> None:
    cluster = guarded
    try:
        cluster.kube.delete("v1", "ConfigMap", "argocd-rbac-cm", "argocd")
    except KubeError:
        pass
    limit = RBAC_POLICY_MAX_CHARACTERS
    dry_run_create(cluster, rbac_cm(sized(limit)))  # at the limit: read, and fine
    refused(
        partial(dry_run_create, cluster, rbac_cm(sized(limit, "\ng, *, role:admin"))),
        "gitops-base-argocd-cm",
        "policy lines may not grant to a '*' subject",
    )
    for size in (limit + 1, 310 * 1024, 900 * 1024):
        message = refused(
            partial(dry_run_create, cluster, rbac_cm(sized(size))),
            "gitops-base-argocd-cm",
            f"argocd-rbac-cm may hold at most {limit} characters of policy CSV",
        )
        assert "cost" not in message.lower(), message
