"""LetsEncryptIssuers: the two ClusterIssuers every environment has, staging and production,
solving HTTP-01 through the selected ingress class."""

from __future__ import annotations

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
class LetsEncryptIssuersProps:
    """Props of LetsEncryptIssuers."""

    email: str
    """ACME account contact (expiry notices)."""
    ingress_class_name: str
    """IngressClass the HTTP-01 solver Ingress uses: nginx or traefik."""
    labels: dict[str, str]
    sync_wave: str = "5"
    """After the platform's namespaced objects. @default 5"""


class LetsEncryptIssuers(Construct):
    """ClusterIssuers `letsencrypt-staging` and `letsencrypt-production` (names as in config)."""

    def __init__(self, scope: Construct, id: str, *, props: LetsEncryptIssuersProps) -> None:
        super().__init__(scope, id)
        self.issuers = {
            name: KubeObject(
                self,
                name,
                Gvk("cert-manager.io/v1", "ClusterIssuer"),
                ObjectMeta(name=name, labels=props.labels),
                annotations={SYNC_WAVE: props.sync_wave, **SKIP_DRY_RUN},
                body={
                    "spec": {
                        "acme": {
                            "server": server,
                            "email": props.email,
                            "privateKeySecretRef": {"name": f"{name}-account-key"},
                            "solvers": [
                                {
                                    "http01": {
                                        "ingress": {"ingressClassName": props.ingress_class_name}
                                    }
                                }
                            ],
                        }
                    }
                },
            )
            for name, server in ACME_SERVERS.items()
        }
