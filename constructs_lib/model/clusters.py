"""Per-environment settings: `clusters/<env>/cluster.yaml`.

What differs between dev, test and prod lives here and only here: where the cluster syncs
from, its domain, its certificate issuer, and the Infisical environment it reads.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import urllib.parse
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
from constructs_lib.model.config import ISSUERS
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
    exposure: Literal["node-ports", "service-lb"] = Field(
        "node-ports",
        description="How clients reach the controller. node-ports: a NodePort Service on "
        "http_node_port and https_node_port, for a router or load balancer in front of the "
        "nodes that forwards ports 80 and 443 to them. service-lb: a LoadBalancer Service, "
        "which k3s's bundled ServiceLB serves on ports 80 and 443 of every node, for a single "
        "VM with a public address (k3s must not run with --disable=servicelb). Default: "
        "node-ports.",
    )
    http_node_port: int = Field(
        30080, ge=30000, le=32767, description="NodePort of the HTTP listener. Default: 30080."
    )
    https_node_port: int = Field(
        30443, ge=30000, le=32767, description="NodePort of the HTTPS listener. Default: 30443."
    )
    publish_status_address: list[IpAddress] = Field(
        default_factory=list,
        description="The public address(es) clients reach the controller on (the node's, or "
        "the router's in front of it). Written into every Ingress's status, without which "
        "Argo CD reports each Ingress as Progressing forever with node-ports; `gitops-base "
        "doctor` checks each host's DNS record against it. Traefik takes one address. "
        "Default: none (node-ports: Ingress status stays empty; service-lb: the addresses "
        "ServiceLB reports).",
    )

    @model_validator(mode="after")
    def _ports(self) -> IngressSettings:
        if self.http_node_port == self.https_node_port:
            raise ValueError("https_node_port: must differ from http_node_port")
        if self.controller == "traefik" and len(self.publish_status_address) > 1:
            raise ValueError("publish_status_address: Traefik publishes one address, not several")
        return self


MAX_ACME_ISSUERS = 4
MAX_ACME_SERVER_URL = 2048
MAX_CA_BUNDLE = 64 * 1024
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----"
)


def _acme_server(value: str) -> str:
    """An https:// URL with a host (a name or an IP address), an optional port and path."""
    if len(value) > MAX_ACME_SERVER_URL:
        raise ValueError(f"is longer than {MAX_ACME_SERVER_URL} characters")
    if any(c.isspace() for c in value):
        raise ValueError(f"'{value}' contains whitespace")
    url = urllib.parse.urlsplit(value)
    if url.scheme != "https":
        raise ValueError(f"'{value}' is not an https:// URL (ACME servers are reached over TLS)")
    if url.username is not None or url.password is not None or url.fragment:
        raise ValueError(f"'{value}' must not carry a user, password or #fragment")
    try:
        port = url.port
    except ValueError:
        raise ValueError(f"'{value}' has an invalid port") from None
    host = url.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        if not host or not all(
            re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", x) for x in labels
        ):
            raise ValueError(f"'{value}' has no valid host name or IP address") from None
    if port == 0:
        raise ValueError(f"'{value}' has an invalid port")
    return value


def _ca_bundle(value: str) -> str:
    """PEM CERTIFICATE blocks only (no keys, no other text), each valid base64 of a DER
    sequence."""
    if len(value) > MAX_CA_BUNDLE:
        raise ValueError(f"is longer than {MAX_CA_BUNDLE} characters")
    blocks = list(_PEM_CERTIFICATE.finditer(value))
    if not blocks:
        raise ValueError("holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)")
    if _PEM_CERTIFICATE.sub("", value).strip():
        raise ValueError(
            "holds something besides PEM certificates (only CA certificates belong here)"
        )
    for i, block in enumerate(blocks):
        try:
            der = base64.b64decode("".join(block.group(1).split()), validate=True)
        except binascii.Error:
            der = b""
        if not der.startswith(b"\x30"):
            raise ValueError(f"certificate {i + 1} is not valid base64-encoded DER")
    return value


AcmeServerUrl = Annotated[str, AfterValidator(_acme_server)]
CaBundle = Annotated[str, AfterValidator(_ca_bundle)]


