"""The deploy status's token: from one environment variable or a file, one token, into the one
key of argocd-notifications-secret that bootstrap owns."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from constructs_lib.cli.support import deploy_status_token as dst

TOKEN = "github_pat_11AAAA"  # pragma: allowlist secret (a fake)


def test_the_token_comes_from_the_variable_or_the_file(tmp_path: Path) -> None:
    assert dst.read_token({}) is None
    assert dst.read_token({dst.ENV_TOKEN: f" {TOKEN}\n"}) == (TOKEN, dst.ENV_TOKEN)
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    assert dst.read_token({dst.ENV_TOKEN_FILE: str(path)}) == (
        TOKEN,
        f"{dst.ENV_TOKEN_FILE} ({path})",
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {dst.ENV_TOKEN: TOKEN, dst.ENV_TOKEN_FILE: "/x"},
            "set GITOPS_BASE_DEPLOY_STATUS_TOKEN or GITOPS_BASE_DEPLOY_STATUS_TOKEN_FILE, not both",
        ),
        (
            {dst.ENV_TOKEN: "two words"},
            "GITOPS_BASE_DEPLOY_STATUS_TOKEN: not one token (printable characters without "
            "spaces, at most 4096)",
        ),
        (
            {dst.ENV_TOKEN_FILE: "/nonexistent/token"},
            "GITOPS_BASE_DEPLOY_STATUS_TOKEN_FILE: /nonexistent/token: No such file or directory",
        ),
    ],
)
def test_a_bad_token_is_one_line_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        dst.read_token(environ)
    assert str(caught.value) == message
    assert TOKEN not in str(caught.value)


def test_the_secret_holds_only_the_token_key() -> None:
    secret = dst.token_secret(TOKEN, "argocd")
    assert secret["metadata"]["name"] == "argocd-notifications-secret"
    assert secret["metadata"]["namespace"] == "argocd"
    assert secret["data"] == {"gitops-base-status-token": base64.b64encode(TOKEN.encode()).decode()}
    assert dst.has_token(secret)
    assert not dst.has_token({"data": {}}) and not dst.has_token(None)
