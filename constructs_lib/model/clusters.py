"""Per-environment settings: `clusters/<env>/cluster.yaml`.

What differs between dev, test and prod lives here and only here: where the cluster syncs
from, its domain, its certificate issuer, and the Infisical environment it reads.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from constructs_lib.model.base import Model
from constructs_lib.model.config import Issuer
from constructs_lib.model.durations import MAX_SECONDS, format_duration, parse_duration
from constructs_lib.model.names import ARGOCD_NAMESPACE
from constructs_lib.model.value_types import DnsLabel, Hostname, SchemaVersion

CLUSTER_FILE = "cluster.yaml"


class RepoSettings(Model):
    """The Git repository and revision Argo CD syncs this environment from."""

    url: str = Field(
        pattern=r"^(https://\S+|ssh://\S+|git@[^\s:]+:\S+|file://\S+|http://\S+)$",
        description="Repository URL as Argo CD sees it (https://, ssh:// or git@host:path; "
        "http:// and file:// only for local test servers).",
    )
    revision: str = Field("main", min_length=1, description="Branch, tag or commit. Default: main.")

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        """A token in the URL would be rendered into dist/ (every Application's repoURL)."""
        scheme, _, rest = url.partition("://")
        userinfo, at, _ = rest.partition("/")[0].rpartition("@")
        if at and (scheme in ("https", "http", "file") or ":" in userinfo):
            raise ValueError(
                "holds credentials (user or token before '@'); they would be written into "
                "dist/: give the URL without them and the credential to `gitops-base bootstrap` "
                "(GITOPS_BASE_REPO_TOKEN)"
            )
        return url


class ArgoCdSettings(Model):
    """The Argo CD this environment is deployed by."""

    namespace: DnsLabel = Field(
        ARGOCD_NAMESPACE, description=f"Namespace Argo CD runs in. Default: {ARGOCD_NAMESPACE}."
    )
    destination_server: str = Field(
        "https://kubernetes.default.svc",
        description="API server Applications deploy to. Default: the cluster Argo CD runs in.",
    )
    self_managed: bool = Field(
        False,
        description="Render an Application that syncs the pinned Argo CD release's install "
        "manifest, so Argo CD manages itself after `gitops-base bootstrap` installed it. "
        "Default: false (re-run bootstrap to upgrade Argo CD).",
    )


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not an IP address") from None
    return value


IpAddress = Annotated[str, AfterValidator(_ip_address)]


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"'{value}' is not a CIDR block (like 10.42.0.0/16)") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class NetworkSettings(Model):
    """The cluster's own address ranges, closed to the app's "internet" egress."""

    pod_cidr: Cidr = Field(
        "10.42.0.0/16", description="k3s --cluster-cidr. Default: 10.42.0.0/16 (k3s's)."
    )
    service_cidr: Cidr = Field(
        "10.43.0.0/16", description="k3s --service-cidr. Default: 10.43.0.0/16 (k3s's)."
    )
    node_addresses: list[IpAddress] | None = Field(
        None,
        description="Addresses of the nodes (kubelet 10250, API server 6443), public ones "
        "included. Default: ingress.publish_status_address.",
    )


class IngressSettings(Model):
    """The ingress controller and how clients reach it on a k3s cluster without a cloud LB."""

    controller: Literal["nginx", "traefik"] = Field(
        "nginx",
        description="nginx: the ingress-nginx chart (k3s must run with --disable=traefik). "
        "traefik: the Traefik k3s bundles, configured through a HelmChartConfig. Default: nginx.",
    )
    http_node_port: int = Field(
        30080, ge=30000, le=32767, description="NodePort of the HTTP listener. Default: 30080."
    )
    https_node_port: int = Field(
        30443, ge=30000, le=32767, description="NodePort of the HTTPS listener. Default: 30443."
    )
    publish_status_address: list[IpAddress] = Field(
        default_factory=list,
        description="Node IP(s) clients reach the node ports on. Written into every Ingress's "
        "status, without which Argo CD reports each Ingress as Progressing forever. Traefik "
        "takes one address. Default: none (Ingress status stays empty).",
    )

    @model_validator(mode="after")
    def _ports(self) -> IngressSettings:
        if self.http_node_port == self.https_node_port:
            raise ValueError("https_node_port: must differ from http_node_port")
        if self.controller == "traefik" and len(self.publish_status_address) > 1:
            raise ValueError("publish_status_address: Traefik publishes one address, not several")
        return self


Duration = Annotated[
    int,
    PlainValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_SECONDS},
                {"type": "string", "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$|^[0-9]+$"},
            ]
        }
    ),
]
"""Seconds, written as `90s`, `5m`, `1h30m` (or a number of seconds)."""


class PromotionSettings(Model):
    """How an image leaves this environment for the next one (`gitops-base promote --from`)."""

    soak: Duration = Field(
        300,
        description="How long this environment must have run an image Synced and Healthy "
        "before `promote --from <this env>` takes it (90s, 5m, 1h). Default: 5m.",
    )


