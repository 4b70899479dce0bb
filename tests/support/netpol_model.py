"""A small evaluator of NetworkPolicy semantics, to test which flows the policies allow.

Covers what the base renders and what Kubernetes specifies for it: pods are isolated for a
direction once any policy of that type selects them; a flow is allowed when the source's
egress and the destination's ingress both allow it; peers are pod/namespace selectors or
ipBlocks; ports are numbers or names resolved on the destination pod, protocol TCP by default.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Policy = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Pod:
    """A pod; compared by identity, so test flows can be sets."""

    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    """Named container ports."""
    ip: str = "10.42.0.10"


@dataclass(frozen=True)
class External:
    """An address outside the cluster's pods (the internet, a node, metadata service...)."""

    ip: str


Endpoint = Pod | External


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _namespace_labels(namespace: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if isinstance(other, Pod):
            return False  # the base never uses ipBlocks for pods; treat pod IPs as cluster-internal
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(
            address in ipaddress.ip_network(e)
            for e in block.get("except", [])
            if ipaddress.ip_network(e).version == address.version
        )
    if not isinstance(other, Pod):
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], _namespace_labels(other.namespace)):
            return False
    elif other.namespace != policy_namespace:
        return False
    return matches(peer.get("podSelector"), other.labels)


def _port_matches(
    rule_ports: list[dict[str, Any]] | None, port: int, protocol: str, dst: Endpoint
) -> bool:
    if not rule_ports:
        return True
    for rule in rule_ports:
        if rule.get("protocol", "TCP") != protocol:
            continue
        wanted = rule.get("port")
        if wanted is None or wanted == port:
            return True
        if isinstance(wanted, str) and isinstance(dst, Pod) and dst.ports.get(wanted) == port:
            return True
    return False


def _direction_allows(
    policies: list[Policy],
    pod: Pod,
    kind: str,
    other: Endpoint,
    port: int,
    protocol: str,
    dst: Endpoint,
) -> bool:
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True  # not isolated for this direction
    key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(p, pod.namespace, other) for p in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol, dst):
                return True
    return False


def allowed(
    policies: list[Policy], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether a connection from src to dst:port is allowed by both ends' policies."""
    if isinstance(src, Pod) and not _direction_allows(
        policies, src, "Egress", dst, port, protocol, dst
    ):
        return False
    if isinstance(dst, Pod) and not _direction_allows(
        policies, dst, "Ingress", src, port, protocol, dst
    ):
        return False
    return True
