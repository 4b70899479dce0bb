"""Pinned chart versions of the platform add-ons: `platform/versions.yaml`.

One file holds every chart's Helm repository and exact version; an environment may override a
version so staging moves before prod. Renovate updates the file (renovate.json).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from constructs_lib.model.base import Model
from constructs_lib.model.loading import load_model
from constructs_lib.model.value_types import matcher
from constructs_lib.paths import ROOT

VERSIONS_FILE = ROOT / "platform" / "versions.yaml"
# SemVer 2.0.0 with the optional leading "v" some charts use (cert-manager: v1.21.1).
_EXACT = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


_exact = matcher(
    _EXACT, "an exact version: pin one release such as 1.2.3 (no ranges, wildcards or 'latest')"
)


ExactVersion = Annotated[str, AfterValidator(_exact)]


class ChartPin(Model):
    """One Helm chart: where it is published and the one version every env uses by default."""

    version: ExactVersion = Field(description="Exact chart version, e.g. 4.15.1.")
    repo: str = Field(
        pattern=r"^https://\S+$", description="Helm repository URL (https), as Argo CD's repoURL."
    )


ARGOCD_REPO = "https://github.com/argoproj/argo-cd.git"
ARGOCD_RAW = "https://raw.githubusercontent.com/argoproj/argo-cd"


class ArgoCdPin(Model):
    """The one Argo CD release of the project: installed by `gitops-base bootstrap`, synced by
    the self-managed option, and the source of the pinned Argo CD CRDs."""

    version: ExactVersion = Field(description="Argo CD release tag, e.g. v3.5.2.")
    install_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the release's manifests/install.yaml (checked before applying).",
    )

    @property
    def install_path(self) -> str:
        """Path of the install manifest in Argo CD's repository."""
        return "manifests/install.yaml"

    @property
    def install_url(self) -> str:
        """Upstream's install manifest of this release (derived, never configured)."""
        return f"{ARGOCD_RAW}/{self.version}/{self.install_path}"

    def crd_url(self, name: str) -> str:
        """Upstream URL of one CRD of this release, e.g. `application-crd.yaml`."""
        return f"{ARGOCD_RAW}/{self.version}/manifests/crds/{name}"


class Versions(Model):
    """Root of `platform/versions.yaml`."""

    charts: dict[str, ChartPin] = Field(description="Chart name -> pin.")
    argocd: ArgoCdPin = Field(description="The Argo CD release the whole project uses.")
    overrides: dict[str, dict[str, ExactVersion]] = Field(
        default_factory=dict,
        description="Environment -> chart name -> exact version that env uses instead.",
    )

    @model_validator(mode="after")
    def _known_charts(self) -> Versions:
        for env, pins in self.overrides.items():
            for chart in pins:
                if chart not in self.charts:
                    raise ValueError(f"overrides.{env}.{chart}: no chart '{chart}' in charts")
        return self

    def pin(self, chart: str, env: str) -> ChartPin:
        """The pin of `chart` in environment `env`, with that env's override applied."""
        if chart not in self.charts:
            raise KeyError(f"platform/versions.yaml: no chart '{chart}' in charts")
        base = self.charts[chart]
        override = self.overrides.get(env, {}).get(chart)
        return base if override is None else base.model_copy(update={"version": override})


def load_versions(path: Path = VERSIONS_FILE) -> Versions:
    """Read and check the versions file; problems raise ConfigError with `path: message` lines."""
    return load_model(Versions, path)
