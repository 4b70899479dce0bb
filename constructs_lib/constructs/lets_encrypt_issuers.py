"""LetsEncryptIssuers: the two ClusterIssuers every environment has, staging and production,
solving HTTP-01 through the selected ingress class, and any other ACME issuer the environment
adds (`acme_issuers` in cluster.yaml)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.model.names import SYNC_OPTIONS, SYNC_WAVE

ACME_SERVERS = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
}
# The CRD comes with cert-manager, an earlier Application; on the very first sync Argo CD's
# dry run would fail on the unknown kind without this.
SKIP_DRY_RUN = {SYNC_OPTIONS: "SkipDryRunOnMissingResource=true"}


@dataclass(frozen=True)
class AcmeServer:
    """An ACME ClusterIssuer besides Let's Encrypt's."""

    name: str
    server: str
    """ACME directory URL (https)."""
    ca_bundle: str | None = None
    """PEM CAs of the server's own TLS certificate. @default the system's CAs"""


@dataclass(frozen=True)
class LetsEncryptIssuersProps:
    """Props of LetsEncryptIssuers."""

    email: str
    """ACME account contact (expiry notices)."""
    ingress_class_name: str
    """IngressClass the HTTP-01 solver Ingress uses: nginx or traefik."""
    labels: dict[str, str]
    sync_wave: str = "5"
    """After the platform's namespaced objects. @default 5"""
    extra: tuple[AcmeServer, ...] = ()
    """More ACME issuers, after the Let's Encrypt ones. @default none"""


class LetsEncryptIssuers(Construct):
    """ClusterIssuers `letsencrypt-staging` and `letsencrypt-production` (names as in config),
    then the extra ACME issuers."""

    def __init__(self, scope: Construct, id: str, *, props: LetsEncryptIssuersProps) -> None:
        super().__init__(scope, id)
        servers = [AcmeServer(name, url) for name, url in ACME_SERVERS.items()] + list(props.extra)
        self.issuers = {
            server.name: KubeObject(
                self,
                server.name,
                Gvk("cert-manager.io/v1", "ClusterIssuer"),
                ObjectMeta(name=server.name, labels=props.labels),
                annotations={SYNC_WAVE: props.sync_wave, **SKIP_DRY_RUN},
                body={"spec": {"acme": _acme(server, props)}},
            )
            for server in servers
        }


def _acme(server: AcmeServer, props: LetsEncryptIssuersProps) -> dict[str, object]:
    acme: dict[str, object] = {
        "server": server.server,
        "email": props.email,
        "privateKeySecretRef": {"name": f"{server.name}-account-key"},
        "solvers": [
            {
                "http01": {
                    "ingress": {
                        "ingressClassName": props.ingress_class_name,
                        # cert-manager's default is a NodePort Service per challenge, which
                        # the app namespace's quota (services.nodeports: 0) refuses.
                        "serviceType": "ClusterIP",
                    }
                }
            }
        ],
    }
    if server.ca_bundle:
        acme["caBundle"] = base64.b64encode(server.ca_bundle.encode()).decode()
    return acme
