"""`gitops-base bootstrap --env ENV`: from a k3s cluster to a synced base, in one command.

Steps, each idempotent (server-side apply; a second run changes nothing):

0. check what needs no cluster, before the kubeconfig is read: the ACME contact is one Let's
   Encrypt accepts, and the repository lets the credential read it (`git ls-remote`);
1. check the cluster: the nodes' Kubernetes (k3s) version is supported, k3s's Traefik is off
   when the env uses ingress-nginx, ServiceLB is on for `exposure: service-lb`, the env's
   `publish_status_address` is a node's address, and no namespace the base creates exists
   already unless the base created it (its `app.kubernetes.io/managed-by` label; for the
   app's namespace, its `instance` label too);
2. install the pinned Argo CD: upstream's `install.yaml` of the release in
   `platform/versions.yaml`, checksum verified, downloaded or read from a local file;
3. create or update the repository credential from an environment variable or standard input
   (never an argument, never written to a file);
4. apply `dist/<env>/root.yaml`;
5. wait, printing every Application's sync and health in wave order, until the base is Synced
   and Healthy, Argo CD reports the repository refused the credential, or the timeout.

Every step is first sent to the API server as a dry run, so a step the cluster refuses
(permissions, validation) changes nothing. Reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from constructs_lib.cli.support.cluster_checks import check_cluster, cluster_facts
from constructs_lib.cli.support.common import EXIT_OK, OperatorError, fail
from constructs_lib.cli.support.credentials import (
    ENV_SSH_KEY,
    ENV_TOKEN,
    REPOSITORY_LABEL,
    Credential,
    credential_secret,
    read_credential,
    redacted,
)
from constructs_lib.cli.support.environment import EnvFiles
from constructs_lib.cli.support.kube import CLUSTER_SCOPED_KINDS, Manifest, content, object_ref
from constructs_lib.cli.support.preflight import acme_contact, repository
from constructs_lib.model.names import INSTANCE, MANAGED_BY, MANAGER, ROOT_APPLICATION

if TYPE_CHECKING:
    from constructs_lib.cli.support.kube import Kube
    from constructs_lib.model.versions import ArgoCdPin


# A local copy (file path) or mirror (https URL) of the pinned install manifest.
ENV_MANIFEST = "GITOPS_BASE_ARGOCD_MANIFEST"

# One field manager per step: install.yaml's argocd-cm and root.yaml's argocd-cm are owned by
# different managers, so re-applying the install never drops the key root.yaml adds.
MANAGER_INSTALL = "gitops-base-argocd-install"
MANAGER_CREDENTIAL = "gitops-base-repo-credential"
MANAGER_ROOT = "gitops-base-root"

# What must be running before Argo CD can sync: (apiVersion, kind, name).
ARGOCD_WORKLOADS = (
    ("apps/v1", "StatefulSet", "argocd-application-controller"),
    ("apps/v1", "Deployment", "argocd-repo-server"),
)
DEFAULT_TIMEOUT = 900.0


class BootstrapError(OperatorError):
    """A step of bootstrap that cannot go on; the message is one line."""


# --- step 1: what needs no cluster -----------------------------------------------------------


def local_checks(env: EnvFiles, cred: Credential | None, out: Callable[[str], None]) -> None:
    """The ACME contact, and read access to the repository with the credential given (none
    given: an existing repository Secret may hold one, so nothing is checked). A contact
    Let's Encrypt refuses or a credential the repository refuses is an error; a repository
    this machine cannot reach is a warning (Argo CD reads it from inside the cluster)."""
    settings = f"clusters/{env.name}/cluster.yaml"
    checks = [acme_contact(env.cluster, settings)]
    if cred is not None:
        checks.append(repository(env.cluster.repo.url, env.cluster.repo.revision, cred))
    for check in checks:
        if check.status == "fail":
            raise BootstrapError(f"{check.detail}; {check.fix}")
        if check.status == "warn":
            out(f"warning: {check.name}: {check.detail}")
    passed = [f"{c.name}: {c.detail}" for c in checks if c.status == "ok"]
    out("local checks passed: " + "; ".join(passed))


# --- step 2: the pinned Argo CD -------------------------------------------------------------


def verify_manifest(data: bytes, pin: ArgoCdPin, source: str) -> str:
    """The manifest's text, if its SHA-256 is the pinned one."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != pin.install_sha256:
        raise BootstrapError(
            f"{source}: sha256 {digest} is not the pinned {pin.install_sha256} of Argo CD "
            f"{pin.version}'s install.yaml (platform/versions.yaml argocd.install_sha256); "
            "refusing to apply it"
        )
    return data.decode("utf-8")


