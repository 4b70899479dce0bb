"""The promotion record: trailers written and read back, image changes against HEAD's config,
and reasons kept to one line (the commit itself, with a real synth: docs/how-to/image-updates.md
runs `--commit` in tests/test_docs.py, and the promotion journey end to end)."""

from __future__ import annotations

import pytest

from constructs_lib.cli.support import promotion_record as pr
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import CONFIG, with_changes

PROMOTED = pr.ImageChange("web", "test", "ghcr.io/acme/web:1.9.1", "dev", "checked")
FORCED = pr.ImageChange("web", "prod", "ghcr.io/acme/web:1.9.1", "test", "forced", "hotfix #42")
SET = pr.ImageChange("api", "dev", "ghcr.io/acme/api:2.4.1")


def test_a_commit_message_is_the_subject_then_one_trailer_block_per_change() -> None:
    assert pr.commit_message("promote web", [PROMOTED, SET]) == (
        "promote web\n"
        "\n"
        "Gitops-Base-Service: web\n"
        "Gitops-Base-From: dev\n"
        "Gitops-Base-To: test\n"
        "Gitops-Base-Image: ghcr.io/acme/web:1.9.1\n"
        "Gitops-Base-Check: checked\n"
        "Gitops-Base-Service: api\n"
        "Gitops-Base-To: dev\n"
        "Gitops-Base-Image: ghcr.io/acme/api:2.4.1\n"
    )
    assert pr.commit_message("  a\nsubject ", []) == "a subject\n"


def test_trailers_read_back_to_the_same_changes() -> None:
    changes = [PROMOTED, FORCED, SET]
    pairs = [tuple(line.split(": ", 1)) for line in pr.trailers(changes)]
    assert pr.parse_trailers(pairs) == changes  # type: ignore[arg-type]


def test_parsing_ignores_other_trailers_and_incomplete_blocks() -> None:
    pairs = [
        ("Signed-off-by", "Dev <dev@example.com>"),
        ("gitops-base-service", "web"),  # keys are case-insensitive, as git's
        ("Co-authored-by", "Someone"),
        ("Gitops-Base-To", " test "),
        ("Gitops-Base-Image", "ghcr.io/acme/web:1.9.1"),
        ("Gitops-Base-To", "prod"),  # a repeated key does not overwrite the first
        ("Gitops-Base-Service", "api"),  # no To or Image: dropped
        ("Gitops-Base-Check", "checked"),
    ]
    assert pr.parse_trailers(pairs) == [pr.ImageChange("web", "test", "ghcr.io/acme/web:1.9.1")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hotfix for\nincident 42 ", "hotfix for incident 42"),
        ("  tested by hand\tin staging", "tested by hand in staging"),
    ],
)
def test_a_reason_becomes_one_line(text: str, expected: str) -> None:
    assert pr.clean_reason(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" \n", "--reason: give a reason (one line of text)"),
        ("x" * 301, "--reason: at most 300 characters (got 301)"),
        ("bell\x07", "--reason: control characters are not allowed"),
    ],
)
def test_a_bad_reason_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        pr.clean_reason(text)


def test_image_changes_are_every_environment_whose_image_moved() -> None:
    config = load_model(AppConfig, CONFIG)
    envs = ["dev", "test", "prod"]
    web = next(s for s in config.services if s.name == "web")
    moved = with_changes(config)
    services = [
        s.model_copy(update={"image": s.image.model_copy(update={"tag": "1.9.9"})})
        if s.name == "web"
        else s
        for s in moved.services
    ]
    after = moved.model_copy(update={"services": services})
    # The shipped config pins prod: only dev and test run the service's own tag.
    assert pr.image_changes(config, after, envs, from_env="x") == [
        pr.ImageChange("web", "dev", "ghcr.io/example/shop-web:1.9.9", "x"),
        pr.ImageChange("web", "test", "ghcr.io/example/shop-web:1.9.9", "x"),
    ]
    assert web.image.reference_in("prod") == "ghcr.io/example/shop-web:1.8.2"
    assert pr.image_changes(config, config, envs) == []
    # No config before (a first generate): every service in every environment.
    assert len(pr.image_changes(None, config, envs)) == 3 * len(config.services)
