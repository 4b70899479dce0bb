"""Rules that need both the config and one environment's settings."""

from __future__ import annotations

from constructs_lib.model.clusters import ClusterSettings, rehost
from constructs_lib.model.config import AppConfig


def cluster_problems(config: AppConfig, cluster: ClusterSettings) -> list[str]:
    """Problems of `cluster` (its clusters/<env>/cluster.yaml) given the config, one line each,
    as `path: message` within the cluster file."""
    problems = []
    if cluster.argocd.namespace == config.app.namespace:
        problems.append(
            f"argocd.namespace: '{cluster.argocd.namespace}' is also the app namespace "
            "(app.namespace): Argo CD's namespace must not get the app's default-deny network "
            "policies, restricted Pod Security and quota; give the app a namespace of its own"
        )
    problems += _route_problems(config, cluster)
    problems += _moved_host_problems(config, cluster)
    return problems


def _route_problems(config: AppConfig, cluster: ClusterSettings) -> list[str]:
    """Two services routing one host and path once hosts under the base domain have moved
    onto the environment's domain (the config's own rule sees only the hosts as written)."""
    routes: dict[tuple[str, str], str] = {}
    problems = []
    for i, service in enumerate(config.services):
        if service.ingress is None:
            continue
        # The hosts this env serves: the base-domain ones moved onto its domain, and its own
        # env_hosts as written.
        named = [
            (f"hosts[{h}]", host, rehost(host, config.domain, cluster.domain))
            for h, host in enumerate(service.ingress.hosts)
        ] + [
            (f"env_hosts.{cluster.name}[{h}]", host, host)
            for h, host in enumerate(service.ingress.env_hosts.get(cluster.name, []))
        ]
        for field, host, moved in named:
            for path in service.ingress.paths:
                other = routes.setdefault((moved, path), service.name)
                if other != service.name:
                    problems.append(
                        f"domain: with '{cluster.domain}', services[{i}].ingress.{field} "
                        f"'{host}' routes {moved}{path}, which '{other}' already routes here"
                    )
    return problems


# IsDNS1123Subdomain, which the API server runs on an Ingress rule's host.
HOSTNAME_MAX = 253


def _moved_host_problems(config: AppConfig, cluster: ClusterSettings) -> list[str]:
    """A host that fits under the base domain can be too long once moved onto a longer
    environment domain (shop.example.com becomes shop.dev.example.com)."""
    problems = []
    for i, service in enumerate(config.services):
        if service.ingress is None:
            continue
        for h, host in enumerate(service.ingress.hosts):
            moved = rehost(host, config.domain, cluster.domain)
            if len(moved) > HOSTNAME_MAX:
                problems.append(
                    f"domain: with '{cluster.domain}', services[{i}].ingress.hosts[{h}] becomes "
                    f"{len(moved)} characters long ('{moved}'); a hostname may have at most "
                    f"{HOSTNAME_MAX}"
                )
    return problems
