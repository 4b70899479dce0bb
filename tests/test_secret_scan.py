"""No secret reaches the repository: detect-secrets scans every file, dist/ included.

`make secrets` runs the same scan. `.secrets.baseline` holds the scanner's settings and no
findings; the settings exclude the generated `imports/`, lines that name a Kubernetes secret
reference (`secretName:`, `secretProviderClass:`, ...) rather than hold a value, and
platform/crds.yaml, a list of upstream URLs and the public SHA-256 digests of their files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".secrets.baseline"
HOOK = ROOT / ".venv" / "bin" / "detect-secrets-hook"
# Split so that this file holds no secret-shaped string itself.
FAKE_AWS_KEY_ID = "AKIA" + "Q3ZT7WJ5XK2LMB4N"
FAKE_PRIVATE_KEY = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"  # pragma: allowlist secret
    "-----END RSA " + "PRIVATE KEY-----\n"
)


def repo_files() -> list[str]:
    """What `make secrets` scans: tracked files and new ones that are not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [p for p in out.splitlines() if (ROOT / p).is_file()]


def scan(files: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOOK), "--baseline", str(BASELINE), *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_baseline_records_no_findings() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert baseline["results"] == {}


def test_repository_and_dist_have_no_secrets() -> None:
    files = repo_files()
    assert any(f.startswith("dist/") for f in files), "dist/ must be scanned"
    result = scan(files, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("aws.env", f"AWS_ACCESS_KEY_ID={FAKE_AWS_KEY_ID}\n", "AWS Access Key"),
        ("tls.key", FAKE_PRIVATE_KEY, "Private Key"),
        (
            "dist/dev/app/configmap-leak.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak, namespace: shop}\n"
            'data:\n  DB_PASSWORD: "Zq8-hunter2-Xr4v"\n',  # pragma: allowlist secret
            "Secret Keyword",
        ),
    ],
    ids=["aws-key", "private-key", "password-in-dist"],
)
def test_planted_secret_is_caught(tmp_path: Path, name: str, text: str, kind: str) -> None:
    planted = tmp_path / name
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(text, encoding="utf-8")
    result = scan([name], tmp_path)
    assert result.returncode == 1
    assert f"Secret Type: {kind}" in result.stdout
    assert f"Location:    {name}:" in result.stdout
