"""One entry of `services[]`: one workload, its container, its exposure and its kind's options.

The config's `services[]` and both versions of the `deployed_apps` payload map into this one
model, so each rule about a service is written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from constructs_lib.model import secret_values
from constructs_lib.model.base import Model
from constructs_lib.model.kube_rules import (
    ID_MAX,
    INT32_MAX,
    SECRET_KEY_MAX,
    ingress_path_problem,
)
from constructs_lib.model.migration import moved_in_v2
from constructs_lib.model.names import POD_VOLUMES, SECRETS_VOLUME, TMP_PATH, TMP_VOLUME
from constructs_lib.model.value_types import (
    AbsolutePath,
    Annotations,
    Cidr,
    DnsLabel,
    DnsSubdomain,
    EnvName,
    Hostname,
    HttpPath,
    ImageDigest,
    ImageRepository,
    ImageTag,
    PortName,
    ProcessText,
    Quantity,
    above_limit,
    quantity_value,
)
from constructs_lib.model.workload_kinds import (
    DEFAULT_KIND,
    DEFAULT_REPLICAS,
    KINDS,
    CronJobOptions,
    JobOptions,
    WorkloadType,
    refusal,
    takers,
)


def _not_secret_entry(value: str) -> str:
    if not re.match(secret_values.NOT_SECRET_ENTRY, value):
        raise ValueError(
            f"{value!r} is not an env var name, 'command[N]', 'args[N]' or "
            "'probes.<readiness|liveness|startup>.exec.command[N]'"
        )
    return value


NotSecretEntry = Annotated[str, AfterValidator(_not_secret_entry)]


# Suffix of the Secret the CSI driver syncs a service's env secrets into.
SYNCED_SECRET_SUFFIX = "-infisical"
# The Secret of an Ingress's certificate is `<service><TLS_SECRET_SUFFIX>` unless it says.
TLS_SECRET_SUFFIX = "-tls"
# Tags registries move on every push: an image pinned only by one of these is not reproducible.
MUTABLE_TAGS = frozenset({"latest"})
# Bounds of one resource list: far above any node (k3s or not), far below an overflow.
MAX_CPU_CORES = 10000
MAX_MEMORY_BYTES = 64 * 2**40


class ResourceList(Model):
    """CPU and memory as Kubernetes quantities."""

    cpu: Quantity | None = Field(
        None, description=f"CPU, e.g. '250m'. At most {MAX_CPU_CORES} cores."
    )
    memory: Quantity | None = Field(None, description="Memory, e.g. '256Mi'. At most 64Ti.")

    @model_validator(mode="after")
    def _bounds(self) -> ResourceList:
        if self.cpu is not None and quantity_value(self.cpu) > MAX_CPU_CORES:
            raise ValueError(f"cpu: '{self.cpu}' is more than {MAX_CPU_CORES} cores")
        if self.memory is not None and quantity_value(self.memory) > MAX_MEMORY_BYTES:
            raise ValueError(f"memory: '{self.memory}' is more than 64Ti")
        return self


class Resources(Model):
    """Container resources. Requests must not exceed limits."""

    requests: ResourceList | None = Field(
        None, description="What the scheduler reserves. Default: none (defaults.resources)."
    )
    limits: ResourceList | None = Field(
        None, description="The most the container may use. Default: none (defaults.resources)."
    )


# --- services --------------------------------------------------------------------------------


class EnvImage(Model):
    """The tag and/or digest one environment runs instead of the service's own."""

    tag: ImageTag | None = Field(None, description="Image tag in this environment.")
    digest: ImageDigest | None = Field(None, description="sha256:<64 hex> in this environment.")

    @model_validator(mode="after")
    def _tag_or_digest(self) -> EnvImage:
        if self.tag is None and self.digest is None:
            raise ValueError("set 'tag' or 'digest'")
        return self


