"""A stand-in for the external Infisical the platform's CSI provider calls (docs/e2e.md).

Infisical is outside the cluster in the product, so the node tier stands in for it: an HTTPS
server at app.infisical.com on the stand-in internet (internet.py), answering exactly the two
calls the Infisical CSI provider v0.0.9 makes (its internal/provider/provider.go, through
github.com/infisical/go-sdk v0.5.97):

    POST /api/v1/auth/kubernetes-auth/login        {"identityId", "jwt"}
        The Kubernetes auth of a machine identity, as Infisical does it: the pod's service
        account token (the audience the CSI driver requested) is checked with a real
        TokenReview against the node's API server, sent with the token of a reviewer service
        account bound to system:auth-delegator (what an operator configures in Infisical), and
        must name an allowed namespace and service account. Answers {"accessToken",
        "expiresIn", "accessTokenMaxTTL", "tokenType"}.
    GET  /api/v3/secrets/raw/<key>?workspaceId=&environment=&secretPath=&...
        With that access token: {"secret": {"id", "version", "secretKey", "secretValue", ...}},
        or 404 when the project, environment, folder or key does not exist.

Errors are JSON {"statusCode", "message", "error"} like Infisical's. Everything else is 404.
`stop()` closes the listening socket (clients get "connection refused"), `start()` opens it
again; `rotate()` changes a value and bumps its version; `calls` records every request.
"""

from __future__ import annotations

import http.server
import json
import secrets
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .internet import INFISICAL_IP, HTTPServer, start_in_netns
from .pki import CertPair


@dataclass
class Identity:
    """A machine identity with Kubernetes auth."""

    project_id: str
    audience: str
    allowed_namespaces: tuple[str, ...]
    allowed_service_accounts: tuple[str, ...]


@dataclass
class Secret:
    value: str
    version: int = 1
    id: str = field(default_factory=lambda: secrets.token_hex(12))


class InfisicalError(Exception):
    def __init__(self, status: int, message: str, error: str):
        super().__init__(message)
        self.status, self.message, self.error = status, message, error


