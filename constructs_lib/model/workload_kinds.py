"""The workload kinds: one entry per kind a service can be (`services[].type`).

Everything that differs between kinds is read from `KINDS`: the values `type` takes, which
service fields and option sections each kind accepts (the rules of `service.Service`), the
most pods it runs (the namespace's quota), the Kubernetes kind and apiVersion its construct
renders, and so the kinds the app's AppProject allows. Each kind's own options are nested
under it (`cronjob:`, `job:`), as the kind's Kubernetes spec nests them.

A new kind is one entry here (with its options model, if it has options), the options'
section in `service.Service`, and its construct in `constructs/workloads/`: CONTRIBUTING.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from constructs_lib.model.base import Model
from constructs_lib.model.kube_rules import (
    CRONJOB_NAME_MAX,
    INT32_MAX,
    INT64_MAX,
    STATEFULSET_NAME_MAX,
)
from constructs_lib.model.value_types import CronSchedule, TimeZone

# --- the options of a kind ---------------------------------------------------------------------


class CronJobOptions(Model):
    """When a CronJob runs, and what happens to runs that overlap or start late."""

    schedule: CronSchedule = Field(description="Five-field cron or a macro (@daily).")
    time_zone: TimeZone | None = Field(
        None,
        description="IANA time zone of the schedule, e.g. Europe/Paris. Default: the cluster's.",
    )
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = Field(
        "Forbid", description="Whether a run may start while the last one runs. Default: Forbid."
    )
    successful_jobs_history_limit: int = Field(
        3, ge=0, le=INT32_MAX, description="Finished Jobs kept. Default: 3."
    )
    failed_jobs_history_limit: int = Field(
        1, ge=0, le=INT32_MAX, description="Failed Jobs kept. Default: 1."
    )
    starting_deadline_seconds: int | None = Field(
        300,
        ge=10,
        le=INT64_MAX,
        description="Skip a run that cannot start within this many seconds (after a controller "
        "outage, a late run is skipped instead of piling up). null: no deadline. Default: 300.",
    )
    suspend: bool = Field(False, description="Pause the schedule. Default: false.")


class JobOptions(Model):
    """How a Job runs its pod: a Job's, and each Job a CronJob starts."""

    backoff_limit: int = Field(
        2, ge=0, le=INT32_MAX, description="Retries of a failed Job. Default: 2."
    )
    active_deadline_seconds: int | None = Field(
        None, ge=1, le=INT64_MAX, description="Kill a Job running longer. Default: no deadline."
    )
    restart_policy: Literal["OnFailure", "Never"] = Field(
        "OnFailure", description="Restart policy of the Job's pod. Default: OnFailure."
    )


# Every option section by its key under `services[]`; a kind names the ones it takes.
OPTIONS: dict[str, type[Model]] = {"cronjob": CronJobOptions, "job": JobOptions}


# --- the kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadKind:
    """One kind of workload, and what a service of that kind takes."""

    kind: str
    """The Kubernetes kind, and the config's `type`."""
    api_version: str
    summary: str
    """What it is for, as the config reference says it."""
    serves: bool = False
    """A Service in front of its ports, an Ingress, readiness and startup probes."""
    scales: bool = False
    """A HorizontalPodAutoscaler."""
    disruption_budget: bool = False
    """A PodDisruptionBudget."""
    replicas: bool = False
    """Takes `replicas`; a kind without runs one pod at a time."""
    surge_percent: int = 0
    """Pods a rolling update adds on top of the replicas, in percent of them, rounded up."""
    options: tuple[str, ...] = ()
    """Its option sections (keys of OPTIONS); a section it takes is always there, with its
    defaults, so one with a required field is required."""
    name_max: int = 63
    """The longest name Kubernetes can run it under."""
    name_max_why: str = ""
    """Why the name is shorter than a DNS label, when it is."""
    pod_spec: tuple[str, ...] = ("spec", "template", "spec")
    """Where its pod spec is in the object (the synth's pod checks look there)."""
    takes: frozenset[str] = field(init=False)
    """The service fields of FIELD_GATES and the sections it takes."""
    refuses: tuple[str, ...] = field(init=False)
    """The others: what a service of this kind may not set."""

    def __post_init__(self) -> None:
        takes = {f for f, gate in FIELD_GATES.items() if getattr(self, gate)}
        object.__setattr__(self, "takes", frozenset(takes | set(self.options)))
        refuses = tuple(k for k in (*FIELD_GATES, *OPTIONS) if k not in self.takes)
        object.__setattr__(self, "refuses", refuses)

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    def max_pods(self, replicas: int | None, max_replicas: int | None) -> int:
        """The most pods it runs at once: `replicas` (None: DEFAULT_REPLICAS), or
        `max_replicas` with an autoscaler, plus a rolling update's surge; one for a kind
        without replicas (a CronJob's runs do not overlap unless its concurrency_policy says
        so, which the quota does not count)."""
        if not self.replicas:
            return 1
        if max_replicas is not None:
            pods = max_replicas
        else:
            pods = DEFAULT_REPLICAS if replicas is None else replicas
        return pods + -(-pods * self.surge_percent // 100)


# Service fields only some kinds take, each with the WorkloadKind attribute that says which.
FIELD_GATES = {
    "replicas": "replicas",
    "ingress": "serves",
    "probes.readiness": "serves",
    "probes.startup": "serves",
    "autoscaling": "scales",
    "disruption_budget": "disruption_budget",
}

KINDS: dict[str, WorkloadKind] = {
    k.kind: k
    for k in (
        WorkloadKind(
            "Deployment",
            "apps/v1",
            "long-running work",
            serves=True,
            scales=True,
            disruption_budget=True,
            replicas=True,
            surge_percent=25,  # Kubernetes' default maxSurge
        ),
        WorkloadKind(
            "StatefulSet",
            "apps/v1",
            "long-running work with stable pod names",
            serves=True,
            scales=True,
            disruption_budget=True,
            replicas=True,  # replaced one pod at a time: no surge
            name_max=STATEFULSET_NAME_MAX,
            name_max_why="its pods' controller-revision-hash label adds 11 to it and must fit 63",
        ),
        WorkloadKind(
            "CronJob",
            "batch/v1",
            "scheduled work",
            options=("cronjob", "job"),
            name_max=CRONJOB_NAME_MAX,
            name_max_why="its Jobs add 11 to it and must fit 63",
            pod_spec=("spec", "jobTemplate", "spec", "template", "spec"),
        ),
        WorkloadKind("Job", "batch/v1", "one-off work", options=("job",)),
    )
}
DEFAULT_KIND = "Deployment"
# The replica count of a kind that takes replicas, when neither `replicas` nor an autoscaler
# says otherwise.
DEFAULT_REPLICAS = 1

if TYPE_CHECKING:
    WorkloadType = str
else:
    WorkloadType = Literal[tuple(KINDS)]


def takers(key: str) -> str:
    """The kinds that take a service field or section: 'Deployment or StatefulSet'."""
    names = [k.kind for k in KINDS.values() if key in k.takes]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def refusal(kind: WorkloadKind, key: str) -> str:
    """Why a service of `kind` may not set `key`, one of `kind.refuses`."""
    return f"{key}: only for type {takers(key)}, not {kind.kind}"