class Image(Model):
    """Container image. CI rolls a service by editing `tag` or `digest`."""

    repository: ImageRepository = Field(
        description="Registry and repository, without tag or digest, e.g. ghcr.io/acme/web."
    )
    tag: ImageTag | None = Field(None, description="Image tag. Set tag, digest, or both.")
    digest: ImageDigest | None = Field(
        None, description="sha256:<64 hex>. Pins the exact image; wins over a moved tag."
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="Default: Kubernetes' own (IfNotPresent unless the tag is 'latest')."
    )
    allow_mutable_tag: bool = Field(
        False,
        description="Accept a tag that is moved on every push ('latest') without a digest. "
        "Default: false (refused: the same config could deploy different images).",
    )
    envs: dict[DnsLabel, EnvImage] = Field(
        default_factory=dict,
        description="Per-environment tag or digest, replacing `tag` and `digest` in that "
        "environment only: what `set-image --env` and `promote` edit. Default: none.",
    )

    @model_validator(mode="after")
    def _tag_or_digest(self) -> Image:
        if self.tag is None and self.digest is None:
            raise ValueError("set 'tag' or 'digest'")
        if self.digest is None and self.tag in MUTABLE_TAGS and not self.allow_mutable_tag:
            raise ValueError(
                f"tag '{self.tag}' is mutable: the same config could deploy a different image "
                "tomorrow; pin a digest (digest: sha256:<64 hex>, e.g. with `gitops-base "
                "set-image SERVICE@sha256:...`) or a release tag, or set "
                "allow_mutable_tag: true on this image"
            )
        for env, override in self.envs.items():
            if override.digest is None and override.tag in MUTABLE_TAGS:
                if not self.allow_mutable_tag:
                    raise ValueError(
                        f"envs.{env}: tag '{override.tag}' is mutable; pin a digest or a "
                        "release tag, or set allow_mutable_tag: true on this image"
                    )
        return self

    @property
    def reference(self) -> str:
        return _reference(self.repository, self.tag, self.digest)

    def reference_in(self, env: str) -> str:
        """The image an environment runs: its override, else `tag`/`digest`."""
        override = self.envs.get(env)
        if override is None:
            return self.reference
        return _reference(self.repository, override.tag, override.digest)


def _reference(repository: str, tag: str | None, digest: str | None) -> str:
    ref = repository
    if tag:
        ref += f":{tag}"
    if digest:
        ref += f"@{digest}"
    return ref


class Port(Model):
    """A container port, exposed by the Service on `service_port`."""

    name: PortName = Field(description="Port name, referenced by probes and the Ingress.")
    container_port: int = Field(ge=1, le=65535, description="Port the container listens on.")
    service_port: int | None = Field(
        None, ge=1, le=65535, description="Port of the Service. Default: the container port."
    )
    protocol: Literal["TCP", "UDP"] = Field("TCP", description="Default: TCP.")


PortRef = Annotated[int, Field(ge=1, le=65535)] | PortName


class HttpGet(Model):
    """An HTTP GET probe."""

    path: HttpPath = Field("/", description="Path of the HTTP GET. Default: '/'.")
    port: PortRef = Field(description="Port number or name of a declared port.")


class TcpSocket(Model):
    """A TCP connect probe."""

    port: PortRef = Field(description="Port number or name of a declared port.")


class ExecAction(Model):
    """A command probe."""

    command: list[ProcessText] = Field(min_length=1, description="Command run in the container.")


class Probe(Model):
    """Exactly one of http, tcp or exec."""

    http: HttpGet | None = Field(None, description="Healthy on an HTTP status 200-399.")
    tcp: TcpSocket | None = Field(None, description="Healthy when the port accepts a connection.")
    exec: ExecAction | None = Field(None, description="Healthy when the command exits 0.")
    initial_delay_seconds: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Default: Kubernetes' (0)."
    )
    period_seconds: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Default: Kubernetes' (10)."
    )
    timeout_seconds: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Default: Kubernetes' (1)."
    )
    failure_threshold: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Default: Kubernetes' (3)."
    )

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        return self.exactly_one("http", "tcp", "exec")


class Probes(Model):
    """Container probes. Readiness and startup are for the kinds that serve."""

    readiness: Probe | None = Field(
        None, description="Gates traffic and rollouts. Default: none (ready once started)."
    )
    liveness: Probe | None = Field(None, description="Restarts the container when it fails.")
    startup: Probe | None = Field(
        None, description="Holds the other probes until it passes, for slow starts."
    )


