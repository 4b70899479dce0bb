"""AppNetworkPolicies: default deny in the app namespace, and the few flows that make it work.

Every policy is namespace-level: pods are picked by their `app.kubernetes.io/name` label with
one `In` expression, so the object count does not grow with the number of services (only
declared service-to-service calls add two policies per called service).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.constructs.trust_rules import (
    DEFAULT_DENY,
    EXTERNAL_EGRESS_POLICY,
    NEVER_REACHED,
    closed_within,
)
from constructs_lib.model.addons import KUBE_SYSTEM
from constructs_lib.model.names import INSTANCE, NAME, NAMESPACE_NAME

NETWORK_POLICY = Gvk("networking.k8s.io/v1", "NetworkPolicy")
ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
ACME_SOLVER_PORT = 8089
# Public addresses only: RFC 1918, CGNAT, link-local (cloud metadata), loopback and the
# IPv6 private, link-local and loopback ranges stay closed to "internet" egress.
PRIVATE_IPV4 = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
)
PRIVATE_IPV6 = ("fc00::/7", "fe80::/10", "::1/128")


@dataclass(frozen=True)
class Peer:
    """Pods in another namespace, by namespace name and pod labels."""

    namespace: str
    pod_labels: dict[str, str]

    def selector(self) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: self.namespace}},
            "podSelector": {"matchLabels": dict(self.pod_labels)},
        }


KUBE_DNS = Peer(KUBE_SYSTEM, {"k8s-app": "kube-dns"})


@dataclass(frozen=True)
class Call:
    """Service `caller` may open connections to `callee` on `ports`."""

    caller: str
    callee: str
    ports: tuple[tuple[str, str], ...]
    """(container port name, protocol) pairs of the callee."""


@dataclass(frozen=True)
class ExternalRule:
    """Service `service` may open connections to an address range, on `ports` only."""

    service: str
    ports: tuple[int, ...]
    protocol: str = "TCP"
    cidr: str | None = None
    """The range, minus the pod, service and node ranges, loopback and link-local inside it;
    None means public addresses (a host given by name: policies match addresses, so the port
    is opened to the internet, never to private or the cluster's ranges)."""


@dataclass(frozen=True)
class AppNetworkPoliciesProps:
    """Props of AppNetworkPolicies."""

    app: str
    """Application name: pods carry app.kubernetes.io/instance=<app>."""
    namespace: str
    labels: dict[str, str]
    ingress_controller: Peer
    """The ingress controller's pods, allowed to the routed services and ACME solvers."""
    routed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Service -> container port names its Ingress routes to. @default none"""
    acme_solver: bool = False
    """Allow the controller to cert-manager's HTTP-01 solver pods. @default False"""
    internet: tuple[str, ...] = ()
    """Services allowed egress to public addresses. @default none"""
    internet_except: tuple[str, ...] = ()
    """More CIDR blocks closed to internet and external egress: the cluster's pod and service
    ranges and its nodes' addresses. @default none"""
    calls: tuple[Call, ...] = ()
    """Declared service-to-service calls. @default none"""
    external: tuple[ExternalRule, ...] = ()
    """Declared egress outside the cluster, per port. @default none"""
    dns: Peer = KUBE_DNS
    """Cluster DNS every pod may query on port 53. @default k3s CoreDNS (k8s-app=kube-dns)"""


class AppNetworkPolicies(Construct):
    """NetworkPolicies of the app namespace. Each method creates one policy and returns it."""

    def __init__(self, scope: Construct, id: str, *, props: AppNetworkPoliciesProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.policies = [self.default_deny(), self.allow_dns()]
        if props.routed:
            self.policies.append(self.allow_ingress_controller())
        if props.acme_solver:
            self.policies.append(self.allow_acme_solver())
        if props.internet:
            self.policies.append(self.allow_internet())
        callees: dict[str, list[Call]] = {}
        for call in props.calls:
            callees.setdefault(call.callee, []).append(call)
        for callee, calls in sorted(callees.items()):
            self.policies += self.allow_calls(callee, calls)
        external: dict[str, list[ExternalRule]] = {}
        for rule in props.external:
            external.setdefault(rule.service, []).append(rule)
        for service, rules in sorted(external.items()):
            self.policies.append(self.allow_external(service, rules))

    def _policy(self, name: str, spec: dict[str, Any]) -> KubeObject:
        meta = ObjectMeta(name=name, namespace=self.props.namespace, labels=self.props.labels)
        return KubeObject(self, name, NETWORK_POLICY, meta, body={"spec": spec})

    def _pods(self, services: Iterable[str]) -> dict[str, Any]:
        """Selector of the app's pods of the named services."""
        return {
            "matchLabels": {INSTANCE: self.props.app},
            "matchExpressions": [{"key": NAME, "operator": "In", "values": sorted(set(services))}],
        }

    def default_deny(self) -> KubeObject:
        """Selects every pod and allows nothing: all other policies are exceptions to it."""
        spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        return self._policy(DEFAULT_DENY, spec)

    def allow_dns(self) -> KubeObject:
        return self._policy(
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [self.props.dns.selector()],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        )

    def allow_ingress_controller(self) -> KubeObject:
        ports = sorted({p for names in self.props.routed.values() for p in names})
        return self._policy(
            "allow-from-ingress-controller",
            {
                "podSelector": self._pods(self.props.routed),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [self.props.ingress_controller.selector()],
                        "ports": [{"protocol": "TCP", "port": p} for p in ports],
                    }
                ],
            },
        )

    def allow_acme_solver(self) -> KubeObject:
        """cert-manager runs HTTP-01 solver pods in the namespace of the Ingress; Let's Encrypt
        reaches them through the ingress controller."""
        return self._policy(
            "allow-acme-http01-solver",
            {
                "podSelector": {"matchLabels": {ACME_SOLVER_LABEL: "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [self.props.ingress_controller.selector()],
                        "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}],
                    }
                ],
            },
        )

    def allow_internet(self) -> KubeObject:
        return self._policy(
            "allow-internet-egress",
            {
                "podSelector": self._pods(self.props.internet),
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {"ipBlock": {"cidr": "0.0.0.0/0", "except": self._closed(4)}},
                            {"ipBlock": {"cidr": "::/0", "except": self._closed(6)}},
                        ]
                    }
                ],
            },
        )

    def _closed(self, version: int) -> list[str]:
        """The private ranges of one IP version, then each extra block they do not cover."""
        closed = list(PRIVATE_IPV4 if version == 4 else PRIVATE_IPV6)
        for block in self.props.internet_except:
            network = ipaddress.ip_network(block)
            if network.version != version:
                continue
            if not any(
                network.subnet_of(ipaddress.ip_network(c))  # type: ignore[arg-type]
                for c in closed
                if ipaddress.ip_network(c).version == version
            ):
                closed.append(str(network))
        return closed

    def allow_calls(self, callee: str, calls: list[Call]) -> list[KubeObject]:
        """Ingress to `callee` from its callers, and egress from the callers to it, each caller
        on the ports it declared only. Callers declaring the same ports share one egress policy;
        the callee's ingress policy has one rule per such group."""
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for call in calls:
            groups.setdefault(tuple(sorted(set(call.ports))), []).append(call.caller)

        def ports_of(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
            return [{"protocol": protocol, "port": name} for name, protocol in pairs]

        inbound = self._policy(
            f"allow-to-{callee}",
            {
                "podSelector": self._pods([callee]),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"podSelector": self._pods(callers)}], "ports": ports_of(pairs)}
                    for pairs, callers in sorted(groups.items())
                ],
            },
        )
        outbound = []
        for pairs, callers in sorted(groups.items()):
            name = f"allow-egress-to-{callee}"
            if len(groups) > 1:
                # Dots cannot occur in a service or port name: `api` with a group of port
                # http never takes the name of the callee `api-http`'s policy.
                name += "." + ".".join(port for port, _ in pairs)
            outbound.append(
                self._policy(
                    name,
                    {
                        "podSelector": self._pods(callers),
                        "policyTypes": ["Egress"],
                        "egress": [
                            {
                                "to": [{"podSelector": self._pods([callee])}],
                                "ports": ports_of(pairs),
                            }
                        ],
                    },
                )
            )
        return [inbound, *outbound]

    def allow_external(self, service: str, rules: list[ExternalRule]) -> KubeObject:
        """Egress from `service` to its declared external ranges, each on its ports only."""
        egress = []
        closed = [*((block, "") for block in self.props.internet_except), *NEVER_REACHED]
        for rule in rules:
            if rule.cidr is not None:
                block: dict[str, Any] = {"cidr": rule.cidr}
                inside = closed_within(rule.cidr, closed)
                if inside:
                    block["except"] = inside
                to: list[dict[str, Any]] = [{"ipBlock": block}]
            else:
                to = [
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": self._closed(4)}},
                    {"ipBlock": {"cidr": "::/0", "except": self._closed(6)}},
                ]
            ports = [{"protocol": rule.protocol, "port": port} for port in rule.ports]
            egress.append({"to": to, "ports": ports})
        return self._policy(
            EXTERNAL_EGRESS_POLICY.format(service=service),
            {"podSelector": self._pods([service]), "policyTypes": ["Egress"], "egress": egress},
        )
