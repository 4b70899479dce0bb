"""`gitops-base set-image`: the file diff is exactly the line of the pin."""

from __future__ import annotations

import difflib
from pathlib import Path

from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import CONFIG, run_cli

DIGEST = "sha256:" + "ab" * 32


def changed_lines(before: str, after: str) -> list[str]:
    """The `-`/`+` lines of a unified diff, as `git diff` would show them."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("---", "+++")]


def test_a_new_tag_changes_exactly_the_tag_line(config_copy: Path) -> None:
    done = run_cli("set-image", "web", "1.9.0", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"set web image ghcr.io/example/shop-web:1.9.0 in {config_copy}\n"
    assert changed_lines(CONFIG.read_text(), config_copy.read_text()) == [
        '-      tag: "1.8.2"',
        '+      tag: "1.9.0"',
    ]


def test_a_digest_replaces_the_tag_on_the_same_line(config_copy: Path) -> None:
    done = run_cli("set-image", f"api@{DIGEST}", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    assert changed_lines(CONFIG.read_text(), config_copy.read_text()) == [
        '-      tag: "2.3.0"',
        f"+      digest: {DIGEST}",
    ]
    api = load_model(AppConfig, config_copy).services[1]
    assert (api.image.tag, api.image.digest) == (None, DIGEST)


def test_a_digest_given_as_tag_argument_is_a_digest(config_copy: Path) -> None:
    done = run_cli("set-image", "worker", DIGEST, "--config", config_copy)
    assert done.returncode == 0, done.stderr
    lines = changed_lines(CONFIG.read_text(), config_copy.read_text())
    assert lines[1] == f"+      digest: {DIGEST}"
    assert len(lines) == 2


def test_a_tag_replaces_a_digest_on_the_same_line(config_copy: Path) -> None:
    done = run_cli("set-image", "worker", "3.0.0", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    lines = changed_lines(CONFIG.read_text(), config_copy.read_text())
    assert lines == [
        "-      digest: sha256:3b1f0c6a9d2e4f5a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a",
        '+      tag: "3.0.0"',
    ]


def test_comments_and_formatting_on_the_line_survive(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    text = CONFIG.read_text().replace('tag: "0.9.1"', "tag: 0.9.1   # bumped by CI", 1)
    config.write_text(text)
    done = run_cli("set-image", "nightly-report", "0.10.0", "--config", config)
    assert done.returncode == 0, done.stderr
    assert changed_lines(text, config.read_text()) == [
        "-      tag: 0.9.1   # bumped by CI",
        "+      tag: 0.10.0   # bumped by CI",
    ]


def test_a_flow_style_image_is_edited_in_place(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    text = CONFIG.read_text().replace(
        'image:\n      repository: ghcr.io/example/shop-web\n      tag: "1.8.2"\n'
        '      envs:\n        prod: {tag: "1.8.2"}',
        "image: {repository: ghcr.io/example/shop-web, tag: '1.8.2'}",
    )
    config.write_text(text)
    done = run_cli("set-image", "web", "1.9.0", "--config", config)
    assert done.returncode == 0, done.stderr
    assert changed_lines(text, config.read_text()) == [
        "-    image: {repository: ghcr.io/example/shop-web, tag: '1.8.2'}",
        "+    image: {repository: ghcr.io/example/shop-web, tag: '1.9.0'}",
    ]


def test_with_both_pins_the_other_one_is_removed(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    text = CONFIG.read_text().replace('tag: "2.3.0"', f'tag: "2.3.0"\n      digest: {DIGEST}', 1)
    config.write_text(text)
    done = run_cli("set-image", "api", "2.4.0", "--config", config)
    assert done.returncode == 0, done.stderr
    assert changed_lines(text, config.read_text()) == [
        '-      tag: "2.3.0"',
        f"-      digest: {DIGEST}",
        '+      tag: "2.4.0"',
    ]


def test_setting_the_current_tag_writes_nothing(config_copy: Path) -> None:
    before = config_copy.stat().st_mtime_ns
    done = run_cli("set-image", "web", "1.8.2", "--config", config_copy)
    assert done.returncode == 0
    assert done.stdout.startswith("already at web image ghcr.io/example/shop-web:1.8.2")
    assert config_copy.stat().st_mtime_ns == before


def test_an_unknown_service_is_a_clear_error(config_copy: Path) -> None:
    done = run_cli("set-image", "wbe", "1.0.0", "--config", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{config_copy}: services: no service named 'wbe' (services: web, api, worker, "
        "nightly-report); did you mean 'web'?"
    )
    assert config_copy.read_text() == CONFIG.read_text()


def test_an_invalid_tag_is_refused(config_copy: Path) -> None:
    done = run_cli("set-image", "web", "1.0 beta", "--config", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "TAG: '1.0 beta' is not a valid image tag (letters, digits, '_', '.', '-', at most 128 "
        "characters, not starting with '.' or '-')"
    )
    assert config_copy.read_text() == CONFIG.read_text()


def test_an_invalid_digest_is_refused(config_copy: Path) -> None:
    done = run_cli("set-image", "web@sha256:abc", "--config", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "DIGEST: 'sha256:abc' is not a valid digest (expected 'sha256:' and 64 hex digits)"
    )


def test_tag_and_digest_together_is_a_usage_error(config_copy: Path) -> None:
    done = run_cli("set-image", f"web@{DIGEST}", "1.0.0", "--config", config_copy)
    assert done.returncode == 2
    assert "not both" in done.stderr


def test_a_missing_tag_is_a_usage_error(config_copy: Path) -> None:
    done = run_cli("set-image", "web", "--config", config_copy)
    assert done.returncode == 2
