"""Version 1 of the config schema, read as version 2.

Version 2 nests each kind's options under the kind (`cronjob:`, `job:`); version 1 had them on
the service itself. A version 1 file is converted in memory when it is read, and a problem in
it is reported under the names the file uses (`services[3].schedule`, not
`services[3].cronjob.schedule`). `gitops-base migrate` rewrites the file with the same moves
(`v1_moves`), so what it writes reads back as what was read before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails

from constructs_lib.model.loading import SUBPATH, format_path
from constructs_lib.model.workload_kinds import DEFAULT_KIND, KINDS, OPTIONS

# The schema version of what `generate` and `migrate` write, and the versions that are read.
CONFIG_VERSION = 2
READ_VERSIONS = (1, 2)

# The service fields version 1 had for a kind's options, and the section version 2 has them in.
V1_OPTIONS = {
    "schedule": "cronjob",
    "time_zone": "cronjob",
    "concurrency_policy": "cronjob",
    "successful_jobs_history_limit": "cronjob",
    "failed_jobs_history_limit": "cronjob",
    "starting_deadline_seconds": "cronjob",
    "suspend": "cronjob",
    "backoff_limit": "job",
    "active_deadline_seconds": "job",
    "restart_policy": "job",
}
# Version 1 refused these on a kind without the section; every other option it ignored there.
V1_REFUSED = frozenset({"schedule", "time_zone"})


def moved_in_v2(service: Mapping[Any, Any]) -> str | None:
    """Why a version 2 service with a version 1 option is refused; None without one."""
    if V1_OPTIONS.keys().isdisjoint(service):
        return None
    key = next(k for k in service if k in V1_OPTIONS)
    section = V1_OPTIONS[key]
    return f"{key}: version 2 has it under '{section}' (`gitops-base migrate` moves it there)"


def is_v1(data: Any) -> bool:
    """Whether parsed config data says `version: 1` (the integer, not 1.0 or true)."""
    return isinstance(data, Mapping) and type(data.get("version")) is int and data["version"] == 1


def v1_moves(service: Mapping[Any, Any], kind: str | None = None) -> list[tuple[str, str | None]]:
    """The keys of one version 1 service that version 2 moves, each with the section it moves
    into, or None where it is dropped: an option or `replicas` that version 1 ignored for the
    service's kind (`kind`, else the service's `type`). An unknown kind keeps every option, for
    validation to report."""
    name = kind if kind is not None else service.get("type", DEFAULT_KIND)
    workload = KINDS.get(name) if isinstance(name, str) else None
    moves: list[tuple[str, str | None]] = []
    for key in service:
        section = V1_OPTIONS.get(key) if isinstance(key, str) else None
        if section is not None:
            keep = workload is None or section in workload.options or key in V1_REFUSED
            moves.append((key, section if keep else None))
        elif key == "replicas" and workload is not None and not workload.replicas:
            moves.append((key, None))
    return moves


def upgrade_service(service: Mapping[str, Any], kind: str | None = None) -> dict[str, Any]:
    """One version 1 service as version 2 has it; each section where its first key was."""
    moves = dict(v1_moves(service, kind))
    out: dict[str, Any] = {}
    for key, value in service.items():
        if key not in moves:
            out[key] = value
        elif (section := moves[key]) is not None:
            out.setdefault(section, {})[key] = value
    return out


def upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """Version 1 config data as version 2."""
    out = dict(data)
    out["version"] = CONFIG_VERSION
    services = data.get("services")
    if isinstance(services, list):
        out["services"] = [upgrade_service(s) if isinstance(s, Mapping) else s for s in services]
    return out


def upgrade_overlay_services(
    services: Iterable[Any], kind_of: Callable[[str], str | None]
) -> list[Any]:
    """Entries of an overlay's `services` written with version 1 keys, as version 2 has them;
    `kind_of(name)` is the kind of the config's service of that name (an overlay entry
    often leaves `type` out). Entries without a version 1 key are kept as they are."""
    out = []
    for entry in services:
        if isinstance(entry, Mapping) and any(k in V1_OPTIONS for k in entry):
            name = entry.get("name")
            kind = entry.get("type") or (kind_of(name) if isinstance(name, str) else None)
            entry = upgrade_service(entry, kind if isinstance(kind, str) else None)
        out.append(entry)
    return out


# --- problems under the names version 1 uses --------------------------------------------------


def read(data: Any, validate: Callable[[Any], Any]) -> Any:
    """`validate(data)`, a version 1 file converted first; a problem names the field as the
    file does."""
    if not is_v1(data):
        return validate(data)
    services = data.get("services")
    sections = [  # a section key in a version 1 file is unknown there
        InitErrorDetails(
            type="value_error",
            loc=("services", i),
            input=s,
            ctx={"error": ValueError(f"{key}: unknown field in version 1 (version 2 has it)")},
        )
        for i, s in enumerate(services if isinstance(services, list) else [])
        if isinstance(s, Mapping)
        for key in s
        if key in OPTIONS
    ]
    if sections:
        raise ValidationError.from_exception_data("AppConfig", sections)
    try:
        return validate(upgrade(data))
    except ValidationError as exc:
        raise ValidationError.from_exception_data(
            exc.title, [_as_v1(error, services) for error in exc.errors()]
        ) from None


_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _as_v1(error: Any, services: Any) -> InitErrorDetails:
    loc = list(error["loc"])
    message = None
    if error["type"] == "value_error":
        text = str(error["ctx"]["error"])
        match = SUBPATH.match(text)
        if match:
            sub, message = match.groups()
            loc += [int(i) if i else name for name, i in _PART.findall(sub)]
    renamed = v1_path(loc, services)
    details = InitErrorDetails(type=error["type"], loc=tuple(loc), input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    if renamed == loc:
        details["loc"] = tuple(error["loc"])
        return details
    details["loc"] = tuple(renamed)
    if message is not None:
        details["ctx"] = {"error": ValueError(message)}
    return details


def v1_path(loc: list[Any], services: Any = None) -> list[Any]:
    """A version 2 path as version 1 and the payloads name it: an option without its section
    (`services[0].cronjob.schedule` is `services[0].schedule`); the section itself is its
    first option in `services`, with or without sections, if given."""
    if len(loc) < 3 or loc[0] != "services" or not isinstance(loc[1], int) or loc[2] not in OPTIONS:
        return loc
    if len(loc) > 3:
        return [*loc[:2], *loc[3:]]
    service = services[loc[1]] if isinstance(services, list) and loc[1] < len(services) else {}
    if not isinstance(service, Mapping):
        service = {}
    section = service.get(loc[2])
    keys = list(section) if isinstance(section, Mapping) else []
    keys += [k for k in service if V1_OPTIONS.get(k) == loc[2]]
    return [*loc[:2], keys[0] if keys else loc[2]]


def v1_line(line: str, services: Any = None) -> str:
    """A `path: message` problem line with its path as `v1_path` names it."""
    match = SUBPATH.match(line)
    if match is None:
        return line
    path, message = match.groups()
    parts = [int(i) if i else name for name, i in _PART.findall(path)]
    return f"{format_path(v1_path(parts, services))}: {message}"
