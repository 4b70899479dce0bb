"""The progress view of `gitops-base status` and `bootstrap`: Application objects as the API
server returns them -> rows in wave order, and why one is stuck."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.cli.main import main
from constructs_lib.cli.support import applications as st
from constructs_lib.model.names import SYNC_WAVE
from tests.support import ROOT

SHA = "3f2c9a1b7d5e4f60718293a4b5c6d7e8f9012345"  # pragma: allowlist secret (a commit)


def application(
    name: str,
    wave: str = "0",
    sync: str | None = "Synced",
    health: str | None = "Healthy",
    conditions: list[dict[str, str]] | None = None,
    resources: list[dict[str, Any]] | None = None,
    operation: dict[str, Any] | None = None,
    repo: str = "https://git.example/shop.git",
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if sync:
        status["sync"] = {"status": sync, "revision": SHA}
    if health:
        status["health"] = {"status": health}
    if conditions:
        status["conditions"] = conditions
    if resources:
        status["resources"] = resources
    if operation:
        status["operationState"] = operation
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "annotations": {SYNC_WAVE: wave}},
        "spec": {"source": {"repoURL": repo}},
        "status": status,
    }


def test_a_synced_healthy_application_is_done() -> None:
    state = st.app_state(application("platform", wave="3"))
    assert (state.wave, state.sync, state.health, state.done) == (3, "Synced", "Healthy", True)
    assert st.line(state) == "   3  platform                   Synced     Healthy      3f2c9a1"


def test_a_new_application_has_unknown_status() -> None:
    state = st.app_state(application("shop", sync=None, health=None))
    assert (state.sync, state.health, state.done) == ("Unknown", "Unknown", False)


def test_why_names_conditions_the_last_sync_and_failing_resources() -> None:
    app = application(
        "shop",
        wave="10",
        sync="OutOfSync",
        health="Degraded",
        conditions=[{"type": "SyncError", "message": "one or more objects failed to apply"}],
        operation={
            "phase": "Failed",
            "message": "one or more objects failed to apply",
            "syncResult": {
                "resources": [
                    {
                        "kind": "Deployment",
                        "namespace": "shop",
                        "name": "web",
                        "status": "SyncFailed",
                        "message": 'admission webhook denied: "runAsNonRoot"',
                    }
                ]
            },
        },
        resources=[
            {
                "kind": "Service",
                "namespace": "shop",
                "name": "web",
                "status": "Synced",
                "health": {"status": "Healthy"},
            },
            {
                "kind": "Deployment",
                "namespace": "shop",
                "name": "web",
                "status": "OutOfSync",
                "health": {
                    "status": "Degraded",
                    "message": "Deployment exceeded its progress deadline",
                },
            },
        ],
    )
    assert st.why(st.app_state(app)) == [
        "shop: SyncError: one or more objects failed to apply",
        "shop: last sync Failed: one or more objects failed to apply",
        "shop: Deployment shop/web: OutOfSync, Degraded "
        "(Deployment exceeded its progress deadline)",
        'shop: Deployment shop/web: admission webhook denied: "runAsNonRoot"',
    ]


@pytest.mark.parametrize(
    "message",
    [
        "rpc error: code = Unknown desc = failed to list refs: authentication required: "
        "Invalid username or password.",
        "failed to list refs: ssh: handshake failed: ssh: unable to authenticate",
    ],
)
def test_a_rejected_credential_is_recognized(message: str) -> None:
    state = st.app_state(
        application(
            "root", sync="Unknown", conditions=[{"type": "ComparisonError", "message": message}]
        )
    )
    assert st.credential_rejected(state) == message


def test_a_rejection_from_before_a_pending_refresh_does_not_count() -> None:
    app = application(
        "root",
        sync="Unknown",
        conditions=[{"type": "ComparisonError", "message": "authentication required"}],
    )
    app["metadata"]["annotations"][st.REFRESH] = "hard"
    state = st.app_state(app)
    assert state.refreshing and not state.done
    assert st.credential_rejected(state) is None


def test_other_comparison_errors_are_not_a_credential_problem() -> None:
    state = st.app_state(
        application(
            "root",
            conditions=[
                {"type": "ComparisonError", "message": "dist/dev/argocd: app path does not exist"}
            ],
        )
    )
    assert st.credential_rejected(state) is None


def test_rows_come_root_first_then_by_wave_with_missing_ones() -> None:
    expected = {"root": 0, "cert-manager": 1, "platform": 3, "shop": 10}
    states = st.merge_states(
        [application("shop", wave="10"), application("root"), application("cert-manager", "1")],
        expected,
    )
    assert [(s.name, s.exists) for s in states] == [
        ("root", True),
        ("cert-manager", True),
        ("platform", False),
        ("shop", True),
    ]
    assert st.line(states[2]) == "   3  platform                   (not created yet)"
    assert st.why(states[2]) == ["platform: not created yet (its parent has not synced it)"]


def test_expected_apps_are_the_envs_rendered_applications() -> None:
    apps = st.expected_apps(ROOT / "dist" / "dev")
    assert apps["root"] == 0
    assert apps["platform"] == 3
    assert apps["shop"] == 10
    assert apps["cert-manager"] == 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_watch(
    rounds: list[list[dict[str, Any]]], timeout: float = 60
) -> tuple[st.WatchResult, list[str]]:
    clock, lines = Clock(), list[str]()
    feed = iter(rounds)
    last: list[list[dict[str, Any]]] = [rounds[0]]

    def fetch() -> list[dict[str, Any]]:
        last[0] = next(feed, last[0])
        return last[0]

    result = st.watch(
        fetch,
        {"root": 0, "platform": 3},
        ["root", "platform"],
        timeout,
        lines.append,
        "https://git.example/shop.git",
        interval=2,
        clock=clock,
        sleep=clock.sleep,
    )
    return result, lines


def test_watch_prints_each_change_once_and_ends_when_synced() -> None:
    result, lines = run_watch(
        [
            [application("root", sync="OutOfSync", health="Progressing")],
            [application("root", sync="OutOfSync", health="Progressing")],
            [application("root"), application("platform", "3", "OutOfSync", "Missing")],
            [application("root"), application("platform", "3")],
        ]
    )
    assert result.done and result.rejected is None and result.waited == 6
    assert lines == [
        "[    0s]    0  root                       OutOfSync  Progressing  3f2c9a1",
        "[    0s]    3  platform                   (not created yet)",
        "[    4s]    0  root                       Synced     Healthy      3f2c9a1",
        "[    4s]    3  platform                   OutOfSync  Missing      3f2c9a1",
        "[    6s]    3  platform                   Synced     Healthy      3f2c9a1",
    ]


def test_watch_stops_at_a_rejected_credential() -> None:
    denied = {"type": "ComparisonError", "message": "authentication required"}
    result, _ = run_watch([[application("root", sync="Unknown", conditions=[denied])]])
    assert (result.done, result.rejected) == (False, "authentication required")


def test_watch_gives_up_at_the_timeout() -> None:
    result, lines = run_watch([[application("root", sync="OutOfSync")]], timeout=10)
    assert not result.done and result.waited == 10
    assert len(lines) == 2, "an unchanged row is printed once"


def test_status_of_an_unknown_env_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--env", "qa"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --env qa: no ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "not a kubeconfig (a mapping with clusters, contexts and users)"),
        ("clusters: [\n", "not YAML (while parsing a flow node"),
    ],
)
def test_a_malformed_kubeconfig_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    assert main(["status", "--env", "dev", "--kubeconfig", str(kubeconfig)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: kubeconfig {kubeconfig}: cannot read it: {problem}")
    assert "Traceback" not in err


class _LoginPage(http.server.BaseHTTPRequestHandler):
    """What a proxy or a login page answers instead of the API server."""

    def do_GET(self) -> None:
        body = b"<html><body>Please sign in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler], tmp_path: Path) -> Iterator[Path]:
    """A local HTTP server answering with `handler`, and a kubeconfig that points at it."""
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "clusters": [
                        {
                            "name": "c",
                            "cluster": {"server": f"http://127.0.0.1:{server.server_port}"},
                        }
                    ],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                    "users": [{"name": "u", "user": {"token": "not-a-token"}}],
                }
            )
        )
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_that_is_not_the_api_servers_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _serving(_LoginPage, tmp_path) as kubeconfig:
        assert main(["status", "--env", "dev", "--kubeconfig", str(kubeconfig)]) == 1
    err = capsys.readouterr().err
    assert "answered with something that is not a Kubernetes API response" in err
    assert len(err.strip().splitlines()) == 1


class _UnservedKind(http.server.BaseHTTPRequestHandler):
    """The API server's answer for a group it does not serve (no CRD yet): plain text, no
    Status, for an object and a list alike."""

    def do_GET(self) -> None:
        body = b"404 page not found\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_kind_the_cluster_does_not_serve_reads_as_absent(tmp_path: Path) -> None:
    """`bootstrap` asks for the root Application before Argo CD's CRDs exist: nothing there,
    not an error."""
    from constructs_lib.cli.support.kube import Kube

    with _serving(_UnservedKind, tmp_path) as kubeconfig:
        kube = Kube(kubeconfig, None)
        assert kube.get("argoproj.io/v1alpha1", "Application", "root", "argocd") is None
        assert kube.list("argoproj.io/v1alpha1", "Application", "argocd") == []
