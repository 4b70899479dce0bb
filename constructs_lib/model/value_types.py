"""Reusable validated string types shared by the config and cluster models.

Each type rejects a bad value with a message that says what a good one looks like, so that
`path: message` lines are enough for a pipeline author to fix the input.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator

from constructs_lib.model.kube_rules import annotation_key_problem, cron_problem, time_zone_problem

Check = Callable[[str], str]
"""A check of a value: the value, or a ValueError that says what a good one looks like."""

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# Docker reference grammar (distribution/reference), repository part without tag or digest.
_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?/)"
_REPOSITORY = re.compile(rf"^{_REGISTRY}?{_REPO_COMPONENT}(?:/{_REPO_COMPONENT})*\Z")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}\Z")
# Kubernetes resource.Quantity: a signed decimal with an optional binary/decimal SI suffix or
# exponent. Negative quantities make no sense for requests/limits, so the sign is not accepted.
_QUANTITY = re.compile(r"^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?\d+)?\Z")
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\Z")


def matcher(pattern: re.Pattern[str], what: str, max_length: int | None = None) -> Check:
    """The check of a value that must match `pattern` (and be at most `max_length` long): it
    refuses any other with "'<value>' is not <what>"."""

    def check(value: str) -> str:
        if (max_length is not None and len(value) > max_length) or not pattern.match(value):
            raise ValueError(f"'{value}' is not {what}")
        return value

    return check


_dns_label = matcher(
    _DNS_LABEL,
    "a valid DNS label (lowercase letters, digits and '-', starting with a letter, ending "
    "with a letter or digit, at most 63 characters)",
)
_dns_subdomain = matcher(
    _DNS_SUBDOMAIN,
    "a valid DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)",
    max_length=253,
)


def _hostname(value: str) -> str:
    if "://" in value or "/" in value:
        raise ValueError(
            f"'{value}' is a URL, not a hostname: give only the host, e.g. 'shop.example.com'"
        )
    if value.startswith("*"):
        raise ValueError(
            f"'{value}' is a wildcard: Let's Encrypt HTTP-01 cannot issue wildcard certificates"
        )
    if value != value.lower():
        raise ValueError(f"'{value}' must be lowercase")
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(_HOST_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(
            f"'{value}' is not a fully qualified hostname (at least two dot-separated labels of "
            "lowercase letters, digits and '-', not an IP address)"
        )
    return value


def _port_name(value: str) -> str:
    if not _PORT_NAME.match(value) or not any(c.isalpha() for c in value) or "--" in value:
        raise ValueError(
            f"'{value}' is not a valid port name (IANA service name: at most 15 lowercase "
            "letters, digits and '-', with at least one letter)"
        )
    return value


_env_name = matcher(
    _ENV_NAME,
    "a valid environment variable name (letters, digits and '_', not starting with a digit)",
)


MAX_PROCESS_TEXT = 32 * 1024
"""The longest env value or command argument: the pod spec stays far below the API server's
object size, and a larger value belongs in a mounted file."""


def _process_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("holds a NUL character, which no environment or argument can carry")
    if len(value) > MAX_PROCESS_TEXT:
        raise ValueError(
            f"is {len(value)} characters long; at most {MAX_PROCESS_TEXT} (mount a larger value "
            "as a file)"
        )
    return value


def _repository(value: str) -> str:
    if ":" in value.split("/")[-1] or "@" in value:
        raise ValueError(
            f"'{value}' must be the repository only: put the tag in 'tag' and the digest in "
            "'digest'"
        )
    if len(value) > 255 or not _REPOSITORY.match(value):
        raise ValueError(f"'{value}' is not a valid image repository (e.g. 'ghcr.io/acme/web')")
    return value


_tag = matcher(
    _TAG,
    "a valid image tag (letters, digits, '_', '.', '-', at most 128 characters, not starting "
    "with '.' or '-')",
)
_digest = matcher(_DIGEST, "a valid digest (expected 'sha256:' and 64 hex digits)")


# Above this, a quantity is a typo or an attack, not a size: 8Pi of memory or 2^53 cores. It
# also keeps every sum the base derives from quantities (quotas) a finite number.
QUANTITY_MAX = 2**53


def _quantity(value: str) -> str:
    if len(value) > 64 or not _QUANTITY.match(value):
        raise ValueError(
            f"'{value}' is not a valid Kubernetes quantity (e.g. '250m', '0.5', '128Mi', '1Gi')"
        )
    if not math.isfinite(number := quantity_value(value)) or number > QUANTITY_MAX:
        raise ValueError(f"'{value}' is too large a quantity (at most 2^53, e.g. '8Pi')")
    return value


def _http_path(value: str) -> str:
    if not _HTTP_PATH.match(value):
        raise ValueError(f"'{value}' is not a valid HTTP path (must start with '/', no spaces)")
    return value


def _abs_path(value: str) -> str:
    if not value.startswith("/") or "\x00" in value or ":" in value:
        raise ValueError(f"'{value}' is not an absolute path")
    return value


def _cron(value: str) -> str:
    problem = cron_problem(value)
    if problem is not None:
        space = " " if problem.startswith("(") else ""
        raise ValueError(f"'{value}' is not a valid cron schedule{space}{problem}")
    return value


def _time_zone(value: str) -> str:
    problem = time_zone_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _annotations(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        problem = annotation_key_problem(key)
        if problem is not None:
            raise ValueError(problem)
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
Hostname = Annotated[str, AfterValidator(_hostname)]
PortName = Annotated[str, AfterValidator(_port_name)]
EnvName = Annotated[str, AfterValidator(_env_name)]
ProcessText = Annotated[str, AfterValidator(_process_text)]
"""An env value, or an item of a command or its arguments."""
ImageRepository = Annotated[str, AfterValidator(_repository)]
ImageTag = Annotated[str, AfterValidator(_tag)]
ImageDigest = Annotated[str, AfterValidator(_digest)]
Quantity = Annotated[str, AfterValidator(_quantity)]
HttpPath = Annotated[str, AfterValidator(_http_path)]
AbsolutePath = Annotated[str, AfterValidator(_abs_path)]
CronSchedule = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Annotations = Annotated[dict[str, str], AfterValidator(_annotations)]


@dataclass(frozen=True)
class ImageParts:
    repository: str
    tag: str | None
    digest: str | None


def split_image(reference: str) -> ImageParts:
    """`repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`; a registry port is not a tag."""
    name, at, digest = reference.partition("@")
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageParts(name, tag, digest if at else None)


def _image_reference(value: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"'{value}' is not a valid image reference: it contains whitespace")
    parts = split_image(value)
    for check, part in (
        (_repository, parts.repository),
        (_tag, parts.tag),
        (_digest, parts.digest),
    ):
        if part is not None:
            try:
                check(part)
            except ValueError as exc:
                raise ValueError(f"'{value}' is not a valid image reference: {exc}") from None
    if parts.tag is None and parts.digest is None:
        raise ValueError(
            f"'{value}' has neither a tag nor a digest: pin one, e.g. '{value}:1.0.0' or "
            f"'{value}@sha256:<64 hex digits>'"
        )
    return value


ImageReference = Annotated[str, AfterValidator(_image_reference)]
"""A full image reference with a tag, a digest or both, as the payload gives it."""
PodSecurityLevel = Literal["restricted", "baseline", "privileged"]
"""A Pod Security Standard, as a namespace's pod-security.kubernetes.io labels name it."""

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}


