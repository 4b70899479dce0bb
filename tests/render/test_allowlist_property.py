"""The trust rule set as a property, over generated cases rather than a list:

- patches: for every object the dev environment renders (every folder and root.yaml), as
  shipped and with every option on (sealed-secrets, a self-managed Argo CD), and every field
  path in it, a patch that changes it (a scalar replaced, a key added to a mapping, an
  item added to a list) and one that removes it; each field the lists allow on it, set
  (parents added where missing); plus the object turned into a List, its kind's case and
  its apiVersion changed;
- manifests: for every kind the API server serves (its OpenAPI definitions, as the synth's
  schema check reads them) and every version of every pinned CRD, a manifest that adds it, in
  every folder, also as an item of each List shape, with its kind's case changed and with
  every other apiVersion.

The synth's policy (constructs_lib/render/policy.py) must refuse each case the lists of
constructs/trust_rules.py do not allow, naming the field, and accept each case they do. The
oracle is independent of the policy's diff: a patch is allowed when every scalar it changes
lies at or below a listed field of its kind, and every mapping or list it adds, removes or
resizes lies there or on the way to one. A deterministic sample also goes through the whole overlay
path (trace_overlay, findings, check), as `make synth` runs it.
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from constructs_lib.compose.build import build
from constructs_lib.compose.layout import ROOT_FILE, RenderedEnv
from constructs_lib.constructs.trust_rules import (
    ADDABLE,
    ANNOTATION,
    BASE_OWNED,
    CHART_VALUE,
    HELM_VALUES,
    INDEX,
    PATCHABLE,
    SAFE_ANNOTATIONS,
    patterns,
)
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.render.json_patch import apply_patch
from constructs_lib.render.overlays import (
    Change,
    Operation,
    Overlay,
    OverlayError,
    PatchEntry,
    Target,
    _objects_of,
    trace_overlay,
)
from constructs_lib.render.policy import (
    Context,
    added_findings,
    change_findings,
    check,
    context_of,
    findings,
    object_findings,
    pointer,
)
from constructs_lib.render.schema_check import NEWEST, validate_manifest
from tests.support.allowlist_cases import (
    case_variants,
    list_variants,
    manifest,
    served_kinds,
    version_variants,
)

# How many generated cases of each generator also go the whole overlay path (about 10 ms
# each; all of them would take minutes).
WHOLE_PATH_SAMPLE = 250
FOLDERS = ("app", "platform", "argocd")
REFUSED = ("policy", "overlay")


def _matches(pattern: tuple[str, ...], tokens: tuple[str, ...]) -> bool:
    return all(
        (p == INDEX and t.isdigit()) or (p == ANNOTATION and t in SAFE_ANNOTATIONS) or p == t
        for p, t in zip(pattern, tokens, strict=False)
    )


def marks(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """What a patch can change, by path: each scalar, and each mapping's and list's being
    there (a list with its length)."""
    if isinstance(value, dict):
        yield path, "<mapping>"
        for key, item in value.items():
            yield from marks(item, (*path, str(key)))
    elif isinstance(value, list):
        yield path, ("<list>", len(value))
        for i, item in enumerate(value):
            yield from marks(item, (*path, str(i)))
    else:
        yield path, (type(value).__name__, value)


def is_container(mark: Any) -> bool:
    return mark == "<mapping>" or (isinstance(mark, tuple) and mark[0] == "<list>")


@dataclass(frozen=True)
class PatchCase:
    folder: str
    obj: dict[str, Any]
    ops: list[dict[str, Any]]
    changed: tuple[str, ...]
    """The field the patch changes (the policy's change point)."""
    what: str

    @property
    def allowed(self) -> bool:
        """The oracle, on what changes rather than on the policy's diff: every scalar that
        changes lies at or below a listed field of the kind, and every mapping or list that
        appears, disappears or changes length lies there or on the way to one."""
        if self.folder == ROOT_FILE:
            return False
        allowed = patterns(self.obj["kind"], self.obj["metadata"]["name"])
        before = dict(marks(self.obj))
        after = dict(marks(apply_patch(self.obj, self.ops)))
        for path in before.keys() | after.keys():
            was, now = before.get(path), after.get(path)
            if was == now:
                continue
            fits = [q for q in allowed if _matches(q, path)]
            if any(len(q) <= len(path) for q in fits):
                continue  # at or below a listed field
            if fits and all(m is None or is_container(m) for m in (was, now)):
                continue  # a mapping or list on the way to one
            return False
        return True


def nodes(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every field path of an object, containers and scalars alike."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from nodes(item, (*path, str(i)))


def changed_scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "generated"
    return f"{value}-changed" if value else "generated"


SAMPLE_VALUES: dict[str, Any] = {
    "replicas": 3,
    "replicaCount": 3,
    "minReplicas": 2,
    "maxReplicas": 5,
    "minAvailable": 1,
    "maxUnavailable": 1,
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}
                        ]
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
        }
    ],
    "rotationPollInterval": "5m",
    "priorityClassName": "system-cluster-critical",
}
"""A valid value of each field a patch may set, by its last token."""


