"""The checks of a first deploy that need no cluster, from the operator's machine: the ACME
contact, read access to the repository with the credential, the Infisical URL, each host's DNS
record and port 80 of each host (the path Let's Encrypt's HTTP-01 check takes).

`doctor` prints them all; `bootstrap` runs the contact and the repository before it touches
the cluster. Each check is one `Check`: a mark, what was found and, when it failed, the fix.
Nothing here prints a credential."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml

if TYPE_CHECKING:
    from constructs_lib.cli.support.credentials import Credential
    from constructs_lib.model.clusters import ClusterSettings

Status = Literal["ok", "warn", "fail", "skip"]
MARKS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
GIT_TIMEOUT = 30.0
NET_TIMEOUT = 10.0
# What Let's Encrypt's HTTP-01 check requests, on port 80; no challenge has this token, so the
# controller answers 404 (or the app behind it does), which proves the path.
CHALLENGE_PATH = "/.well-known/acme-challenge/gitops-base-doctor"


@dataclass(frozen=True)
class Check:
    """One precondition: its status, what was found and, unless it passed, what to do."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.name}: {self.detail}"
        return f"{text}; fix: {self.fix}" if self.fix else text


# --- the ACME contact ---------------------------------------------------------------------


def acme_contact(cluster: ClusterSettings, settings: str) -> Check:
    from constructs_lib.model.clusters import acme_contact_problem

    problem = acme_contact_problem(cluster.acme_email)
    if problem is None:
        return Check("ACME contact", "ok", f"{cluster.acme_email} ({settings} acme_email)")
    return Check(
        "ACME contact",
        "fail",
        f"{settings}: acme_email: {problem}",
        "set acme_email, then `make synth`, commit and push (the ClusterIssuers carry it)",
    )


# --- the repository -----------------------------------------------------------------------

_REFUSED = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied",
    "access denied",
    "invalid username or password",
    "repository not found",
    "not found",
    "does not appear to be a git repository",
    "403",
    "401",
)
_UNREACHABLE = (
    "could not resolve host",
    "name or service not known",
    "temporary failure in name resolution",
    "connection refused",
    "connection timed out",
    "timed out",
    "network is unreachable",
    "no route to host",
    "couldn't connect",
    "failed to connect",
)
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$GITOPS_BASE_ASKPASS_USERNAME" ;;
  *) printf '%s\\n' "$GITOPS_BASE_ASKPASS_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class LsRemote:
    outcome: Literal["ok", "refused", "unreachable", "unavailable", "error"]
    refs: tuple[str, ...] = ()
    message: str = ""


def ls_remote(url: str, cred: Credential | None, timeout: float = GIT_TIMEOUT) -> LsRemote:
    """`git ls-remote` of `url` as Argo CD would read it: with `cred` only (no credential
    helper, no user or system git config), never asking on a terminal. The credential goes
    to git through its environment, never its arguments."""
    with tempfile.TemporaryDirectory(prefix="gitops-base-git.") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_SSH_COMMAND=_ssh_command(Path(tmp), None),
        )
        fields = dict(cred.fields) if cred else {}
        if cred is not None and cred.kind == "token":
            askpass = Path(tmp) / "askpass"
            askpass.write_text(_ASKPASS, encoding="utf-8")
            askpass.chmod(0o700)
            env.update(
                GIT_ASKPASS=str(askpass),
                GITOPS_BASE_ASKPASS_USERNAME=fields["username"],
                GITOPS_BASE_ASKPASS_PASSWORD=fields["password"],
            )
        elif cred is not None and cred.kind == "ssh-key":
            key = Path(tmp) / "key"
            key.touch(mode=0o600)
            key.write_text(fields["sshPrivateKey"], encoding="utf-8")
            env["GIT_SSH_COMMAND"] = _ssh_command(Path(tmp), key)
        command = [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            "http.lowSpeedLimit=1",
            "-c",
            f"http.lowSpeedTime={int(timeout)}",
            "ls-remote",
            "--",
            url,
        ]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return LsRemote("unreachable", message=f"no answer within {timeout:.0f} s")
        except OSError as exc:
            return LsRemote("unavailable", message=f"cannot run git: {exc.strerror}")
    if done.returncode == 0:
        refs = tuple(line.split("\t", 1)[1] for line in done.stdout.splitlines() if "\t" in line)
        return LsRemote("ok", refs)
    message = _redact(_last_line(done.stderr), fields.values())
    lowered = done.stderr.lower()
    if any(marker in lowered for marker in _UNREACHABLE):
        return LsRemote("unreachable", message=message)
    if any(marker in lowered for marker in _REFUSED):
        return LsRemote("refused", message=message)
    return LsRemote("error", message=message)


