"""The catalogue of workload kinds: what each kind takes, and what derives from it."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from constructs_lib.model.service import Service
from constructs_lib.model.workload_kinds import (
    FIELD_GATES,
    KINDS,
    OPTIONS,
    refusal,
    takers,
)


def test_the_config_type_is_the_catalogue() -> None:
    assert typing.get_args(Service.model_fields["type"].annotation) == tuple(KINDS)
    schema = Service.model_json_schema()["properties"]["type"]
    assert schema["enum"] == list(KINDS)


def test_every_option_section_is_a_service_field_of_its_model() -> None:
    for section, model in OPTIONS.items():
        assert section in Service.model_fields, section
        assert model in typing.get_args(Service.model_fields[section].annotation), section
    for kind in KINDS.values():
        assert set(kind.options) <= set(OPTIONS), kind.kind


def test_every_gated_field_is_a_service_field() -> None:
    for path in FIELD_GATES:
        model: type[BaseModel] = Service
        *parents, last = path.split(".")
        for name in parents:
            annotation = model.model_fields[name].annotation
            assert isinstance(annotation, type) and issubclass(annotation, BaseModel), path
            model = annotation
        assert last in model.model_fields, path


@pytest.mark.parametrize(
    ("kind", "replicas", "max_replicas", "pods"),
    [
        ("Deployment", None, None, 2),  # one replica and a rollout's surge
        ("Deployment", 4, None, 5),
        ("Deployment", 2, 6, 8),  # the autoscaler's most, plus 25 % rounded up
        ("StatefulSet", 4, None, 4),  # replaced one at a time
        ("StatefulSet", 1, 7, 7),
        ("CronJob", None, None, 1),
        ("Job", None, None, 1),
    ],
)
def test_pods_per_kind(
    kind: str, replicas: int | None, max_replicas: int | None, pods: int
) -> None:
    assert KINDS[kind].max_pods(replicas, max_replicas) == pods


def test_which_kinds_take_what() -> None:
    assert takers("replicas") == "Deployment or StatefulSet"
    assert takers("job") == "CronJob or Job"
    assert takers("cronjob") == "CronJob"
    assert refusal(KINDS["Job"], "replicas") == (
        "replicas: only for type Deployment or StatefulSet, not Job"
    )
    assert "job" not in KINDS["CronJob"].refuses
    assert KINDS["Deployment"].refuses == ("cronjob", "job")
    assert (
        refusal(KINDS["Deployment"], "cronjob") == "cronjob: only for type CronJob, not Deployment"
    )


def test_a_kind_is_its_kubernetes_kind() -> None:
    assert {(k.group, k.kind) for k in KINDS.values()} == {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("batch", "CronJob"),
        ("batch", "Job"),
    }
