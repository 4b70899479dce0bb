from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from constructs_lib.model.loading import ConfigError, parse_model
from constructs_lib.model.versions import VERSIONS_FILE, Versions, load_versions

ROOT = Path(__file__).resolve().parents[2]
# A valid Argo CD pin, for the files these tests build.
ARGOCD = {"version": "v3.5.2", "install_sha256": "0" * 64}
SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def test_every_chart_is_pinned_to_an_exact_version() -> None:
    versions = load_versions()
    assert versions.charts, "platform/versions.yaml lists no charts"
    pins = [(name, pin.version) for name, pin in versions.charts.items()]
    pins += [(f"{env}/{c}", v) for env, o in versions.overrides.items() for c, v in o.items()]
    for name, version in pins:
        assert SEMVER.match(version), f"{name}: {version} is not exact"


@pytest.mark.parametrize(
    "version", ["^1.2.3", "~1.2", "1.2.*", "*", "latest", ">=1.0.0", "1.2", ""]
)
def test_a_floating_version_is_rejected(version: str) -> None:
    data = {
        "charts": {"x": {"version": version, "repo": "https://charts.example.com"}},
        "argocd": ARGOCD,
    }
    with pytest.raises(ConfigError) as exc:
        parse_model(Versions, data, "versions.yaml")
    assert exc.value.problems == [
        f"charts.x.version: '{version}' is not an exact version: pin one release such as "
        "1.2.3 (no ranges, wildcards or 'latest')"
    ]


def test_an_override_moves_one_env_only() -> None:
    data = {
        "charts": {"cert-manager": {"version": "v1.21.1", "repo": "https://charts.jetstack.io"}},
        "overrides": {"test": {"cert-manager": "v1.21.2"}},
        "argocd": ARGOCD,
    }
    versions = parse_model(Versions, data, "versions.yaml")
    assert versions.pin("cert-manager", "test").version == "v1.21.2"
    assert versions.pin("cert-manager", "prod").version == "v1.21.1"


def test_an_override_of_an_unknown_chart_is_rejected() -> None:
    data = {"charts": {}, "overrides": {"test": {"nope": "1.0.0"}}, "argocd": ARGOCD}
    with pytest.raises(ConfigError) as exc:
        parse_model(Versions, data, "versions.yaml")
    assert exc.value.problems == ["overrides.test.nope: no chart 'nope' in charts"]


def renovate_charts(text: str) -> dict[str, dict[str, str]]:
    """What Renovate's chart manager (renovate.json) finds in a versions file, by chart."""
    import json

    manager = json.loads((ROOT / "renovate.json").read_text())["customManagers"][0]
    assert manager["managerFilePatterns"] == ["/^platform/versions\\.yaml$/"]
    assert manager["datasourceTemplate"] == "helm"
    pattern = re.compile(manager["matchStrings"][0].replace("(?<", "(?P<"))
    return {m["depName"]: m.groupdict() for m in pattern.finditer(text)}


def test_renovate_manager_matches_every_pin() -> None:
    """Renovate proposes a new version for every chart pinned, looked up in its registry."""
    found = renovate_charts(VERSIONS_FILE.read_text())
    charts = yaml.safe_load(VERSIONS_FILE.read_text())["charts"]
    assert set(found) == set(charts)
    for name, match in found.items():
        assert match["currentValue"] == str(charts[name]["version"])
        assert match["registryUrl"] == charts[name]["repo"]


def test_renovate_manager_misses_an_entry_in_another_order() -> None:
    """Why the file keeps `version` before `repo`: the test above fails on such an entry."""
    text = "charts:\n  demo:\n    repo: https://charts.example.com\n    version: 1.0.0\n"
    assert renovate_charts(text) == {}
    text = "charts:\n  demo:\n    version: 1.0.0\n    repo: https://charts.example.com\n"
    assert renovate_charts(text) == {
        "demo": {
            "depName": "demo",
            "currentValue": "1.0.0",
            "registryUrl": "https://charts.example.com",
        }
    }


def test_renovate_manager_finds_the_argocd_version() -> None:
    import json

    managers = json.loads((ROOT / "renovate.json").read_text())["customManagers"]
    pattern = re.compile(managers[1]["matchStrings"][0].replace("(?<", "(?P<"))
    found = [m.groupdict() for m in pattern.finditer(VERSIONS_FILE.read_text())]
    assert found == [
        {
            "datasource": "github-releases",
            "depName": "argoproj/argo-cd",
            "currentValue": load_versions().argocd.version,
        }
    ]


def test_a_chart_version_change_changes_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes the dist drift test the CI check for a version bump without a re-synth."""
    from constructs_lib.compose import build as composition
    from constructs_lib.compose.build import build
    from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run

    versions = load_versions()
    pin = versions.charts["cert-manager"].model_copy(update={"version": "v9.9.9"})
    bumped = versions.model_copy(update={"charts": {**versions.charts, "cert-manager": pin}})
    monkeypatch.setattr(composition, "versions", lambda: bumped)
    assert run(build, DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "dist") == 0
    fresh = {
        str(p.relative_to(tmp_path / "dist")): p.read_text()
        for p in (tmp_path / "dist").rglob("*.yaml")
    }
    committed = {k: (ROOT / "dist" / k).read_text() for k in fresh if (ROOT / "dist" / k).is_file()}
    changed = {k for k, v in fresh.items() if committed.get(k) != v}
    assert changed == {
        f"{env}/argocd/application-cert-manager.yaml" for env in ("dev", "prod", "test")
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", "latest", "argocd.version: 'latest' is not an exact version"),
        (
            "install_sha256",
            "abc",
            "argocd.install_sha256: string should match pattern '^[0-9a-f]{64}$'",
        ),
    ],
)
def test_a_loose_argocd_pin_is_rejected(field: str, value: str, message: str) -> None:
    data = {"charts": {}, "argocd": {**ARGOCD, field: value}}
    with pytest.raises(ConfigError) as exc:
        parse_model(Versions, data, "versions.yaml")
    assert len(exc.value.problems) == 1
    assert exc.value.problems[0].startswith(message)
