"""The environment `bootstrap` and `status` work on: its settings and rendered files in the
checkout the command runs in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from constructs_lib.cli.support.common import project_root

if TYPE_CHECKING:
    from constructs_lib.model.clusters import ClusterSettings


@dataclass(frozen=True)
class EnvFiles:
    """The env's settings and rendered files, from the checkout the command runs in."""

    name: str
    cluster: ClusterSettings
    dist: Path

    @property
    def argocd_namespace(self) -> str:
        return self.cluster.argocd.namespace

    @property
    def root_yaml(self) -> Path:
        return self.dist / "root.yaml"

    @classmethod
    def load(cls, env: str, root: Path | None = None) -> EnvFiles:
        # The config model is imported here: the CLI's other commands need not pay for it.
        from constructs_lib.model.clusters import ClusterSettings
        from constructs_lib.model.loading import ConfigError, load_model

        checkout = root or project_root()
        path = checkout / "clusters" / env / "cluster.yaml"
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", env) or not path.is_file():
            known = sorted(p.parent.name for p in (checkout / "clusters").glob("*/cluster.yaml"))
            raise ValueError(f"--env {env}: no {path} (environments: {', '.join(known)})")
        try:
            cluster = load_model(ClusterSettings, path)
        except ConfigError as exc:
            raise ValueError(f"{path}: {'; '.join(exc.problems)}") from None
        dist = checkout / "dist" / env
        if not (dist / "root.yaml").is_file():
            raise ValueError(f"{dist / 'root.yaml'} not found: run `make synth` and commit dist/")
        return cls(env, cluster, dist)
