"""A stand-in for a commit-status API (GitHub's `POST /repos/{owner}/{repo}/statuses/{sha}`, or
any webhook): a small threaded HTTP server on loopback inside the suite's private network
namespace, where Argo CD's notifications controller (a process of the same namespace) sends
what the deploy status renders. It records every request and answers 201, as GitHub does.

    api = CommitStatusStandIn().start()
    api.url                     # http://127.0.0.1:PORT, the deploy_status url
    api.wait_for(lambda c: c.path.endswith(sha) and c.json["state"] == "success", 60)

GitHub itself is outside the product: what is tested is what Argo CD sends, not GitHub.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() when it arrived."""

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


class CommitStatusStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "stand-in not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CommitStatusStandIn:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # kept in outer.calls

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = Call(
                    self.command, self.path, dict(self.headers.items()), body, time.monotonic()
                )
                with outer._lock:
                    outer.calls.append(call)
                reply = json.dumps({"id": len(outer.calls), "url": self.path}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self, match: Callable[[Call], bool]) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if match(c)]

    def wait_for(self, match: Callable[[Call], bool], timeout: float) -> Call:
        """The first call that matches, waiting up to `timeout` seconds; AssertionError with
        every call received when none did."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.received(match)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                seen = "\n".join(f"  {c.method} {c.path} {c.body.decode()}" for c in self.calls)
                raise AssertionError(
                    f"no matching request within {timeout:.0f}s; received:\n{seen or '  none'}"
                )
            time.sleep(0.2)
