"""Workload: what every workload kind shares.

A workload is the object that owns the pods (a Deployment, a CronJob, ...). The base builds the
pod template from first-class containers and volumes, and owns the children every kind may
have: the SecretProviderClass of its Infisical secrets, the Service in front of its ports, the
TlsIngress, the HorizontalPodAutoscaler and the PodDisruptionBudget. A new kind is a subclass in
its own module in this package: it names its entry of the catalogue of kinds
(`model/workload_kinds.py`, which says what the kind takes), its props and its spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from constructs import Construct

from constructs_lib.constructs.infisical_secret_mount import (
    SECRET_PROVIDER_CLASS,
    InfisicalSecretMount,
    InfisicalSecretMountProps,
)
from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.constructs.labels import selector_labels, standard_labels
from constructs_lib.constructs.security import PodSecurity, pod_security_context, tmp_volume
from constructs_lib.constructs.tls_ingress import INGRESS, TlsIngress, TlsIngressProps
from constructs_lib.constructs.workloads.container import (
    ContainerPort,
    ContainerProps,
    Volume,
    container_spec,
)
from constructs_lib.model.workload_kinds import DEFAULT_REPLICAS, WorkloadKind

SERVICE = Gvk("v1", "Service")
AUTOSCALER = Gvk("autoscaling/v2", "HorizontalPodAutoscaler")
DISRUPTION_BUDGET = Gvk("policy/v1", "PodDisruptionBudget")


@dataclass(frozen=True, kw_only=True)
class IngressProps:
    """How the workload's Ingress is exposed in one environment."""

    hosts: tuple[str, ...]
    """Hostnames, already moved onto the environment's domain."""
    tls: bool
    """Request a certificate and terminate TLS."""
    cluster_issuer: str
    ingress_class_name: str
    paths: tuple[str, ...]
    tls_secret_name: str
    """Secret cert-manager writes the certificate to."""
    port: int | str | None = None
    """Service port (number or name) to route to. @default the first port"""
    annotations: dict[str, str] = field(default_factory=dict)
    """@default none"""


@dataclass(frozen=True, kw_only=True)
class AutoscalingProps:
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: int | None = None
    """Average CPU utilization, percent of requests. @default not a metric"""
    target_memory_utilization: int | None = None
    """Average memory utilization, percent of requests. @default not a metric"""


@dataclass(frozen=True, kw_only=True)
class DisruptionBudgetProps:
    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkloadProps:
    """What every workload kind takes. Kinds add their own fields in a subclass."""

    name: str
    """Name of the workload and of its children; app.kubernetes.io/name."""
    app: str
    """Application name: app.kubernetes.io/instance and part-of."""
    namespace: str
    service_account_name: str
    containers: tuple[ContainerProps, ...]
    """The pod's containers; the first is the main one."""
    volumes: tuple[Volume, ...] = ()
    """Volumes besides /tmp and the secrets. @default none"""
    security: PodSecurity = field(default_factory=PodSecurity)
    """@default the restricted profile with a read-only root filesystem"""
    secrets: InfisicalSecretMountProps | None = None
    """Mount Infisical secrets. @default no secrets"""
    create_service: bool
    """Create a ClusterIP Service when the containers have ports (a kind that serves)."""
    ingress: IngressProps | None = None
    """Route hosts to the Service. @default no Ingress"""
    autoscaling: AutoscalingProps | None = None
    """@default no HorizontalPodAutoscaler"""
    disruption_budget: DisruptionBudgetProps | None = None
    """@default no PodDisruptionBudget"""
    image_pull_secrets: tuple[str, ...] = ()
    """Secrets in the namespace the kubelet pulls the images with. @default none"""


@dataclass(frozen=True, kw_only=True)
class ReplicatedProps(WorkloadProps):
    """What a kind that takes replicas adds (a Deployment, a StatefulSet)."""

    replicas: int = DEFAULT_REPLICAS
    """Pods when there is no autoscaler. @default 1"""


