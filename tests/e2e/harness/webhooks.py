"""Stand-in for add-on admission webhook servers that cannot run here.

ingress-nginx and cert-manager register admission webhooks with
`failurePolicy: Fail`: once their webhook configurations exist, the API server
refuses every Ingress (ingress-nginx) and every cert-manager.io object
(cert-manager) unless the webhook's Service answers. Their servers are the
add-ons' own pods (the ingress controller, cert-manager's webhook), and no pod
runs in this harness.

`WebhookStandIn` keeps the API server's side real (the chart's webhook
configurations, its Service routing and TLS verification) and answers in place
of the absent pods:

* the private network namespace gets the service CIDR on `lo`, as kube-proxy
  would make ClusterIPs reachable; the stand-in listens on each webhook
  Service's ClusterIP and port;
* it serves a certificate for `<service>.<namespace>.svc` from the harness CA
  and writes that CA into the webhooks' `caBundle` (what cert-manager's
  cainjector and ingress-nginx's admission-patch hook Job do);
* it ALLOWS every AdmissionReview unchanged and records it: it validates
  nothing. What the real webhooks would refuse is not tested; that the API
  server sends the objects to them is (see `requests`).

`pause()` makes it stop answering, so a journey can show exactly which objects
the webhooks block when nothing serves them.
"""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import netns
from .kube import KubeClient, KubeError
from .pki import PKI

ADMISSION = "admissionregistration.k8s.io/v1"
WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


class WebhookStandInError(RuntimeError):
    pass


@dataclass(frozen=True)
class AdmissionCall:
    """One AdmissionReview the API server sent to the stand-in."""

    service: str  # <namespace>/<name> of the webhook Service
    path: str
    kind: str
    namespace: str
    name: str
    operation: str
    dry_run: bool


