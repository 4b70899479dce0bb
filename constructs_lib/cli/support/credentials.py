"""The repository credential `bootstrap` installs and `doctor` checks: read from environment
variables or standard input, never from an argument (it would show in `ps` and the shell
history), never written to a file but the Argo CD repository Secret."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

from constructs_lib.cli.support.common import OperatorError
from constructs_lib.cli.support.kube import Manifest
from constructs_lib.model.names import MANAGED_BY, MANAGER

ENV_TOKEN = "GITOPS_BASE_REPO_TOKEN"
ENV_USERNAME = "GITOPS_BASE_REPO_USERNAME"
ENV_SSH_KEY = "GITOPS_BASE_REPO_SSH_KEY"
ENV_APP_ID = "GITOPS_BASE_REPO_GITHUB_APP_ID"
ENV_APP_INSTALLATION = "GITOPS_BASE_REPO_GITHUB_APP_INSTALLATION_ID"
ENV_APP_KEY = "GITOPS_BASE_REPO_GITHUB_APP_PRIVATE_KEY"
REPOSITORY_LABEL = "argocd.argoproj.io/secret-type"


@dataclass(frozen=True)
class Credential:
    """A repository credential: how it was given and the Secret fields it becomes."""

    kind: str
    """token, ssh-key or github-app."""
    source: str
    """The variable (or standard input) it came from, for messages."""
    fields: tuple[tuple[str, str], ...]


def read_credential(environ: Mapping[str, str], stdin_text: str | None) -> Credential | None:
    """The one credential given in the environment or on standard input; None if none."""
    found: list[Credential] = []
    if environ.get(ENV_TOKEN):
        username = environ.get(ENV_USERNAME) or "git"
        found.append(
            Credential(
                "token",
                ENV_TOKEN,
                (("username", username), ("password", environ[ENV_TOKEN].strip())),
            )
        )
    if environ.get(ENV_SSH_KEY):
        found.append(
            Credential("ssh-key", ENV_SSH_KEY, (("sshPrivateKey", _key(environ[ENV_SSH_KEY])),))
        )
    app = [environ.get(v, "") for v in (ENV_APP_ID, ENV_APP_INSTALLATION, ENV_APP_KEY)]
    if any(app):
        if not all(app):
            raise OperatorError(
                f"a GitHub App credential needs {ENV_APP_ID}, {ENV_APP_INSTALLATION} and "
                f"{ENV_APP_KEY}; only some are set"
            )
        found.append(
            Credential(
                "github-app",
                ENV_APP_ID,
                (
                    ("githubAppID", app[0].strip()),
                    ("githubAppInstallationID", app[1].strip()),
                    ("githubAppPrivateKey", _key(app[2])),
                ),
            )
        )
    if stdin_text is not None:
        text = stdin_text.strip()
        if not text:
            raise OperatorError("--credential-stdin: standard input is empty")
        if text.startswith("-----BEGIN"):
            found.append(Credential("ssh-key", "standard input", (("sshPrivateKey", _key(text)),)))
        else:
            username = environ.get(ENV_USERNAME) or "git"
            found.append(
                Credential("token", "standard input", (("username", username), ("password", text)))
            )
    if len(found) > 1:
        raise OperatorError(
            "give one repository credential; found "
            + " and ".join(f"{c.kind} ({c.source})" for c in found)
        )
    return found[0] if found else None


def _key(text: str) -> str:
    return text.strip() + "\n"


def _is_ssh_url(url: str) -> bool:
    return url.startswith("ssh://") or bool(re.match(r"^[^/\s:]+@[^\s:]+:", url))


def credential_secret(cred: Credential, repo_url: str, namespace: str, env: str) -> Manifest:
    """The Argo CD repository Secret for `cred` (found by its label and URL)."""
    if cred.kind == "ssh-key" and not _is_ssh_url(repo_url):
        raise OperatorError(
            f"{cred.source}: an SSH key needs an ssh:// or git@host:path repository URL; "
            f"clusters/{env}/cluster.yaml repo.url is {repo_url}"
        )
    if cred.kind != "ssh-key" and not repo_url.startswith(("https://", "http://")):
        raise OperatorError(
            f"{cred.source}: a {cred.kind} credential needs an https:// repository URL; "
            f"clusters/{env}/cluster.yaml repo.url is {repo_url}"
        )
    data = {"type": "git", "url": repo_url, **dict(cred.fields)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"gitops-base-repo-{env}",
            "namespace": namespace,
            "labels": {
                REPOSITORY_LABEL: "repository",
                MANAGED_BY: MANAGER,
            },
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def redacted(obj: Manifest) -> Manifest:
    """A Secret as --dry-run prints it: type and url readable, every other value hidden."""
    data = obj.get("data") or {}
    shown = {
        k: base64.b64decode(v).decode() if k in ("type", "url") else "(redacted)"
        for k, v in data.items()
    }
    return {**obj, "data": shown}