def read_manifest(pin: ArgoCdPin, local: str | None) -> tuple[str, str]:
    """(text, where it came from): --argocd-manifest / $GITOPS_BASE_ARGOCD_MANIFEST (a file or an
    https mirror URL), else upstream's URL. Always checksum-verified."""
    source = local or pin.install_url
    if re.match(r"^https?://", source):
        if source.startswith("http://"):
            raise BootstrapError(f"{source}: use an https:// URL for the install manifest")
        try:
            with urllib.request.urlopen(source, timeout=60) as response:
                data: bytes = response.read()
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BootstrapError(
                f"cannot download {source}: {reason}; offline, pass --argocd-manifest FILE "
                f"(or set {ENV_MANIFEST}) with Argo CD {pin.version}'s install.yaml"
            ) from None
    else:
        try:
            data = Path(source).expanduser().read_bytes()
        except OSError as exc:
            raise BootstrapError(f"--argocd-manifest {source}: {exc.strerror}") from None
    return verify_manifest(data, pin, source), source


def install_objects(text: str, namespace: str) -> list[Manifest]:
    """The objects of install.yaml, namespaced into `namespace`, after its Namespace and CRDs
    (the order kubectl would need)."""
    docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if isinstance(d, dict)]
    namespace_obj: Manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {MANAGED_BY: MANAGER}},
    }
    crds: list[Manifest] = []
    rest: list[Manifest] = []
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        if doc["kind"] not in CLUSTER_SCOPED_KINDS:
            meta["namespace"] = namespace
        for subject in doc.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = namespace
        (crds if doc["kind"] == "CustomResourceDefinition" else rest).append(doc)
    return [namespace_obj, *crds, *rest]


# --- step 4: root.yaml ----------------------------------------------------------------------


def root_objects(path: Path) -> list[Manifest]:
    """root.yaml's objects, each checked to be one object the API server can take: a List, a
    document without a kind or name, or one that is no mapping is refused before anything is
    applied (the synth never writes one; a hand edit could)."""
    from constructs_lib.render.overlays import is_list, object_problem

    try:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise BootstrapError(f"{path}: cannot read it: {reason}") from None
    objects = []
    for i, document in enumerate(d for d in documents if d is not None):
        if is_list(document):
            raise BootstrapError(
                f"{path}: document {i}: a List (kind {document.get('kind')!r}); root.yaml holds "
                "one object per document: run `make synth` and commit dist/"
            )
        problem = object_problem(document)
        if problem is not None:
            raise BootstrapError(f"{path}: document {i}: {problem}")
        objects.append(document)
    return objects


