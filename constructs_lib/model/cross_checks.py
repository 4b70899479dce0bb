"""Rules that need both the config and one environment's settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from constructs_lib.model.clusters import CLUSTER_FILE, ClusterSettings, rehost
from constructs_lib.model.config import AppConfig, under_domain
from constructs_lib.model.names import SELF_MANAGED_ARGOCD


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
    if cluster.argocd.self_managed and config.app.name == SELF_MANAGED_ARGOCD:
        problems.append(
            f"argocd.self_managed: Argo CD's own Application is named '{SELF_MANAGED_ARGOCD}', "
            f"and so is the app's (app.name), which would overwrite it; rename the app or "
            "leave self_managed false"
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


def shared_domain(domains: Sequence[str]) -> str | None:
    """The longest domain (two labels at least) every one of `domains` is or is under."""
    if not domains:
        return None
    labels = [d.split(".")[::-1] for d in domains]
    common: list[str] = []
    for parts in zip(*labels, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return ".".join(common[::-1]) if len(common) >= 2 else None


def base_domain_problem(
    domain: str,
    env_domains: Mapping[str, str],
    folder: str,
    *,
    subject: str | None = None,
    suggest: str | None = None,
    fix: str = "set",
    tail: str = "",
) -> str | None:
    """A base domain the environments' domains (`env_domains`, by env, from `folder`) are not
    all under: hosts under it would move onto unrelated domains (rehost). One `domain: ...`
    line naming the domain, the environments outside it and the domain they share (or
    `suggest`, when every environment is under it); None when every one is under `domain`.
    `subject` names where the domain came from ("the payload's domain"), `fix` the verb of the
    first remedy and `tail` what follows the second."""
    outside = {env: d for env, d in env_domains.items() if not under_domain(d, domain)}
    if not outside:
        return None
    envs = ", ".join(f"{env} ({d})" for env, d in sorted(outside.items()))
    values = list(env_domains.values())
    if suggest is not None and all(under_domain(d, suggest) for d in values):
        base: str | None = suggest
    else:
        base = shared_domain(values)
    remedy = f"{fix} the base domain they share, '{base}', or " if base else ""
    named = f"{subject} '{domain}'" if subject else f"'{domain}'"
    return (
        f"domain: {named} is not the base domain of the environments in {folder}: {envs} "
        f"{'is' if len(outside) == 1 else 'are'} not under it, so hosts under it would move "
        f"onto unrelated domains; {remedy}change 'domain' in {folder}/<env>/{CLUSTER_FILE}"
        f"{tail}"
    )


def config_domain_problems(
    config: AppConfig, clusters: Sequence[ClusterSettings], folder: str
) -> list[str]:
    """The config's base domain against every environment's domain (what `generate` checks
    for a payload's domain): one line naming the config's domain and the envs outside it."""
    problem = base_domain_problem(config.domain, {c.name: c.domain for c in clusters}, folder)
    return [problem] if problem else []


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
