"""The application config: `config/app-config.yaml`, the single source of truth for workloads.

Version 2 of the schema. `version` is what a migration keys on: a version 1 file is read as
version 2 (`model/migration.py`; `gitops-base migrate` rewrites it), and a file with any other
version is rejected with a message naming the versions this base reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from constructs_lib.model import migration
from constructs_lib.model.addons import ADDON_PROJECT_PREFIX
from constructs_lib.model.base import Model
from constructs_lib.model.migration import CONFIG_VERSION, READ_VERSIONS
from constructs_lib.model.names import (
    BASE_NAMES,
    SYSTEM_NAMESPACES,
    AppName,
    AppNamespace,
)
from constructs_lib.model.quota import (
    FALLBACK_LIMIT,
    FALLBACK_REQUEST,
    LimitRangeSettings,
    QuotaSettings,
    QuotaShares,
    bound_problem,
    hard,
)
from constructs_lib.model.quota import container_defaults as _container_defaults
from constructs_lib.model.quota import quota_shares as _quota_shares
from constructs_lib.model.service import (
    Ingress,
    Resources,
    Service,
    check_requests_within_limits,
    port_known,
)
from constructs_lib.model.value_types import (
    DnsLabel,
    DnsSubdomain,
    Hostname,
    above_limit,
)

ISSUERS = ("letsencrypt-staging", "letsencrypt-production")
TOKEN_AUDIENCE = "infisical"


def _config_version(value: object) -> object:
    """Version 1 is converted before this runs: the one version left is the current one."""
    if type(value) is not int or value != CONFIG_VERSION:
        known = " or ".join(str(v) for v in READ_VERSIONS)
        raise ValueError(f"{value!r} is not a schema version this base reads ({known})")
    return value


ConfigVersion = Annotated[
    int,
    BeforeValidator(_config_version),
    WithJsonSchema({"const": CONFIG_VERSION, "type": "integer"}),
]
Issuer = Literal["letsencrypt-staging", "letsencrypt-production"]


# --- global settings -------------------------------------------------------------------------


class AppSettings(Model):
    """Identity of the application: every object is labelled with it."""

    name: AppName = Field(
        description="Application name; the value of app.kubernetes.io/part-of. Not a name the "
        f"base gives its own Argo CD objects ({', '.join(BASE_NAMES)}), nor an add-on's name, "
        f"nor one starting with {ADDON_PROJECT_PREFIX}."
    )
    namespace: AppNamespace = Field(
        description="Namespace every workload of the app is deployed to. Not a Kubernetes or "
        f"Argo CD namespace ({', '.join(SYSTEM_NAMESPACES)}), nor an add-on's."
    )


class TlsSettings(Model):
    """TLS defaults for every Ingress."""

    enabled: bool = Field(True, description="Terminate TLS on Ingresses. Default: true.")
    issuer: Issuer = Field(
        "letsencrypt-staging",
        description="Default cert-manager ClusterIssuer; each environment may override it.",
    )


class InfisicalAuth(Model):
    """How pods authenticate to Infisical. Only Kubernetes auth exists in the CSI provider."""

    method: Literal["kubernetes"] = Field(
        "kubernetes", description="Machine identity auth method. Default: kubernetes."
    )
    identity_id: str = Field(
        min_length=1, description="ID of the Infisical machine identity with Kubernetes auth."
    )
    audience: str = Field(
        TOKEN_AUDIENCE,
        min_length=1,
        description="Audience of the service-account token the CSI driver requests for the "
        "provider. Must match the driver's tokenRequests. Default: infisical.",
    )


class InfisicalSettings(Model):
    """Connection to the external Infisical that every secret comes from."""

    url: str = Field(
        pattern=r"^https://[^\s/]+(/[^\s]*)?$",
        description="Base URL of the Infisical instance, e.g. https://app.infisical.com.",
    )
    project_id: str = Field(min_length=1, description="Infisical project ID.")
    auth: InfisicalAuth = Field(description="How pods authenticate: a machine identity.")
    ca_certificate: str | None = Field(
        None, description="PEM CA bundle for a self-hosted Infisical. Default: system CAs."
    )


class SecretsSettings(Model):
    """External secret manager. Secrets never live in Git; pods read them through CSI."""

    infisical: InfisicalSettings | None = Field(
        None, description="Infisical connection. Required when any service declares secrets."
    )

    @property
    def token_audience(self) -> str:
        """Audience of the tokens the CSI driver requests for its providers: Infisical's,
        and without Infisical the same default."""
        return self.infisical.auth.audience if self.infisical else TOKEN_AUDIENCE


class Defaults(Model):
    """Values every service gets unless it sets its own."""

    resources: Resources | None = Field(
        None, description="Resources for services that declare none. Default: none."
    )
    resource_presets: dict[DnsLabel, Resources] = Field(
        default_factory=dict,
        description="Named resources a deployed_apps payload may ask for by name. Default: "
        "none; a config `generate` creates starts with small, medium and large.",
    )
    image_pull_secrets: list[DnsSubdomain] = Field(
        default_factory=list,
        description="Pull secrets of every service that sets none. Default: none.",
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Defaults:
        """The API server refuses a container whose request is above its limit, wherever the
        resources came from."""
        if self.resources is not None:
            check_requests_within_limits(self.resources)
        for name, preset in self.resource_presets.items():
            try:
                check_requests_within_limits(preset)
            except ValueError as exc:
                raise ValueError(
                    f"resource_presets.{name}{str(exc).removeprefix('resources')}"
                ) from None
        return self


class Features(Model):
    """Toggles for the objects the base creates around workloads."""

    services: bool = Field(True, description="Create a Service for workloads with ports.")
    ingresses: bool = Field(True, description="Create Ingresses for services that declare one.")
    network_policies: bool = Field(
        True, description="Create NetworkPolicies that admit the ingress controller."
    )


# --- platform --------------------------------------------------------------------------------


class PlatformSettings(Model):
    """What the platform renders around the app namespace (see docs/how-to/platform-addons.md)."""

    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    limit_range: LimitRangeSettings = Field(default_factory=LimitRangeSettings)


class Promotion(Model):
    """Which environments a new image reaches only by promotion."""

    held: list[DnsLabel] = Field(
        default_factory=lambda: ["prod"],
        description="Environments `generate` pins (image.envs.<env>, to the payload's image) "
        "for each service it adds, so CI's tag edits (`set-image`) and a payload's new_image "
        "roll the other environments only; a held environment moves by `promote` or "
        "`set-image --env`. Environments that clusters/ does not have are skipped. [] holds "
        "none. Default: [prod].",
    )

    @field_validator("held")
    @classmethod
    def _unique(cls, held: list[str]) -> list[str]:
        for i, env in enumerate(held):
            if env in held[:i]:
                raise ValueError(f"'{env}' is listed twice")
        return held


# --- the file --------------------------------------------------------------------------------


class AppConfig(Model):
    """Root of `config/app-config.yaml`."""

    version: ConfigVersion = Field(
        description=f"Schema version of this file: {CONFIG_VERSION}. Version 1 files are still "
        "read (`gitops-base migrate` rewrites one as version 2)."
    )
    app: AppSettings
    domain: Hostname = Field(
        description="Base domain. Hostnames under it are re-rooted onto each environment's "
        "domain, which must be it or under it (checked by validate and synth)."
    )
    tls: TlsSettings = Field(default_factory=TlsSettings, description="TLS of every Ingress.")
    secrets: SecretsSettings = Field(
        default_factory=SecretsSettings, description="Where secrets come from. Default: nowhere."
    )
    defaults: Defaults = Field(
        default_factory=Defaults, description="Values for services that set none."
    )
    features: Features = Field(default_factory=Features)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    promotion: Promotion = Field(
        default_factory=Promotion,
        description="Environments held back until an image is promoted to them.",
    )
    services: list[Service] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _read_version_1(cls, data: Any, handler: ModelWrapValidatorHandler[AppConfig]) -> AppConfig:
        config: AppConfig = migration.read(data, handler)
        return config

    @model_validator(mode="after")
    def _rules(self) -> AppConfig:
        names: dict[str, int] = {}
        routes: dict[tuple[str, str], str] = {}
        tls_secrets: dict[str, str] = {}
        for i, service in enumerate(self.services):
            if service.name in names:
                raise ValueError(
                    f"services[{i}].name: '{service.name}' is already used by "
                    f"services[{names[service.name]}]"
                )
            names[service.name] = i
        by_name = {s.name: s for s in self.services}
        synced_secrets = {
            s.synced_secret_name: s.name
            for s in self.services
            if any(secret.env for secret in s.secrets)
        }
        for i, service in enumerate(self.services):
            _check_egress_services(i, service, by_name)
            if service.secrets and self.secrets.infisical is None:
                raise ValueError(
                    f"services[{i}].secrets: service '{service.name}' declares secrets but "
                    "secrets.infisical is not configured"
                )
            if service.ingress is None:
                continue
            _check_hosts(i, service.ingress, self.domain)
            for h, host in enumerate(service.ingress.hosts):
                for path in service.ingress.paths:
                    if (host, path) in routes:
                        raise ValueError(
                            f"services[{i}].ingress.hosts[{h}]: {host}{path} is already routed to "
                            f"'{routes[(host, path)]}'"
                        )
                    routes[(host, path)] = service.name
            secret = service.ingress.tls_secret(service.name)
            synced = synced_secrets.get(secret)
            if synced is not None:
                raise ValueError(
                    f"services[{i}].ingress.tls.secret_name: '{secret}' is the Secret the CSI "
                    f"driver syncs the env secrets of '{synced}' to; cert-manager and the driver "
                    "would overwrite each other's Secret: choose another name"
                )
            if secret in tls_secrets:
                raise ValueError(
                    f"services[{i}].ingress.tls.secret_name: '{secret}' is already used by "
                    f"'{tls_secrets[secret]}'"
                )
            tls_secrets[secret] = service.name
        _check_limit_range(self)
        problem = bound_problem(quota_shares(self), self.platform.quota)
        if problem is not None:
            raise ValueError(problem)
        return self


def _check_limit_range(config: AppConfig) -> None:
    """The API server refuses a LimitRange whose default request is above its default limit,
    which can come from mixing the config's values with the fallbacks."""
    if not config.platform.limit_range.enabled:
        return
    above = above_limit(*container_defaults(config))
    if above is not None:
        key, req, lim = above
        raise ValueError(
            f"platform.limit_range: the default {key} request {req} is above the default "
            f"{key} limit {lim} (each is platform.limit_range's, else defaults.resources', "
            f"else {FALLBACK_REQUEST[key]} and {FALLBACK_LIMIT[key]}): set both"
        )