class SecretRef(Model):
    """One Infisical secret, delivered as a file under the secrets mount or as an env var."""

    key: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Infisical key.")
    path: AbsolutePath = Field("/", description="Infisical folder. Default: '/'.")
    env: EnvName | None = Field(None, description="Expose as this environment variable.")
    file: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Expose as this file name under `secrets_mount_path`.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> SecretRef:
        self.exactly_one("env", "file")
        if self.env is not None and len(self.env) > SECRET_KEY_MAX:
            raise ValueError(
                f"env: '{self.env}' has {len(self.env)} characters; an env secret is synced to a "
                f"Secret key of that name, which may have at most {SECRET_KEY_MAX}"
            )
        if self.file is not None and (self.file == "." or self.file.startswith("..")):
            raise ValueError(
                f"file: '{self.file}' is reserved: the volume's atomic writer uses '.', '..' and "
                "names starting with '..' (such as '..data') for its own links"
            )
        return self

    @property
    def object_name(self) -> str:
        """Name of the file the CSI provider writes; env secrets sync from it."""
        return self.file or self.env or self.key


class EmptyDir(Model):
    """A scratch volume that lives as long as the pod."""

    size_limit: Quantity | None = Field(None, description="Default: no limit.")
    medium: Literal["", "Memory"] | None = Field(
        None, description="Memory: a tmpfs, counted against the memory limit. Default: disk."
    )


class PersistentVolumeClaimRef(Model):
    """An existing PersistentVolumeClaim in the app namespace; the base does not create it."""

    claim_name: DnsSubdomain = Field(description="Name of the PersistentVolumeClaim.")


class Volume(Model):
    """A writable volume. Exactly one source: empty_dir or persistent_volume_claim."""

    name: DnsLabel = Field(
        description=f"Volume name; {' and '.join(repr(v) for v in POD_VOLUMES)} are reserved."
    )
    mount_path: AbsolutePath = Field(description="Where the volume appears in the container.")
    read_only: bool = Field(False, description="Default: false.")
    empty_dir: EmptyDir | None = Field(None, description="A scratch volume.")
    persistent_volume_claim: PersistentVolumeClaimRef | None = Field(
        None, description="An existing claim."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        return self.exactly_one("empty_dir", "persistent_volume_claim")


class IngressTls(Model):
    """TLS of one Ingress; cert-manager issues the certificate."""

    enabled: bool | None = Field(None, description="Default: the global tls.enabled.")
    secret_name: DnsSubdomain | None = Field(
        None,
        description=f"Secret cert-manager writes the certificate to. Default: "
        f"<service>{TLS_SECRET_SUFFIX}.",
    )


class Ingress(Model):
    """An Ingress with TLS for a Deployment with ports."""

    hosts: list[Hostname] = Field(
        default_factory=list,
        description="Public hostnames under `domain`; each moves onto each environment's domain.",
    )
    paths: list[HttpPath] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        description="Path prefixes (pathType Prefix): letters, digits, '.', '_', '-' and '/' "
        "only, as ingress-nginx's strict path validation requires. Default: ['/'].",
    )
    env_hosts: dict[DnsLabel, list[Hostname]] = Field(
        default_factory=dict,
        description="Hostnames outside `domain`, per environment that serves them; rendered "
        "unchanged in that environment only. Default: none.",
    )
    port: PortRef | None = Field(None, description="Service port to route to. Default: first.")
    tls: IngressTls = Field(default_factory=IngressTls, description="Default: the global tls.")
    annotations: Annotations = Field(
        default_factory=dict,
        description="Extra annotations for the controller; no `*-snippet` (ingress-nginx would "
        "run it as its own configuration). Default: none.",
    )

    def terminates_tls(self, default: bool) -> bool:
        """Whether it terminates TLS (and so needs a certificate and an ACME solver): its own
        `tls.enabled`, else `default`, the config's tls.enabled."""
        return default if self.tls.enabled is None else self.tls.enabled

    def tls_secret(self, service: str) -> str:
        """The Secret cert-manager writes the certificate of `service`'s Ingress to."""
        return self.tls.secret_name or f"{service}{TLS_SECRET_SUFFIX}"

    @model_validator(mode="after")
    def _some_host(self) -> Ingress:
        if not self.hosts and not any(self.env_hosts.values()):
            raise ValueError("set 'hosts' or 'env_hosts'")
        return self

    @model_validator(mode="after")
    def _no_snippets(self) -> Ingress:
        for key in self.annotations:
            if key.lower().endswith("snippet"):
                raise ValueError(
                    f"annotations: '{key}' is a snippet, which ingress-nginx runs as its own "
                    "configuration for every host it serves; use the controller's plain "
                    "annotations"
                )
        return self

    @model_validator(mode="after")
    def _paths_kubernetes_accepts(self) -> Ingress:
        for i, path in enumerate(self.paths):
            problem = ingress_path_problem(path)
            if problem is not None:
                raise ValueError(f"paths[{i}]: {problem}")
        return self


