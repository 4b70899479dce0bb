"""Workload constructs: one kind per module, each naming its entry of the catalogue of kinds.

Every module of this package is imported here, so a new kind needs no other registration:
`Workload.for_kind` finds it.
"""

from __future__ import annotations

import importlib
import pkgutil

from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Workload", "WorkloadProps"]
