"""TlsIngress: an Ingress whose certificate cert-manager issues through a ClusterIssuer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, NamespacedMeta

INGRESS = Gvk("networking.k8s.io/v1", "Ingress")
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"


@dataclass(frozen=True)
class TlsIngressProps(NamespacedMeta):
    """Props of TlsIngress: the Ingress's name, namespace and labels, and what it routes."""

    hosts: tuple[str, ...]
    service_name: str
    service_port: int | str
    """Port number or name on the Service."""
    paths: tuple[str, ...]
    """Path prefixes (pathType Prefix)."""
    ingress_class_name: str
    """IngressClass of the controller."""
    tls: bool
    """Request a certificate and terminate TLS."""
    cluster_issuer: str
    """cert-manager ClusterIssuer."""
    tls_secret_name: str
    """Secret cert-manager writes the certificate to."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Extra annotations. @default none"""


class TlsIngress(KubeObject):
    """Ingress with the cert-manager cluster-issuer annotation and a `tls` block."""

    def __init__(self, scope: Construct, id: str, *, props: TlsIngressProps) -> None:
        if not props.hosts:
            raise ValueError(f"TlsIngress '{props.name}': at least one host is required")
        port: dict[str, Any] = (
            {"number": props.service_port}
            if isinstance(props.service_port, int)
            else {"name": props.service_port}
        )
        backend = {"service": {"name": props.service_name, "port": port}}
        spec: dict[str, Any] = {
            "ingressClassName": props.ingress_class_name,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {"path": path, "pathType": "Prefix", "backend": backend}
                            for path in props.paths
                        ]
                    },
                }
                for host in props.hosts
            ],
        }
        annotations = dict(props.annotations)
        if props.tls:
            self.tls_secret_name: str | None = props.tls_secret_name
            annotations[CLUSTER_ISSUER_ANNOTATION] = props.cluster_issuer
            spec["tls"] = [{"hosts": list(props.hosts), "secretName": self.tls_secret_name}]
        else:
            self.tls_secret_name = None
        super().__init__(scope, id, INGRESS, props, annotations=annotations, body={"spec": spec})