class Autoscaling(Model):
    """HorizontalPodAutoscaler on CPU and/or memory utilisation."""

    min_replicas: int = Field(1, ge=1, le=INT32_MAX, description="Default: 1.")
    max_replicas: int = Field(ge=1, le=INT32_MAX, description="Upper bound of the replica count.")
    target_cpu_utilization: int | None = Field(
        80, ge=1, le=100, description="Percent of the CPU request. Default: 80."
    )
    target_memory_utilization: int | None = Field(
        None, ge=1, le=100, description="Percent of the memory request. Default: none."
    )

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        if self.target_cpu_utilization is None and self.target_memory_utilization is None:
            raise ValueError("set target_cpu_utilization or target_memory_utilization")
        return self


def _int_or_percent(value: object) -> int | str:
    """A disruption budget's count (an int32 in the API) or percentage (at most 100%: the API
    server refuses more), with one message that says which forms are accepted."""
    if type(value) is int and 0 <= value <= INT32_MAX:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        return value
    raise ValueError(
        f"{value!r} is neither a count from 0 to {INT32_MAX} nor a percentage from '0%' to '100%'"
    )


IntOrPercent = Annotated[
    int | str,
    PlainValidator(_int_or_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
                {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"},
            ]
        }
    ),
]


class DisruptionBudget(Model):
    """PodDisruptionBudget. Exactly one of min_available or max_unavailable."""

    min_available: IntOrPercent | None = Field(
        None, description="Pods that must stay up during evictions: a count or 'N%'."
    )
    max_unavailable: IntOrPercent | None = Field(
        None, description="Pods that may be down during evictions: a count or 'N%'."
    )

    @model_validator(mode="after")
    def _one(self) -> DisruptionBudget:
        return self.exactly_one("min_available", "max_unavailable")


class Security(Model):
    """Loosens the restricted-by-default pod security. A field left out keeps the secure value,
    which the constructs own (constructs/security.py)."""

    run_as_user: int | None = Field(
        None, ge=1, le=ID_MAX, description="UID. Default: the image's user."
    )
    run_as_group: int | None = Field(
        None, ge=1, le=ID_MAX, description="GID. Default: the image's group."
    )
    fs_group: int | None = Field(
        None, ge=1, le=ID_MAX, description="Group owning mounted volumes. Default: none."
    )
    read_only_root_filesystem: bool | None = Field(
        None, description="false: a writable root filesystem. Default: read-only."
    )
    add_capabilities: list[Literal["NET_BIND_SERVICE"]] = Field(
        default_factory=list,
        description="The only capability the restricted Pod Security Standard allows adding.",
    )
    automount_service_account_token: bool | None = Field(
        None, description="true: mount the service account's token. Default: not mounted."
    )


class ServiceCall(Model):
    """A call to another service of the app, on some of its ports."""

    name: DnsLabel = Field(description="The called service.")
    ports: list[PortRef] | None = Field(
        None,
        min_length=1,
        description="Its ports, by name or service port number. Default: all its ports.",
    )


class ExternalEgress(Model):
    """Egress to something outside the cluster, on the listed ports only."""

    host: Hostname | None = Field(
        None,
        description="A hostname. NetworkPolicies match addresses, not names: a host opens "
        "the listed ports to public addresses. Give `cidr` to pin the address range.",
    )
    cidr: Cidr | None = Field(None, description="An address range, e.g. 10.0.5.0/24.")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        min_length=1, description="Destination ports."
    )
    protocol: Literal["TCP", "UDP"] = Field("TCP", description="Default: TCP.")

    @model_validator(mode="after")
    def _one_target(self) -> ExternalEgress:
        return self.exactly_one("host", "cidr")


class Egress(Model):
    """Egress the network policy opens beyond DNS. Default: none."""

    internet: bool = Field(False, description="Allow egress to public addresses on any port.")
    services: list[DnsLabel | ServiceCall] = Field(
        default_factory=list,
        description="Services of this app this one calls: a name (all its ports) or "
        "{name, ports}. Default: none (the network policies deny traffic between services).",
    )
    external: list[ExternalEgress] = Field(
        default_factory=list,
        description="Hosts and address ranges outside the cluster, per port. Default: none.",
    )

    @property
    def calls(self) -> list[ServiceCall]:
        return [ServiceCall(name=c) if isinstance(c, str) else c for c in self.services]


