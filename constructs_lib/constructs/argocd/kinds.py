"""Kind: an API group and kind as AppProject allowlists name them, optionally one object's
name. Plain data, so the add-on catalogue and the trust rules load without cdk8s."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """An API group and kind, as AppProject allowlists name them ('' is the core group)."""

    group: str
    kind: str
    name: str | None = None
    """Only the object of this name (cluster-scoped entries only: Argo CD 3.5 matches a
    `clusterResourceWhitelist` entry's `name`; its namespaced whitelist has none).
    @default every object of the kind"""

    def named(self, *names: str) -> tuple[Kind, ...]:
        """One entry of this kind per name."""
        return tuple(Kind(self.group, self.kind, name) for name in names)


ANY_KIND = Kind("*", "*")