def listed_fields(obj: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Each field the lists allow on `obj` that a patch can reach: `*` as each index the
    object has (none: the field is out of reach without adding an item), `<annotation>` as
    each safe annotation."""

    def expand(
        pattern: tuple[str, ...], node: Any, done: tuple[str, ...]
    ) -> Iterator[tuple[str, ...]]:
        if not pattern:
            yield done
            return
        token, rest = pattern[0], pattern[1:]
        below = node if isinstance(node, (dict, list)) else None
        if token == INDEX:
            for i, item in enumerate(below if isinstance(below, list) else []):
                yield from expand(rest, item, (*done, str(i)))
        elif token == ANNOTATION:
            for key in SAFE_ANNOTATIONS:
                yield from expand(rest, None, (*done, key))
        else:
            yield from expand(
                rest, below.get(token) if isinstance(below, dict) else None, (*done, token)
            )

    for pattern in patterns(obj["kind"], obj["metadata"]["name"]):
        yield from expand(pattern, obj, ())


def set_listed(
    obj: dict[str, Any], field: tuple[str, ...]
) -> tuple[list[dict[str, Any]], tuple[str, ...]] | None:
    """The patch that sets `field` (its parents added as needed) and the change point, or
    None when a parent is no mapping."""
    node: Any = obj
    depth = 0
    while depth < len(field) and isinstance(node, dict) and field[depth] in node:
        node = node[field[depth]]
        depth += 1
    value: Any = SAMPLE_VALUES.get(field[-1], "generated")
    if depth == len(field):
        return [{"op": "replace", "path": pointer(field), "value": value}], field
    if not isinstance(node, dict):
        return None
    for token in reversed(field[depth + 1 :]):
        value = {token: value}
    at = field[: depth + 1]
    return [{"op": "add", "path": pointer(at), "value": value}], at


def _parent(obj: Any, path: tuple[str, ...]) -> Any:
    for token in path[:-1]:
        obj = obj[int(token)] if isinstance(obj, list) else obj[token]
    return obj


def patch_cases(env: RenderedEnv) -> Iterator[PatchCase]:
    objects = [(f, o) for f, objs in env.folders.items() for o in objs]
    objects += [(ROOT_FILE, o) for o in env.root]
    for folder, obj in objects:
        label = f"{folder}: {obj['kind']} {obj['metadata']['name']}"
        for path, value in nodes(obj):
            if not path:
                continue
            where = pointer(path)
            if isinstance(value, dict):
                key = "team" if path[-1] == "annotations" else "generated"
                ops = [{"op": "add", "path": pointer((*path, key)), "value": "generated"}]
                yield PatchCase(folder, obj, ops, (*path, key), f"{label}: add {where}/{key}")
            elif isinstance(value, list):
                item = copy.deepcopy(value[-1]) if value else "generated"
                ops = [{"op": "add", "path": f"{where}/-", "value": item}]
                yield PatchCase(folder, obj, ops, path, f"{label}: append to {where}")
            else:
                ops = [{"op": "replace", "path": where, "value": changed_scalar(value)}]
                yield PatchCase(folder, obj, ops, path, f"{label}: replace {where}")
            # And the field removed: a list item's removal changes the list's length.
            ops = [{"op": "remove", "path": where}]
            point = path[:-1] if isinstance(_parent(obj, path), list) else path
            yield PatchCase(folder, obj, ops, point, f"{label}: remove {where}")
        # Each field the lists allow, set (its parents added where missing).
        for field in listed_fields(obj):
            found = set_listed(obj, field)
            if found is not None:
                ops, point = found
                yield PatchCase(folder, obj, ops, point, f"{label}: set {pointer(field)}")
        # The object's kind in another case, its apiVersion another version.
        kind = obj["kind"].swapcase()
        ops = [{"op": "replace", "path": "/kind", "value": kind}]
        yield PatchCase(folder, obj, ops, ("kind",), f"{label}: kind {kind}")
        version = obj["apiVersion"].rsplit("/", 1)[0] + "/v9"
        ops = [{"op": "replace", "path": "/apiVersion", "value": version}]
        yield PatchCase(folder, obj, ops, ("apiVersion",), f"{label}: apiVersion {version}")


def every_option(cluster: ClusterSettings) -> ClusterSettings:
    """`cluster` with each optional object of the base rendered."""
    argocd = cluster.argocd.model_copy(update={"self_managed": True})
    return cluster.model_copy(update={"sealed_secrets": True, "argocd": argocd})


@pytest.fixture(scope="module")
def rendered(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> tuple[RenderedEnv, Context]:
    env = build(example_config, dev_cluster)
    return env, context_of(env, example_config, dev_cluster)


@pytest.fixture(scope="module", params=["as shipped", "every option"])
def variants(
    request: pytest.FixtureRequest,
    rendered: tuple[RenderedEnv, Context],
    example_config: AppConfig,
    dev_cluster: ClusterSettings,
) -> tuple[RenderedEnv, Context]:
    """dev as shipped, and with every optional object rendered."""
    if request.param == "as shipped":
        return rendered
    cluster = every_option(dev_cluster)
    env = build(example_config, cluster)
    return env, context_of(env, example_config, cluster)


def judge_patch(case: PatchCase, ctx: Context) -> list[str]:
    """The policy's findings for one patch: the change's and the changed object's."""
    after = apply_patch(case.obj, case.ops)
    change = Change(case.what, case.folder, case.obj, after)
    found = change_findings(change, ctx) + object_findings("dist", after, ctx)
    return [f"{f.rule} {f.field}" for f in found]


def test_every_field_of_every_rendered_object(
    variants: tuple[RenderedEnv, Context], record_property: Any
) -> None:
    env, ctx = variants
    started = time.monotonic()
    cases = list(patch_cases(env))
    allowed = refused = 0
    wrong = []
    for case in cases:
        got = judge_patch(case, ctx)
        if case.allowed:
            allowed += 1
            if got:
                wrong.append(f"{case.what}: refused, allowed by the list: {got}")
        else:
            refused += 1
            if f"patch {pointer(case.changed)}" not in got:
                wrong.append(f"{case.what}: not refused at {pointer(case.changed)}: {got}")
    elapsed = time.monotonic() - started
    record_property("patch cases", len(cases))
    print(
        f"\n[allowlist] {len(cases)} patch cases ({allowed} allowed, {refused} refused) "
        f"in {elapsed:.1f}s"
    )
    assert wrong == []
    assert allowed and refused  # both sides are exercised
    assert {c.folder for c in cases} == {*FOLDERS, ROOT_FILE}


def test_the_base_owned_kinds_take_no_patch_and_no_manifest() -> None:
    """Applications (an add-on's Helm values aside), AppProjects, Namespaces and the guards:
    no list names them, whatever the lists grow into."""
    for kind in BASE_OWNED:
        assert all(k != kind for kinds in ADDABLE.values() for _, k in kinds), kind
        allowed = PATCHABLE.get(kind, ())
        assert allowed in ((), (f"{HELM_VALUES}/{CHART_VALUE}",)), (kind, allowed)


def test_an_object_turned_into_a_list_is_refused(variants: tuple[RenderedEnv, Context]) -> None:
    """Each object the base renders, replaced by a List that holds it, through the overlay."""
    env, _ = variants
    objects = [o for objs in env.folders.values() for o in objs] + list(env.root)
    count = 0
    for obj in objects:
        for _, wrapped in list_variants(obj):
            entry = PatchEntry(
                target=Target(
                    kind=obj["kind"],
                    name=obj["metadata"]["name"],
                    namespace=obj["metadata"].get("namespace"),
                ),
                patch=[Operation(op="replace", path="", value=wrapped)],
            )
            overlay = Overlay("dev", ctx_dir(), None, [entry], {})
            with pytest.raises(OverlayError) as caught:
                trace_overlay(env, overlay)
            assert "after the patch: a List" in caught.value.problems[0], caught.value.problems
            count += 1
    print(f"\n[allowlist] {count} patches turning an object into a List")


def ctx_dir() -> Any:
    from constructs_lib.paths import ROOT

    return ROOT / "overlays" / "dev"


@dataclass(frozen=True)
class AddCase:
    folder: str
    document: dict[str, Any]
    api_version: str
    kind: str
    what: str
    variant: str
    """plain, List, case or version."""

    @property
    def allowed(self) -> bool:
        return (self.api_version, self.kind) in ADDABLE[self.folder]


def add_cases(namespace: str) -> Iterator[AddCase]:
    kinds = served_kinds()
    for api_version, kind in kinds:
        for folder in FOLDERS:
            obj = manifest(api_version, kind, namespace)
            label = f"{folder}/: {api_version} {kind}"
            yield AddCase(folder, obj, api_version, kind, label, "plain")
            for shape, wrapped in list_variants(obj):
                what = f"{label} in a {shape}"
                yield AddCase(folder, wrapped, api_version, kind, what, "List")
            for other in case_variants(kind):
                odd = {**obj, "kind": other}
                what = f"{label} as kind {other}"
                yield AddCase(folder, odd, api_version, other, what, "case")
            for version in version_variants(api_version, kind, kinds):
                odd = {**obj, "apiVersion": version}
                yield AddCase(folder, odd, version, kind, f"{label} as {version}", "version")


def test_every_kind_the_api_server_serves_in_every_folder(
    rendered: tuple[RenderedEnv, Context], record_property: Any
) -> None:
    _, ctx = rendered
    started = time.monotonic()
    cases = list(add_cases(ctx.app_namespace))
    counts = {"allowed": 0, "refused": 0}
    wrong = []
    for case in cases:
        problems: list[str] = []
        objects = _objects_of(case.document, case.what, problems)  # the loader: Lists flattened
        assert problems == [] and len(objects) == 1, (case.what, problems)
        ((where, obj),) = objects
        added = added_findings(where, case.folder, obj, ctx)
        if case.allowed:
            counts["allowed"] += 1
            content = object_findings(where, obj, ctx)
            schema = validate_manifest(obj, NEWEST)
            if added or content or schema:
                wrong.append(f"{case.what}: refused, allowed by the list: {added}{content}{schema}")
        else:
            counts["refused"] += 1
            if not any(f.rule == "add" and f.field == "" for f in added):
                wrong.append(f"{case.what}: not refused: {added}")
    elapsed = time.monotonic() - started
    record_property("manifest cases", len(cases))
    kinds = len(served_kinds())
    variants = dict(Counter(c.variant for c in cases))
    print(
        f"\n[allowlist] {len(cases)} manifest cases over {kinds} kinds x {len(FOLDERS)} "
        f"folders {variants} ({counts['allowed']} allowed, {counts['refused']} refused) "
        f"in {elapsed:.1f}s"
    )
    assert wrong == []
    plain = {(c.folder, c.api_version, c.kind) for c in cases if c.allowed}
    assert plain == {(f, v, k) for f, kinds in ADDABLE.items() for v, k in kinds}


def test_a_sample_takes_the_whole_overlay_path(
    rendered: tuple[RenderedEnv, Context], example_config: AppConfig
) -> None:
    """The same verdicts through trace_overlay, findings and check, as `make synth` runs them:
    a deterministic sample of the patch and manifest cases (all of them would take minutes)."""
    env, ctx = rendered
    rng = random.Random(20)
    patches = rng.sample(list(patch_cases(env)), WHOLE_PATH_SAMPLE)
    adds = rng.sample(list(add_cases(ctx.app_namespace)), WHOLE_PATH_SAMPLE)
    verdicts: Counter[str] = Counter()
    for case in patches:
        metadata = case.obj["metadata"]
        entry = PatchEntry(
            target=Target(
                kind=case.obj["kind"], name=metadata["name"], namespace=metadata.get("namespace")
            ),
            patch=[Operation(**op) for op in case.ops],
        )
        overlay = Overlay("dev", ctx_dir(), None, [entry], {})
        verdict = whole_path(env, example_config, ctx, overlay)
        verdicts[f"patch {verdict}"] += 1
        # A change the list allows may still not fit the schema (a key added to `resources`):
        # the overlay refuses it before the policy, which is not what this test is about.
        expected: tuple[str, ...] = ("accepted", "overlay") if case.allowed else REFUSED
        assert verdict in expected, (case.what, verdict)
    for added in adds:
        documents = _objects_of(added.document, added.what, [])
        overlay = Overlay("dev", ctx_dir(), None, [], {added.folder: documents})
        verdict = whole_path(env, example_config, ctx, overlay)
        verdicts[f"manifest {verdict}"] += 1
        expected = ("accepted",) if added.allowed else REFUSED
        assert verdict in expected, (added.what, verdict)
    print(f"\n[allowlist] whole overlay path, {2 * WHOLE_PATH_SAMPLE} sampled cases: {verdicts}")
    assert verdicts["patch accepted"] and verdicts["manifest accepted"]
    assert verdicts["patch policy"] and verdicts["manifest policy"]


def whole_path(env: RenderedEnv, config: AppConfig, ctx: Context, overlay: Overlay) -> str:
    """`accepted`, refused by the `overlay`'s own checks (schema, a List) or by the
    `policy`."""
    try:
        patched, changes = trace_overlay(env, overlay)
    except OverlayError:
        return "overlay"
    problems = check(findings(patched, changes, config, ctx), [], "allow.yaml", "dev")
    return "policy" if problems else "accepted"
