"""The cluster as `gitops-base bootstrap` and `status` see it: a lightkube client, plain dicts in
and out, and every failure as one `KubeError` line naming what was refused and how to fix it.

lightkube is imported here only, and only when a command talks to a cluster, so the other
commands start as fast as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightkube import Client

Manifest = dict[str, Any]

# Where the kubeconfig is looked for when --kubeconfig is not given, in this order.
K3S_KUBECONFIG = Path("/etc/rancher/k3s/k3s.yaml")
CLUSTER_SCOPED_KINDS = frozenset(
    {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Node"}
)
# Plural resource names of the custom kinds the commands read or write.
CUSTOM_PLURALS = {
    ("argoproj.io/v1alpha1", "Application"): "applications",
    ("argoproj.io/v1alpha1", "AppProject"): "appprojects",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "applicationsets",
    ("helm.cattle.io/v1", "HelmChart"): "helmcharts",
}


class KubeError(Exception):
    """A cluster call failed; the message is one line for the operator."""


def kubeconfig_path(explicit: Path | None, environ: dict[str, str] | None = None) -> Path:
    """--kubeconfig, else the first file of $KUBECONFIG, else ~/.kube/config, else k3s's own
    /etc/rancher/k3s/k3s.yaml (running on the node)."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get("KUBECONFIG"):
        return Path(env["KUBECONFIG"].split(os.pathsep)[0]).expanduser()
    home = Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"
    if home.is_file() or not K3S_KUBECONFIG.is_file():
        return home
    return K3S_KUBECONFIG


def describe_api_error(status: int, message: str, action: str) -> str:
    """One line for an API error, with what to do about the common ones."""
    if status == 401:
        return f"{action}: unauthorized: the cluster refused the kubeconfig's credentials"
    if status == 403:
        return (
            f"{action}: forbidden: {message} (bootstrap needs cluster-admin rights: it installs "
            "CustomResourceDefinitions and ClusterRoles)"
        )
    return f"{action}: {message} (HTTP {status})"


def object_ref(obj: Manifest) -> str:
    """`Kind namespace/name` (or `Kind name` for cluster-scoped objects)."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def content(obj: Manifest | None) -> Manifest | None:
    """An object without what changes on every write or is written by controllers (status),
    to tell whether an apply changed it."""
    if obj is None:
        return None
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "managedFields", "generation")
    }
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


class Kube:
    """The calls the commands make, on one lightkube client."""

    def __init__(self, kubeconfig: Path | None, context: str | None) -> None:
        import httpx2
        import yaml
        from lightkube import Client, ConfigError, KubeConfig

        path = kubeconfig_path(kubeconfig)
        try:
            config = KubeConfig.from_file(path).get(context)
        except ConfigError as exc:
            raise KubeError(f"kubeconfig {path}: {exc}") from None
        except yaml.YAMLError as exc:
            reason = " ".join(str(exc).split())
            raise KubeError(f"kubeconfig {path}: cannot read it: not YAML ({reason})") from None
        except AttributeError:  # a list or a scalar where the file needs a mapping
            raise KubeError(
                f"kubeconfig {path}: cannot read it: not a kubeconfig (a mapping with clusters, "
                "contexts and users)"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KubeError(f"kubeconfig {path}: cannot read it: {exc}") from None
        assert config is not None
        self.server = config.cluster.server
        self.context = config.context_name
        # 60 s: applying Argo CD's largest CRD (1.4 MB) takes seconds on a busy small node.
        self.client: Client = Client(config, trust_env=False, timeout=httpx2.Timeout(60.0))

    def close(self) -> None:
        self.client.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import httpx2
        from lightkube import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            raise KubeError(
                describe_api_error(exc.status.code or 0, exc.status.message or str(exc), action)
            ) from None
        except httpx2.HTTPError as exc:
            raise KubeError(
                f"{action}: cannot reach the cluster at {self.server} (context "
                f"{self.context}): {exc or type(exc).__name__}"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # JSON that does not parse, or that is no Kubernetes object: a proxy's or a
            # login page's answer, not the API server's.
            raise KubeError(
                f"{action}: {self.server} (context {self.context}) answered with something "
                f"that is not a Kubernetes API response ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); is it the API "
                "server?"
            ) from None

    @staticmethod
    def resource(api_version: str, kind: str) -> Any:
        """The lightkube class of a kind: built in, or a generic one for the custom kinds."""
        from lightkube.core.resource_registry import resource_registry
        from lightkube.generic_resource import create_namespaced_resource

        plural = CUSTOM_PLURALS.get((api_version, kind))
        if plural is None:
            return resource_registry.load(api_version, kind)
        group, version = api_version.split("/")
        return create_namespaced_resource(group, version, kind, plural)

    @staticmethod
    def to_dict(obj: Any) -> Manifest:
        data: Manifest = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        return data

    # --- reads ------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Manifest | None:
        res = self.resource(api_version, kind)
        obj = self._call(f"read {kind} {name}", self._get_raw, res, name, namespace)
        return None if obj is None else self.to_dict(obj)

    def _get_raw(self, res: Any, name: str, namespace: str | None) -> Any:
        try:
            if namespace is None:
                return self.client.get(res, name)
            return self.client.get(res, name, namespace=namespace)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[Manifest]:
        """Every object of a kind (in `namespace`; `*` for every namespace); [] when the kind
        does not exist in the cluster."""
        res = self.resource(api_version, kind)

        def fetch() -> list[Manifest]:
            try:
                if namespace is None:
                    return [self.to_dict(o) for o in self.client.list(res)]
                return [self.to_dict(o) for o in self.client.list(res, namespace=namespace)]
            except Exception as exc:
                if _not_found(exc):
                    return []
                raise

        result: list[Manifest] = self._call(f"list {kind}", fetch)
        return result

    # --- writes -----------------------------------------------------------------------------

    def apply(self, obj: Manifest, field_manager: str, dry_run: bool = False) -> Manifest:
        """Server-side apply (conflicts forced: this command owns what it applies); returns
        the object as stored, or as it would be stored with `dry_run`."""
        from lightkube import codecs

        res = self.resource(obj["apiVersion"], obj["kind"])
        model = res.from_dict(obj) if hasattr(res, "from_dict") else codecs.from_dict(obj)
        after = self._call(
            f"{'check (dry run)' if dry_run else 'apply'} {object_ref(obj)}",
            self.client.apply,
            model,
            field_manager=field_manager,
            force=True,
            dry_run=dry_run,
        )
        return self.to_dict(after)

    def live(self, obj: Manifest) -> Manifest | None:
        """The object as it is in the cluster, None when it (or its kind) does not exist."""
        meta = obj["metadata"]
        return self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))

    def annotate(
        self, api_version: str, kind: str, name: str, namespace: str, key: str, value: str
    ) -> None:
        from lightkube.types import PatchType

        res = self.resource(api_version, kind)
        self._call(
            f"annotate {kind} {namespace}/{name}",
            self.client.patch,
            res,
            name,
            {"metadata": {"annotations": {key: value}}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )


def _not_found(exc: Exception) -> bool:
    """A 404: the object does not exist (a Status), or its kind is not served at all (the API
    server's plain-text `404 page not found`, which lightkube raises as an HTTP error)."""
    import httpx2
    from lightkube import ApiError

    if isinstance(exc, ApiError):
        return exc.status.code == 404
    return isinstance(exc, httpx2.HTTPStatusError) and exc.response.status_code == 404
