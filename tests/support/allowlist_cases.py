"""Generated cases for the trust rule set: the kinds the API server serves (from the same
OpenAPI and CRD schemas the synth's schema check reads), valid sample objects of the kinds an
overlay may add, and AppProject shapes for the admission guards. Shared by the synth's property
test (tests/render/test_allowlist_property.py) and the guards' end-to-end test."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from constructs_lib.constructs.trust_rules import GLOB_CHARACTERS, PROJECT_GLOB_FIELDS
from constructs_lib.render.crds import load_crd, pinned_crds
from constructs_lib.render.schema_check import NEWEST, _definitions

Manifest = dict[str, Any]


def served_kinds() -> list[tuple[str, str]]:
    """(apiVersion, kind) of every object kind the newest supported Kubernetes serves (its
    OpenAPI definitions with a group-version-kind, apiVersion and metadata; List kinds aside)
    and of every version of every pinned CRD."""
    found: set[tuple[str, str]] = set()
    for schema in _definitions(NEWEST[0])["$defs"].values():
        properties = schema.get("properties") or {}
        if "metadata" not in properties or "apiVersion" not in properties:
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if gvk["kind"].endswith("List"):
                continue
            group = f"{gvk['group']}/" if gvk["group"] else ""
            found.add((f"{group}{gvk['version']}", gvk["kind"]))
    for pin in pinned_crds():
        crd = load_crd(pin)
        for version in crd["spec"]["versions"]:
            found.add((f"{pin.group}/{version['name']}", pin.kind))
    return sorted(found)


def versions_of(kind: str, kinds: list[tuple[str, str]]) -> list[str]:
    return [v for v, k in kinds if k == kind]


RESTRICTED_CONTAINER: Manifest = {
    "name": "app",
    "image": "ghcr.io/example/app:1.0.0",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
}
POD: Manifest = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [RESTRICTED_CONTAINER],
    "volumes": [{"name": "tmp", "emptyDir": {}}],
}
LABELS = {"app.kubernetes.io/name": "generated"}
TEMPLATE: Manifest = {"metadata": {"labels": LABELS}, "spec": POD}


def sample_body(kind: str) -> Manifest:
    """A valid body (beyond apiVersion, kind and metadata) of a kind an overlay may add, its
    pods within the restricted Pod Security Standard."""
    selector = {"matchLabels": LABELS}
    job = {"template": {"metadata": {"labels": LABELS}, "spec": {**POD, "restartPolicy": "Never"}}}
    bodies: dict[str, Manifest] = {
        "Deployment": {"spec": {"selector": selector, "template": TEMPLATE}},
        "StatefulSet": {
            "spec": {"selector": selector, "serviceName": "generated", "template": TEMPLATE}
        },
        "Job": {"spec": job},
        "CronJob": {"spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": job}}},
        "Service": {"spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]}},
        "ConfigMap": {"data": {"key": "value"}},
        "ServiceAccount": {"automountServiceAccountToken": False},
        "Ingress": {
            "spec": {
                "rules": [
                    {
                        "host": "generated.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "generated", "port": {"number": 80}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
        },
        "PodDisruptionBudget": {"spec": {"selector": selector, "minAvailable": 1}},
        "HorizontalPodAutoscaler": {
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "g"},
                "maxReplicas": 2,
            }
        },
        "SecretProviderClass": {
            "spec": {"provider": "infisical", "parameters": {"projectId": "generated"}}
        },
        "NetworkPolicy": {
            "spec": {
                "podSelector": {"matchLabels": LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                                }
                            }
                        ]
                    }
                ],
            }
        },
        "ResourceQuota": {"spec": {"hard": {"pods": "10"}}},
        "LimitRange": {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}},
    }
    return copy.deepcopy(bodies.get(kind, {}))


def manifest(api_version: str, kind: str, namespace: str, name: str = "generated") -> Manifest:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        **sample_body(kind),
    }


def list_variants(obj: Manifest) -> Iterator[tuple[str, Manifest]]:
    """The object as an item of each shape kubectl and Argo CD read as a List."""
    yield "List", {"apiVersion": "v1", "kind": "List", "items": [obj]}
    yield (
        "typed List",
        {"apiVersion": obj["apiVersion"], "kind": f"{obj['kind']}List", "items": [obj]},
    )
    yield "items only", {"items": [obj]}
    yield (
        "List in a List",
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [{"apiVersion": "v1", "kind": "List", "items": [obj]}],
        },
    )


def case_variants(kind: str) -> list[str]:
    """The kind spelled otherwise: the API server maps kinds exactly."""
    found = [kind.lower(), kind.upper(), kind[:1].lower() + kind[1:]]
    return [k for k in dict.fromkeys(found) if k != kind]


def version_variants(api_version: str, kind: str, kinds: list[tuple[str, str]]) -> list[str]:
    """Other apiVersions of the kind: the served ones, the group in capitals, a version no
    one serves."""
    group, _, version = api_version.rpartition("/")
    found = [v for v in versions_of(kind, kinds) if v != api_version]
    if group:
        found.append(f"{group.upper()}/{version}")
    found.append(f"{group}/v9" if group else "v9")
    return list(dict.fromkeys(found))


# --- AppProjects the admission guards must refuse -------------------------------------------


def project(name: str, **spec: Any) -> Manifest:
    base: Manifest = {
        "sourceRepos": ["https://example.com/repo.git"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop"}],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {**base, **spec},
    }


GOOD_VALUES = {
    "sourceRepos": "https://example.com/repo.git",
    "sourceNamespaces": "argocd",
    "server": "https://kubernetes.default.svc",
    "name": "in-cluster",
    "namespace": "shop",
    "group": "apps",
    "kind": "Deployment",
}


def glob_projects() -> Iterator[tuple[str, str, Manifest]]:
    """(what, field, AppProject) with each glob character in each pattern field of an
    otherwise valid project: every shape Argo CD would read as a pattern."""
    for field, keys in PROJECT_GLOB_FIELDS.items():
        for key in keys or ("",):
            for c in GLOB_CHARACTERS:
                value = GOOD_VALUES[key or field]
                bad = value[:3] + c + value[3:]
                if not keys:
                    spec: Manifest = {field: [bad]}
                elif field == "destinations":
                    entry = {"server": GOOD_VALUES["server"], "namespace": "shop", key: bad}
                    spec = {field: [entry]}
                else:
                    entry = {"group": "apps", "kind": "Deployment", key: bad}
                    if field == "clusterResourceWhitelist":
                        entry = {"group": "", "kind": "Namespace", "name": "shop", key: bad}
                    spec = {field: [entry]}
                yield f"{field}.{key or 'item'} {bad!r}", field, project("glob", **spec)