class Service(Model):
    """One workload, of one of the kinds `type` names; a kind's own options are nested under
    it (`cronjob`, `job`)."""

    name: DnsLabel = Field(
        description="Service name, unique in the app: names its objects and its selector labels."
    )
    type: WorkloadType = Field(
        DEFAULT_KIND,
        description="Kind of workload: "
        + ", ".join(f"{k.kind} ({k.summary})" for k in KINDS.values())
        + f". Default: {DEFAULT_KIND}.",
    )
    image: Image = Field(description="Container image, pinned by tag or digest.")
    replicas: int | None = Field(
        None,
        ge=0,
        le=INT32_MAX,
        description=f"Pods of a {takers('replicas')} without an autoscaler; other kinds refuse "
        f"it. Default: {DEFAULT_REPLICAS}.",
    )
    command: list[ProcessText] | None = Field(None, description="Entrypoint. Default: the image's.")
    args: list[ProcessText] | None = Field(None, description="Arguments. Default: the image's.")
    ports: list[Port] = Field(
        default_factory=list, description="Ports; a Service is created when any. Default: none."
    )
    probes: Probes = Field(default_factory=Probes, description="Default: no probes.")
    resources: Resources | None = Field(None, description="Default: defaults.resources.")
    env: dict[EnvName, ProcessText] = Field(
        default_factory=dict,
        description="Plain environment variables; never secrets: a value that looks like one "
        "(a cloud or API key, a token, a private key, a URL with a password, or a literal in a "
        "variable named *PASSWORD, *SECRET, *TOKEN, *API_KEY...) is refused unless listed in "
        "`not_secret`. `$(OTHER)` references are fine.",
    )
    not_secret: list[NotSecretEntry] = Field(
        default_factory=list,
        description="Values that look like secrets but are not, each by its env var name or "
        "as 'command[N]' / 'args[N]' / 'probes.<probe>.exec.command[N]': the secret check "
        "accepts them. Default: none.",
    )
    secrets: list[SecretRef] = Field(
        default_factory=list, description="Infisical secrets as files or env vars. Default: none."
    )
    secrets_mount_path: AbsolutePath = Field(
        "/mnt/secrets", description="Where secret files appear. Default: /mnt/secrets."
    )
    volumes: list[Volume] = Field(
        default_factory=list, description=f"Writable volumes besides {TMP_PATH}. Default: none."
    )
    ingress: Ingress | None = Field(None, description="Public HTTP(S) access. Default: none.")
    autoscaling: Autoscaling | None = Field(
        None, description="A HorizontalPodAutoscaler; it then owns the replica count."
    )
    disruption_budget: DisruptionBudget | None = Field(
        None, description="A PodDisruptionBudget. Default: none."
    )
    security: Security = Field(
        default_factory=Security, description="Loosens the restricted defaults, field by field."
    )
    egress: Egress = Field(default_factory=Egress, description="Default: DNS only.")
    image_pull_secrets: list[DnsSubdomain] | None = Field(
        None,
        description="Secrets (type kubernetes.io/dockerconfigjson) in the app namespace for "
        "pulling the image. Default: defaults.image_pull_secrets.",
    )
    cronjob: CronJobOptions | None = Field(
        None,
        description="A CronJob's schedule and runs; required for a CronJob, refused "
        "by other kinds.",
    )
    job: JobOptions | None = Field(
        None,
        description="How a Job, or each Job a CronJob starts, runs its pod; for a "
        f"{takers('job')} only. Default: the defaults of each option.",
    )

    @property
    def synced_secret_name(self) -> str:
        """The Secret the CSI driver syncs the service's env secrets into."""
        return f"{self.name}{SYNCED_SECRET_SUFFIX}"

    @model_validator(mode="before")
    @classmethod
    def _kind_options(cls, data: Any) -> Any:
        """A section the kind takes is there with its defaults when the service leaves it out;
        so a required option (a CronJob's schedule) is reported under its section. An option
        where version 1 had it says where it went."""
        if not isinstance(data, dict):
            return data
        problem = moved_in_v2(data)
        if problem is not None:
            raise ValueError(problem)
        kind = data.get("type", DEFAULT_KIND)
        workload = KINDS.get(kind) if isinstance(kind, str) else None
        missing = [s for s in workload.options if s not in data] if workload else []
        return {**data, **{section: {} for section in missing}} if missing else data

    @model_validator(mode="after")
    def _rules(self) -> Service:
        _check_kind(self)
        _check_ports(self)
        _check_port_refs(self)
        if self.resources is not None:
            check_requests_within_limits(self.resources)
        _check_mount_paths(self)
        _check_secrets(self)
        _check_secret_values(self)
        _check_ingress_paths(self)
        return self


