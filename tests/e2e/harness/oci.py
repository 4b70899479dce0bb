"""Container images without a registry: one layer around static binaries, written as an OCI
image layout in a tar archive that `ctr images import` reads.

    write_image(out, "ghcr.io/example/shop-web:1.9.0",
                files={"/e2e-server": (server_binary, 0o755),
                       "/etc/e2e/version": (b"1.9.0", 0o644)},
                entrypoint=["/e2e-server"], user="65532:65532")

The archive is reproducible (fixed mtimes and owners, sorted entries): the same inputs give the
same image digest, so re-importing an unchanged image is a no-op for the runtime.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FileSpec = tuple[Path | bytes, int]
"""A file of the image: its content (a path on this machine, or bytes) and its mode."""

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(
    tar: tarfile.TarFile, name: str, data: bytes | None, mode: int, link: str | None = None
) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = mode
    if link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = link
        tar.addfile(info)
    elif data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def layer_tar(
    files: Mapping[str, FileSpec],
    dirs: Sequence[str] = (),
    links: Mapping[str, str] | None = None,
) -> bytes:
    """An uncompressed layer: the parent directories of every file (0755), `dirs` (1777: for
    mount points such as /tmp), the files and the symbolic links (path -> target)."""
    wanted: dict[str, tuple[bytes | None, int, str | None]] = {}
    for d in dirs:
        wanted[d.strip("/")] = (None, 0o1777, None)
    entries: list[tuple[str, bytes | None, int, str | None]] = [
        (path, content if isinstance(content, bytes) else Path(content).read_bytes(), mode, None)
        for path, (content, mode) in files.items()
    ]
    entries += [(path, None, 0o777, target) for path, target in (links or {}).items()]
    for path, data, mode, link in entries:
        rel = path.strip("/")
        parts = rel.split("/")
        for i in range(1, len(parts)):
            wanted.setdefault("/".join(parts[:i]), (None, 0o755, None))
        wanted[rel] = (data, mode, link)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(wanted):
            entry, mode, link = wanted[name]
            _add(tar, name, entry, mode, link)
    return buf.getvalue()


def write_image(
    out: Path,
    ref: str,
    files: Mapping[str, FileSpec],
    entrypoint: Sequence[str],
    user: str = "65532:65532",
    env: Mapping[str, str] | None = None,
    dirs: Sequence[str] = ("/tmp",),
    labels: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    working_dir: str = "/",
) -> str:
    """Write `ref` as an OCI archive to `out`; returns the manifest digest."""
    layer = layer_tar(files, dirs, links)
    config: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": list(entrypoint),
            "User": user,
            "Env": [f"{k}={v}" for k, v in {"PATH": "/", **(env or {})}.items()],
            "WorkingDir": working_dir,
            "Labels": dict(labels or {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        "history": [{"created_by": "tests/e2e/harness/oci.py", "created": "1970-01-01T00:00:00Z"}],
        "created": "1970-01-01T00:00:00Z",
    }
    config_blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {
            "mediaType": MEDIA_CONFIG,
            "digest": _digest(config_blob),
            "size": len(config_blob),
        },
        "layers": [{"mediaType": MEDIA_LAYER, "digest": _digest(layer), "size": len(layer)}],
    }
    manifest_blob = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": _digest(manifest_blob),
                "size": len(manifest_blob),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": ref,
                    "org.opencontainers.image.ref.name": tag,
                },
            }
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "blobs", None, 0o755)
        _add(tar, "blobs/sha256", None, 0o755)
        for blob in (config_blob, layer, manifest_blob):
            _add(tar, "blobs/sha256/" + _digest(blob).split(":", 1)[1], blob, 0o644)
        _add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644)
        _add(tar, "index.json", json.dumps(index, sort_keys=True).encode(), 0o644)
    return _digest(manifest_blob)
