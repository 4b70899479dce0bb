"""WebWorkload: a long-running service. Deployment, plus Service, TlsIngress, HPA and PDB as
its config asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.constructs.infisical_secret_mount import (
    InfisicalSecretMount,
    InfisicalSecretMountProps,
)
from constructs_lib.constructs.kube_object import KubeObject
from constructs_lib.constructs.labels import selector_labels, standard_labels
from constructs_lib.constructs.pod_template import PodTemplateProps, pod_template
from constructs_lib.constructs.tls_ingress import TlsIngress, TlsIngressProps


@dataclass(frozen=True)
class IngressProps:
    """How the workload's Ingress is exposed in one environment."""

    hosts: tuple[str, ...]
    """Hostnames, already moved onto the environment's domain."""
    tls: bool
    cluster_issuer: str
    ingress_class_name: str = "nginx"


@dataclass(frozen=True)
class WebWorkloadProps:
    """Props of WebWorkload."""

    app: str
    """Application name (app.kubernetes.io/instance and part-of)."""
    namespace: str
    pod: PodTemplateProps
    create_service: bool = True
    """Create a ClusterIP Service when the workload has ports. @default True"""
    ingress: IngressProps | None = None
    """Create a TlsIngress. @default no Ingress"""
    secrets: InfisicalSecretMountProps | None = None
    """Mount Infisical secrets. @default no secrets"""


class WebWorkload(KubeObject):
    """The Deployment of a long-running service, with the Service, TlsIngress,
    HorizontalPodAutoscaler, PodDisruptionBudget and SecretProviderClass its config asks for as
    child constructs. The construct is the Deployment itself: one construct less per service
    keeps synth within budget at a thousand services."""

    def __init__(self, scope: Construct, id: str, *, props: WebWorkloadProps) -> None:
        service = props.pod.service
        if service.type != "Deployment":
            raise ValueError(
                f"WebWorkload '{service.name}': type is {service.type}, not Deployment"
            )
        self.props = props
        self.service_name = service.name
        self.labels = standard_labels(props.app, service.name)
        self.selector = selector_labels(props.app, service.name)

        spec: dict[str, Any] = {}
        # With an autoscaler, the HPA owns the replica count; Git must not fight it.
        if service.autoscaling is None:
            spec["replicas"] = service.replicas
        spec["revisionHistoryLimit"] = 3
        spec["selector"] = {"matchLabels": self.selector}
        super().__init__(
            scope,
            id,
            api_version="apps/v1",
            kind="Deployment",
            name=service.name,
            namespace=props.namespace,
            labels=self.labels,
            body={"spec": spec},
        )
        self.secret_mount = (
            InfisicalSecretMount(self, "Secrets", props=props.secrets) if props.secrets else None
        )
        spec["template"] = pod_template(props.pod, self.secret_mount)
        self.service: KubeObject | None = None
        self.ingress: TlsIngress | None = None
        if props.create_service and service.ports:
            self.service = self.expose_via_service()
        if props.ingress is not None and self.service is not None:
            self.ingress = self.expose_via_ingress(props.ingress)
        if service.autoscaling is not None:
            self._autoscaler()
        if service.disruption_budget is not None:
            self._disruption_budget()

    def expose_via_service(self) -> KubeObject:
        """Create the ClusterIP Service in front of the pods and return it."""
        ports = [
            {
                "name": p.name,
                "port": p.service_port or p.container_port,
                "protocol": p.protocol,
                "targetPort": p.name,
            }
            for p in self.props.pod.service.ports
        ]
        return self._child(
            "Service",
            api_version="v1",
            kind="Service",
            body={"spec": {"type": "ClusterIP", "selector": self.selector, "ports": ports}},
        )

    def expose_via_ingress(self, ingress: IngressProps) -> TlsIngress:
        """Create the TlsIngress that routes the service's hosts to the Service, and return it."""
        config = self.props.pod.service.ingress
        if config is None:
            raise ValueError(f"WebWorkload '{self.service_name}': no ingress in its config")
        first = self.props.pod.service.ports[0]
        port = config.port if config.port is not None else first.name
        return TlsIngress(
            self,
            "Ingress",
            props=TlsIngressProps(
                name=self.service_name,
                namespace=self.props.namespace,
                labels=self.labels,
                hosts=ingress.hosts,
                paths=tuple(config.paths),
                service_name=self.service_name,
                service_port=port,
                ingress_class_name=ingress.ingress_class_name,
                tls=ingress.tls if config.tls.enabled is None else config.tls.enabled,
                cluster_issuer=ingress.cluster_issuer,
                tls_secret_name=config.tls.secret_name,
                annotations=dict(config.annotations),
            ),
        )

    def _autoscaler(self) -> KubeObject:
        scaling = self.props.pod.service.autoscaling
        if scaling is None:
            raise ValueError(f"WebWorkload '{self.service_name}': no autoscaling in its config")
        metrics = [
            {
                "type": "Resource",
                "resource": {
                    "name": resource,
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
            for resource, target in (
                ("cpu", scaling.target_cpu_utilization),
                ("memory", scaling.target_memory_utilization),
            )
            if target is not None
        ]
        return self._child(
            "Autoscaler",
            api_version="autoscaling/v2",
            kind="HorizontalPodAutoscaler",
            body={
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": self.service_name,
                    },
                    "minReplicas": scaling.min_replicas,
                    "maxReplicas": scaling.max_replicas,
                    "metrics": metrics,
                }
            },
        )

    def _disruption_budget(self) -> KubeObject:
        budget = self.props.pod.service.disruption_budget
        if budget is None:
            raise ValueError(
                f"WebWorkload '{self.service_name}': no disruption_budget in its config"
            )
        spec: dict[str, Any] = {"selector": {"matchLabels": self.selector}}
        if budget.min_available is not None:
            spec["minAvailable"] = budget.min_available
        if budget.max_unavailable is not None:
            spec["maxUnavailable"] = budget.max_unavailable
        return self._child(
            "DisruptionBudget",
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            body={"spec": spec},
        )

    def _child(self, id: str, *, api_version: str, kind: str, body: dict[str, Any]) -> KubeObject:
        """An object of this workload: same name, namespace and labels as the Deployment."""
        return KubeObject(
            self,
            id,
            api_version=api_version,
            kind=kind,
            name=self.service_name,
            namespace=self.props.namespace,
            labels=self.labels,
            body=body,
        )
