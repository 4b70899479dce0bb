"""Commands that write the checkout run one at a time: concurrent runs wait, none is lost."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from constructs_lib.locking import LOCK_FILE, TIMEOUT_VARIABLE, checkout_lock
from tests.support import CLI, cli_env

PAIRS = 20


def checkout(tmp_path: Path, services: int) -> Path:
    """A folder `gitops-base` takes for a checkout (app.py and cdk8s.yaml), with a config."""
    (tmp_path / "app.py").write_text("")
    (tmp_path / "cdk8s.yaml").write_text("")
    lines = [
        "version: 2",
        "app: {name: shop, namespace: shop}",
        "domain: example.com",
        "services:",
    ]
    for i in range(services):
        lines += [
            f"  - name: svc-{i}",
            "    image:",
            f"      repository: ghcr.io/example/svc-{i}",
            '      tag: "1.0.0"',
        ]
    config = tmp_path / "app-config.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def start(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLI), *args],
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_set_image_pairs_lose_no_update(tmp_path: Path) -> None:
    config = checkout(tmp_path, 2 * PAIRS)
    runs = []
    for pair in range(PAIRS):
        for service in (2 * pair, 2 * pair + 1):
            runs.append(
                start(
                    tmp_path,
                    "set-image",
                    f"svc-{service}",
                    f"2.0.{service}",
                    "--config",
                    str(config),
                )
            )
    # All started before any is waited for: they contend for the same file.
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    for code, _out, err in results:
        assert "Traceback" not in err, err
        assert code == 0, err
    data = yaml.safe_load(config.read_text())
    tags = {s["name"]: s["image"]["tag"] for s in data["services"]}
    assert tags == {f"svc-{i}": f"2.0.{i}" for i in range(2 * PAIRS)}


def test_a_held_lock_fails_after_the_timeout_naming_the_holder(tmp_path: Path) -> None:
    config = checkout(tmp_path, 1)
    before = config.read_bytes()
    env = cli_env() | {TIMEOUT_VARIABLE: "0.5"}
    with checkout_lock(tmp_path, timeout=1):
        run = start(tmp_path, "set-image", "svc-0", "2.0.0", "--config", str(config), env=env)
        code = run.wait(timeout=120)
        _, err = run.communicate()
    assert code == 1
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{tmp_path / LOCK_FILE}: still held by pid {os.getpid()}: ")
    assert first.endswith(
        f"after 0.5 s; another gitops-base command is writing this checkout (wait for it, or "
        f"raise {TIMEOUT_VARIABLE})"
    )
    assert config.read_bytes() == before


def test_a_run_waits_for_the_lock_and_then_applies_its_change(tmp_path: Path) -> None:
    config = checkout(tmp_path, 1)
    with checkout_lock(tmp_path, timeout=1):
        run = start(tmp_path, "set-image", "svc-0", "2.0.0", "--config", str(config))
        try:
            run.wait(timeout=3)
            raise AssertionError("set-image did not wait for the lock")
        except subprocess.TimeoutExpired:
            pass
        assert '"1.0.0"' in config.read_text()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert '"2.0.0"' in config.read_text()


def test_the_lock_file_is_ignored_by_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", LOCK_FILE],
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert ignored.returncode == 0