def quantity_value(quantity: str) -> float:
    """The numeric value of a Kubernetes quantity, for comparisons such as requests <= limits."""
    match = _QUANTITY.match(quantity)
    if not match:
        raise ValueError(f"'{quantity}' is not a valid Kubernetes quantity")
    number = float(match.group(1))
    suffix = match.group(3) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return float(quantity)  # exponent form such as '1e3'


def above_limit(
    requests: Mapping[str, str | None], limits: Mapping[str, str | None]
) -> tuple[str, str, str] | None:
    """The first resource (cpu, memory) whose request is above its limit, as (resource,
    request, limit): what the API server refuses in a container or a LimitRange."""
    for key in ("cpu", "memory"):
        request, limit = requests.get(key), limits.get(key)
        if request and limit and quantity_value(request) > quantity_value(limit):
            return key, request, limit
    return None


def _integer(value: object) -> object:
    """Refuse what pydantic's Literal[1] would take for 1: 1.0 and true."""
    if type(value) is not int:
        raise ValueError(f"input should be the integer 1, got {value!r}")
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_integer)]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"'{value}' is not an address range: give one like '10.0.5.0/24' or '2001:db8::/32'"
        ) from None
    if "/" not in value:
        raise ValueError(f"'{value}' has no prefix length: give '{network}'")
    if str(network) != value:
        raise ValueError(f"'{value}' has host bits set: did you mean '{network}'?")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