def _check_egress_services(i: int, service: Service, by_name: Mapping[str, Service]) -> None:
    for j, call in enumerate(service.egress.calls):
        name = call.name
        where = f"services[{i}].egress.services[{j}]"
        if name == service.name:
            raise ValueError(f"{where}: service '{service.name}' cannot name itself")
        target = by_name.get(name)
        if target is None:
            raise ValueError(f"{where}: no service named '{name}' to call")
        if not target.ports:
            raise ValueError(f"{where}: service '{name}' declares no ports to call")
        for k, ref in enumerate(call.ports or []):
            if not port_known(target, ref, service_side=True):
                raise ValueError(f"{where}.ports[{k}]: service '{name}' declares no port '{ref}'")


def under_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _check_hosts(i: int, ingress: Ingress, domain: str) -> None:
    for h, host in enumerate(ingress.hosts):
        if not under_domain(host, domain):
            raise ValueError(
                f"services[{i}].ingress.hosts[{h}]: '{host}' is not under the base domain "
                f"'{domain}', so it would be the same host in every environment; list it "
                "under ingress.env_hosts.<env> for the environments that serve it"
            )
    for env, hosts in ingress.env_hosts.items():
        for h, host in enumerate(hosts):
            if under_domain(host, domain):
                raise ValueError(
                    f"services[{i}].ingress.env_hosts.{env}[{h}]: '{host}' is under the base "
                    f"domain '{domain}'; list it in ingress.hosts, which moves it onto each "
                    "environment's domain"
                )