def _ssh_command(tmp: Path, key: Path | None) -> str:
    options = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=15",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={tmp / 'known_hosts'}",
    ]
    if key is not None:
        options += ["-o", "IdentitiesOnly=yes", "-i", str(key)]
    return shlex.join(options)


def _last_line(text: str) -> str:
    """git's reason: its first `fatal:` line (the rest is advice), else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    return (fatal or lines or ["git ls-remote failed"])[0 if fatal else -1]


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        for part in (secret, secret.strip()):
            if len(part) >= 4:
                text = text.replace(part, "(redacted)")
    return text


def repository(
    url: str, revision: str, cred: Credential | None, timeout: float = GIT_TIMEOUT
) -> Check:
    """Read access to the environment's repository with the credential bootstrap installs,
    and its revision there."""
    name = "repository"
    given = f"the {cred.kind} from {cred.source}" if cred else "no credential"
    if cred is not None and cred.kind == "github-app":
        return Check(name, "skip", f"{url}: a GitHub App's token is made by Argo CD; not checked")
    result = ls_remote(url, cred, timeout)
    if result.outcome == "refused":
        fix = (
            "give a credential with read access (GITOPS_BASE_REPO_TOKEN, GITOPS_BASE_REPO_SSH_KEY "
            "or a GitHub App); a GitHub fine-grained token needs Contents: read on this repository"
        )
        return Check(name, "fail", f"{url} refuses {given}: {result.message}", fix)
    if result.outcome == "unreachable":
        return Check(
            name,
            "warn",
            f"{url}: not reachable from this machine ({result.message})",
            "check the URL; Argo CD reads it from inside the cluster, which may reach it",
        )
    if result.outcome == "unavailable":
        return Check(name, "warn", f"{url}: not checked ({result.message})", "install git")
    if result.outcome == "error":
        return Check(name, "fail", f"{url} with {given}: {result.message}", "check repo.url")
    if not _has_revision(result.refs, revision):
        return Check(
            name,
            "fail",
            f"{url} is readable with {given}, but has no branch or tag '{revision}'",
            f"push it (`git push origin {revision}`), or set repo.revision",
        )
    return Check(name, "ok", f"{url} is readable with {given}; '{revision}' is there")


def _has_revision(refs: Sequence[str], revision: str) -> bool:
    if re.fullmatch(r"[0-9a-f]{7,40}", revision):
        return True  # a commit: ls-remote lists only the tips of refs
    names = (
        {revision} if revision == "HEAD" else {f"refs/heads/{revision}", f"refs/tags/{revision}"}
    )
    return bool(names & set(refs))


# --- Infisical ----------------------------------------------------------------------------


def infisical_endpoints(dist: Path) -> list[tuple[str, str | None]]:
    """(URL, CA bundle) of every Infisical the rendered environment's SecretProviderClasses
    name (dist/<env>/app/), overlays applied."""
    found: dict[str, str | None] = {}
    for path in sorted((dist / "app").glob("secretproviderclass-*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            parameters = ((doc or {}).get("spec") or {}).get("parameters") or {}
            if parameters.get("infisicalUrl"):
                found[str(parameters["infisicalUrl"])] = parameters.get("caCertificate")
    return sorted(found.items())


def infisical(url: str, ca_certificate: str | None, timeout: float = NET_TIMEOUT) -> Check:
    """The Infisical secrets come from answers on its status endpoint, over TLS the provider
    would trust (the config's CA bundle for a self-hosted one)."""
    name = "Infisical"
    status_url = url.rstrip("/") + "/api/status"
    context = ssl.create_default_context()
    if ca_certificate:
        context.load_verify_locations(cadata=ca_certificate)
    fix = "check secrets.infisical.url (and ca_certificate); every node must reach it too"
    try:
        with urllib.request.urlopen(status_url, timeout=timeout, context=context) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return Check(name, "fail", f"{status_url} answers HTTP {exc.code}", fix)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(name, "fail", f"{status_url} does not answer: {reason}", fix)
    return Check(name, "ok", f"{status_url} answers HTTP {status}")


# --- DNS and port 80 of each host ---------------------------------------------------------


def ingress_hosts(dist: Path) -> list[str]:
    """Every host an Ingress of the rendered environment serves (dist/<env>/app/)."""
    hosts: set[str] = set()
    for path in sorted((dist / "app").glob("ingress-*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Ingress":
                for rule in (doc.get("spec") or {}).get("rules") or []:
                    if rule.get("host"):
                        hosts.add(str(rule["host"]))
    return sorted(hosts)


def resolve(host: str) -> tuple[list[str], str]:
    """(addresses, error) of `host` through this machine's resolver."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return [], str(exc.strerror or exc)
    return sorted({str(info[4][0]) for info in infos}), ""


def dns(host: str, expected: Sequence[str]) -> tuple[Check, list[str]]:
    """The host's records point at the public address (and nowhere else: Let's Encrypt may
    pick any of them, IPv6 first)."""
    name = f"DNS {host}"
    addresses, error = resolve(host)
    where = ", ".join(expected)
    if not addresses:
        fix = f"add an A record {host} -> {where}" if expected else f"add an A record for {host}"
        return Check(name, "fail", f"no record ({error})", fix), []
    if not expected:
        return (
            Check(
                name,
                "warn",
                f"{', '.join(addresses)}; the node's public address is not known to compare",
                "set ingress.publish_status_address to the address clients reach",
            ),
            addresses,
        )
    stray = [a for a in addresses if a not in expected]
    if stray:
        return (
            Check(
                name,
                "fail",
                f"{', '.join(addresses)}: {', '.join(stray)} is not the public address {where}",
                f"point every A/AAAA record of {host} at {where} only",
            ),
            addresses,
        )
    return Check(name, "ok", f"{', '.join(addresses)}"), addresses


def port_80(host: str, addresses: Sequence[str], fix: str, timeout: float = NET_TIMEOUT) -> Check:
    """Port 80 of each address the host resolves to answers HTTP for that host."""
    name = f"HTTP {host}:80"
    if not addresses:
        return Check(name, "skip", "no DNS record to send it to")
    answers = []
    for address in addresses:
        connection = http.client.HTTPConnection(address, 80, timeout=timeout)
        try:
            connection.request(
                "GET", CHALLENGE_PATH, headers={"Host": host, "User-Agent": "gitops-base-doctor"}
            )
            response = connection.getresponse()
            server = response.getheader("Server")
            answers.append(
                f"HTTP {response.status} from {address}"
                + (f" (Server: {server})" if server else "")
            )
        except TimeoutError:
            return Check(name, "fail", f"no answer from {address}:80 within {timeout:.0f} s", fix)
        except ConnectionRefusedError:
            return Check(name, "fail", f"{address}:80 refuses the connection", fix)
        except http.client.HTTPException as exc:
            return Check(name, "fail", f"{address}:80 does not answer HTTP ({exc!r})", fix)
        except OSError as exc:
            return Check(name, "fail", f"{address}:80: {exc.strerror or exc}", fix)
        finally:
            connection.close()
    return Check(name, "ok", "; ".join(answers) + ", the path of Let's Encrypt's HTTP-01 check")


def port_80_fix(cluster: ClusterSettings) -> str:
    ingress = cluster.ingress
    if ingress.exposure == "service-lb":
        return (
            "open port 80 in the VM's firewall (the cloud's security group too); ServiceLB's "
            "pod must run: `kubectl -n kube-system get pods -l "
            "svccontroller.k3s.cattle.io/svcname`"
        )
    return (
        f"forward port 80 of the public address to node port {ingress.http_node_port} (and "
        f"443 to {ingress.https_node_port}), or set ingress.exposure: service-lb on a single VM"
    )
