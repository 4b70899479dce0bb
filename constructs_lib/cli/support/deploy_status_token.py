"""The deploy status's token (clusters/<env>/cluster.yaml `deploy_status`): `gitops-base
bootstrap` writes it into Argo CD's `argocd-notifications-secret`, under the one key the
rendered notification service reads. It comes from an environment variable or a file, like
the repository credential; never from an argument, never from Git. From Infisical:
`GITOPS_BASE_DEPLOY_STATUS_TOKEN="$(infisical secrets get ... --plain)" gitops-base bootstrap`.

Server-side apply with its own field manager: the install manifest's empty Secret and this key
are owned separately, so re-installing Argo CD keeps the token.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path

from constructs_lib.cli.support.kube import Manifest
from constructs_lib.model.names import (
    ARGOCD_PART,
    DEPLOY_STATUS_TOKEN_KEY,
    NOTIFICATIONS_SECRET,
    PART_OF,
)

ENV_TOKEN = "GITOPS_BASE_DEPLOY_STATUS_TOKEN"
ENV_TOKEN_FILE = "GITOPS_BASE_DEPLOY_STATUS_TOKEN_FILE"
MANAGER = "gitops-base-deploy-status-token"
MAX_TOKEN = 4096
_TOKEN = re.compile(r"[\x21-\x7e]+")


def read_token(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(token, where it came from) from $GITOPS_BASE_DEPLOY_STATUS_TOKEN or the file
    $GITOPS_BASE_DEPLOY_STATUS_TOKEN_FILE names; None when neither is set. ValueError, naming
    the variable, for both at once, an unreadable file, or a value that is not one token."""
    value, path = environ.get(ENV_TOKEN, ""), environ.get(ENV_TOKEN_FILE, "")
    if value and path:
        raise ValueError(f"set {ENV_TOKEN} or {ENV_TOKEN_FILE}, not both")
    if path:
        try:
            data = Path(path).expanduser().read_bytes()[: MAX_TOKEN + 2]
        except OSError as exc:
            raise ValueError(f"{ENV_TOKEN_FILE}: {path}: {exc.strerror}") from None
        value, source = data.decode("utf-8", "replace"), f"{ENV_TOKEN_FILE} ({path})"
    elif value:
        source = ENV_TOKEN
    else:
        return None
    token = value.strip()
    if not token or len(token) > MAX_TOKEN or not _TOKEN.fullmatch(token):
        raise ValueError(
            f"{source}: not one token (printable characters without spaces, at most {MAX_TOKEN})"
        )
    return token, source


def token_secret(token: str, namespace: str) -> Manifest:
    """The key of argocd-notifications-secret this command owns."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": NOTIFICATIONS_SECRET,
            "namespace": namespace,
            "labels": {PART_OF: ARGOCD_PART},
        },
        "type": "Opaque",
        "data": {DEPLOY_STATUS_TOKEN_KEY: base64.b64encode(token.encode()).decode()},
    }


def has_token(secret: Manifest | None) -> bool:
    return bool(((secret or {}).get("data") or {}).get(DEPLOY_STATUS_TOKEN_KEY))