def unknown_envs(config: AppConfig, envs: Sequence[str]) -> list[str]:
    """Problems for per-environment keys (image.envs, ingress.env_hosts, promotion.held)
    naming no environment: such a host or image would silently never render."""
    problems = []
    known = ", ".join(envs) or "none"
    if "held" in config.promotion.model_fields_set:  # the default skips a missing env
        for i, env in enumerate(config.promotion.held):
            if env not in envs:
                problems.append(f"promotion.held[{i}]: no environment '{env}' (clusters: {known})")
    for i, service in enumerate(config.services):
        named = [(f"image.envs.{e}", e) for e in service.image.envs]
        if service.ingress is not None:
            named += [(f"ingress.env_hosts.{e}", e) for e in service.ingress.env_hosts]
        for where, env in named:
            if env not in envs:
                problems.append(
                    f"services[{i}].{where}: no environment '{env}' (clusters: {known})"
                )
    return problems


# --- the derived quota -----------------------------------------------------------------------


def container_defaults(config: AppConfig) -> tuple[dict[str, str], dict[str, str]]:
    """The LimitRange's defaultRequest and default: the config's, else the fallbacks."""
    return _container_defaults(config.platform.limit_range, config.defaults.resources)


def quota_shares(config: AppConfig) -> QuotaShares:
    """What each service and the ACME solvers add to the derived quota, before headroom."""
    return _quota_shares(
        config.services,
        config.defaults.resources,
        container_defaults(config),
        tls=config.tls.enabled,
    )


def derived_quota(config: AppConfig) -> dict[str, str]:
    """`spec.hard` of the app namespace's ResourceQuota."""
    return hard(quota_shares(config), config.platform.quota)
