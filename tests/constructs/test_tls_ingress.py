from __future__ import annotations

import pytest

from constructs_lib.constructs.tls_ingress import TlsIngress, TlsIngressProps
from tests.support import find
from tests.support.constructs import synth

LABELS = {"app.kubernetes.io/name": "web"}


def props(**fields: object) -> TlsIngressProps:
    base: dict[str, object] = dict(
        name="web",
        namespace="shop",
        labels=LABELS,
        hosts=("a.example.com", "b.example.com"),
        service_name="web",
        service_port="http",
        paths=("/",),
        ingress_class_name="nginx",
        tls=True,
        cluster_issuer="letsencrypt-staging",
        tls_secret_name="web-tls",  # pragma: allowlist secret
    )
    base.update(fields)
    return TlsIngressProps(**base)  # type: ignore[arg-type]


def test_tls_block_and_issuer_annotation() -> None:
    ingress = find(synth(lambda c: TlsIngress(c, "i", props=props())), "Ingress", "web")
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-staging"
    }
    assert ingress["spec"]["tls"] == [
        {"hosts": ["a.example.com", "b.example.com"], "secretName": "web-tls"}
    ]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["a.example.com", "b.example.com"]


def test_tls_off_has_no_certificate() -> None:
    ingress = find(synth(lambda c: TlsIngress(c, "i", props=props(tls=False))), "Ingress", "web")
    assert "tls" not in ingress["spec"]
    assert "annotations" not in ingress["metadata"]


def test_production_issuer_custom_secret_and_numbered_port() -> None:
    p = props(
        cluster_issuer="letsencrypt-production",
        tls_secret_name="shop-cert",  # pragma: allowlist secret
        service_port=80,
        paths=("/api", "/v2"),
    )
    ingress = find(synth(lambda c: TlsIngress(c, "i", props=p)), "Ingress", "web")
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        == "letsencrypt-production"
    )
    assert ingress["spec"]["tls"][0]["secretName"] == "shop-cert"
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/api", "/v2"]
    assert paths[0]["pathType"] == "Prefix"
    assert paths[0]["backend"]["service"]["port"] == {"number": 80}


def test_requires_a_host() -> None:
    with pytest.raises(ValueError, match="TlsIngress 'web': at least one host is required"):
        synth(lambda c: TlsIngress(c, "i", props=props(hosts=())))
