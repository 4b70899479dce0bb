"""A small Kubernetes REST client on the standard library (http.client + ssl,
client-certificate auth).

Deliberately thin: discovery maps apiVersion/kind to URLs, `apply` is
server-side apply, and everything else returns plain dicts as the API server
sends them. That keeps the harness independent of a generated client's model
versions, adds no dependency, and makes assertions read like the YAML they
check.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

import yaml

Manifest = dict[str, Any]
# `KubeClient.list` shadows the builtin inside the class body.
ManifestList = list[Manifest]

# libyaml's loader is ~10x faster on the multi-megabyte CRDs.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        for doc in yaml.load_all(source, Loader=_Loader):
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
        u = urlsplit(self.server)
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 443
        self._ctx = ssl.create_default_context(cafile=str(ca))
        self._ctx.load_cert_chain(str(cert), str(key))
        self.timeout = timeout
        self._conn: http.client.HTTPSConnection | None = None
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- raw HTTP ---------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
        as_user: str | None = None,
    ) -> Any:
        """One API call; returns parsed JSON (or text). Raises KubeError on
        HTTP >= 400 (status 0 for a connection failure). `as_user`: sent as that
        user (impersonation), as the API server's admission sees its own writes."""
        url = path + ("?" + urlencode(params) if params else "")
        headers = {"Accept": "application/json, */*"}
        if as_user is not None:
            headers["Impersonate-User"] = as_user
        data = None
        if body is not None:
            data = (
                body
                if isinstance(body, bytes)
                else (body if isinstance(body, str) else json.dumps(body)).encode()
            )
            headers["Content-Type"] = content_type
        for attempt in (1, 2):  # a kept-alive connection may have gone stale
            if self._conn is None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, context=self._ctx, timeout=timeout or self.timeout
                )
            try:
                self._conn.request(method, url, body=data, headers=headers)
                resp = self._conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 2:
                    raise KubeError(0, f"{method} {path}: {type(exc).__name__}: {exc}") from None
        text = raw.decode("utf-8", "replace")
        ctype = resp.getheader("Content-Type", "")
        parsed: Any = text
        if "json" in ctype and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                pass
        if resp.status >= 400:
            msg = parsed.get("message", text) if isinstance(parsed, dict) else text
            raise KubeError(resp.status, f"{method} {path}: {msg}", parsed)
        return parsed if text else None

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
    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        """The object, or None when it does not exist."""
        try:
            return cast(
                Manifest, self.request("GET", self.path(api_version, kind, name, namespace))
            )
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
        data = self.request(
            "GET", self.path(api_version, kind, namespace=namespace), params=params or None
        )
        return cast(ManifestList, data.get("items", []))

    def events(
        self, namespace: str, involved_name: str | None = None, involved_kind: str | None = None
    ) -> ManifestList:
        sel = []
        if involved_name:
            sel.append(f"involvedObject.name={involved_name}")
        if involved_kind:
            sel.append(f"involvedObject.kind={involved_kind}")
        return self.list("v1", "Event", namespace, field_selector=",".join(sel) or None)

    # ---- writes ------------------------------------------------------------
    def apply_one(
        self, obj: Manifest, field_manager: str = "e2e-harness", force: bool = True
    ) -> Manifest:
        api_version, kind = obj["apiVersion"], obj["kind"]
        meta = obj.setdefault("metadata", {})
        name = meta["name"]
        namespace = meta.get("namespace")
        _plural, namespaced = self.resource(api_version, kind, wait=30)
        if namespaced and not namespace:
            namespace = meta["namespace"] = "default"
        path = self.path(api_version, kind, name, namespace if namespaced else None)
        params = {"fieldManager": field_manager}
        if force:
            params["force"] = "true"
        return cast(
            Manifest,
            self.request(
                "PATCH", path, params=params, body=obj, content_type="application/apply-patch+yaml"
            ),
        )

    def apply(
        self, *sources: Any, field_manager: str = "e2e-harness", crd_timeout: float = 60
    ) -> ManifestList:
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
            conds = {
                c["type"]: c["status"]
                for c in ((crd or {}).get("status") or {}).get("conditions") or []
            }
            if crd is not None and conds.get("Established") == "True":
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
        return cast(Manifest, self.request("POST", path, body=obj))

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
        return cast(
            Manifest,
            self.request(
                "PATCH",
                self.path(api_version, kind, name, namespace, subresource),
                body=patch,
                content_type=ctype,
            ),
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
    ) -> bool:
        """Delete an object. False when it did not exist."""
        try:
            self.request(
                "DELETE",
                self.path(api_version, kind, name, namespace),
                body={"propagationPolicy": propagation},
            )
            return True
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
