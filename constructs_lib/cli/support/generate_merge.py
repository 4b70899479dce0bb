"""How `generate` combines a payload's services with what the config already says.

Precedence, per service of the same name and workload type:
- keys the payload carries win; keys it does not carry keep the config's value (set by hand).
  A version 1 payload carries every key, as it always did: its services replace the config's
  whole (only `image.envs` and `image.pull_policy` are kept). A version 1 app cannot say what
  it leaves out, and keeping part of a hand-written service beside a payload's new values can
  break a rule that spans both (autoscaling on CPU without a CPU request, say);
- the image: an app already in the config keeps the image it runs (what `set-image` and
  `promote` wrote) unless the payload marks the image as new (`new_image: true` in a version 2
  payload; a version 1 payload always carries its image as new, as it always did), or names
  another repository. Per-environment overrides (`image.envs`) are always kept, so a new
  image rolls the environments without one and leaves a held environment where it is;
- held environments (the config's `promotion.held`, default prod): a service the config does
  not have yet (or whose workload type or repository changes) gets a pin in each of them to
  the payload's image, so its first deploy runs everywhere and later image changes stop short
  of them until promoted. A service the config already has keeps the pins it has, and gets
  none added.
A service whose workload type changes starts from the payload alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from constructs_lib.model.payload import AnyPayload, Payload
from constructs_lib.model.service import Service
from constructs_lib.model.workload_kinds import DEFAULT_KIND, OPTIONS

_ORDER = list(Service.model_fields)


def merge_services(
    payload: AnyPayload,
    services: Sequence[dict[str, Any]],
    existing: Sequence[Any],
    held: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """`services` (from the payload) with the existing config's hand-set keys and images;
    a service new to the config pinned in each `held` environment."""
    by_name: dict[str, Mapping[str, Any]] = {
        s["name"]: s for s in existing if isinstance(s, Mapping) and isinstance(s.get("name"), str)
    }
    v1 = isinstance(payload, Payload)
    new_image = {a.name: v1 or getattr(a, "new_image", True) for a in payload.deployed_apps}
    out = []
    for service in services:
        old = by_name.get(service["name"])
        if old is None or old.get("type", DEFAULT_KIND) != service.get("type", DEFAULT_KIND):
            out.append(_held(service, held))
            continue
        merged = dict(service)
        kept = {} if v1 else {k: v for k, v in old.items() if k not in merged}
        if not v1:  # a kind's options merge option by option
            for section in OPTIONS.keys() & merged.keys():
                if isinstance(old.get(section), Mapping):
                    merged[section] = {**old[section], **merged[section]}
        if _same_repository(service["image"], old.get("image")):
            merged["image"] = _image(service["image"], old["image"], new_image[service["name"]])
        else:  # another image altogether: new to every environment, held ones pinned
            merged = _held(merged, held)
        if kept:  # in the config's key order, as a person writes them
            merged |= kept
            merged = {k: merged[k] for k in sorted(merged, key=_position)}
        out.append(merged)
    return out


def _position(key: str) -> int:
    return _ORDER.index(key) if key in _ORDER else len(_ORDER)


def _held(service: dict[str, Any], held: Sequence[str]) -> dict[str, Any]:
    """The service with its image pinned in each held environment to the image it names."""
    if not held:
        return service
    image = service["image"]
    pin = {k: image[k] for k in ("tag", "digest") if image.get(k) is not None}
    return service | {"image": image | {"envs": {env: dict(pin) for env in held}}}


def _same_repository(new: Mapping[str, Any], old: Any) -> bool:
    return isinstance(old, Mapping) and old.get("repository") == new["repository"]


def _image(new: dict[str, Any], old: Mapping[str, Any], is_new: bool) -> dict[str, Any]:
    image = dict(new) if is_new else dict(old)
    if not is_new:
        return image
    for key in ("pull_policy", "envs"):  # never carried by a payload
        if key in old:
            image[key] = old[key]
    return image
