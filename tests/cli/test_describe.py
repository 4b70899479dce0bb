"""`gitops-base describe`: the topology it prints is the one the NetworkPolicies enforce."""

from __future__ import annotations

import itertools

from constructs_lib.cli.describe import as_mermaid, topology
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import FIXTURES, ROOT, load_cluster, run_cli
from tests.support.netpol_model import Pod, allowed
from tests.support.platform import render_platform

GOLDEN = FIXTURES / "configs" / "example-v2.generated.yaml"


def describe(*args: str) -> str:
    done = run_cli("describe", "--config", GOLDEN, "--clusters", ROOT / "clusters", *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def test_text_lists_hosts_calls_egress_and_secrets() -> None:
    text = describe().splitlines()
    assert "  https://www.acme-shop.com/ [only prod] -> web (http:80)" in text
    assert "  http://api.shop.example.com/v1 -> api (http:80)" in text
    api = text.index("  api (Deployment) ghcr.io/example/shop-api:2.3.0")
    assert text[api + 1 : api + 4] == [
        "    calls: none",
        "    external: 10.20.0.0/24 (5432/TCP), api.stripe.com (443/TCP)",
        "    secrets: DATABASE_URL (env DATABASE_URL), jwt-signing-key (file jwt.pem)",
    ]


def test_an_environment_shows_its_own_hosts_only() -> None:
    dev = describe("--env", "dev")
    assert "https://shop.dev.example.com/ -> web (http:80)" in dev
    assert "acme-shop.com" not in dev


def test_the_mermaid_diagram_draws_each_call_with_its_ports() -> None:
    mermaid = describe("--format", "mermaid").splitlines()
    assert mermaid[0] == "flowchart LR"
    assert '  svc_web -->|"http:80"| svc_api' in mermaid
    assert '  svc_api -->|"443/TCP"| ext_api_stripe_com' in mermaid
    assert '  host_www_acme_shop_com(["www.acme-shop.com<br/>only prod"])' in mermaid


def test_markdown_holds_both_for_the_rendered_diff_comment() -> None:
    out = describe("--format", "markdown")
    assert out.startswith("```text\napp shop (namespace shop)\n")
    assert "\n```mermaid\nflowchart LR\n" in out


def test_a_new_call_changes_the_diagram() -> None:
    config = load_model(AppConfig, GOLDEN)
    data = config.model_dump(mode="json", exclude_unset=True)
    data["services"][4]["egress"]["services"] = ["api"]  # nightly-report now calls api
    changed = AppConfig.model_validate(data)
    before, after = as_mermaid(topology(config)), as_mermaid(topology(changed))
    added = set(after.splitlines()) - set(before.splitlines())
    assert added == {'  svc_nightly_report -->|"http:80, metrics:9090"| svc_api'}


def test_every_drawn_call_is_allowed_and_every_other_pair_denied() -> None:
    config = load_model(AppConfig, GOLDEN)
    rendered = [
        m
        for m in render_platform(config, load_cluster("dev")).cluster
        if m["kind"] == "NetworkPolicy"
    ]
    pods = {
        s.name: Pod(
            "shop",
            {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": s.name},
            {p.name: p.container_port for p in s.ports},
        )
        for s in config.services
    }
    drawn = {
        (e.source, e.target): {label.split(":")[0] for label in e.label.split(", ")}
        for e in topology(config).calls
    }
    for src, dst in itertools.permutations(pods, 2):
        for name, port in pods[dst].ports.items():
            expected = name in drawn.get((src, dst), set())
            assert allowed(rendered, pods[src], pods[dst], port) == expected, (src, dst, name)
