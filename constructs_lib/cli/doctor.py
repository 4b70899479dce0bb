"""`gitops-base doctor --env ENV`: every precondition of a first deploy that can be checked
from the operator's machine, one line each, with the fix of each one that fails.

    ✓ ACME contact            the address Let's Encrypt registers is one it accepts
    ✓ repository              read access with the credential bootstrap installs; the revision
    ✓ Infisical               the URL the SecretProviderClasses name answers
    ✓ kubeconfig              the API server answers
    ✓ k3s version             each node's, against platform/k3s.env's pin
    ✓ k3s components          Traefik off for ingress-nginx, ServiceLB on for service-lb
    ✓ listener                nothing else holds the ports; ServiceLB bound them
    ✓ DNS <host>              each Ingress host points at the public address
    ✓ HTTP <host>:80          port 80 of each host answers: the path of the HTTP-01 check

Exit 0 when nothing failed (warnings and skipped checks do not fail it), 1 otherwise.
Reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from constructs_lib.cli.support.cluster_checks import (
    ClusterFacts,
    cluster_facts,
    component_problems,
    listener_problem,
)
from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, OperatorError, fail
from constructs_lib.cli.support.credentials import read_credential
from constructs_lib.cli.support.environment import EnvFiles
from constructs_lib.cli.support.kube import Kube, KubeError
from constructs_lib.cli.support.preflight import (
    Check,
    acme_contact,
    dns,
    infisical,
    infisical_endpoints,
    ingress_hosts,
    port_80,
    port_80_fix,
    repository,
)


def cluster_checks(
    env: EnvFiles, kubeconfig: Path | None, context: str | None
) -> tuple[list[Check], ClusterFacts | None]:
    """kubeconfig, k3s version, k3s components and listener; the facts for the DNS check."""
    from constructs_lib.model.versions import pinned_k3s
    from constructs_lib.render.schema_check import KUBERNETES_VERSIONS

    settings = f"clusters/{env.name}/cluster.yaml"
    try:
        kube = Kube(kubeconfig, context)
        try:
            facts = cluster_facts(kube)
        finally:
            kube.close()
    except KubeError as exc:
        return [
            Check(
                "kubeconfig",
                "fail",
                str(exc),
                "point --kubeconfig (or KUBECONFIG) at the cluster's kubeconfig, with the "
                "server's public address (k3s writes 127.0.0.1 into /etc/rancher/k3s/k3s.yaml)",
            ),
            Check("k3s", "skip", "needs the cluster"),
        ], None
    checks = [
        Check(
            "kubeconfig",
            "ok",
            f"{kube.server} (context {kube.context}) answers; {len(facts.node_versions)} node(s)",
        )
    ]
    pin = pinned_k3s()
    for node, version in facts.node_versions or (("(none)", ""),):
        minor = ".".join(version.lstrip("v").split(".")[:2])
        if not version:
            checks.append(Check("k3s version", "warn", "the cluster has no nodes yet"))
        elif version == pin:
            checks.append(Check("k3s version", "ok", f"node {node} runs {version}, the pin"))
        elif minor in KUBERNETES_VERSIONS and "+k3s" in version:
            checks.append(
                Check(
                    "k3s version",
                    "warn",
                    f"node {node} runs {version}, not the pinned {pin} (a supported minor)",
                    f"install {pin} (platform/k3s.env) to run what the base is tested on",
                )
            )
        else:
            checks.append(
                Check(
                    "k3s version",
                    "fail",
                    f"node {node} runs {version}; the base supports Kubernetes "
                    f"{', '.join(KUBERNETES_VERSIONS)} on k3s",
                    f"install k3s {pin} (INSTALL_K3S_VERSION, platform/k3s.env)",
                )
            )
    problems = component_problems(facts, env.cluster, settings)
    ingress = env.cluster.ingress
    wanted = f"{ingress.controller} on {ingress.exposure}"
    if problems:
        checks += [Check("k3s components", "fail", p) for p in problems]
    else:
        disabled = ", ".join(sorted(facts.disabled)) or "nothing"
        checks.append(Check("k3s components", "ok", f"{wanted}: k3s disables {disabled}"))
    problem = listener_problem(facts, env.cluster, settings)
    if problem:
        checks.append(Check("listener", "fail", problem))
    else:
        ports = (
            "ports 80 and 443 of every node (ServiceLB)"
            if ingress.exposure == "service-lb"
            else f"node ports {ingress.http_node_port} and {ingress.https_node_port}"
        )
        checks.append(Check("listener", "ok", f"{ingress.controller} can listen on {ports}"))
    return checks, facts


def doctor(
    env: EnvFiles,
    kubeconfig: Path | None,
    context: str | None,
    stdin_text: str | None,
    out: Callable[[str], None] = print,
) -> int:
    settings = f"clusters/{env.name}/cluster.yaml"
    results: list[Check] = []

    def report(check: Check) -> None:
        results.append(check)
        out(check.line())

    report(acme_contact(env.cluster, settings))
    cred = read_credential(os.environ, stdin_text)
    report(repository(env.cluster.repo.url, env.cluster.repo.revision, cred))
    endpoints = infisical_endpoints(env.dist)
    if not endpoints:
        report(Check("Infisical", "skip", "no service of this environment declares secrets"))
    for url, ca in endpoints:
        report(infisical(url, ca))
    checks, facts = cluster_checks(env, kubeconfig, context)
    for check in checks:
        report(check)
    expected = list(env.cluster.ingress.publish_status_address)
    if not expected and facts is not None:
        expected = list(facts.external_addresses)
    hosts = ingress_hosts(env.dist)
    if not hosts:
        report(Check("DNS", "skip", f"no Ingress in {env.dist}/app"))
    fix = port_80_fix(env.cluster)
    for host in hosts:
        check, addresses = dns(host, expected)
        report(check)
        report(port_80(host, addresses, fix))
    failed = [c for c in results if c.status == "fail"]
    warned = [c for c in results if c.status == "warn"]
    out(
        f"doctor {env.name}: {len(results) - len(failed) - len(warned)} passed or skipped, "
        f"{len(warned)} warning(s), {len(failed)} failed"
    )
    return EXIT_INVALID if failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    try:
        env = EnvFiles.load(args.env)
        stdin_text = sys.stdin.read() if args.credential_stdin else None
        return doctor(
            env, args.kubeconfig, args.context, stdin_text, out=lambda s: print(s, flush=True)
        )
    except (OperatorError, ValueError) as exc:
        return fail([f"error: {exc}"])
