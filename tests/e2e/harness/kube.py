"""A small Kubernetes REST client over `requests` (client-certificate auth).

Deliberately thin: discovery maps apiVersion/kind to URLs, `apply` is
server-side apply, and everything else returns plain dicts as the API server
sends them. That keeps the harness independent of a generated client's model
versions and makes assertions read like the YAML they check.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import quote

import requests
import yaml

Manifest = dict[str, Any]


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str, body: Any = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body

    @property
    def reason(self) -> str:
        return (self.body or {}).get("reason", "") if isinstance(self.body, dict) else ""


def _iter_docs(source: Any) -> Iterator[Manifest]:
    if source is None:
        return
    if isinstance(source, Path):
        if source.is_dir():
            for p in sorted(source.rglob("*")):
                if p.suffix in (".yaml", ".yml", ".json") and p.is_file():
                    yield from _iter_docs(p)
            return
        yield from _iter_docs(source.read_text())
        return
    if isinstance(source, str):
        for doc in yaml.safe_load_all(source):
            yield from _iter_docs(doc)
        return
    if isinstance(source, dict):
        if source.get("kind", "").endswith("List") and isinstance(source.get("items"), list):
            for item in source["items"]:
                yield from _iter_docs(item)
        elif source:
            yield source
        return
    if isinstance(source, Iterable):
        for item in source:
            yield from _iter_docs(item)
        return
    raise TypeError(f"cannot read manifests from {type(source).__name__}")


def load_manifests(*sources: Any) -> list[Manifest]:
    """Flatten YAML text, Paths (files or directories, recursively), dicts,
    `kind: *List` objects and iterables of those into a list of objects."""
    return [d for s in sources for d in _iter_docs(s)]


def _split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


class KubeClient:
    def __init__(self, server: str, ca: Path, cert: Path, key: Path, timeout: float = 30):
        self.server = server.rstrip("/")
        self.session = requests.Session()
        self.session.verify = str(ca)
        self.session.cert = (str(cert), str(key))
        self.session.trust_env = False  # never route loopback through a proxy
        self.timeout = timeout
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    # ---- raw HTTP ---------------------------------------------------------
    def request(self, method: str, path: str, **kw: Any) -> Any:
        kw.setdefault("timeout", self.timeout)
        resp = self.session.request(method, self.server + path, **kw)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                msg = body.get("message", resp.text)
            except ValueError:
                body, msg = None, resp.text
            raise KubeError(resp.status_code, f"{method} {path}: {msg}", body)
        if not resp.content:
            return None
        ctype = resp.headers.get("content-type", "")
        return resp.json() if "json" in ctype else resp.text

    # ---- discovery ----------------------------------------------------------
    def _discover(self, api_version: str) -> dict[str, tuple[str, bool]]:
        group, version = _split_api_version(api_version)
        path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        data = self.request("GET", path)
        kinds: dict[str, tuple[str, bool]] = {}
        for r in data.get("resources", []):
            if "/" not in r["name"]:
                kinds[r["kind"]] = (r["name"], bool(r.get("namespaced")))
        self._resources[api_version] = kinds
        return kinds

    def resource(self, api_version: str, kind: str, wait: float = 0) -> tuple[str, bool]:
        """(plural, namespaced) for a kind; re-discovers on a miss, waiting up
        to `wait` seconds for it to appear (a CRD just created)."""
        deadline = time.monotonic() + wait
        kinds = self._resources.get(api_version)
        while True:
            if kinds and kind in kinds:
                return kinds[kind]
            try:
                kinds = self._discover(api_version)
            except KubeError as exc:
                if exc.status != 404:
                    raise
                kinds = {}
            if kind in kinds:
                return kinds[kind]
            if time.monotonic() >= deadline:
                raise KubeError(404, f"the server has no resource for {api_version} {kind}")
            time.sleep(0.3)

    def path(
        self,
        api_version: str,
        kind: str,
        name: str | None = None,
        namespace: str | None = None,
        subresource: str | None = None,
        wait: float = 0,
    ) -> str:
        plural, namespaced = self.resource(api_version, kind, wait=wait)
        group, version = _split_api_version(api_version)
        p = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        if namespaced and namespace:
            p += f"/namespaces/{quote(namespace)}"
        p += f"/{plural}"
        if name:
            p += f"/{quote(name)}"
        if subresource:
            p += f"/{subresource}"
        return p

    def namespaced(self, api_version: str, kind: str) -> bool:
        return self.resource(api_version, kind)[1]

    # ---- reads -------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest | None:
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", self.path(api_version, kind, name, namespace))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Manifest]:
        params = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        data = self.request("GET", self.path(api_version, kind, namespace=namespace), params=params)
        return data.get("items", [])

    def events(self, namespace: str, involved_name: str | None = None, involved_kind: str | None = None) -> list[Manifest]:
        sel = []
        if involved_name:
            sel.append(f"involvedObject.name={involved_name}")
        if involved_kind:
            sel.append(f"involvedObject.kind={involved_kind}")
        return self.list("v1", "Event", namespace, field_selector=",".join(sel) or None)

    # ---- writes ------------------------------------------------------------
    def apply_one(self, obj: Manifest, field_manager: str = "e2e-harness", force: bool = True) -> Manifest:
        api_version, kind = obj["apiVersion"], obj["kind"]
        meta = obj.setdefault("metadata", {})
        name = meta["name"]
        namespace = meta.get("namespace")
        plural, namespaced = self.resource(api_version, kind, wait=30)
        if namespaced and not namespace:
            namespace = meta["namespace"] = "default"
        path = self.path(api_version, kind, name, namespace if namespaced else None)
        params = {"fieldManager": field_manager}
        if force:
            params["force"] = "true"
        return self.request(
            "PATCH",
            path,
            params=params,
            data=json.dumps(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    def apply(self, *sources: Any, field_manager: str = "e2e-harness", crd_timeout: float = 60) -> list[Manifest]:
        """Server-side apply every object in `sources` (see load_manifests):
        CustomResourceDefinitions first (waiting until Established), then
        Namespaces, then the rest in the given order."""
        docs = load_manifests(*sources)
        crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        nss = [d for d in docs if d.get("kind") == "Namespace"]
        rest = [d for d in docs if d.get("kind") not in ("CustomResourceDefinition", "Namespace")]
        out = [self.apply_one(d, field_manager) for d in crds]
        for crd in crds:
            self.wait_crd_established(crd["metadata"]["name"], crd_timeout)
        out += [self.apply_one(d, field_manager) for d in nss]
        out += [self.apply_one(d, field_manager) for d in rest]
        return out

    def wait_crd_established(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            crd = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            conds = {c["type"]: c["status"] for c in ((crd or {}).get("status") or {}).get("conditions") or []}
            if conds.get("Established") == "True":
                spec = crd["spec"]
                ver = next(v["name"] for v in spec["versions"] if v.get("storage"))
                self.resource(f"{spec['group']}/{ver}", spec["names"]["kind"], wait=timeout)
                return
            if time.monotonic() >= deadline:
                raise KubeError(504, f"CRD {name} not Established after {timeout}s: {conds}")
            time.sleep(0.2)

    def create(self, obj: Manifest) -> Manifest:
        meta = obj.get("metadata", {})
        path = self.path(obj["apiVersion"], obj["kind"], namespace=meta.get("namespace"), wait=10)
        return self.request("POST", path, json=obj)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Any,
        namespace: str | None = None,
        subresource: str | None = None,
        patch_type: str = "merge",
    ) -> Manifest:
        ctype = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[patch_type]
        return self.request(
            "PATCH",
            self.path(api_version, kind, name, namespace, subresource),
            data=json.dumps(patch),
            headers={"Content-Type": ctype},
        )

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete (foreground propagation). False when it did not exist."""
        try:
            self.request(
                "DELETE",
                self.path(api_version, kind, name, namespace),
                json={"propagationPolicy": "Foreground"},
            )
            return True
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