def add_service_cidr_to_loopback(cidr_address: str) -> None:
    """Make every address of the service CIDR local (on `lo`) in the private
    network namespace; refuses to touch the host's network."""
    if not netns.is_private():
        raise WebhookStandInError(
            "the admission webhook stand-in listens on Service ClusterIPs, which needs the"
            " private network namespace (unset GITOPS_BASE_E2E_HOST_NETWORK)"
        )
    ip = shutil.which("ip")
    if not ip:
        raise WebhookStandInError("`ip` is not on PATH (Debian package iproute2)")
    have = subprocess.run(
        [ip, "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=True
    ).stdout
    if f" {cidr_address} " in have:
        return
    subprocess.run([ip, "addr", "add", cidr_address, "dev", "lo"], check=True)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stand_in: WebhookStandIn, service: str, addr: tuple[str, int]):
        self.stand_in = stand_in
        self.service = service
        super().__init__(addr, _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        self.server.stand_in.log_line(f"{self.server.service} {format % args}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        review = json.loads(self.rfile.read(length) or b"{}")
        req = review.get("request") or {}
        obj = req.get("object") or req.get("oldObject") or {}
        self.server.stand_in.record(
            AdmissionCall(
                service=self.server.service,
                path=self.path,
                kind=(req.get("kind") or {}).get("kind", ""),
                namespace=req.get("namespace") or "",
                name=req.get("name") or (obj.get("metadata") or {}).get("name", ""),
                operation=req.get("operation", ""),
                dry_run=bool(req.get("dryRun")),
            )
        )
        body = json.dumps(
            {
                "apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
                "kind": "AdmissionReview",
                "response": {"uid": req.get("uid", ""), "allowed": True},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class WebhookStandIn:
    """Answers every Service-backed admission webhook registered in the
    cluster (polling for new ones), see the module docstring."""

    def __init__(
        self,
        kube: KubeClient,
        pki: PKI,
        service_cidr_address: str,
        log_path: Path,
        interval: float = 0.5,
    ):
        self.kube = kube
        self.pki = pki
        self.service_cidr_address = service_cidr_address
        self.log_path = log_path
        self.interval = interval
        self.calls: list[AdmissionCall] = []
        self._servers: dict[str, _Server] = {}  # by <ns>/<name>:<port>
        self._lock = threading.Lock()  # calls, servers, log
        # One sync at a time (the background loop, start, pause, resume): the
        # REST client is not thread-safe, and a pause must not race a sync
        # that is about to open a listener.
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._log = open(log_path, "a")

    # ---- life ------------------------------------------------------------------
    def start(self) -> WebhookStandIn:
        add_service_cidr_to_loopback(self.service_cidr_address)
        self.sync_once()
        self._thread = threading.Thread(target=self._loop, name="webhook-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        with self._sync_lock:
            self._close_servers()
        self.kube.close()
        self._log.close()

    def pause(self) -> None:
        """Stop answering (close every listener) until resume()."""
        with self._sync_lock:
            self._paused = True
            self._close_servers()

    def resume(self) -> None:
        with self._sync_lock:
            self._paused = False
        self.sync_once()

    # ---- bookkeeping -----------------------------------------------------------
    def record(self, call: AdmissionCall) -> None:
        with self._lock:
            self.calls.append(call)
        self.log_line(f"admitted {call}")

    def log_line(self, line: str) -> None:
        with self._lock:
            if not self._log.closed:
                self._log.write(f"{time.strftime('%H:%M:%S')} {line}\n")
                self._log.flush()

    def calls_since(self, n: int) -> list[AdmissionCall]:
        with self._lock:
            return list(self.calls[n:])

    # ---- work ------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync_once()
            except Exception as exc:  # keep polling; the log says why
                self.log_line(f"error: {type(exc).__name__}: {exc}")

    def _close_servers(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, {}
        for srv in servers.values():
            srv.shutdown()
            srv.server_close()

    def sync_once(self) -> None:
        """Serve every webhook Service that exists and put the harness CA in
        every webhook's caBundle."""
        with self._sync_lock:
            if not self._paused:
                self._sync()

    def _sync(self) -> None:
        ca_bundle = base64.b64encode(self.pki.ca.cert.read_bytes()).decode()
        for kind in WEBHOOK_KINDS:
            for cfg in self.kube.list(ADMISSION, kind):
                webhooks = cfg.get("webhooks") or []
                served = [
                    self._serve((w.get("clientConfig") or {}).get("service")) for w in webhooks
                ]
                if not all(served):
                    continue  # a Service is not there yet: next round
                if all(
                    (w.get("clientConfig") or {}).get("caBundle") == ca_bundle for w in webhooks
                ):
                    continue
                patched = [
                    {**w, "clientConfig": {**w["clientConfig"], "caBundle": ca_bundle}}
                    for w in webhooks
                ]
                try:
                    self.kube.patch(
                        ADMISSION,
                        kind,
                        cfg["metadata"]["name"],
                        {"webhooks": patched},
                    )
                    self.log_line(f"caBundle set on {kind} {cfg['metadata']['name']}")
                except KubeError as exc:
                    self.log_line(f"caBundle patch of {cfg['metadata']['name']} failed: {exc}")

    def _serve(self, ref: dict[str, Any] | None) -> bool:
        """Listen for webhook Service `ref`; False while the Service is absent."""
        if not ref:
            return True  # URL webhooks are not the add-ons' kind: leave them alone
        ns, name, port = ref["namespace"], ref["name"], int(ref.get("port") or 443)
        key = f"{ns}/{name}:{port}"
        with self._lock:
            if key in self._servers:
                return True
        svc = self.kube.get("v1", "Service", name, ns)
        cluster_ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        if not cluster_ip or cluster_ip == "None":
            return False
        pair = self.pki.issue(
            f"webhook-{ns}-{name}",
            f"{name}.{ns}.svc",
            server_names=(
                name,
                f"{name}.{ns}",
                f"{name}.{ns}.svc",
                f"{name}.{ns}.svc.cluster.local",
            ),
        )
        srv = _Server(self, f"{ns}/{name}", (cluster_ip, port))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pair.cert, pair.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, name=f"webhook {key}", daemon=True).start()
        with self._lock:
            self._servers[key] = srv
        self.log_line(f"serving {key} on {cluster_ip}:{port}")
        return True


def refusals_by_webhooks(
    kube: KubeClient, objects: list[dict[str, Any]], field_manager: str = "e2e-dry-run"
) -> dict[str, str]:
    """Server-side apply every object with dryRun=All (admission webhooks run,
    nothing is stored); {"<Kind> <namespace/>name": message} for those the API
    server refuses because of an admission webhook. Any other error raises."""
    refused: dict[str, str] = {}
    for obj in objects:
        meta = obj["metadata"]
        ns = meta.get("namespace")
        label = f"{obj['kind']} {ns + '/' if ns else ''}{meta['name']}"
        path = kube.path(obj["apiVersion"], obj["kind"], meta["name"], ns)
        try:
            kube.request(
                "PATCH",
                path,
                params={"dryRun": "All", "fieldManager": field_manager, "force": "true"},
                body=obj,
                content_type="application/apply-patch+yaml",
            )
        except KubeError as exc:
            if "admission webhook" not in str(exc) and "calling webhook" not in str(exc):
                raise
            refused[label] = str(exc)
    return refused


def describe_calls(calls: list[AdmissionCall]) -> Callable[[], str]:
    return lambda: "\n".join(str(c) for c in calls)
