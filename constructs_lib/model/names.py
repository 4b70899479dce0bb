"""The names the base gives what it renders in the cluster, one home each, and so the app
names, namespaces and volume names the config refuses (`AppName`, `AppNamespace`).

An app's Application and AppProject take the app's name, so the app may not take one the base
gives its own Argo CD objects: the root Application and its project (root.yaml), the
baseline's Application and project, each add-on's Application (its chart's name, `addons.py`)
and project (`addon-<name>`), Argo CD's own Application when it manages itself, and Argo CD's
built-in project, which root.yaml locks. Nor may the app take a namespace the cluster's own
components or an add-on run in: the app namespace gets default-deny network policies,
restricted Pod Security and a quota, which would stop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator

from constructs_lib.model.addons import ADDON_PROJECT_PREFIX, ADDONS, KUBE_SYSTEM
from constructs_lib.model.value_types import DnsLabel

ROOT_APPLICATION = "root"
"""The root Application (app of apps) of every environment, in root.yaml."""
BOOTSTRAP_PROJECT = "bootstrap"
"""The root Application's AppProject."""
PLATFORM = "platform"
"""The Application and AppProject of the app namespace's baseline and the ClusterIssuers."""
DEFAULT_PROJECT = "default"
"""Argo CD's built-in AppProject, which root.yaml locks."""
SELF_MANAGED_ARGOCD = "argocd"
"""Argo CD's own Application, when an environment lets it manage itself."""
ARGOCD_NAMESPACE = "argocd"
"""The namespace Argo CD runs in unless clusters/<env>/cluster.yaml says otherwise."""
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
"""The annotation Argo CD orders a sync by, lowest wave first."""
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
"""The annotation of an object's own sync options."""
NOTIFICATIONS_SECRET = "argocd-notifications-secret"  # pragma: allowlist secret (a name)
"""Argo CD's Secret of notification tokens, which `bootstrap` writes the deploy status's into."""
DEPLOY_STATUS_SERVICE = "gitops-base-status"
"""The deploy status's notification service and trigger (constructs/argocd/deploy_status.py):
no other key of argocd-notifications-cm may name it."""
DEPLOY_STATUS_TOKEN_KEY = f"{DEPLOY_STATUS_SERVICE}-token"  # pragma: allowlist secret (a name)
"""The key of argocd-notifications-secret the service sends as its token."""
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
"""The app.kubernetes.io label keys (constructs/labels.py builds the labels)."""
ARGOCD_PART = "argocd"
"""The `part-of` value of Argo CD's own objects, which the base's partial ConfigMaps and the
Secret `bootstrap` writes carry too."""
MANAGER = "gitops-base"
"""The `managed-by` value of every object the base renders or writes."""
NAMESPACE_NAME = "kubernetes.io/metadata.name"
"""The label the API server sets on every Namespace, its name; immutable."""
TMP_VOLUME, TMP_PATH = "tmp", "/tmp"
"""The writable volume every pod gets, and where: a read-only root filesystem does not break
ordinary programs."""
SECRETS_VOLUME = "secrets"  # pragma: allowlist secret (a volume name)
"""The volume of a pod's Infisical secrets."""
POD_VOLUMES = (TMP_VOLUME, SECRETS_VOLUME)
"""The volumes the base adds to a pod, whose names a service's own volumes may not take."""

SYSTEM_NAMESPACES = {
    KUBE_SYSTEM: "the cluster's system components (DNS, the API server's add-ons)",
    "kube-public": "readable by every client, reserved by Kubernetes",
    "kube-node-lease": "the nodes' heartbeats",
    "default": "Kubernetes' own default namespace",
    ARGOCD_NAMESPACE: "Argo CD itself",
}
"""Kubernetes' and Argo CD's namespaces -> what runs there."""
BASE_NAMES = {
    ROOT_APPLICATION: "the root Application of every environment",
    BOOTSTRAP_PROJECT: "the AppProject of the root Application",
    PLATFORM: "the Application and AppProject of the platform baseline",
    DEFAULT_PROJECT: "Argo CD's built-in AppProject",
}
"""The names of the base's own Argo CD objects -> what they name."""

RESERVED_NAMESPACES = {
    **{a.namespace: f"the {a.name} add-on" for a in ADDONS.values()},
    **SYSTEM_NAMESPACES,
}
"""Every namespace an app may not take: the system ones and each add-on's."""
RESERVED_APP_NAMES = {
    **BASE_NAMES,
    **{name: f"the Application of the {name} add-on" for name in ADDONS},
}
"""Every name an app may not take (besides the add-ons' projects, `addon-<name>`)."""


def _refused(reserved: Mapping[str, str], why: str) -> AfterValidator:
    """A check that refuses the names in `reserved`, saying why with its reason (`why`
    formats it as {})."""

    def check(value: str) -> str:
        if value in reserved:
            raise ValueError(f"'{value}' is reserved: {why.format(reserved[value])}")
        return value

    return AfterValidator(check)


def _not_an_addon_project(value: str) -> str:
    if value.startswith(ADDON_PROJECT_PREFIX):
        raise ValueError(
            f"'{value}' is reserved: names starting with '{ADDON_PROJECT_PREFIX}' are the "
            "add-ons' AppProjects, which the app's AppProject could overwrite; choose another "
            "name"
        )
    return value


AppNamespace = Annotated[
    DnsLabel,
    _refused(
        RESERVED_NAMESPACES,
        "it holds {}, and the app namespace gets default-deny network policies, restricted "
        "Pod Security and a quota; choose a namespace of the app's own",
    ),
]
AppName = Annotated[
    DnsLabel,
    _refused(
        RESERVED_APP_NAMES,
        "the base names {} so, and the app's Application and AppProject would overwrite it; "
        "choose another name",
    ),
    AfterValidator(_not_an_addon_project),
]
