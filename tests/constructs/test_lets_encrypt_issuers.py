from __future__ import annotations

import cdk8s

from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.constructs.lets_encrypt_issuers import (
    LetsEncryptIssuers,
    LetsEncryptIssuersProps,
)
from constructs_lib.render.schema_check import validate_manifest


def test_staging_and_production_with_the_ingress_class() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "test")
    LetsEncryptIssuers(
        chart,
        "Issuers",
        props=LetsEncryptIssuersProps(
            email="ops@example.com", ingress_class_name="nginx", labels={}
        ),
    )
    issuers = {m["metadata"]["name"]: m for m in synthesize(chart)}
    assert sorted(issuers) == ["letsencrypt-production", "letsencrypt-staging"]
    for name, issuer in issuers.items():
        assert validate_manifest(issuer) == []
        acme = issuer["spec"]["acme"]
        assert acme["email"] == "ops@example.com"
        assert acme["privateKeySecretRef"] == {"name": f"{name}-account-key"}
        assert acme["solvers"] == [
            {"http01": {"ingress": {"ingressClassName": "nginx", "serviceType": "ClusterIP"}}}
        ]