class AcmeIssuerSettings(Model):
    """A ClusterIssuer for an ACME server besides Let's Encrypt's, such as a private CA that
    speaks ACME (step-ca, Pebble). Solves HTTP-01 through the selected ingress class, like the
    Let's Encrypt issuers."""

    name: DnsLabel = Field(
        description="ClusterIssuer name; select it with `tls_issuer`. Not letsencrypt-staging "
        "or letsencrypt-production."
    )
    server: AcmeServerUrl = Field(
        description="ACME directory URL (https:// only, at most 2048 characters), e.g. "
        "https://ca.internal.example.com/acme/acme/directory."
    )
    ca_bundle: CaBundle | None = Field(
        None,
        description="PEM CA certificates that sign the ACME server's own TLS certificate, when "
        "not a public CA (at most 64 KiB). Default: the system's CAs.",
    )


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
    tls_issuer: DnsLabel | None = Field(
        None,
        description="ClusterIssuer for this environment: letsencrypt-staging, "
        "letsencrypt-production or the name of one of `acme_issuers`. Default: the config's "
        "tls.issuer.",
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
    acme_issuers: list[AcmeIssuerSettings] = Field(
        default_factory=list,
        max_length=MAX_ACME_ISSUERS,
        description="More ACME ClusterIssuers, rendered next to the Let's Encrypt ones (at most "
        f"{MAX_ACME_ISSUERS}). Default: none.",
    )
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)
    deploy_status: DeployStatusSettings | None = Field(
        None,
        description="Post a deploy status per synced commit (Argo CD notifications). "
        "Default: off (nothing is sent).",
    )

    @model_validator(mode="after")
    def _issuers(self) -> ClusterSettings:
        names: dict[str, int] = {}
        for i, issuer in enumerate(self.acme_issuers):
            if issuer.name in ISSUERS:
                raise ValueError(
                    f"acme_issuers[{i}].name: '{issuer.name}' is a Let's Encrypt issuer the base "
                    "already renders; choose another name"
                )
            if issuer.name in names:
                raise ValueError(
                    f"acme_issuers[{i}].name: '{issuer.name}' is already acme_issuers"
                    f"[{names[issuer.name]}]"
                )
            names[issuer.name] = i
        if self.tls_issuer is not None and self.tls_issuer not in (*ISSUERS, *names):
            raise ValueError(
                f"tls_issuer: '{self.tls_issuer}' is neither {' nor '.join(ISSUERS)} nor the "
                "name of one of acme_issuers"
            )
        return self

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


# What Let's Encrypt's CA (Boulder, `policy.ValidEmail`) refuses in a contact address: the
# domains of RFC 2606's examples, and any domain that is not a public DNS name (an IP address,
# a name without a dot, a label that is not letters, digits and inner hyphens, a name that
# does not end in a public top-level domain). The names below end in none: RFC 2606 and
# RFC 6761 (test, example, invalid, localhost), RFC 6762 (local, and the private names its
# appendix G lists), RFC 7686 (onion), RFC 8375 (home.arpa), ICANN's internal (2024).
FORBIDDEN_CONTACT_DOMAINS = ("example.com", "example.net", "example.org")
NON_PUBLIC_SUFFIXES = (
    "test",
    "example",
    "invalid",
    "localhost",
    "local",
    "onion",
    "home.arpa",
    "internal",
    "localdomain",
    "lan",
    "home",
    "corp",
    "intranet",
    "private",
)
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def acme_contact_problem(address: str) -> str | None:
    """Why Let's Encrypt would refuse `address` as an account's contact, or None. A refused
    contact leaves the ClusterIssuers unregistered: no certificate is ever issued."""
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    refused = f"Let's Encrypt refuses the contact '{address}'"
    fix = "use an address at a domain that receives your mail"
    if not at or not local:
        return f"{refused}: it is not an e-mail address; {fix}"
    reason = _non_public(domain)
    if reason:
        return f"{refused}: {reason}; {fix}"
    return None


def _non_public(domain: str) -> str | None:
    bare = domain.strip("[]")
    try:
        ipaddress.ip_address(bare.removeprefix("ipv6:"))
    except ValueError:
        pass
    else:
        return f"'{domain}' is an IP address, not a domain"
    if domain in FORBIDDEN_CONTACT_DOMAINS:
        return f"{domain} is reserved for examples (RFC 2606)"
    for suffix in NON_PUBLIC_SUFFIXES:
        if domain == suffix or domain.endswith("." + suffix):
            return f"'.{suffix}' is not a public top-level domain"
    if len(domain) > 253:
        return "the domain is longer than 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"'{domain}' has no dot: not a public domain"
    if len(labels) > 10:
        return f"'{domain}' has more than 10 labels"
    for label in labels:
        if not _LABEL.match(label):
            return (
                f"'{domain}': the label '{label}' is not 1 to 63 letters, digits and inner "
                "hyphens (an internationalized name must be written in punycode, xn--...)"
            )
        if label[2:4] == "--" and not label.startswith("xn"):
            return f"'{domain}': the label '{label}' has the reserved form '??--'"
    if labels[-1].isdigit():
        return f"'{domain}' ends in a number, not a top-level domain"
    return None


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