class InfisicalStandIn:
    def __init__(
        self,
        namespace_pid: int,
        cert: CertPair,
        api_server: str,
        api_ca: Path,
        reviewer_token: str,
    ):
        self.pid = namespace_pid
        self.cert = cert
        self.api_server = api_server
        self.api_ca = api_ca
        self.reviewer_token = reviewer_token
        self.identities: dict[str, Identity] = {}
        # (project, environment, folder, key) -> Secret
        self.secrets: dict[tuple[str, str, str, str], Secret] = {}
        self.tokens: dict[str, str] = {}  # access token -> identity id
        self.calls: list[tuple[str, str, int]] = []
        self._server: HTTPServer | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ state
    def put(self, project: str, env: str, folder: str, key: str, value: str) -> None:
        self.secrets[(project, env, folder, key)] = Secret(value)

    def rotate(self, project: str, env: str, folder: str, key: str, value: str) -> int:
        with self._lock:
            s = self.secrets[(project, env, folder, key)]
            s.value, s.version = value, s.version + 1
            return s.version

    # ------------------------------------------------------------------ life
    def start(self) -> InfisicalStandIn:
        started = threading.Event()
        error: list[BaseException] = []

        def serve() -> None:
            try:
                server = HTTPServer((INFISICAL_IP, 443), self._handler())
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(str(self.cert.cert), str(self.cert.key))
                server.socket = ctx.wrap_socket(server.socket, server_side=True)
                self._server = server
            except BaseException as exc:
                error.append(exc)
                started.set()
                return
            started.set()
            server.serve_forever(poll_interval=0.2)

        start_in_netns(self.pid, serve, "infisical-stand-in")
        started.wait(10)
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------------ API
    def _token_review(self, jwt: str, audience: str) -> dict[str, Any]:
        body = json.dumps(
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": jwt, "audiences": [audience]},
            }
        ).encode()
        req = urllib.request.Request(
            f"{self.api_server}/apis/authentication.k8s.io/v1/tokenreviews",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.reviewer_token}",
                "Content-Type": "application/json",
            },
        )
        ctx = ssl.create_default_context(cafile=str(self.api_ca))
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            status: dict[str, Any] = json.loads(resp.read()).get("status") or {}
            return status

    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        identity_id = str(body.get("identityId") or "")
        identity = self.identities.get(identity_id)
        if identity is None:
            raise InfisicalError(404, f"Identity with ID {identity_id} not found", "NotFound")
        try:
            review = self._token_review(str(body.get("jwt") or ""), identity.audience)
        except (urllib.error.URLError, OSError) as exc:
            raise InfisicalError(
                500, f"Failed to review the token with the Kubernetes API server: {exc}", "Error"
            ) from None
        if not review.get("authenticated"):
            raise InfisicalError(
                401,
                "Access denied: the Kubernetes API server rejected the token: "
                f"{review.get('error')}",
                "UnauthorizedError",
            )
        username = str((review.get("user") or {}).get("username") or "")
        parts = username.split(":")
        if len(parts) != 4 or parts[:2] != ["system", "serviceaccount"]:
            raise InfisicalError(
                401, f"Access denied: {username} is not a service account", "UnauthorizedError"
            )
        namespace, name = parts[2], parts[3]
        if namespace not in identity.allowed_namespaces:
            raise InfisicalError(
                401, f"Access denied: namespace {namespace} is not allowed", "UnauthorizedError"
            )
        if name not in identity.allowed_service_accounts:
            raise InfisicalError(
                401, f"Access denied: service account {name} is not allowed", "UnauthorizedError"
            )
        token = secrets.token_urlsafe(32)
        self.tokens[token] = identity_id
        return {
            "accessToken": token,
            "expiresIn": 7200,
            "accessTokenMaxTTL": 7200,
            "tokenType": "Bearer",
        }

    def secret(self, key: str, query: dict[str, str], authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ").strip()
        identity_id = self.tokens.get(token)
        if identity_id is None:
            raise InfisicalError(401, "Invalid or expired access token", "UnauthorizedError")
        identity = self.identities[identity_id]
        project = query.get("workspaceId", "")
        if project != identity.project_id:
            raise InfisicalError(
                403,
                f"Identity {identity_id} has no access to project {project}",
                "PermissionDenied",
            )
        env, folder = query.get("environment", ""), query.get("secretPath", "/")
        with self._lock:
            s = self.secrets.get((project, env, folder, key))
            if s is None:
                raise InfisicalError(
                    404, f"Secret with name '{key}' not found in {env}:{folder}", "NotFound"
                )
            return {
                "secret": {
                    "id": s.id,
                    "workspace": project,
                    "environment": env,
                    "version": s.version,
                    "type": "shared",
                    "secretKey": key,
                    "secretValue": s.value,
                    "secretComment": "",
                    "secretPath": folder,
                    "secretMetadata": [],
                }
            }

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                api.calls.append((self.command, self.path.split("?", 1)[0], status))

            def _answer(self, fn: Any) -> None:
                try:
                    self._reply(200, fn())
                except InfisicalError as exc:
                    self._reply(
                        exc.status,
                        {"statusCode": exc.status, "message": exc.message, "error": exc.error},
                    )

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                if self.path == "/api/v1/auth/kubernetes-auth/login":
                    self._answer(lambda: api.login(body))
                else:
                    self._answer(self._not_found)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                prefix = "/api/v3/secrets/raw/"
                if url.path.startswith(prefix):
                    key = urllib.parse.unquote(url.path[len(prefix) :])
                    query = dict(urllib.parse.parse_qsl(url.query))
                    auth = self.headers.get("Authorization") or ""
                    self._answer(lambda: api.secret(key, query, auth))
                else:
                    self._answer(self._not_found)

            def _not_found(self) -> dict[str, Any]:
                raise InfisicalError(404, f"Route {self.command}:{self.path} not found", "NotFound")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