# A URL that goes into Argo CD's notifications config: no character a Go template, a JSON
# string or the `$secret` substitution of Argo CD notifications would read specially.
_URL_PATH = r"(/[A-Za-z0-9._~/%:@!,;=+&?#-]*)?"
_URL = re.compile(
    rf"^(https://[A-Za-z0-9.-]+(:[0-9]{{1,5}})?|http://(127\.0\.0\.1|localhost)(:[0-9]{{1,5}})?)"
    rf"{_URL_PATH}\Z"
)


def _notify_url(value: str) -> str:
    if len(value) > 500 or not _URL.match(value):
        raise ValueError(
            f"'{value}' is not an https:// URL (http:// only to 127.0.0.1 or localhost, a local "
            "test server) of letters, digits and ._~/%:@!,;=+&?#- (no quotes, braces, '$' or "
            "spaces), at most 500 characters"
        )
    return value


NotifyUrl = Annotated[str, AfterValidator(_notify_url)]
GITHUB_API = "https://api.github.com"
_GITHUB_REPO = re.compile(
    r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?\Z"
)


class DeployStatusSettings(Model):
    """A status per synced commit where people look: Argo CD's notifications controller posts
    deployed, degraded or failed for the app's Application. Its token comes from `gitops-base
    bootstrap` (GITOPS_BASE_DEPLOY_STATUS_TOKEN), never from Git."""

    provider: Literal["github", "webhook"] = Field(
        description="github: a commit status on the synced commit (success, failure, error). "
        "webhook: a JSON POST per state to `url`."
    )
    url: NotifyUrl | None = Field(
        None,
        description="github: the API's base URL. Default: https://api.github.com (GitHub "
        "Enterprise: https://HOST/api/v3). webhook: REQUIRED, the endpoint.",
    )
    repository: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$",
        description="github: owner/name of the repository whose commits get the status. "
        "Default: from repo.url when it is on github.com.",
    )
    context: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$",
        description="github: the status's name on the commit. Default: gitops-base/<env>.",
    )
    target_url: NotifyUrl | None = Field(
        None,
        description="The link of the status (for example the app's page in the Argo CD UI, or "
        "the pipeline run). Default: none.",
    )


class ClusterSettings(Model):
    """Settings of one environment (one k3s cluster)."""

    version: SchemaVersion = Field(description="Schema version of this file. Only 1 exists.")
    name: DnsLabel = Field(description="Environment name; must equal the folder name.")
    repo: RepoSettings = Field(description="Where Argo CD syncs this environment from.")
    domain: Hostname = Field(
        description="Domain of this environment. Hostnames under the config's base domain are "
        "re-rooted onto it: shop.example.com becomes shop.dev.example.com for domain "
        "dev.example.com. Must be the config's base domain or under it."
    )
    tls_issuer: Issuer | None = Field(
        None, description="ClusterIssuer for this environment. Default: the config's tls.issuer."
    )
    acme_email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Contact e-mail registered with Let's Encrypt for this environment.",
    )
    infisical_env: str = Field(
        min_length=1,
        pattern=r"^[a-z0-9_-]+$",
        description="Infisical environment slug this cluster reads secrets from.",
    )
    argocd: ArgoCdSettings = Field(default_factory=ArgoCdSettings)
    ingress: IngressSettings = Field(default_factory=IngressSettings)
    sealed_secrets: bool = Field(
        False, description="Install the sealed-secrets controller. Default: false."
    )
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)
    deploy_status: DeployStatusSettings | None = Field(
        None,
        description="Post a deploy status per synced commit (Argo CD notifications). "
        "Default: off (nothing is sent).",
    )

    @model_validator(mode="after")
    def _deploy_status(self) -> ClusterSettings:
        status = self.deploy_status
        if status is None:
            return self
        if status.provider == "webhook" and status.url is None:
            raise ValueError("deploy_status.url: required with provider webhook")
        if status.provider == "github" and self.github_repository() is None:
            raise ValueError(
                "deploy_status.repository: give owner/name (repo.url is not a github.com URL)"
            )
        return self

    def github_repository(self) -> str | None:
        """deploy_status.repository, else owner/name of a github.com repo.url."""
        if self.deploy_status is not None and self.deploy_status.repository:
            return self.deploy_status.repository
        m = _GITHUB_REPO.match(self.repo.url)
        return m.group(1) if m else None

    def cluster_ranges(self) -> list[str]:
        """Pod and service ranges and each node's address as a host block."""
        nodes = self.network.node_addresses
        if nodes is None:
            nodes = list(self.ingress.publish_status_address)
        hosts = [str(ipaddress.ip_network(a)) for a in nodes]
        return [self.network.pod_cidr, self.network.service_cidr, *hosts]


def rehost(host: str, base_domain: str, env_domain: str) -> str:
    """Move a hostname under the config's base domain onto an environment's domain."""
    if host == base_domain:
        return env_domain
    if host.endswith("." + base_domain):
        return host[: -len(base_domain)] + env_domain
    return host


def cluster_dirs(root: Path) -> list[Path]:
    """Environment folders under `clusters/`, in a stable order."""
    return sorted(p for p in root.iterdir() if (p / CLUSTER_FILE).is_file())