class Workload(KubeObject):
    """The object that owns a service's pods, with the children its props ask for."""

    KIND: ClassVar[WorkloadKind]
    """The kind it renders, and what that kind takes."""
    PROPS: ClassVar[type[WorkloadProps]] = WorkloadProps
    CHILDREN: ClassVar[tuple[Gvk, ...]] = (
        SERVICE,
        INGRESS,
        AUTOSCALER,
        DISRUPTION_BUDGET,
        SECRET_PROVIDER_CLASS,
    )
    """The kinds of the children any workload may have."""

    @classmethod
    def for_kind(cls, kind: str) -> type[Workload]:
        """The construct that renders `kind` (a key of KINDS)."""
        found = _constructs().get(kind)
        if found is None:
            raise ValueError(f"no workload construct renders kind '{kind}'")
        return found

    def __init__(self, scope: Construct, id: str, *, props: WorkloadProps) -> None:
        if not props.containers:
            raise ValueError(f"{type(self).__name__} '{props.name}': no containers")
        self.props = props
        self.service_name = props.name
        self.where = f"{type(self).__name__} '{props.name}'"
        self.labels = standard_labels(props.app, props.name)
        self.selector = selector_labels(props.app, props.name)
        self.meta = ObjectMeta(name=props.name, namespace=props.namespace, labels=self.labels)
        """The name, namespace and labels of the workload and of its children."""
        self.spec = self._spec()
        gvk = Gvk(self.KIND.api_version, self.KIND.kind)
        body = {"spec": self.spec}
        super().__init__(scope, id, gvk, self.meta, annotations=self._annotations(), body=body)
        self.secret_mount = (
            InfisicalSecretMount(self, "Secrets", props=props.secrets) if props.secrets else None
        )
        tmp, self._tmp_mount = tmp_volume()
        volumes = [tmp]
        if self.secret_mount is not None:
            volumes.append(self.secret_mount.volume())
        self.pod_spec: dict[str, Any] = {
            "automountServiceAccountToken": props.security.automount_service_account_token,
            "containers": [],
            "securityContext": pod_security_context(props.security),
            "serviceAccountName": props.service_account_name,
            "volumes": volumes,
        }
        if props.image_pull_secrets:
            self.pod_spec["imagePullSecrets"] = [{"name": n} for n in props.image_pull_secrets]
        if self.restart_policy:
            self.pod_spec["restartPolicy"] = self.restart_policy
        self._template_parent()["template"] = {
            "metadata": {"labels": self.labels},
            "spec": self.pod_spec,
        }
        self.containers: list[ContainerProps] = []
        for volume in props.volumes:
            self.add_volume(volume)
        for container in props.containers:
            self.add_container(container)

        self.service: KubeObject | None = None
        self.ingress: TlsIngress | None = None
        if props.create_service and self.KIND.serves and self.ports:
            self.service = self.expose_via_service()
        if props.ingress is not None and self.service is not None:
            self.ingress = self.expose_via_ingress(props.ingress)
        if props.autoscaling is not None:
            self.add_autoscaler(props.autoscaling)
        if props.disruption_budget is not None:
            self.add_disruption_budget(props.disruption_budget)

    # --- what a kind defines ---------------------------------------------------------------

    @property
    def restart_policy(self) -> str | None:
        return None

    def _spec(self) -> dict[str, Any]:
        """The spec without the pod template."""
        raise NotImplementedError

    def _replicas(self) -> dict[str, Any]:
        """`replicas` of the spec, unless an autoscaler owns the count (Git must not fight
        it): for a kind whose props are ReplicatedProps."""
        props = self.props
        if not isinstance(props, ReplicatedProps) or props.autoscaling is not None:
            return {}
        return {"replicas": props.replicas}

    def _template_parent(self) -> dict[str, Any]:
        """The mapping that holds `template`. @default the spec"""
        return self.spec

    def _annotations(self) -> dict[str, str]:
        return {}

    # --- containers and volumes -------------------------------------------------------------

    def add_volume(self, volume: Volume) -> None:
        """Add a pod volume; its name must be new."""
        names = [v["name"] for v in self.pod_spec["volumes"]]
        if volume.name in names:
            raise ValueError(f"{self.where}: volume '{volume.name}' is already defined")
        self.pod_spec["volumes"].append({"name": volume.name, **volume.source})

    def add_container(self, container: ContainerProps) -> None:
        """Add a container; its name must be new, and so must its port names and numbers."""
        where = f"{self.where}"
        if any(c.name == container.name for c in self.containers):
            raise ValueError(f"{where}: container '{container.name}' is already defined")
        volumes = {v["name"] for v in self.pod_spec["volumes"]}
        for mount in container.volume_mounts:
            if mount.name not in volumes:
                raise ValueError(
                    f"{where}: container '{container.name}' mounts unknown volume '{mount.name}'"
                )
        for port in container.ports:
            for other in self.ports:
                if port.name == other.name or port.container_port == other.container_port:
                    raise ValueError(
                        f"{where}: port '{port.name}' ({port.container_port}) of container "
                        f"'{container.name}' is already used by '{other.name}'"
                    )
        mounts = [self._tmp_mount]
        env: list[dict[str, Any]] = []
        if self.secret_mount is not None and container.secrets:
            mounts.append(self.secret_mount.volume_mount())
            env = self.secret_mount.env_vars()
        self.pod_spec["containers"].append(
            container_spec(container, self.props.security, extra_env=env, first_mounts=mounts)
        )
        self.containers.append(container)

    @property
    def ports(self) -> list[ContainerPort]:
        """Every port of every container, in order."""
        return [port for container in self.containers for port in container.ports]

    # --- children ---------------------------------------------------------------------------

    def expose_via_service(self) -> KubeObject:
        """Create the ClusterIP Service in front of the pods' ports and return it."""
        ports = [
            {
                "name": p.name,
                "port": p.service_port or p.container_port,
                "protocol": p.protocol,
                "targetPort": p.name,
            }
            for p in self.ports
        ]
        spec = {"type": "ClusterIP", "selector": self.selector, "ports": ports}
        return KubeObject(self, "Service", SERVICE, self.meta, body={"spec": spec})

    def expose_via_ingress(self, ingress: IngressProps) -> TlsIngress:
        """Create the TlsIngress that routes the hosts to the Service, and return it."""
        if self.service is None:
            raise ValueError(f"{self.where}: an Ingress needs a Service")
        return TlsIngress(
            self,
            "Ingress",
            props=TlsIngressProps(
                name=self.service_name,
                namespace=self.props.namespace,
                labels=self.labels,
                hosts=ingress.hosts,
                paths=ingress.paths,
                service_name=self.service_name,
                service_port=ingress.port if ingress.port is not None else self.ports[0].name,
                ingress_class_name=ingress.ingress_class_name,
                tls=ingress.tls,
                cluster_issuer=ingress.cluster_issuer,
                tls_secret_name=ingress.tls_secret_name,
                annotations=dict(ingress.annotations),
            ),
        )

    def add_autoscaler(self, scaling: AutoscalingProps) -> KubeObject:
        """Create the HorizontalPodAutoscaler of this workload and return it."""
        if not self.KIND.scales:
            raise ValueError(f"{self.where}: a {self.KIND.kind} does not scale")
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
        spec = {
            "scaleTargetRef": {
                "apiVersion": self.KIND.api_version,
                "kind": self.KIND.kind,
                "name": self.service_name,
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
        }
        return KubeObject(self, "Autoscaler", AUTOSCALER, self.meta, body={"spec": spec})

    def add_disruption_budget(self, budget: DisruptionBudgetProps) -> KubeObject:
        """Create the PodDisruptionBudget of this workload's pods and return it."""
        if not self.KIND.disruption_budget:
            raise ValueError(f"{self.where}: a {self.KIND.kind} takes no disruption budget")
        spec: dict[str, Any] = {
            "selector": {"matchLabels": self.selector},
            # A crash-looping pod is not "available" anyway: never let it block a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        }
        if budget.min_available is not None:
            spec["minAvailable"] = budget.min_available
        if budget.max_unavailable is not None:
            spec["maxUnavailable"] = budget.max_unavailable
        return KubeObject(
            self, "DisruptionBudget", DISRUPTION_BUDGET, self.meta, body={"spec": spec}
        )


def _constructs() -> dict[str, type[Workload]]:
    """Each construct by the kind it renders: the subclasses that name a KIND of their own."""
    found: dict[str, type[Workload]] = {}
    todo = list(Workload.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if "KIND" in cls.__dict__:
            other = found.setdefault(cls.KIND.kind, cls)
            if other is not cls:
                raise ValueError(f"{other.__name__} and {cls.__name__} both render {cls.KIND.kind}")
    return found