# What ingress-nginx refuses in a path, checked against the pinned controller (chart 4.15.1,
# controller 1.15.1, internal/ingress/inspector/rules.go):
# - strict path validation (strict-validate-path-type, on by default): with pathType Exact or
#   Prefix, validPathType `(?i)^/[[:alnum:]._\-/]*$`, the use-regex annotation notwithstanding;
# - deep inspection (--deep-inspect, on by default): paths naming /etc/passwd and the like,
#   /var/run/secrets or a *_by_lua* directive; the controller then ignores the whole Ingress.
NGINX_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._\-/]*\Z")
NGINX_DEEP_INSPECT = re.compile(
    r"/etc/(?:passwd|shadow|group|nginx|ingress-controller)|/var/run/secrets|_by_lua"
)


def _check_ingress_paths(s: Service) -> None:
    """Paths are rendered with pathType Prefix: hold them to the controller's own rules."""
    if s.ingress is None:
        return
    for i, path in enumerate(s.ingress.paths):
        if not NGINX_SAFE_PATH.match(path):
            raise ValueError(
                f"ingress.paths[{i}]: ingress-nginx's strict path validation refuses path "
                f"'{path}' of service '{s.name}' (pathType Prefix allows only letters, digits, "
                "'.', '_', '-' and '/'), and would reject the whole Ingress"
            )
        found = NGINX_DEEP_INSPECT.search(path)
        if found is not None:
            raise ValueError(
                f"ingress.paths[{i}]: ingress-nginx's deep inspection refuses path '{path}' of "
                f"service '{s.name}' (it contains '{found.group()}'), and would ignore the whole "
                "Ingress"
            )


