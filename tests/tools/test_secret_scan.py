"""No secret reaches the repository: detect-secrets scans every line of every file, dist/ included.

`make secrets` runs the same scan (constructs_lib/tools/secret_scan.py). `.secrets.baseline`
holds the scanner's settings and, as findings, only the fake secrets of the invalid fixtures
that test the config's secret rule. Nothing is excluded by keyword: the one filter of ours drops
only the keyword detector's finding on a field whose value names an object (`secretName:
web-tls`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.model.test_secret_values import JWT

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / ".secrets.baseline"
PYTHON = ROOT / ".venv" / "bin" / "python"
SCAN = ROOT / "constructs_lib" / "tools" / "secret_scan.py"
# Split so that this file holds no secret-shaped string itself.
AWS_KEY_ID = "AKIA" + "Q3ZT7WJ5XK2LMB4N"
GITHUB = "ghp" + "_R7kW2pQ9xL4mN8vB3cZ6tY1hJ5sD0fG2aE7u"  # pragma: allowlist secret
GITLAB = "glpat" + "-Xy7Kq2Lm9Pn4Rs8Tv3Wz"
SLACK = "xoxb" + "-2048913374-4096827710-Qm7Zr2Kx9Lp4Wn8Tv3Yb"
STRIPE = "sk" + "_live_4eC39HqLyjWDarjtT1zdp7dc"  # pragma: allowlist secret
DB_URL = "postgres://shop:" + "Zq8hunter2Xr4v@db.shop.svc:5432/shop"
HEX = "a9f3c1" + "e07b"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----"
HEAD = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
CONTAINER = "spec:\n  template:\n    spec:\n      containers:\n      - name: api\n"

# (file under a rendered-looking tree, its text, the detect-secrets type it must raise)
PLANTED: dict[str, tuple[str, str]] = {
    "aws-key-in-env": (
        CONTAINER + f"        env:\n        - name: KEY_ID\n          value: {AWS_KEY_ID}\n",
        "AWS Access Key",
    ),
    "private-key-in-args-block": (
        CONTAINER + f"        args:\n        - --key\n        - |\n          {PEM}\n"
        "          MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6\n",
        "Private Key",
    ),
    "github-token-list-item": (
        CONTAINER + f"        command:\n        - /app/mirror\n        - {GITHUB}\n",
        "GitHub Token",
    ),
    "gitlab-token-flow-list": (
        CONTAINER + f"        args: [--token, {GITLAB}]\n",
        "GitLab Token",
    ),
    "slack-token-list-item": (
        CONTAINER + f"        args:\n        - --slack={SLACK}\n",
        "Slack Token",
    ),
    "stripe-key-in-env": (
        CONTAINER + f"        env:\n        - name: PAYMENTS\n          value: {STRIPE}\n",
        "Stripe Access Key",
    ),
    "jwt-list-item": (CONTAINER + f"        args:\n        - {JWT}\n", "JSON Web Token"),
    "url-with-password-in-env": (
        CONTAINER + f'        env:\n        - name: DATABASE_URL\n          value: "{DB_URL}"\n',
        "Basic Auth Credentials",
    ),
    "password-named-env-block": (
        CONTAINER + "        env:\n        - name: SMTP_PASSWORD\n          value: horse-battery\n",
        "Kubernetes env var named like a secret",
    ),
    "token-named-env-flow": (
        CONTAINER
        + "        env: [{name: SENTRY_TOKEN, value: a9f3c1e07b}]\n",  # pragma: allowlist secret
        "Kubernetes env var named like a secret",
    ),
    "password-in-configmap": (
        "data:\n  DB_PASSWORD: Zq8-hunter2-Xr4v\n",  # pragma: allowlist secret
        "Secret Keyword",
    ),
    "token-on-a-name-field-line": (
        # The filter spares the keyword detector's finding on secretName; the others still read.
        f"spec:\n  tls:\n  - secretName: {GITHUB}\n",
        "GitHub Token",
    ),
}


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


def scan(files: list[str], cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The scan as `make secrets` runs it, from the top of a checkout (`cwd`)."""
    return subprocess.run(
        [str(PYTHON), str(SCAN), "--baseline", ".secrets.baseline", *extra, *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_baseline_excludes_no_line_and_records_only_fixture_fakes() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    filters = [f["path"] for f in baseline["filters_used"]]
    assert "detect_secrets.filters.regex.should_exclude_line" not in filters
    plugin = {"name": "KubernetesEnvDetector", "path": "file://constructs_lib/tools/secret_scan.py"}
    assert plugin in baseline["plugins_used"]
    for path, findings in baseline["results"].items():
        assert path.startswith(("tests/fixtures/invalid/", "tests/fixtures/payloads/")), path
        assert (ROOT / path).is_file(), f"{path}: stale baseline entry"
        assert all(f["is_secret"] is False for f in findings), path


def test_repository_and_dist_have_no_secrets() -> None:
    files = repo_files()
    assert any(f.startswith("dist/") for f in files), "dist/ must be scanned"
    result = scan(files, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def checkout(root: Path) -> Path:
    """A git checkout with this repository's scan settings: the baseline names its plugin and
    filter by path (constructs_lib/tools/secret_scan.py), and the hook asks git whether it is
    staged."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    shutil.copyfile(BASELINE, root / ".secrets.baseline")
    (root / "constructs_lib" / "tools").mkdir(parents=True)
    shutil.copyfile(SCAN, root / "constructs_lib" / "tools" / "secret_scan.py")
    return root


@pytest.fixture(scope="module")
def planted_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """One scan of every planted file (a scan costs a second of start-up)."""
    root = checkout(tmp_path_factory.mktemp("planted"))
    names = []
    for name, (body, _) in PLANTED.items():
        path = root / "dist" / "dev" / "app" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEAD + body, encoding="utf-8")
        names.append(str(path.relative_to(root)))
    result = scan(names, root, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    results: dict[str, list[Any]] = json.loads(result.stdout)["results"]
    return {Path(path).stem: findings for path, findings in results.items()}


@pytest.mark.parametrize("name", PLANTED)
def test_each_planted_secret_is_caught(name: str, planted_findings: dict[str, Any]) -> None:
    body, kind = PLANTED[name]
    found = planted_findings.get(name, [])
    assert kind in {f["type"] for f in found}, found
    # On the line that holds the value, not somewhere near it.
    lines = (HEAD + body).splitlines()
    assert any(f["type"] == kind and lines[f["line_number"] - 1].strip() for f in found)


@pytest.mark.parametrize(
    "line",
    [
        "    secretName: web-tls",
        "  - secretName: api-infisical",
        "        secretProviderClass: api",
        "      tls: {enabled: true, secret_name: shop-web-cert}",
        "    secrets: |",
        "sealed_secrets: false            # OPTIONAL, default false",
    ],
)
def test_object_names_on_secret_fields_are_no_finding(line: str, tmp_path: Path) -> None:
    checkout(tmp_path)
    path = tmp_path / "dist" / "dev" / "app" / "object.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"{HEAD}spec:\n{line}\n", encoding="utf-8")
    result = scan([str(path.relative_to(tmp_path))], tmp_path)
    assert result.returncode == 0, result.stdout
