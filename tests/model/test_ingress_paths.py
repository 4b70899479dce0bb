"""Ingress paths are held to ingress-nginx's strict path validation (pathType Prefix)."""

from __future__ import annotations

import pytest

from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, parse_model


def config(paths: list[str], annotations: dict[str, str] | None = None) -> dict[str, object]:
    ingress: dict[str, object] = {"hosts": ["shop.example.com"], "paths": paths}
    if annotations is not None:
        ingress["annotations"] = annotations
    return {
        "version": 2,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [
            {
                "name": "web",
                "image": {"repository": "ghcr.io/example/web", "tag": "1"},
                "ports": [{"name": "http", "container_port": 8080}],
                "ingress": ingress,
            }
        ],
    }


def test_the_controllers_characters_pass() -> None:
    parse_model(AppConfig, config(["/", "/api/v1.2/", "/User/a_b-c"]), "inline")


@pytest.mark.parametrize(
    "path", ["/a b", "/a;b", "/a:b", "/a@b", "/%7E", "/~user", "/a(b)", "/a*", "/\u00e9"]
)
def test_other_characters_are_refused(path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config([path]), "inline")
    [line] = caught.value.problems
    assert line.startswith("services[0].ingress.paths[0]:")
    assert "strict path validation" in line or "not a valid HTTP path" in line


def test_use_regex_does_not_loosen_the_strict_validation() -> None:
    """The controller's ValidatePathType ignores the use-regex annotation."""
    regex = {"nginx.ingress.kubernetes.io/use-regex": "true"}
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config(["/api/(v1)+/.*"], regex), "inline")
    assert "strict path validation" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/static/etc/nginx", "/etc/nginx"),
        ("/etc/passwd", "/etc/passwd"),
        ("/var/run/secrets/kubernetes.io", "/var/run/secrets"),
        ("/content_by_lua", "_by_lua"),
    ],
)
def test_deep_inspection_patterns_are_refused(path: str, found: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config([path]), "inline")
    assert (
        f"deep inspection refuses path '{path}' of service 'web' (it contains '{found}')"
        in (caught.value.problems[0])
    )