def check_not_secret(
    not_secret: Sequence[str],
    env: Mapping[str, str],
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    probes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Each `not_secret` entry names an env var or a command/args/exec probe item that exists."""
    if not not_secret:
        return
    entries = set(env) | {f"command[{i}]" for i in range(len(command or ()))}
    entries |= {f"args[{i}]" for i in range(len(args or ()))}
    for probe, cmd in (probes or {}).items():
        entries |= {f"probes.{probe}.exec.command[{i}]" for i in range(len(cmd))}
    for i, entry in enumerate(not_secret):
        if entry not in entries:
            raise ValueError(
                f"not_secret[{i}]: '{entry}' names no env var, command, args or exec probe item "
                "of this workload"
            )


def check_secret_values(
    not_secret: Sequence[str],
    env: Mapping[str, str],
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    secrets_mount_path: str | None = None,
    probes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Refuse a secret-looking value in env, command, args or an exec probe's command, naming
    the entry, never the value (shared with the payload model)."""
    check_not_secret(not_secret, env, command, args, probes)
    accepted = set(not_secret)
    for entry, found in secret_values.findings(env, command, args, secrets_mount_path, probes):
        if entry not in accepted:
            raise ValueError(secret_values.message(entry, found))


def _check_secret_values(s: Service) -> None:
    probes = {
        name: probe.exec.command
        for name in ("readiness", "liveness", "startup")
        if (probe := getattr(s.probes, name)) is not None and probe.exec is not None
    }
    check_secret_values(s.not_secret, s.env, s.command, s.args, s.secrets_mount_path, probes)


def _check_secrets(s: Service) -> None:
    """The CSI provider keys what it fetches by secret and by object name: a secret delivered
    twice, or two secrets under one name, would lose one of them without an error."""
    by_secret: dict[tuple[str, str], int] = {}
    by_name: dict[str, int] = {}
    for i, secret in enumerate(s.secrets):
        if secret.env is not None and secret.env in s.env:
            raise ValueError(
                f"secrets[{i}].env: '{secret.env}' is also set in env; a container with two "
                "variables of one name keeps only the last (server-side apply refuses it): set "
                "it in one place"
            )
        where = (secret.path, secret.key)
        if where in by_secret:
            raise ValueError(
                f"secrets[{i}]: key '{secret.key}' in '{secret.path}' is already delivered by "
                f"secrets[{by_secret[where]}]; deliver each secret once (as a file or as an "
                "env var, not both)"
            )
        if secret.object_name in by_name:
            raise ValueError(
                f"secrets[{i}]: the name '{secret.object_name}' is already used by "
                f"secrets[{by_name[secret.object_name]}]; give each secret its own env or "
                "file name"
            )
        by_secret[where] = i
        by_name[secret.object_name] = i


def _check_kind(s: Service) -> None:
    """What the service's kind takes, from its catalogue entry: its name's length, the fields
    only some kinds take (replicas, ingress, ...) and the option sections."""
    kind = KINDS[s.type]
    if len(s.name) > kind.name_max:
        raise ValueError(
            f"name: '{s.name}' has {len(s.name)} characters; a {kind.kind}'s name may have at "
            f"most {kind.name_max} ({kind.name_max_why})"
        )
    for key in kind.refuses:
        if _given(s, key):
            raise ValueError(refusal(kind, key))
    if s.autoscaling is not None and s.autoscaling.target_cpu_utilization is not None:
        requests = s.resources.requests if s.resources else None
        if requests is None or requests.cpu is None:
            raise ValueError("autoscaling on CPU needs resources.requests.cpu")


def _given(model: BaseModel, path: str) -> bool:
    """Whether a dotted field path was set, to something other than null."""
    *parents, last = path.split(".")
    for name in parents:
        model = getattr(model, name)
    return last in model.model_fields_set and getattr(model, last) is not None


def _check_ports(s: Service) -> None:
    seen_names: dict[str, int] = {}
    seen_container: dict[int, str] = {}
    seen_service: dict[int, str] = {}
    for i, port in enumerate(s.ports):
        if port.name in seen_names:
            raise ValueError(f"ports[{i}]: port name '{port.name}' is already used")
        if port.container_port in seen_container:
            raise ValueError(
                f"ports[{i}]: container port {port.container_port} is already used by "
                f"'{seen_container[port.container_port]}'"
            )
        service_port = port.service_port or port.container_port
        if service_port in seen_service:
            raise ValueError(
                f"ports[{i}]: service port {service_port} is already used by "
                f"'{seen_service[service_port]}'"
            )
        seen_names[port.name] = i
        seen_container[port.container_port] = port.name
        seen_service[service_port] = port.name


def port_known(s: Service, ref: int | str, *, service_side: bool) -> bool:
    for port in s.ports:
        if ref == port.name:
            return True
        number = (port.service_port or port.container_port) if service_side else port.container_port
        if ref == number:
            return True
    return False


def _check_port_refs(s: Service) -> None:
    for kind in ("readiness", "liveness", "startup"):
        probe = getattr(s.probes, kind)
        if probe is None:
            continue
        handler = probe.http or probe.tcp
        if handler is not None and isinstance(handler.port, str):
            if not port_known(s, handler.port, service_side=False):
                raise ValueError(f"probes.{kind}: port '{handler.port}' is not declared in ports")
    if s.ingress is not None:
        if not s.ports:
            raise ValueError("an ingress needs at least one port")
        if s.ingress.port is not None and not port_known(s, s.ingress.port, service_side=True):
            raise ValueError(f"ingress.port: '{s.ingress.port}' is not declared in ports")


def check_requests_within_limits(resources: Resources) -> None:
    """Raise when a request is above its limit."""
    if resources.requests is None or resources.limits is None:
        return
    above = above_limit(resources.requests.model_dump(), resources.limits.model_dump())
    if above is not None:
        field, request, limit = above
        raise ValueError(f"resources: {field} request {request} is above its limit {limit}")


def _check_mount_paths(s: Service) -> None:
    paths = {TMP_PATH: TMP_VOLUME}  # the writable /tmp every pod gets
    if s.secrets:
        paths[s.secrets_mount_path] = SECRETS_VOLUME
    for i, volume in enumerate(s.volumes):
        if volume.mount_path in paths:
            raise ValueError(
                f"volumes[{i}]: mount path {volume.mount_path} is already used by "
                f"'{paths[volume.mount_path]}'"
            )
        if volume.name in POD_VOLUMES or volume.name in paths.values():
            raise ValueError(f"volumes[{i}]: volume name '{volume.name}' is reserved or taken")
        paths[volume.mount_path] = volume.name
