"""`gitops-base describe`: the app's topology, as text or as a Mermaid diagram.

Public hosts -> the services they route to -> the calls each service declares -> its egress
outside the cluster, with the secrets each service reads. This is exactly what the
NetworkPolicies allow: a call that is not drawn is denied.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

from constructs_lib.cli.support.common import EXIT_OK, fail
from constructs_lib.model.clusters import ClusterSettings, rehost
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, load_model
from constructs_lib.model.service import Port, Service


@dataclass(frozen=True)
class Route:
    host: str
    path: str
    service: str
    port: str
    envs: tuple[str, ...] = ()
    """Environments serving the host; empty means every one."""
    tls: bool = True


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass
class Topology:
    app: str
    namespace: str
    routes: list[Route] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    calls: list[Edge] = field(default_factory=list)
    external: list[Edge] = field(default_factory=list)


def _port_label(port: Port) -> str:
    number = port.service_port or port.container_port
    return f"{port.name}:{number}"


def topology(config: AppConfig, cluster: ClusterSettings | None = None) -> Topology:
    """The topology of the config; with `cluster`, hosts as that environment serves them."""
    top = Topology(config.app.name, config.app.namespace, services=list(config.services))
    by_name = {s.name: s for s in config.services}
    for s in config.services:
        ingress = s.ingress
        if ingress is not None and s.ports:
            port = _routed(s)
            tls = ingress.terminates_tls(config.tls.enabled)
            hosts: list[tuple[str, tuple[str, ...]]] = [
                (rehost(h, config.domain, cluster.domain) if cluster else h, ())
                for h in ingress.hosts
            ]
            for env, env_hosts in ingress.env_hosts.items():
                if cluster is None or cluster.name == env:
                    hosts += [(h, () if cluster else (env,)) for h in env_hosts]
            for host, envs in hosts:
                for path in ingress.paths:
                    top.routes.append(Route(host, path, s.name, port, envs, tls))
        for call in s.egress.calls:
            callee = by_name[call.name]
            ports = [
                p
                for p in callee.ports
                if call.ports is None
                or p.name in call.ports
                or (p.service_port or p.container_port) in call.ports
            ]
            top.calls.append(Edge(s.name, call.name, ", ".join(_port_label(p) for p in ports)))
        for e in s.egress.external:
            target = e.cidr or e.host or ""
            label = ", ".join(f"{p}/{e.protocol}" for p in e.ports)
            top.external.append(Edge(s.name, target, label))
        if s.egress.internet:
            top.external.append(Edge(s.name, "internet", "any port"))
    return top


def _routed(s: Service) -> str:
    ingress = s.ingress
    assert ingress is not None
    ref = ingress.port
    for p in s.ports:
        if ref is None or ref in (p.name, p.service_port or p.container_port):
            return _port_label(p)
    return str(ref)


def _image(s: Service, cluster: ClusterSettings | None) -> str:
    return s.image.reference_in(cluster.name) if cluster else s.image.reference


def _secrets(s: Service) -> str:
    return ", ".join(
        f"{r.key} ({'env ' + r.env if r.env else 'file ' + str(r.file)})" for r in s.secrets
    )


def as_text(top: Topology, cluster: ClusterSettings | None = None) -> str:
    where = f" in {cluster.name}" if cluster else ""
    lines = [f"app {top.app} (namespace {top.namespace}){where}", "", "ingress:"]
    for r in top.routes or []:
        envs = f" [only {', '.join(r.envs)}]" if r.envs else ""
        scheme = "https" if r.tls else "http"
        lines.append(f"  {scheme}://{r.host}{r.path}{envs} -> {r.service} ({r.port})")
    if not top.routes:
        lines.append("  none")
    lines += ["", "services:"]
    for s in top.services:
        lines.append(f"  {s.name} ({s.type}) {_image(s, cluster)}")
        calls = [f"{e.target} ({e.label})" for e in top.calls if e.source == s.name]
        external = [f"{e.target} ({e.label})" for e in top.external if e.source == s.name]
        lines.append(f"    calls: {', '.join(calls) or 'none'}")
        lines.append(f"    external: {', '.join(external) or 'none'}")
        lines.append(f"    secrets: {_secrets(s) or 'none'}")
    return "\n".join(lines) + "\n"


def _id(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9]', '_', name)}"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def as_mermaid(top: Topology, cluster: ClusterSettings | None = None) -> str:
    """A Mermaid flowchart: hosts, services, declared calls, external egress, secrets."""
    lines = ["flowchart LR"]
    hosts = sorted({r.host for r in top.routes})
    for host in hosts:
        envs = sorted({e for r in top.routes if r.host == host for e in r.envs})
        label = host + (f"<br/>only {', '.join(envs)}" if envs else "")
        lines.append(f"  {_id('host', host)}([{_quoted(label)}])")
    lines.append(f"  subgraph {_id('ns', top.namespace)}[{_quoted('namespace ' + top.namespace)}]")
    for s in top.services:
        label = f"{s.name}<br/>{s.type}"
        lines.append(f"    {_id('svc', s.name)}[{_quoted(label)}]")
    lines.append("  end")
    for r in sorted({(r.host, r.service, r.port, r.tls) for r in top.routes}):
        host, service, port, tls = r
        label = f"{'https' if tls else 'http'} to {port}"
        lines.append(f"  {_id('host', host)} -->|{_quoted(label)}| {_id('svc', service)}")
    for e in top.calls:
        lines.append(f"  {_id('svc', e.source)} -->|{_quoted(e.label)}| {_id('svc', e.target)}")
    for target in sorted({e.target for e in top.external}):
        lines.append(f"  {_id('ext', target)}{{{{{_quoted(target)}}}}}")
    for e in top.external:
        lines.append(f"  {_id('svc', e.source)} -->|{_quoted(e.label)}| {_id('ext', e.target)}")
    for s in top.services:
        if s.secrets:
            node = _id("secrets", s.name)
            names = ", ".join(r.key for r in s.secrets)
            lines.append(f"  {node}[({_quoted('Infisical: ' + names)})]")
            lines.append(f"  {node} -.-> {_id('svc', s.name)}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        config = load_model(AppConfig, args.config)
        cluster = None
        if args.env is not None:
            cluster = load_model(ClusterSettings, args.clusters / args.env / "cluster.yaml")
    except ConfigError as exc:
        return fail([f"{exc.source}: {p}" for p in exc.problems], "describe: invalid input")
    top = topology(config, cluster)
    if args.format == "mermaid":
        print(as_mermaid(top, cluster), end="")
    elif args.format == "markdown":
        print(f"```text\n{as_text(top, cluster)}```\n\n```mermaid\n{as_mermaid(top, cluster)}```")
    else:
        print(as_text(top, cluster), end="")
    return EXIT_OK
