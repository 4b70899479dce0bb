"""AppNamespace: the app's namespace with Pod Security admission enforcing `restricted`, its
ResourceQuota (derived from the services' declared resources, with headroom) and LimitRange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.constructs.security import pod_security_labels
from constructs_lib.model.names import SYNC_OPTIONS, SYNC_WAVE
from constructs_lib.model.value_types import above_limit

PSS_RESTRICTED = pod_security_labels("restricted")
# Argo CD never deletes the namespace (and with it every workload and PVC) on prune or when
# the platform Application is deleted.
KEEP_NAMESPACE = {SYNC_OPTIONS: "Prune=false,Delete=false"}
# Local disk (logs, writable layers, emptyDirs such as /tmp) of a container that sets none:
# requested so the scheduler counts it, limited so one pod cannot fill the node's disk.
EPHEMERAL_REQUEST = "64Mi"
EPHEMERAL_LIMIT = "1Gi"


@dataclass(frozen=True)
class AppNamespaceProps:
    """Props of AppNamespace."""

    name: str
    labels: dict[str, str]
    default_request: dict[str, str]
    """Container default request (`cpu`, `memory`) of the LimitRange."""
    default_limit: dict[str, str]
    """Container default limit (`cpu`, `memory`) of the LimitRange."""
    quota: dict[str, str] | None = None
    """`spec.hard` of the ResourceQuota. @default no ResourceQuota"""
    limit_range: bool = False
    """Render the LimitRange with the two defaults above. @default no LimitRange"""


class AppNamespace(Construct):
    """Namespace (restricted Pod Security, never pruned), ResourceQuota and LimitRange."""

    def __init__(self, scope: Construct, id: str, *, props: AppNamespaceProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.namespace = KubeObject(
            self,
            "Namespace",
            Gvk("v1", "Namespace"),
            ObjectMeta(name=props.name, labels={**props.labels, **PSS_RESTRICTED}),
            # Before everything that lives in it.
            annotations={SYNC_WAVE: "-10", **KEEP_NAMESPACE},
        )
        self.quota = self._quota() if props.quota is not None else None
        self.limit_range = self._limit_range() if props.limit_range else None

    def _quota(self) -> KubeObject:
        return self._namespace_policy("ResourceQuota", {"hard": dict(self.props.quota or {})})

    def _limit_range(self) -> KubeObject:
        request, limit = self.props.default_request, self.props.default_limit
        above = above_limit(request, limit)
        if above is not None:
            key, req, lim = above
            raise ValueError(
                f"AppNamespace '{self.props.name}': platform.limit_range: "
                f"default_request.{key} {req} is above default_limit.{key} {lim}"
            )
        container = {
            "type": "Container",
            "defaultRequest": {**request, "ephemeral-storage": EPHEMERAL_REQUEST},
            "default": {**limit, "ephemeral-storage": EPHEMERAL_LIMIT},
        }
        return self._namespace_policy("LimitRange", {"limits": [container]})

    def _namespace_policy(self, kind: str, spec: dict[str, Any]) -> KubeObject:
        """A core object of the namespace named after it, synced right after it (wave -9)."""
        return KubeObject(
            self,
            kind,
            Gvk("v1", kind),
            ObjectMeta(name=self.props.name, namespace=self.props.name, labels=self.props.labels),
            annotations={SYNC_WAVE: "-9"},
            body={"spec": spec},
        )