def app_namespaces(dist: Path) -> list[Manifest]:
    """The Namespaces dist/<env>/platform/ creates (the app's), as rendered."""
    found = []
    for file in sorted((dist / "platform").glob("namespace-*.yaml")):
        for document in yaml.load_all(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if isinstance(document, dict) and document.get("kind") == "Namespace":
                found.append(document)
    return found


def adoption_problem(
    name: str, live_labels: Mapping[str, str], wanted: Mapping[str, str]
) -> str | None:
    """Why an existing namespace is not the base's to take over: the labels that say who
    created it differ from those the base would set."""
    differs = [(k, v) for k, v in wanted.items() if live_labels.get(k) != v]
    if not differs:
        return None
    key, value = differs[0]
    got = live_labels.get(key)
    shown = f"'{got}'" if got is not None else "missing"
    fix = " ".join(f"{k}={v}" for k, v in wanted.items())
    return (
        f"namespace {name} exists and gitops-base did not create it ({key} is {shown}, not "
        f"'{value}'): another team's or tool's namespace would be taken over (and pruned with "
        f"the app); choose another namespace, or adopt it on purpose: kubectl label namespace "
        f"{name} {fix}"
    )


# --- running it -----------------------------------------------------------------------------


@dataclass
class Options:
    env: str
    kubeconfig: Path | None
    context: str | None
    argocd_manifest: str | None
    credential_stdin: bool
    dry_run: bool
    timeout: float
    wait_for: tuple[str, ...]
    no_wait: bool


class Runner:
    """The steps on a live cluster; `out` receives every progress line."""

    def __init__(self, kube: Kube, env: EnvFiles, out: Callable[[str], None]) -> None:
        self.kube = kube
        self.env = env
        self.out = out

    def apply_step(
        self, title: str, objects: Sequence[Manifest], manager: str, dry_run: bool
    ) -> int:
        """Send every object to the API server as a dry run first, so a step the server refuses
        (rights, validation) changes nothing; then apply the objects the dry run shows would
        change (all of them when they cannot be checked yet). Returns how many changed."""
        namespaces: dict[str, bool] = {}
        plan: list[tuple[Manifest, Manifest | None, bool]] = []
        for obj in objects:
            live = self.kube.live(obj)
            if self._can_dry_run(obj, namespaces):
                predicted = self.kube.apply(obj, manager, dry_run=True)
                plan.append((obj, live, live is None or content(predicted) != content(live)))
            else:
                plan.append((obj, live, True))
        if dry_run:
            for obj, live, changes in plan:
                verdict = "new" if live is None else "changes" if changes else "unchanged"
                self.out(f"  would apply {object_ref(obj)} ({verdict})")
            return 0
        changed = 0
        for obj, live, changes in plan:
            if not changes:
                continue
            after = self.kube.apply(obj, manager)
            if content(after) != content(live):
                changed += 1
                self.out(f"  {'created' if live is None else 'configured'} {object_ref(obj)}")
        self.out(f"{title}: {len(objects)} objects, {changed} changed")
        return changed

    def _can_dry_run(self, obj: Manifest, namespaces: dict[str, bool]) -> bool:
        """Whether the object's namespace and kind exist already (an object whose namespace or
        CRD the same step creates cannot be checked before that step runs)."""
        namespace = obj["metadata"].get("namespace")
        if namespace:
            if namespace not in namespaces:
                namespaces[namespace] = bool(self.kube.get("v1", "Namespace", namespace, None))
            if not namespaces[namespace]:
                return False
        if obj["apiVersion"].startswith("argoproj.io/"):
            crd = f"{obj['kind'].lower()}s.argoproj.io"
            return bool(
                self.kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd, None)
            )
        return True

    def adoption_problems(self, namespace: str) -> list[str]:
        """The namespaces bootstrap would take over without having created them: Argo CD's
        (an earlier bootstrap's, unlabelled, is recognised by its root Application) and the
        app's from dist/<env>/platform/."""
        problems = []
        live = self.kube.get("v1", "Namespace", namespace, None)
        if live is not None:
            labels = (live.get("metadata") or {}).get("labels") or {}
            wanted = {MANAGED_BY: MANAGER}
            if adoption_problem(namespace, labels, wanted) is not None:
                root = self.kube.get("argoproj.io/v1alpha1", "Application", "root", namespace)
                root_labels = ((root or {}).get("metadata") or {}).get("labels") or {}
                if root_labels.get(MANAGED_BY) != MANAGER:
                    problems.append(str(adoption_problem(namespace, labels, wanted)))
        for rendered in app_namespaces(self.env.dist):
            name = rendered["metadata"]["name"]
            rendered_labels = rendered["metadata"].get("labels") or {}
            wanted = {k: rendered_labels[k] for k in (MANAGED_BY, INSTANCE) if k in rendered_labels}
            live = self.kube.get("v1", "Namespace", name, None)
            if live is not None:
                labels = (live.get("metadata") or {}).get("labels") or {}
                problem = adoption_problem(name, labels, wanted)
                if problem is not None:
                    problems.append(problem)
        return problems

    def wait_established(self, crds: Sequence[Manifest], deadline: float) -> None:
        for crd in crds:
            name = crd["metadata"]["name"]
            while True:
                live = self.kube.get(
                    "apiextensions.k8s.io/v1", "CustomResourceDefinition", name, None
                )
                conditions = ((live or {}).get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    break
                if time.monotonic() > deadline:
                    raise BootstrapError(f"CustomResourceDefinition {name} is not Established")
                time.sleep(0.5)

    def wait_argocd(self, namespace: str, deadline: float) -> None:
        last = ""
        while True:
            states = []
            for api_version, kind, name in ARGOCD_WORKLOADS:
                obj = self.kube.get(api_version, kind, name, namespace) or {}
                want = (obj.get("spec") or {}).get("replicas", 1)
                ready = (obj.get("status") or {}).get("readyReplicas") or 0
                states.append((name, ready, want))
            summary = ", ".join(f"{n} {r}/{w}" for n, r, w in states)
            if all(r >= w for _, r, w in states):
                self.out(f"Argo CD is running ({summary})")
                return
            if summary != last:
                self.out(f"  waiting for Argo CD: {summary}")
                last = summary
            if time.monotonic() > deadline:
                raise BootstrapError(
                    f"Argo CD did not start in namespace {namespace}: {summary} ready; see "
                    f"`kubectl -n {namespace} get pods` and their events"
                )
            time.sleep(2)


def bootstrap(opts: Options, out: Callable[[str], None] = print) -> int:
    from constructs_lib.cli.support.applications import (
        APPLICATION,
        REFRESH,
        expected_apps,
        table,
        watch,
        why,
    )
    from constructs_lib.cli.support.kube import Kube, KubeError
    from constructs_lib.model.loading import ConfigError
    from constructs_lib.model.versions import load_versions
    from constructs_lib.render.schema_check import KUBERNETES_VERSIONS

    started = time.monotonic()
    deadline = started + opts.timeout
    try:
        env = EnvFiles.load(opts.env)
        pin = load_versions().argocd
        manifest_source = opts.argocd_manifest or os.environ.get(ENV_MANIFEST) or None
        stdin_text = sys.stdin.read() if opts.credential_stdin else None
        cred = read_credential(os.environ, stdin_text)
        secret = (
            credential_secret(cred, env.cluster.repo.url, env.argocd_namespace, env.name)
            if cred
            else None
        )
        status_token = _deploy_status_token(env)
        root = root_objects(env.root_yaml)
        expected = expected_apps(env.dist)
        wanted = opts.wait_for or tuple(expected)
        unknown = sorted(set(wanted) - set(expected))
        if unknown:
            raise BootstrapError(f"--wait-for: no Application {', '.join(unknown)} in {env.dist}")
        # What needs no cluster first: a refused contact or credential stops here, before the
        # kubeconfig is read or anything is downloaded.
        local_checks(env, cred, out)
        kube = Kube(opts.kubeconfig, opts.context)
    except (OperatorError, KubeError, ValueError, ConfigError) as exc:
        return fail([f"error: {exc}"])
    runner = Runner(kube, env, out)
    namespace = env.argocd_namespace
    try:
        out(f"bootstrap {env.name}: cluster {kube.server} (context {kube.context})")
        errors, warnings = check_cluster(
            cluster_facts(kube), env.cluster, env.name, KUBERNETES_VERSIONS
        )
        for w in warnings:
            out(f"warning: {w}")
        errors += runner.adoption_problems(namespace)
        if errors:
            return fail([f"error: {e}" for e in errors])
        out(f"cluster checks passed ({len(warnings)} warning(s))")

        text, source = read_manifest(pin, manifest_source)
        install = install_objects(text, env.argocd_namespace)
        out(f"Argo CD {pin.version} from {source} (sha256 verified)")
        runner.apply_step(f"Argo CD {pin.version}", install, MANAGER_INSTALL, opts.dry_run)
        if not opts.dry_run:
            runner.wait_established(
                [o for o in install if o["kind"] == "CustomResourceDefinition"], deadline
            )
            runner.wait_argocd(namespace, deadline)

        credential_changed = False
        if cred is None or secret is None:
            existing = [
                s
                for s in kube.list("v1", "Secret", namespace)
                if (s["metadata"].get("labels") or {}).get(REPOSITORY_LABEL) == "repository"
            ]
            out(
                "repository credential: none given; "
                + (
                    f"keeping {len(existing)} repository Secret(s) in {namespace}"
                    if existing
                    else f"Argo CD reads {env.cluster.repo.url} without one (set {ENV_TOKEN} "
                    f"or {ENV_SSH_KEY} for a private repository)"
                )
            )
        elif opts.dry_run:
            out(f"repository credential: {cred.kind} from {cred.source}, would apply:")
            out(yaml.safe_dump(redacted(secret), sort_keys=False).rstrip())
        else:
            out(f"repository credential: {cred.kind} from {cred.source}")
            credential_changed = bool(
                runner.apply_step("repository credential", [secret], MANAGER_CREDENTIAL, False)
            )

        if env.cluster.deploy_status is not None:
            _apply_deploy_status_token(runner, status_token, opts.dry_run)

        out(f"root: {env.root_yaml}")
        root_existed = kube.get(*APPLICATION, ROOT_APPLICATION, namespace) is not None
        runner.apply_step("root.yaml", root, MANAGER_ROOT, opts.dry_run)
        if opts.dry_run:
            out("dry run: nothing was changed")
            return EXIT_OK
        if credential_changed and root_existed:
            # Argo CD keeps the last comparison error until it looks again.
            kube.annotate(*APPLICATION, ROOT_APPLICATION, namespace, REFRESH, "hard")
            out("  asked Argo CD to re-read the repository (new credential)")
        if opts.no_wait:
            return EXIT_OK

        out(f"waiting for {', '.join(wanted)} to be Synced and Healthy")
        result = watch(
            lambda: kube.list(*APPLICATION, namespace=namespace),
            expected,
            wanted,
            max(0.0, deadline - time.monotonic()),
            out,
            env.cluster.repo.url,
        )
        for row in table(result.states):
            out(row)
        if result.rejected:
            return fail(
                [
                    f"error: Argo CD could not read {env.cluster.repo.url} with the repository "
                    f"credential: {result.rejected} (give the right one in {ENV_TOKEN} or "
                    f"{ENV_SSH_KEY} and run bootstrap again)"
                ]
            )
        if not result.done:
            stuck = [w for s in result.states if s.name in wanted and not s.done for w in why(s)]
            for w in stuck:
                print(w, file=sys.stderr)
            waiting = ", ".join(s.name for s in result.states if s.name in wanted and not s.done)
            return fail([f"error: not Synced and Healthy after {opts.timeout:.0f}s: {waiting}"])
        out(f"{env.name} is Synced and Healthy ({time.monotonic() - started:.0f}s)")
        return EXIT_OK
    except (OperatorError, KubeError) as exc:
        return fail([f"error: {exc}"])
    finally:
        kube.close()


def _deploy_status_token(env: EnvFiles) -> tuple[str, str] | None:
    """The deploy status's token from the environment (cli/support/deploy_status_token.py), when the
    env turns the deploy status on; BootstrapError for a bad one."""
    from constructs_lib.cli.support.deploy_status_token import read_token

    if env.cluster.deploy_status is None:
        return None
    try:
        return read_token(os.environ)
    except ValueError as exc:
        raise BootstrapError(str(exc)) from None


def _apply_deploy_status_token(
    runner: Runner, token: tuple[str, str] | None, dry_run: bool
) -> None:
    """Step 3b: the token key of argocd-notifications-secret, or say why nothing is sent."""
    from constructs_lib.cli.support import deploy_status_token as status_token
    from constructs_lib.model.names import NOTIFICATIONS_SECRET as SECRET

    namespace = runner.env.argocd_namespace
    if token is None:
        kept = status_token.has_token(runner.kube.get("v1", "Secret", SECRET, namespace))
        runner.out(
            "deploy status token: none given; "
            + (
                f"keeping the one in {namespace}/{SECRET}"
                if kept
                else "nothing is sent until one is (set "
                f"{status_token.ENV_TOKEN} or {status_token.ENV_TOKEN_FILE})"
            )
        )
        return
    value, source = token
    secret = status_token.token_secret(value, namespace)
    if dry_run:
        runner.out(f"deploy status token: from {source}, would apply:")
        runner.out(yaml.safe_dump(redacted(secret), sort_keys=False).rstrip())
        return
    runner.out(f"deploy status token: from {source}")
    runner.apply_step("deploy status token", [secret], status_token.MANAGER, False)


# --- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    opts = Options(
        env=args.env,
        kubeconfig=args.kubeconfig,
        context=args.context,
        argocd_manifest=args.argocd_manifest,
        credential_stdin=args.credential_stdin,
        dry_run=args.dry_run,
        timeout=args.timeout,
        wait_for=args.wait_for,
        no_wait=args.no_wait,
    )
    return bootstrap(opts, out=lambda s: print(s, flush=True))
