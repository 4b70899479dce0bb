"""What the Kubernetes API server and its controllers accept, checked before anything renders.

Each function mirrors one rule of Kubernetes, so that what `validate` accepts is admitted:

- `cron_problem`: the CronJob schedule grammar (`cron.ParseStandard` of robfig/cron v3, which
  the API server calls), plus schedules that can never fire (`0 0 31 2 *`).
- `time_zone_problem`: a CronJob's `timeZone` must be a name of the IANA database.
- `annotation_key_problem`: a qualified name (`prefix/name`), as `ValidateAnnotations` checks.
- `ingress_path_problem`: the sequences and endings the API server refuses in an Ingress path
  of type Prefix (`validateIngressHTTPIngressPath`), which the base renders.
- `INT32_MAX`/`INT64_MAX`: the widths of the API's integer fields; `ID_MAX`: user and group
  IDs (`runAsUser`, `runAsGroup`, `fsGroup`), which the API server keeps within 0..2^31-1.
- `SECRET_KEY_MAX`: the length of a key of a Secret, and so of a `secretKeyRef.key`.
"""

from __future__ import annotations

import re
import zoneinfo

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# ValidatePodSecurityContext: "must be between 0 and 2147483647, inclusive" (an int64 field).
ID_MAX = INT32_MAX
# IsConfigMapKey, which a Secret's keys and an env var's secretKeyRef.key must pass.
SECRET_KEY_MAX = 253
# A CronJob's name is the prefix of its Jobs' names (plus 11 characters of schedule time), and
# a Job's name must fit a 63-character label: the API server refuses CronJob names above 52.
CRONJOB_NAME_MAX = 52
# The StatefulSet controller labels each pod `controller-revision-hash: <name>-<hash>` (up to
# 10 characters of hash): the API server admits longer names, but their pods are never created.
STATEFULSET_NAME_MAX = 52

_MONTHS = {
    m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())
}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# (name, lowest, highest, names) of the five fields, as robfig/cron's bounds.
_NO_NAMES: dict[str, int] = {}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, _NO_NAMES),
    ("hour", 0, 23, _NO_NAMES),
    ("day of month", 1, 31, _NO_NAMES),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February in a leap year
MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


class _CronError(ValueError):
    pass


def _number(text: str, names: dict[str, int], field: str) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit() or not text.isascii():
        raise _CronError(f"'{text}' is not a number in the {field} field")
    return int(text)


def _expand(part: str, field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """One comma-separated part of a field: `*`, `?`, `a`, `a-b`, each optionally `/step`."""
    span, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or not step_text.isascii() or int(step_text) == 0:
            raise _CronError(f"'{part}': the step in the {field} field must be a number above 0")
        step = int(step_text)
    if span in ("*", "?"):
        start, end = low, high
    else:
        first, dash, last = span.partition("-")
        start = _number(first, names, field)
        end = _number(last, names, field) if dash else (high if slash else start)
    if start < low or end > high:
        raise _CronError(f"'{part}' is outside {low}-{high} in the {field} field")
    if start > end:
        raise _CronError(f"'{part}': the range of the {field} field runs backwards")
    return set(range(start, end + 1, step))


def cron_problem(value: str) -> str | None:
    """Why Kubernetes refuses (or never runs) this CronJob schedule, as the end of a sentence
    about the schedule (`: reason` or `(what is expected)`); None if it is fine."""
    if value in MACROS:
        return None
    fields = value.split()
    if len(fields) != 5:
        return (
            "(five fields 'minute hour day-of-month month day-of-week', or a macro such as "
            "'@daily')"
        )
    sets = []
    try:
        for text, (field, low, high, names) in zip(fields, _FIELDS, strict=True):
            if not text or any(p == "" for p in text.split(",")):
                raise _CronError(f"empty list item in the {field} field")
            values: set[int] = set()
            for part in text.split(","):
                values |= _expand(part, field, low, high, names)
            sets.append(values)
    except _CronError as exc:
        return (
            f": {exc} (Kubernetes' cron takes numbers, month and day names, '*', '?', '-', ',' "
            "and '/'; not 'L', 'W' or '#')"
        )
    days, months = sets[2], sets[3]
    # With the day of week '*', a run needs a chosen day of month in a chosen month (with both
    # restricted, either matches, as in Kubernetes' cron).
    star = {"*", "?", "*/1", "?/1"}
    if fields[4] not in star or fields[2] in star:
        return None
    if not any(day <= _DAYS_IN_MONTH[month - 1] for month in months for day in days):
        return ": it never fires (no chosen month has the chosen day of month)"
    return None


def time_zone_problem(value: str) -> str | None:
    """Why a CronJob's timeZone would be refused; None if it names an IANA time zone."""
    if value == "Local" or value not in _zones():
        return (
            f"'{value}' is not a time zone of the IANA database (e.g. 'Europe/Paris', "
            "'America/New_York', 'UTC')"
        )
    return None


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(zoneinfo.available_timezones())
    return _ZONES


_ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


def annotation_key_problem(key: str) -> str | None:
    """Why an annotation key is refused by the API server; None if it is a qualified name."""
    prefix, slash, name = key.rpartition("/")
    if (
        (slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)))
        or len(name) > 63
        or not _ANNOTATION_NAME.match(name)
    ):
        return (
            f"'{key}' is not a valid annotation key (an optional DNS subdomain prefix and '/', "
            "then at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
            "letter or digit)"
        )
    return None


# validateIngressHTTPIngressPath, for pathType Exact and Prefix.
_INGRESS_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INGRESS_PATH_SUFFIXES = ("/..", "/.")


def ingress_path_problem(path: str) -> str | None:
    """Why the API server refuses this path in an Ingress of pathType Prefix; None if not."""
    for sequence in _INGRESS_PATH_SEQUENCES:
        if sequence in path:
            return (
                f"'{path}' contains '{sequence}', which Kubernetes refuses in an Ingress path "
                "(no '//', '/./', '/../' or '%2f')"
            )
    for suffix in _INGRESS_PATH_SUFFIXES:
        if path.endswith(suffix):
            return (
                f"'{path}' ends with '{suffix}', which Kubernetes refuses in an Ingress path "
                "(no '/.' or '/..' at the end)"
            )
    return None
