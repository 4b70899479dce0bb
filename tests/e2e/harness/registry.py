"""The registries on the node's internet: a pull-only OCI distribution endpoint serving the
images the harness writes (oci.py), so that a pod whose image is `imagePullPolicy: Always`
(Argo CD's install manifest pins its own that way) is pulled as on a real node: the kubelet asks
the runtime to pull, containerd resolves the tag on the registry and fetches what it lacks.

containerd is pointed at it per upstream registry with a `hosts.toml` (its `config_path`):

    <hosts dir>/quay.io/hosts.toml
        server = "https://quay.io"
        [host."http://10.45.0.1:PORT"]
          capabilities = ["pull", "resolve"]

It answers the read side of the distribution API: `GET /v2/`, `GET|HEAD
/v2/<name>/manifests/<tag or digest>` and `GET|HEAD /v2/<name>/blobs/<digest>`; any other path
is 404, any other method 501 (no push). Images referenced by a digest they cannot have
(ingress-nginx's chart pins upstream's digests) are not served: those stay imported only, as
`IfNotPresent` needs.
"""

from __future__ import annotations

import json
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from .internet import HTTPServer

DOCKER_HUB = "docker.io"
_PATH = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")


def split(ref: str) -> tuple[str, str, str]:
    """(registry, repository path, tag or digest) of a normalized reference."""
    registry, _, rest = ref.partition("/")
    if "@" in rest:
        name, _, tag = rest.partition("@")
    else:
        name, _, tag = rest.rpartition(":")
    return registry, name, tag


class Registry:
    def __init__(self, host: str, hosts_dir: Path):
        self.host = host
        self.hosts_dir = hosts_dir
        self.blobs: dict[str, tuple[bytes, str]] = {}  # digest -> (content, media type)
        self.tags: dict[tuple[str, str], str] = {}  # (repository path, tag) -> manifest digest
        self.requests: list[tuple[str, str, int]] = []
        self._server: HTTPServer | None = None
        hosts_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        assert self._server is not None, "registry not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def add(self, archive: Path) -> None:
        """Serve the image of an OCI archive under the name in its index (tag references
        only), and point containerd's hosts configuration of its registry here."""
        with tarfile.open(archive) as tar:
            files = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
            data = {name: f.read() for name, f in files.items() if f is not None}
        index = json.loads(data["index.json"])
        for desc in index["manifests"]:
            ref = desc["annotations"]["io.containerd.image.name"]
            registry, name, tag = split(ref)
            if tag.startswith("sha256:"):
                continue
            manifest = data["blobs/sha256/" + desc["digest"].split(":", 1)[1]]
            self.blobs[desc["digest"]] = (manifest, desc["mediaType"])
            for layer in [json.loads(manifest)["config"], *json.loads(manifest)["layers"]]:
                blob = data["blobs/sha256/" + layer["digest"].split(":", 1)[1]]
                self.blobs[layer["digest"]] = (blob, layer["mediaType"])
            self.tags[(name, tag)] = desc["digest"]
            self._hosts_toml(registry)

    def _hosts_toml(self, registry: str) -> None:
        server = "https://registry-1.docker.io" if registry == DOCKER_HUB else f"https://{registry}"
        folder = self.hosts_dir / registry
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hosts.toml").write_text(
            f'server = "{server}"\n\n[host."{self.url}"]\n  capabilities = ["pull", "resolve"]\n'
        )

    def start(self) -> Registry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                registry.requests.append((self.command, self.path, status))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _serve(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ("/v2", "/v2/"):
                    self._send(200, b"{}", {"Content-Type": "application/json"})
                    return
                m = _PATH.match(path)
                if not m:
                    self._send(404, b"", {})
                    return
                ref = m["ref"]
                digest = ref if ref.startswith("sha256:") else None
                if m["kind"] == "manifests" and digest is None:
                    digest = registry.tags.get((m["name"], ref))
                found = registry.blobs.get(digest or "")
                if found is None:
                    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN"}]}).encode()
                    self._send(404, body, {"Content-Type": "application/json"})
                    return
                content, media = found
                self._send(
                    200,
                    content,
                    {"Content-Type": media, "Docker-Content-Digest": str(digest)},
                )

            do_GET = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = HTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="registry", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
