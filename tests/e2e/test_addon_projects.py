"""Each add-on's AppProject is the smallest that lets its pinned chart sync: rendered with the
real helm binary from the pinned chart packages (tests/e2e/addon_kinds.py)."""

from __future__ import annotations

from constructs_lib.model.addons import ADDONS
from tests.e2e.addon_kinds import check


def test_each_pinned_chart_renders_exactly_what_its_project_allows() -> None:
    problems, table = check()
    assert problems == []
    assert sorted(table) == sorted(ADDONS)
    # Only the CSI driver's project may create the CSIDriver, only cert-manager's the
    # mutating webhook, and the Infisical provider's no CRDs at all.
    assert "storage.k8s.io/CSIDriver" in table["secrets-store-csi-driver"]["cluster"]
    assert (
        "admissionregistration.k8s.io/MutatingWebhookConfiguration"
        in (table["cert-manager"]["cluster"])
    )
    assert table["infisical-csi-provider"]["cluster"] == [
        "rbac.authorization.k8s.io/ClusterRole",
        "rbac.authorization.k8s.io/ClusterRoleBinding",
    ]
