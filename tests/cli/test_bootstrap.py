"""`gitops-base bootstrap`: each step's planning and every error, without a cluster (the
end-to-end suite runs the command against a real API server and Argo CD:
tests/e2e/test_bootstrap_command.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.cli import bootstrap as bs
from constructs_lib.cli.main import main
from constructs_lib.cli.support import cluster_checks as cc
from constructs_lib.cli.support import credentials as cr
from constructs_lib.cli.support.common import OperatorError
from constructs_lib.cli.support.environment import EnvFiles
from constructs_lib.cli.support.kube import Kube, KubeError, describe_api_error, kubeconfig_path
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.versions import ArgoCdPin, load_versions
from constructs_lib.render.schema_check import KUBERNETES_VERSIONS
from tests.support import ROOT, with_changes

INSTALL = """\
# a comment document, as upstream's file starts
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.argoproj.io}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: argocd-application-controller}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argocd-application-controller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: x}
subjects:
- {kind: ServiceAccount, name: argocd-application-controller, namespace: argocd}
- {kind: Group, name: admins}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, labels: {app.kubernetes.io/part-of: argocd}}
"""


def pin_for(data: bytes) -> ArgoCdPin:
    return ArgoCdPin(version="v3.5.2", install_sha256=hashlib.sha256(data).hexdigest())


def decoded(secret: dict[str, object]) -> dict[str, str]:
    data = secret["data"]
    assert isinstance(data, dict)
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


# --- the pinned manifest --------------------------------------------------------------------


def test_the_pinned_install_manifest_is_upstreams_file_of_the_pinned_release() -> None:
    pin = load_versions().argocd
    assert pin.install_url == (
        f"https://raw.githubusercontent.com/argoproj/argo-cd/{pin.version}/manifests/install.yaml"
    )


def test_a_manifest_with_another_checksum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "install.yaml"
    path.write_text(INSTALL + "# tampered\n")
    pin = pin_for(INSTALL.encode())
    with pytest.raises(bs.BootstrapError, match=r"install\.yaml: sha256 [0-9a-f]{64} is not the "):
        bs.read_manifest(pin, str(path))


def test_a_local_manifest_with_the_pinned_checksum_is_read(tmp_path: Path) -> None:
    path = tmp_path / "install.yaml"
    path.write_text(INSTALL)
    assert bs.read_manifest(pin_for(INSTALL.encode()), str(path)) == (INSTALL, str(path))


def test_a_missing_local_manifest_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(bs.BootstrapError, match=r"^--argocd-manifest .*nope\.yaml: No such file"):
        bs.read_manifest(pin_for(b""), str(tmp_path / "nope.yaml"))


def test_a_plain_http_mirror_is_refused() -> None:
    with pytest.raises(bs.BootstrapError, match="use an https:// URL"):
        bs.read_manifest(pin_for(b""), "http://mirror.example/install.yaml")


def test_install_objects_come_namespaced_after_their_namespace_and_crds() -> None:
    objects = bs.install_objects(INSTALL, "gitops")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("Namespace", None),
        ("CustomResourceDefinition", None),
        ("ServiceAccount", "gitops"),
        ("ClusterRoleBinding", None),
        ("ConfigMap", "gitops"),
    ]
    assert objects[0]["metadata"] == {
        "name": "gitops",
        "labels": {"app.kubernetes.io/managed-by": "gitops-base"},
    }
    subjects = objects[3]["subjects"]
    assert subjects[0]["namespace"] == "gitops"
    assert "namespace" not in subjects[1]


# --- the repository credential --------------------------------------------------------------


def test_a_token_from_the_environment_becomes_a_repository_secret() -> None:
    cred = cr.read_credential({cr.ENV_TOKEN: "tok-123\n"}, None)
    assert cred is not None and cred.kind == "token"
    secret = cr.credential_secret(cred, "https://git.example/shop.git", "argocd", "dev")
    assert secret["metadata"]["name"] == "gitops-base-repo-dev"
    assert secret["metadata"]["namespace"] == "argocd"
    assert secret["metadata"]["labels"][cr.REPOSITORY_LABEL] == "repository"
    assert decoded(secret) == {
        "type": "git",
        "url": "https://git.example/shop.git",
        "username": "git",
        "password": "tok-123",  # pragma: allowlist secret
    }


def test_the_username_can_be_set() -> None:
    cred = cr.read_credential({cr.ENV_TOKEN: "t", cr.ENV_USERNAME: "ci-bot"}, None)
    assert cred is not None and dict(cred.fields)["username"] == "ci-bot"


def test_an_ssh_key_needs_an_ssh_url() -> None:
    # A stand-in, not a key: only its shape matters here.
    begin = "-----BEGIN OPENSSH PRIVATE KEY-----"  # pragma: allowlist secret
    end = "-----END OPENSSH PRIVATE KEY-----"
    key = f"{begin}\nabc\n{end}"
    cred = cr.read_credential({cr.ENV_SSH_KEY: key}, None)
    assert cred is not None
    secret = cr.credential_secret(cred, "git@github.com:example-org/shop.git", "argocd", "dev")
    assert decoded(secret)["sshPrivateKey"] == key + "\n"
    with pytest.raises(OperatorError) as exc:
        cr.credential_secret(cred, "https://github.com/example-org/shop.git", "argocd", "dev")
    assert str(exc.value) == (
        "GITOPS_BASE_REPO_SSH_KEY: an SSH key needs an ssh:// or git@host:path repository URL; "
        "clusters/dev/cluster.yaml repo.url is https://github.com/example-org/shop.git"
    )


def test_a_token_needs_an_https_url() -> None:
    cred = cr.read_credential({cr.ENV_TOKEN: "t"}, None)
    assert cred is not None
    with pytest.raises(OperatorError, match="a token credential needs an https:// repository"):
        cr.credential_secret(cred, "ssh://git@git.example/shop.git", "argocd", "dev")


@pytest.mark.parametrize(
    ("text", "kind", "field"),
    [
        ("tok-from-stdin\n", "token", "password"),
        ("-----BEGIN X-----\nk\n", "ssh-key", "sshPrivateKey"),
    ],
)
def test_standard_input_gives_a_token_or_a_key(text: str, kind: str, field: str) -> None:
    cred = cr.read_credential({}, text)
    assert cred is not None and (cred.kind, cred.source) == (kind, "standard input")
    assert field in dict(cred.fields)


def test_a_github_app_needs_all_three_variables() -> None:
    with pytest.raises(OperatorError, match="a GitHub App credential needs"):
        cr.read_credential({cr.ENV_APP_ID: "1"}, None)
    cred = cr.read_credential(
        {cr.ENV_APP_ID: "1", cr.ENV_APP_INSTALLATION: "2", cr.ENV_APP_KEY: "-----BEGIN k"}, None
    )
    assert cred is not None and cred.kind == "github-app"
    assert dict(cred.fields)["githubAppInstallationID"] == "2"


def test_two_credentials_are_refused() -> None:
    with pytest.raises(OperatorError) as exc:
        cr.read_credential({cr.ENV_TOKEN: "t"}, "other")
    assert str(exc.value) == (
        "give one repository credential; found token (GITOPS_BASE_REPO_TOKEN) and "
        "token (standard input)"
    )


def test_empty_standard_input_is_refused() -> None:
    with pytest.raises(OperatorError, match="standard input is empty"):
        cr.read_credential({}, "  \n")


def test_no_credential_is_none() -> None:
    assert cr.read_credential({cr.ENV_TOKEN: ""}, None) is None


def test_dry_run_shows_the_secret_without_its_credential() -> None:
    cred = cr.read_credential({cr.ENV_TOKEN: "s3cret-token"}, None)
    assert cred is not None
    shown = cr.redacted(cr.credential_secret(cred, "https://g.example/r.git", "argocd", "dev"))
    assert shown["data"] == {
        "type": "git",
        "url": "https://g.example/r.git",
        "username": "(redacted)",
        "password": "(redacted)",
    }
    assert "s3cret" not in yaml.safe_dump(shown)


# --- cluster checks -------------------------------------------------------------------------


def facts(
    versions: tuple[str, ...] = ("v1.35.2+k3s1",),
    addresses: tuple[str, ...] = ("192.0.2.10",),
    traefik: str | None = None,
) -> cc.ClusterFacts:
    nodes = tuple((f"node-{i}", v) for i, v in enumerate(versions))
    return cc.ClusterFacts(nodes, addresses, traefik)


def check(f: cc.ClusterFacts, cluster: ClusterSettings) -> tuple[list[str], list[str]]:
    return cc.check_cluster(f, cluster, "dev", KUBERNETES_VERSIONS)


def test_a_supported_k3s_node_passes(dev_cluster: ClusterSettings) -> None:
    assert check(facts(), dev_cluster) == ([], [])


def test_an_unsupported_kubernetes_minor_is_an_error(dev_cluster: ClusterSettings) -> None:
    errors, _ = check(facts(versions=("v1.31.4+k3s1",)), dev_cluster)
    assert errors == [
        "node node-0 runs Kubernetes v1.31.4+k3s1; the base supports 1.34, 1.35, 1.36 "
        "(docs/reference/kubernetes-versions.md): install a supported k3s (INSTALL_K3S_VERSION)"
    ]


def test_a_node_that_is_not_k3s_is_a_warning(dev_cluster: ClusterSettings) -> None:
    assert check(facts(versions=("v1.36.3",)), dev_cluster) == (
        [],
        ["node node-0 runs v1.36.3, not k3s: the base is tested on k3s"],
    )


def test_traefik_running_with_nginx_selected_is_an_error(dev_cluster: ClusterSettings) -> None:
    errors, _ = check(facts(traefik="HelmChart kube-system/traefik"), dev_cluster)
    assert errors == [
        "clusters/dev/cluster.yaml: ingress.controller is nginx but k3s runs Traefik "
        "(HelmChart kube-system/traefik): restart the k3s server with --disable=traefik, "
        "or set ingress.controller: traefik"
    ]


def test_traefik_selected_but_disabled_is_a_warning(dev_cluster: ClusterSettings) -> None:
    cluster = with_changes(dev_cluster, ingress__controller="traefik")
    errors, warnings = check(facts(), cluster)
    assert errors == []
    assert warnings == [
        "clusters/dev/cluster.yaml: ingress.controller is traefik but k3s's Traefik is not "
        "installed (k3s runs with --disable=traefik?)"
    ]


def test_a_publish_address_no_node_has_is_a_warning(dev_cluster: ClusterSettings) -> None:
    errors, warnings = check(facts(addresses=("10.0.0.5",)), dev_cluster)
    assert errors == []
    assert warnings == [
        "clusters/dev/cluster.yaml: ingress.publish_status_address 192.0.2.10 is not an "
        "address of any node (10.0.0.5): right only if a router or load balancer at that "
        "address forwards to the nodes"
    ]


def test_a_cluster_without_nodes_is_only_warned_about(dev_cluster: ClusterSettings) -> None:
    assert check(cc.ClusterFacts((), (), None), dev_cluster) == (
        [],
        ["the cluster has no nodes yet: the k3s version and addresses are unchecked"],
    )


# --- the environment, the kubeconfig and API errors -----------------------------------------


def test_an_unknown_env_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"--env staging: no .*clusters/staging/cluster\.yaml "):
        EnvFiles.load("staging", ROOT)
    with pytest.raises(ValueError, match=r"\(environments: dev, prod, test\)"):
        EnvFiles.load("../dev", ROOT)


def test_an_env_without_root_yaml_says_to_synth(tmp_path: Path) -> None:
    (tmp_path / "clusters" / "dev").mkdir(parents=True)
    (tmp_path / "clusters" / "dev" / "cluster.yaml").write_text(
        (ROOT / "clusters" / "dev" / "cluster.yaml").read_text()
    )
    with pytest.raises(ValueError, match=r"root\.yaml not found: run `make synth`"):
        EnvFiles.load("dev", tmp_path)


def test_root_objects_are_the_env_roots() -> None:
    env = EnvFiles.load("dev", ROOT)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in bs.root_objects(env.root_yaml)]
    assert kinds == [
        ("ValidatingAdmissionPolicy", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicy", "gitops-base-pod-security"),
        ("ValidatingAdmissionPolicy", "gitops-base-default-deny"),
        ("ValidatingAdmissionPolicy", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicy", "gitops-base-namespaces"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-pod-security"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-default-deny"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-namespaces"),
        ("ConfigMap", "argocd-cm"),
        ("AppProject", "bootstrap"),
        ("AppProject", "default"),
        ("Application", "root"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBindingList\nitems: []\n",
            "document 0: a List (kind 'ClusterRoleBindingList'); root.yaml holds one object per "
            "document: run `make synth` and commit dist/",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: argocd}\n",
            "document 0: needs apiVersion, kind and metadata.name",
        ),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a/b}\n", "document 0: metadata.name"),
        ("- just\n- a list\n", "document 0: needs apiVersion, kind and metadata.name"),
        ("a: [\n", "cannot read it: while parsing a flow node"),
    ],
)
def test_root_yaml_is_checked_before_anything_is_applied(
    tmp_path: Path, text: str, problem: str
) -> None:
    """A typed List or an object without a name would crash the apply half-way (KeyError)."""
    root = tmp_path / "root.yaml"
    root.write_text(text)
    with pytest.raises(bs.BootstrapError) as caught:
        bs.root_objects(root)
    assert str(caught.value).startswith(f"{root}: {problem}")


def test_the_app_namespace_comes_from_dist() -> None:
    env = EnvFiles.load("dev", ROOT)
    (namespace,) = bs.app_namespaces(env.dist)
    assert namespace["metadata"]["name"] == "shop"


def test_a_namespace_the_base_did_not_create_is_not_taken_over() -> None:
    wanted = {"app.kubernetes.io/managed-by": "gitops-base", "app.kubernetes.io/instance": "shop"}
    assert bs.adoption_problem("shop", wanted, wanted) is None
    other = {"app.kubernetes.io/managed-by": "gitops-base", "app.kubernetes.io/instance": "crm"}
    assert bs.adoption_problem("shop", other, wanted) == (
        "namespace shop exists and gitops-base did not create it (app.kubernetes.io/instance "
        "is 'crm', not 'shop'): another team's or tool's namespace would be taken over (and "
        "pruned with the app); choose another namespace, or adopt it on purpose: kubectl label "
        "namespace shop app.kubernetes.io/managed-by=gitops-base app.kubernetes.io/instance=shop"
    )
    problem = bs.adoption_problem("shop", {}, wanted)
    assert problem is not None
    assert "(app.kubernetes.io/managed-by is missing, not 'gitops-base')" in problem


def test_the_kubeconfig_is_the_flag_then_kubeconfig_then_home(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    assert kubeconfig_path(flag, {"KUBECONFIG": "/a:/b"}) == flag
    assert kubeconfig_path(None, {"KUBECONFIG": "/a:/b"}) == Path("/a")
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("")
    assert kubeconfig_path(None, {"HOME": str(tmp_path)}) == tmp_path / ".kube" / "config"


def test_forbidden_says_what_rights_are_needed() -> None:
    assert describe_api_error(403, 'secrets is forbidden: User "dev"', "apply Secret x") == (
        'apply Secret x: forbidden: secrets is forbidden: User "dev" (bootstrap needs '
        "cluster-admin rights: it installs CustomResourceDefinitions and ClusterRoles)"
    )
    assert describe_api_error(401, "Unauthorized", "list Node") == (
        "list Node: unauthorized: the cluster refused the kubeconfig's credentials"
    )


# --- the command ----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "k3s", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "k3s",
            }
        )
    )
    return path


def manifest_with_pinned_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local install manifest, and the versions file pinning its checksum."""
    path = tmp_path / "install.yaml"
    path.write_text(INSTALL)
    versions = load_versions()
    pinned = versions.model_copy(update={"argocd": pin_for(INSTALL.encode())})
    monkeypatch.setattr("constructs_lib.model.versions.load_versions", lambda: pinned)
    return path


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory: a checkout whose dev environment has a contact Let's Encrypt
    accepts (the shipped example's is refused), and no network for the install manifest."""
    root = tmp_path / "checkout"
    (root / "clusters" / "dev").mkdir(parents=True)
    shutil.copytree(ROOT / "dist" / "dev", root / "dist" / "dev")
    for name in ("app.py", "cdk8s.yaml"):
        shutil.copy(ROOT / name, root / name)
    settings = (ROOT / "clusters" / "dev" / "cluster.yaml").read_text()
    (root / "clusters" / "dev" / "cluster.yaml").write_text(
        settings.replace("platform@example.com", "ops@acme-shop.io")
    )
    monkeypatch.chdir(root)
    monkeypatch.delenv(bs.ENV_MANIFEST, raising=False)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # a download fails at once
    return root


def test_a_contact_lets_encrypt_refuses_stops_bootstrap_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the kubeconfig is read, before anything is downloaded: the shipped example."""
    argv = ["bootstrap", "--env", "dev", "--kubeconfig", str(tmp_path / "no-such-kubeconfig")]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "error: clusters/dev/cluster.yaml: acme_email: Let's Encrypt refuses the contact "
        "'platform@example.com': example.com is reserved for examples (RFC 2606); use an "
        "address at a domain that receives your mail; set acme_email, then `make synth`, "
        "commit and push (the ClusterIssuers carry it)\n"
    )


@pytest.mark.usefixtures("checkout")
def test_offline_the_cluster_is_checked_before_the_manifest_is_downloaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference's order: cluster checks, then the install manifest (whose download is
    what fails offline)."""
    server = f"https://127.0.0.1:{closed_port()}"
    config = kubeconfig(tmp_path, server)
    assert main(["bootstrap", "--env", "dev", "--kubeconfig", str(config)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: list Node: cannot reach the cluster at {server}")
    assert "local checks passed: ACME contact: ops@acme-shop.io" in captured.out


@pytest.mark.usefixtures("checkout")
def test_an_unreachable_cluster_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_with_pinned_checksum(tmp_path, monkeypatch)
    server = f"https://127.0.0.1:{closed_port()}"
    config = kubeconfig(tmp_path, server)
    argv = ["bootstrap", "--env", "dev", "--kubeconfig", str(config)]
    assert main([*argv, "--argocd-manifest", str(manifest)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: list Node: cannot reach the cluster at {server} (context k3s)")
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.fixture
def api_server() -> Iterator[tuple[str, dict[str, tuple[int, str, str]]]]:
    """A plain-HTTP stand-in for an API server on loopback: path -> (status, content type,
    body); anything else is the 404 page a kube-apiserver serves for an API group it does not
    serve at all."""
    answers: dict[str, tuple[int, str, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = answers.get(
                self.path.split("?")[0], (404, "text/plain", "404 page not found\n")
            )
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    server.server_close()


def _status(code: int, reason: str) -> tuple[int, str, str]:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason}
    return code, "application/json", json.dumps({**body, "code": code, "message": reason})


def test_a_kind_whose_api_group_is_not_served_has_no_objects(
    tmp_path: Path, api_server: tuple[str, dict[str, tuple[int, str, str]]]
) -> None:
    """k3s without its helm controller (or any other cluster) serves no `helm.cattle.io`: the
    API server answers 404 without a Status body, which means "no Traefik HelmChart", not "the
    cluster cannot be reached"."""
    url, answers = api_server
    answers["/api/v1/nodes"] = (
        200,
        "application/json",
        json.dumps({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": []}),
    )
    answers["/apis/apps/v1/namespaces/kube-system/deployments/traefik"] = _status(404, "NotFound")
    kube = Kube(kubeconfig(tmp_path, url), None)
    try:
        assert kube.get("helm.cattle.io/v1", "HelmChart", "traefik", "kube-system") is None
        assert kube.list("helm.cattle.io/v1", "HelmChart", "kube-system") == []
        facts = cc.cluster_facts(kube)
        assert facts == cc.ClusterFacts((), (), None)
        # Any other error still stops the command, with what failed.
        answers["/apis/apps/v1/namespaces/kube-system/deployments/traefik"] = (
            500,
            "text/plain",
            "boom",
        )
        with pytest.raises(KubeError, match=r"^read Deployment traefik: "):
            kube.get("apps/v1", "Deployment", "traefik", "kube-system")
    finally:
        kube.close()


@pytest.mark.usefixtures("checkout")
def test_an_unknown_context_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_with_pinned_checksum(tmp_path, monkeypatch)
    config = kubeconfig(tmp_path, "https://127.0.0.1:1")
    argv = ["bootstrap", "--env", "dev", "--kubeconfig", str(config), "--context", "prod"]
    assert main([*argv, "--argocd-manifest", str(manifest)]) == 1
    assert capsys.readouterr().err == f"error: kubeconfig {config}: Context 'prod' not found\n"


def test_an_unknown_wait_for_application_fails_before_the_cluster_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_with_pinned_checksum(tmp_path, monkeypatch)
    argv = ["bootstrap", "--env", "dev", "--kubeconfig", str(tmp_path / "none")]
    assert main([*argv, "--argocd-manifest", str(manifest), "--wait-for", "root,shpo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --wait-for: no Application shpo in ") and err.count("\n") == 1


def test_a_credential_is_never_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bootstrap", "--env", "dev", "--token", "abc"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --token abc" in capsys.readouterr().err


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    with pytest.raises(SystemExit):
        main(["--version"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert capsys.readouterr().out == f"gitops-base {project['version']}\n"
