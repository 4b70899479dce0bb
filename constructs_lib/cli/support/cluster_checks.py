"""What `bootstrap` and `doctor` check on the cluster before the first deploy: the nodes' k3s,
the k3s components the chosen ingress needs on or off, and the listener clients will reach.

The facts are read once (`cluster_facts`); the checks are functions of them, so they are
tested without a cluster, and end to end against a real API server."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib.model.addons import KUBE_SYSTEM

if TYPE_CHECKING:
    from constructs_lib.cli.support.kube import Kube, Manifest
    from constructs_lib.model.clusters import ClusterSettings

# k3s records its arguments, from the command line and /etc/rancher/k3s/config.yaml, on the
# node as a JSON list (e.g. ["server", "--disable", "traefik"]).
NODE_ARGS = "k3s.io/node-args"
# The controller's Service, where clients reach it: (namespace, name) per ingress.controller.
CONTROLLER_SERVICES = {
    "nginx": ("ingress-nginx", "ingress-nginx-controller"),
    "traefik": (KUBE_SYSTEM, "traefik"),
}
_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(\+k3s\d+)?")


@dataclass(frozen=True)
class ServiceFacts:
    """A Service as the listener check sees it."""

    namespace: str
    name: str
    type: str
    ports: tuple[tuple[int, int | None], ...]
    """(port, nodePort) of each port."""
    load_balancer: tuple[str, ...] = ()
    """The addresses in status.loadBalancer (ServiceLB writes the nodes')."""


@dataclass(frozen=True)
class ClusterFacts:
    """What the checks look at, read from the cluster."""

    node_versions: tuple[tuple[str, str], ...]
    """(node name, kubelet version), e.g. ("node-1", "v1.35.2+k3s1")."""
    node_addresses: tuple[str, ...]
    traefik: str | None
    """What runs k3s's Traefik (e.g. `HelmChart kube-system/traefik`), or None."""
    disabled: frozenset[str] = frozenset()
    """The k3s components a server runs without (`--disable`), from the nodes' arguments."""
    external_addresses: tuple[str, ...] = ()
    """The nodes' ExternalIP addresses (k3s --node-external-ip), first choice for DNS."""
    services: tuple[ServiceFacts, ...] = field(default=())
    """Every Service of type NodePort or LoadBalancer."""


def disabled_components(node_args: Sequence[str]) -> frozenset[str]:
    """The components `--disable X`, `--disable=X,Y` (or the older `--no-deploy`) turn off."""
    found: set[str] = set()
    args = list(node_args)
    for i, arg in enumerate(args):
        for flag in ("--disable", "--no-deploy"):
            if arg == flag and i + 1 < len(args):
                found.update(args[i + 1].split(","))
            elif arg.startswith(flag + "="):
                found.update(arg.split("=", 1)[1].split(","))
    return frozenset(c.strip() for c in found if c.strip())


def check_cluster(
    facts: ClusterFacts, cluster: ClusterSettings, env: str, supported: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(errors, warnings) about a cluster the env is about to be bootstrapped on."""
    errors: list[str] = []
    warnings: list[str] = []
    settings = f"clusters/{env}/cluster.yaml"
    if not facts.node_versions:
        warnings.append("the cluster has no nodes yet: the k3s version and addresses are unchecked")
    for node, version in facts.node_versions:
        m = _VERSION.match(version)
        minor = f"{m.group(1)}.{m.group(2)}" if m else None
        if minor not in supported:
            errors.append(
                f"node {node} runs Kubernetes {version}; the base supports "
                f"{', '.join(supported)} (docs/reference/kubernetes-versions.md): install a "
                "supported k3s (INSTALL_K3S_VERSION)"
            )
        elif m and not m.group(4):
            warnings.append(f"node {node} runs {version}, not k3s: the base is tested on k3s")
    errors.extend(component_problems(facts, cluster, settings))
    controller = cluster.ingress.controller
    if controller == "traefik" and not facts.traefik and facts.node_versions:
        warnings.append(
            f"{settings}: ingress.controller is traefik but k3s's Traefik is not installed "
            "(k3s runs with --disable=traefik?)"
        )
    known = set(facts.node_addresses)
    for address in cluster.ingress.publish_status_address:
        if facts.node_versions and address not in known:
            warnings.append(
                f"{settings}: ingress.publish_status_address {address} is not an address of "
                f"any node ({', '.join(sorted(known)) or 'none'}): right only if a router or "
                "load balancer at that address forwards to the nodes"
            )
    return errors, warnings


def component_problems(facts: ClusterFacts, cluster: ClusterSettings, settings: str) -> list[str]:
    """k3s components the env's ingress needs off (Traefik with ingress-nginx) or on
    (ServiceLB with service-lb)."""
    problems = []
    controller = cluster.ingress.controller
    if controller == "nginx" and facts.traefik:
        problems.append(
            f"{settings}: ingress.controller is nginx but k3s runs Traefik ({facts.traefik}): "
            "restart the k3s server with --disable=traefik, or set ingress.controller: traefik"
        )
    if cluster.ingress.exposure == "service-lb" and "servicelb" in facts.disabled:
        problems.append(
            f"{settings}: ingress.exposure is service-lb but k3s runs with "
            "--disable=servicelb: restart the k3s server without it, or set "
            "ingress.exposure: node-ports and forward ports 80 and 443 to the node ports"
        )
    if controller == "traefik" and "traefik" in facts.disabled:
        problems.append(
            f"{settings}: ingress.controller is traefik but k3s runs with --disable=traefik: "
            "restart the k3s server without it, or set ingress.controller: nginx"
        )
    return problems


def listener_problem(facts: ClusterFacts, cluster: ClusterSettings, settings: str) -> str | None:
    """Why the controller's listener cannot be what `ingress.exposure` says: another Service
    holds its ports, or ServiceLB did not bind them. None when it is, or can be once installed."""
    ingress = cluster.ingress
    namespace, name = CONTROLLER_SERVICES[ingress.controller]
    own = next((s for s in facts.services if (s.namespace, s.name) == (namespace, name)), None)
    others = [s for s in facts.services if (s.namespace, s.name) != (namespace, name)]
    if ingress.exposure == "service-lb":
        for service in others:
            taken = sorted({p for p, _ in service.ports} & {80, 443})
            if service.type == "LoadBalancer" and taken:
                return (
                    f"Service {service.namespace}/{service.name} is a LoadBalancer on port "
                    f"{', '.join(map(str, taken))}, which ServiceLB binds once per node: remove "
                    f"it, or set ingress.exposure: node-ports in {settings}"
                )
        if own is not None and not own.load_balancer:
            return (
                f"Service {namespace}/{name} has no address yet: ServiceLB has not bound ports "
                "80 and 443 (see `kubectl -n kube-system get pods -l "
                f"svccontroller.k3s.cattle.io/svcname={name}`: Pending means a node port is taken)"
            )
        return None
    wanted = {ingress.http_node_port, ingress.https_node_port}
    for service in others:
        taken = sorted({n for _, n in service.ports if n is not None} & wanted)
        if taken:
            return (
                f"Service {service.namespace}/{service.name} holds node port "
                f"{', '.join(map(str, taken))}: change ingress.http_node_port / "
                f"https_node_port in {settings}, or free the port"
            )
    if own is not None and not wanted <= {n for _, n in own.ports if n is not None}:
        return (
            f"Service {namespace}/{name} does not listen on node ports "
            f"{ingress.http_node_port} and {ingress.https_node_port} yet (Argo CD syncs it)"
        )
    return None


def cluster_facts(kube: Kube) -> ClusterFacts:
    nodes = kube.list("v1", "Node")
    versions = tuple(
        (
            n["metadata"]["name"],
            ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
        )
        for n in nodes
    )
    addresses = _addresses(nodes, ("InternalIP", "ExternalIP"))
    traefik = None
    if kube.get("helm.cattle.io/v1", "HelmChart", "traefik", KUBE_SYSTEM):
        traefik = f"HelmChart {KUBE_SYSTEM}/traefik"
    elif kube.get("apps/v1", "Deployment", "traefik", KUBE_SYSTEM):
        traefik = f"Deployment {KUBE_SYSTEM}/traefik"
    disabled: set[str] = set()
    for node in nodes:
        raw = ((node.get("metadata") or {}).get("annotations") or {}).get(NODE_ARGS)
        try:
            args = json.loads(raw) if raw else []
        except ValueError:
            args = []
        if isinstance(args, list):
            disabled |= disabled_components([str(a) for a in args])
    return ClusterFacts(
        versions,
        addresses,
        traefik,
        frozenset(disabled),
        _addresses(nodes, ("ExternalIP",)),
        tuple(_service(s) for s in kube.list("v1", "Service", "*") if _exposed(s)),
    )


def _addresses(nodes: list[Manifest], types: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        a["address"]
        for n in nodes
        for a in (n.get("status") or {}).get("addresses") or []
        if a.get("type") in types
    )


def _exposed(service: Manifest) -> bool:
    return (service.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")


def _service(service: Manifest) -> ServiceFacts:
    spec = service.get("spec") or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ServiceFacts(
        namespace=service["metadata"].get("namespace", ""),
        name=service["metadata"]["name"],
        type=spec.get("type", ""),
        ports=tuple((int(p["port"]), p.get("nodePort")) for p in spec.get("ports") or []),
        load_balancer=tuple(i.get("ip") or i.get("hostname") or "" for i in ingress),
    )
