"""A real node for the e2e control plane: pods run in containers.

    containerd (+ runc, CNI bridge) <- kubelet -> kube-apiserver
    kube-proxy (iptables) . kube-scheduler . kube-router (network policies only)
    CoreDNS as a pod in kube-system (k8s-app: kube-dns, Service 10.43.0.10)

Everything runs inside the suite's private network namespace (netns.py), laid out like a k3s
server with its defaults: pod CIDR 10.42.0.0/16 (this node: 10.42.0.0/24), service CIDR
10.43.0.0/16, cluster DNS 10.43.0.10, cgroupfs. The namespace holds:

    lo      127.0.0.1, and 10.45.0.1/32: the node's address (API server endpoint, kubelet)
    cni0    bridge, 10.42.0.1/24: the pods' gateway (created by the CNI bridge plugin)
    ext0    veth to a second namespace, "the internet": 198.51.100.10 (TEST-NET-2) serves
            HTTP on port 80, so a journey can show egress outside the cluster being refused
            or allowed by the NetworkPolicies; internet.py adds DNS, an ACME server and more

containerd and the kubelet (and so every container) run in a private mount namespace in which
the node's own directories are mounted where k3s has them, for the add-ons' hostPath volumes:
/var/lib/kubelet (the kubelet's root), /var/run/secrets-store-csi-providers and
/etc/kubernetes/secrets-store-csi-providers (the CSI providers' sockets). Nothing the node
mounts is visible outside it, and it all goes with its last process.

There is no registry: images are OCI archives written by oci.py around static binaries and
imported into containerd (`ctr images import`), the pause image included (pinned in
containerd's config). docs/e2e.md, "A real node", lists what differs from k3s.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import netns
from .cluster import Cluster, ClusterError, free_port, http_get
from .kube import Manifest
from .oci import FileSpec, write_image
from .procs import Proc
from .registry import Registry
from .tools import E2E_DIR, REPO_ROOT, Tools, ToolsMissing
from .wait import wait_for

NODE_NAME = "e2e-node"
NODE_IP = "10.45.0.1"
CLUSTER_CIDR = "10.42.0.0/16"
NODE_POD_CIDR = "10.42.0.0/24"
SERVICE_CIDR = "10.43.0.0/16"
CLUSTER_DNS = "10.43.0.10"
CLUSTER_DOMAIN = "cluster.local"
OUTSIDE_GATEWAY = "198.51.100.1"
OUTSIDE_IP = "198.51.100.10"
# A second address of "the internet" (the same server answers): one a pod may be allowed to
# reach while the other stays closed.
OUTSIDE_OTHER_IP = "198.51.100.11"
OUTSIDE_BODY = "outside the cluster"
# The internet's DNS server (internet.py starts it): the node's resolv.conf names it.
OUTSIDE_DNS = "198.51.100.53"
# Where the node keeps what k3s keeps there; bind-mounted from the work dir in the node's own
# mount namespace.
KUBELET_ROOT = "/var/lib/kubelet"
NODE_MOUNTS = (
    (KUBELET_ROOT, "kubelet"),
    ("/run/secrets-store-csi-providers", "csi-providers-run"),
    ("/etc/kubernetes/secrets-store-csi-providers", "csi-providers-etc"),
)
CNI_BIN_DIR = Path("/usr/lib/cni")
NODE_BUILD_SCRIPT = E2E_DIR / "node" / "build-node-tools.sh"
PAUSE_IMAGE = "gitops-base.local/e2e/pause:{version}"
COREDNS_IMAGE = "gitops-base.local/e2e/coredns:{version}"

NODE_TIMEOUT = 120
IMAGE_ACCOUNTS: dict[str, FileSpec] = {
    "/etc/passwd": (
        b"root:x:0:0:root:/root:/sbin/nologin\n"
        b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
        0o644,
    ),
    "/etc/group": (b"root:x:0:\nnonroot:x:65532:\n", 0o644),
}


class NodeError(ClusterError):
    pass


@dataclass(frozen=True)
class NodeTools:
    """The node's binaries (tests/e2e/node/build-node-tools.sh builds and caches them)."""

    paths: dict[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]

    def version(self, name: str) -> str:
        return self.paths[name].name.removeprefix(name + "-")

    def describe(self) -> str:
        return ", ".join(
            f"{n} {self.version(n)}"
            for n in ("kubelet", "containerd", "runc", "coredns", "kube-router")
        )


def find_node_tools() -> NodeTools:
    """Locate the node's binaries and Debian tools; raise ToolsMissing naming every missing one
    and the command that builds or installs them."""
    out = subprocess.run(
        ["bash", str(NODE_BUILD_SCRIPT), "--print-paths"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths: dict[str, Path] = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        paths[key.lower().replace("_", "-")] = Path(value)
    missing = [f"  {n}: {p}" for n, p in paths.items() if not os.access(p, os.X_OK)]
    for cmd in ("iptables", "ipset", "ip", "nsenter", "unshare"):
        if not shutil.which(cmd):
            missing.append(f"  {cmd}: not on PATH")
    for plugin in ("bridge", "host-local", "loopback", "portmap"):
        if not (CNI_BIN_DIR / plugin).exists():
            missing.append(f"  CNI plugin {plugin}: not in {CNI_BIN_DIR}")
    if missing:
        raise ToolsMissing(
            "the node's binaries are missing:\n"
            + "\n".join(missing)
            + f"\nBuild them with: bash {NODE_BUILD_SCRIPT.relative_to(REPO_ROOT)}"
            " (or run the node tier with make e2e-node)"
        )
    return NodeTools(paths)


def _run(*argv: str, check: bool = True, timeout: float = 60) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise NodeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _sysctl(key: str, value: str) -> None:
    Path("/proc/sys", *key.split(".")).write_text(value)


def prepare_network() -> str:
    """Enter the suite's private network namespace and give it the node's address; must run
    before the control plane starts (the API server advertises that address)."""
    where = netns.ensure_private_network()
    if "host network" in where:
        raise NodeError(
            "the node tier needs its own network namespace; unset GITOPS_BASE_E2E_HOST_NETWORK"
        )
    # On `lo`: always up, and no dummy interface module needed.
    if f" {NODE_IP}/32 " not in _run("ip", "-4", "-o", "addr", "show", "dev", "lo"):
        _run("ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo")
    _sysctl("net.ipv4.ip_forward", "1")
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not bridge_nf.exists():
        _run("modprobe", "br_netfilter", check=False)
    if not bridge_nf.exists():
        raise NodeError(
            "net.bridge.bridge-nf-call-iptables is missing: load the br_netfilter module"
            " (modprobe br_netfilter); pod-to-pod traffic on the bridge must pass iptables"
            " for kube-proxy and the network policies"
        )
    bridge_nf.write_text("1")
    return where


def node_cluster(
    workdir: Path, tools: Tools, log: Callable[[str], None], argocd: bool = True
) -> Cluster:
    """The suite's control plane, set up for a node: k3s's service CIDR, the API server on the
    node's address, node CIDRs allocated by kube-controller-manager. `argocd=False`: an empty
    cluster, without the harness's Argo CD and without the add-ons' CRDs (the node runs the
    Argo CD `gitops-base bootstrap` installs, and the add-on charts bring their CRDs)."""
    prepare_network()
    return Cluster(
        workdir,
        tools,
        crds=None if argocd else [],
        log=log,
        argocd=argocd,
        service_cidr=SERVICE_CIDR,
        node_ip=NODE_IP,
        kcm_args=(
            "--allocate-node-cidrs=true",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--node-cidr-mask-size=24",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ),
    )


# A minimal "internet": answers every GET with OUTSIDE_BODY.
_OUTSIDE_SERVER = f"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {OUTSIDE_BODY!r}.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 80), H).serve_forever()
"""


class Node:
    def __init__(
        self,
        cluster: Cluster,
        tools: NodeTools,
        log: Callable[[str], None] = print,
    ):
        self.cluster = cluster
        self.tools = tools
        self.log = log
        self.workdir = cluster.workdir / "node"
        # Sockets and runtime state: a short path (unix sockets: 108 bytes).
        self.run_dir = Path(f"/run/gitops-e2e-{os.getpid()}")
        self.procs: dict[str, Proc] = {}
        self.timings: dict[str, float] = {}
        self.images: dict[str, str] = {}  # ref -> manifest digest
        self.registry: Registry | None = None

    # ------------------------------------------------------------------ life
    def start(self) -> Node:
        t_all = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._phase("node: network", self._network)
            self._phase("node: mount namespace", self._mount_namespace)
            self._phase("node: registry", self._start_registry)
            self._phase("node: containerd", self._start_containerd)
            self._phase("node: system images", self._system_images)
            self._phase("node: kubelet", self._start_kubelet)
            self._phase("node: kube-proxy", self._start_kube_proxy)
            self._phase("node: kube-scheduler", self._start_scheduler)
            self._phase("node: kube-router", self._start_kube_router)
            self._phase("node: coredns", self._start_coredns)
        except BaseException:
            self.stop()
            raise
        self.timings["node: total"] = time.monotonic() - t_all
        self.log(f"e2e: node up in {self.timings['node: total']:.1f}s")
        return self

    def stop(self) -> None:
        for name in ("kube-router", "kube-scheduler", "kube-proxy", "kubelet"):
            if name in self.procs:
                self.procs[name].stop()
        self._kill_pods()
        for name in ("containerd", "outside", "mount-namespace"):
            if name in self.procs:
                self.procs[name].stop()
        if self.registry is not None:
            self.registry.stop()
        self._unmount()

    def _phase(self, name: str, fn: Callable[[], None]) -> None:
        t0 = time.monotonic()
        fn()
        self.timings[name] = time.monotonic() - t0
        self.log(f"e2e: {name} ready in {self.timings[name]:.1f}s")

    def _spawn(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        mounts: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> Proc:
        """Start a node process; `mounts`: in the node's mount namespace."""
        if mounts:
            argv = ["nsenter", "-t", str(self.procs["mount-namespace"].pid), "-m", "--", *argv]
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        env["PATH"] = f"{self._bindir()}{os.pathsep}{env.get('PATH', '/usr/sbin:/usr/bin')}"
        env["NO_PROXY"] = "*"
        env.update(extra_env or {})
        proc = Proc(name, argv, self.cluster.workdir / "logs" / f"{name}.log", env=env)
        self.procs[name] = proc.start()
        self.cluster.procs[name] = proc  # in the diagnostics of failed tests
        return proc

    def _bindir(self) -> Path:
        """containerd finds its shim and runc by name on PATH."""
        bindir = self.workdir / "bin"
        if not bindir.exists():
            bindir.mkdir(parents=True)
            for name in ("containerd-shim-runc-v2", "runc", "ctr"):
                (bindir / name).symlink_to(self.tools[name])
        return bindir

    def _wait(self, proc: Proc, check: Callable[[], Any]) -> None:
        """Poll `check` until truthy; fail with the process's log tail if it exits or times out."""
        self.cluster._wait_ready(proc, check, NODE_TIMEOUT)

    # ------------------------------------------------------------- network
    def _network(self) -> None:
        if f" {NODE_IP}/32 " not in _run("ip", "-4", "-o", "addr", "show", "dev", "lo"):
            raise NodeError("the node's network is not prepared: call prepare_network() first")
        cni = self.workdir / "cni"
        (cni / "net.d").mkdir(parents=True, exist_ok=True)
        conf = {
            "cniVersion": "1.0.0",
            "name": "e2e-pods",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": NODE_POD_CIDR}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(cni / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        (cni / "net.d" / "10-e2e.conflist").write_text(json.dumps(conf, indent=2))
        # "The internet": a second network namespace behind a veth pair.
        if "ext0" not in netns.interfaces():
            proc = self._spawn(
                "outside", ["unshare", "--net", "--", sys.executable, "-c", _OUTSIDE_SERVER]
            )
            pid = str(proc.pid)
            time.sleep(0.2)
            _run("ip", "link", "add", "ext0", "type", "veth", "peer", "name", "ext1")
            _run("ip", "link", "set", "ext1", "netns", pid)
            _run("ip", "addr", "add", f"{OUTSIDE_GATEWAY}/24", "dev", "ext0")
            _run("ip", "link", "set", "ext0", "up")
            inside = ("nsenter", "-t", pid, "-n", "ip")
            _run(*inside, "link", "set", "lo", "up")
            _run(*inside, "addr", "add", f"{OUTSIDE_IP}/24", "dev", "ext1")
            _run(*inside, "addr", "add", f"{OUTSIDE_OTHER_IP}/24", "dev", "ext1")
            _run(*inside, "link", "set", "ext1", "up")
            _run(*inside, "route", "add", "default", "via", OUTSIDE_GATEWAY)
            # The node's default route leads to "the internet", as on a real host; the node
            # reaches cluster IPs through it (kube-proxy rewrites them on the way out).
            _run("ip", "route", "replace", "default", "via", OUTSIDE_IP, "dev", "ext0")

            def answers() -> bool:
                return all(
                    http_get(f"http://{ip}/")[1] == OUTSIDE_BODY
                    for ip in (OUTSIDE_IP, OUTSIDE_OTHER_IP)
                )

            self._wait(proc, answers)
        # What pods with dnsPolicy: Default (CoreDNS) get as resolv.conf: the internet's DNS
        # server. Until internet.py starts it, names outside the cluster do not resolve.
        (self.workdir / "resolv.conf").write_text(f"nameserver {OUTSIDE_DNS}\n")

    def run_outside(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Proc:
        """Start a process in "the internet" (internet.py)."""
        pid = str(self.procs["outside"].pid)
        return self._spawn(name, ["nsenter", "-t", pid, "-n", "--", *argv], extra_env=env)

    @property
    def outside_pid(self) -> int:
        pid = self.procs["outside"].pid
        assert pid is not None
        return pid

    # --------------------------------------------------------- mount namespace
    def _mount_namespace(self) -> None:
        """A process holding a private mount namespace (mounts from the host propagate in, none
        out), with the node's directories bind-mounted where k3s keeps them."""
        proc = self._spawn(
            "mount-namespace",
            ["unshare", "--mount", "--propagation", "slave", "--", "sleep", "infinity"],
        )
        pid = str(proc.pid)

        def entered() -> bool:
            return os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")

        self._wait(proc, entered)
        for target, source in NODE_MOUNTS:
            src = self.workdir / "mounts" / source
            src.mkdir(parents=True, exist_ok=True)
            # The mount point on the host: an empty directory where none exists.
            Path(target).mkdir(parents=True, exist_ok=True)
            _run("nsenter", "-t", pid, "-m", "--", "mount", "--bind", str(src), target)
            # Shared, as on a host with systemd: the CSI driver's Bidirectional mount of
            # <kubelet>/pods needs it (containerd refuses it on a private mount).
            _run("nsenter", "-t", pid, "-m", "--", "mount", "--make-rshared", target)

    # ------------------------------------------------------------ registry
    def _start_registry(self) -> None:
        """Every image the node gets is also served by a registry on the node's address, for
        pods that pull always (registry.py)."""
        self.registry = Registry(NODE_IP, self.workdir / "registry-hosts").start()

    # ---------------------------------------------------------- containerd
    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    def _start_containerd(self) -> None:
        root = self.workdir / "containerd"
        root.mkdir(parents=True, exist_ok=True)
        pause = PAUSE_IMAGE.format(version=self.tools.version("e2e-pause"))
        self.pause_image = pause
        config = f"""
version = 3
root = {json.dumps(str(root))}
state = {json.dumps(str(self.run_dir / "state"))}
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = {json.dumps(str(self.containerd_socket))}

[ttrpc]
  address = {json.dumps(str(self.run_dir / "containerd.sock.ttrpc"))}

[debug]
  level = "info"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = {json.dumps(str(self.registry.hosts_dir if self.registry else ""))}
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = {json.dumps(pause)}

[plugins.'io.containerd.cri.v1.runtime']
  # Lowering oom_score_adj is not permitted in every sandbox CI runs in.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [{json.dumps(str(CNI_BIN_DIR))}]
    conf_dir = {json.dumps(str(self.workdir / "cni" / "net.d"))}
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = {json.dumps(str(self.tools["runc"]))}
        SystemdCgroup = false

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""
        cfg = self.workdir / "containerd.toml"
        cfg.write_text(config)
        proc = self._spawn("containerd", [self.tools["containerd"], "--config", cfg], mounts=True)

        def up() -> bool:
            return self.ctr("version", check=False) is not None

        self._wait(proc, up)

    def ctr(self, *args: str, check: bool = True, timeout: float = 120) -> str | None:
        """`ctr` against this node's containerd, in the CRI namespace (k8s.io)."""
        proc = subprocess.run(
            [
                str(self.tools["ctr"]),
                "--address",
                str(self.containerd_socket),
                "--namespace",
                "k8s.io",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            if check:
                raise NodeError(f"ctr {' '.join(args)}: {proc.stderr.strip()}")
            return None
        return proc.stdout

    def load_image(
        self,
        ref: str,
        files: Mapping[str, FileSpec],
        entrypoint: Sequence[str],
        user: str = "65532:65532",
        env: Mapping[str, str] | None = None,
        links: Mapping[str, str] | None = None,
        dirs: Sequence[str] = ("/tmp",),
        working_dir: str = "/",
    ) -> str:
        """Write `ref` as an OCI archive and import it into containerd; returns its digest."""
        safe = re.sub(r"[^A-Za-z0-9.-]+", "_", ref)
        archive = self.workdir / "images" / f"{safe}.tar"
        # As distroless images have them: the runtime takes the group of a uid from here.
        files = {**IMAGE_ACCOUNTS, **files}
        digest = write_image(
            archive,
            ref,
            files,
            entrypoint,
            user=user,
            env=env,
            links=links,
            dirs=dirs,
            working_dir=working_dir,
        )
        # Unpacked into the CRI's snapshotter; the CRI plugin labels it as its own (and pins
        # the sandbox image). Served by the node's registry too, for pulls.
        self.ctr("images", "import", str(archive))
        if self.registry is not None:
            self.registry.add(archive)
        self.images[ref] = digest
        return digest

    def server_image(self, ref: str, version: str) -> str:
        """`ref` as an image of the test server (e2e-server) whose /version says `version`."""
        return self.load_image(
            ref,
            {
                "/e2e-server": (self.tools["e2e-server"], 0o755),
                "/etc/e2e/version": (f"{version}\n".encode(), 0o644),
            },
            ["/e2e-server"],
        )

    def _system_images(self) -> None:
        self.load_image(self.pause_image, {"/pause": (self.tools["e2e-pause"], 0o755)}, ["/pause"])
        self.coredns_image = COREDNS_IMAGE.format(version=self.tools.version("coredns"))
        self.load_image(
            self.coredns_image,
            {"/coredns": (self.tools["coredns"], 0o755)},
            ["/coredns"],
        )

    # ------------------------------------------------------------- kubelet
    def _kubeconfig(self, name: str, cn: str, groups: tuple[str, ...]) -> Path:
        pair = self.cluster.pki.issue(name, cn, groups, client=True)
        return self.cluster._write_kubeconfig(f"{name}.kubeconfig", pair, "default")

    def _start_kubelet(self) -> None:
        kubeconfig = self._kubeconfig("kubelet", f"system:node:{NODE_NAME}", ("system:nodes",))
        healthz = free_port()
        config: dict[str, Any] = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": NODE_IP,
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": healthz,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.cluster.pki.ca.cert)},
            },
            "authorization": {"mode": "Webhook"},
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs",
            # The CI sandbox mounts cgroup v1 controllers plus a unified hierarchy.
            "failCgroupV1": False,
            "failSwapOn": False,
            "clusterDNS": [CLUSTER_DNS],
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": str(self.workdir / "resolv.conf"),
            "podLogsDir": str(self.workdir / "pod-logs"),
            "serializeImagePulls": False,
            # Every image is imported, none can be pulled: never collect one, never evict
            # for a full disk of a CI machine.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "1Mi",
                "nodefs.available": "0%",
                "imagefs.available": "0%",
            },
            "syncFrequency": "5s",
            "fileCheckFrequency": "5s",
            "nodeStatusUpdateFrequency": "5s",
            "registerNode": True,
            "maxPods": 110,
        }
        cfg = self.workdir / "kubelet.yaml"
        cfg.write_text(yaml.safe_dump(config))
        proc = self._spawn(
            "kubelet",
            [
                self.tools["kubelet"],
                f"--config={cfg}",
                f"--kubeconfig={kubeconfig}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                f"--root-dir={KUBELET_ROOT}",
                f"--cert-dir={self.workdir / 'kubelet-pki'}",
                "--v=1",
            ],
            mounts=True,
        )

        def ready() -> bool:
            node = self.cluster.kube.get("v1", "Node", NODE_NAME)
            conds = {
                c["type"]: c["status"]
                for c in ((node or {}).get("status") or {}).get("conditions", [])
            }
            return conds.get("Ready") == "True" and bool((node or {})["spec"].get("podCIDR"))

        self._wait(proc, ready)

    def _start_kube_proxy(self) -> None:
        kubeconfig = self._kubeconfig("kube-proxy", "system:kube-proxy", ())
        healthz, metrics = free_port(), free_port()
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig)},
            "mode": "iptables",
            "clusterCIDR": CLUSTER_CIDR,
            "hostnameOverride": NODE_NAME,
            "healthzBindAddress": f"127.0.0.1:{healthz}",
            "metricsBindAddress": f"127.0.0.1:{metrics}",
            # Conntrack sysctls are global, not the namespace's: leave them alone.
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
        }
        cfg = self.workdir / "kube-proxy.yaml"
        cfg.write_text(yaml.safe_dump(config))
        proc = self._spawn("kube-proxy", [self.tools["kube-proxy"], f"--config={cfg}", "--v=1"])

        def healthy() -> bool:
            return http_get(f"http://127.0.0.1:{healthz}/healthz")[0] == 200

        self._wait(proc, healthy)

    def _start_scheduler(self) -> None:
        kubeconfig = self._kubeconfig("kube-scheduler", "system:kube-scheduler", ())
        port = free_port()
        proc = self._spawn(
            "kube-scheduler",
            [
                self.tools["kube-scheduler"],
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'scheduler-pki'}",
                "--v=1",
            ],
        )

        def healthy() -> bool:
            return http_get(f"https://127.0.0.1:{port}/healthz", insecure=True) == (200, "ok")

        self._wait(proc, healthy)

    def _start_kube_router(self) -> None:
        # Full read access to pods, namespaces, nodes and NetworkPolicies is what it needs;
        # the admin identity keeps the harness short (the RBAC of kube-router is not under
        # test).
        health = free_port()
        proc = self._spawn(
            "kube-router",
            [
                self.tools["kube-router"],
                f"--kubeconfig={self.cluster.kubeconfig}",
                f"--hostname-override={NODE_NAME}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--enable-cni=false",
                "--enable-ipv4=true",
                "--enable-ipv6=false",
                f"--health-port={health}",
                "--metrics-port=0",
                "--iptables-sync-period=5m",
                "--v=1",
            ],
        )

        def healthy() -> bool:
            return http_get(f"http://127.0.0.1:{health}/healthz")[0] == 200

        self._wait(proc, healthy)

    # ------------------------------------------------------------- CoreDNS
    def coredns_manifests(self) -> list[Manifest]:
        """CoreDNS as k3s deploys it (its manifests/coredns.yaml), with the locally built image."""
        labels = {"k8s-app": "kube-dns"}
        corefile = f""".:53 {{
    errors
    health
    ready
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }}
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}}
"""
        return [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "system:coredns"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["endpoints", "services", "pods", "namespaces"],
                        "verbs": ["list", "watch"],
                    },
                    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
                    {
                        "apiGroups": ["discovery.k8s.io"],
                        "resources": ["endpointslices"],
                        "verbs": ["list", "watch"],
                    },
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "system:coredns"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:coredns",
                },
                "subjects": [
                    {"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}
                ],
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {"Corefile": corefile},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": "coredns",
                    "namespace": "kube-system",
                    "labels": {**labels, "kubernetes.io/name": "CoreDNS"},
                },
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "priorityClassName": "system-cluster-critical",
                            "serviceAccountName": "coredns",
                            "dnsPolicy": "Default",
                            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                            "containers": [
                                {
                                    "name": "coredns",
                                    "image": self.coredns_image,
                                    "imagePullPolicy": "Never",
                                    "args": ["-conf", "/etc/coredns/Corefile"],
                                    "resources": {
                                        "limits": {"memory": "170Mi"},
                                        "requests": {"cpu": "100m", "memory": "70Mi"},
                                    },
                                    "ports": [
                                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                        {
                                            "name": "dns-tcp",
                                            "containerPort": 53,
                                            "protocol": "TCP",
                                        },
                                        {
                                            "name": "metrics",
                                            "containerPort": 9153,
                                            "protocol": "TCP",
                                        },
                                    ],
                                    "securityContext": {
                                        "allowPrivilegeEscalation": False,
                                        "capabilities": {
                                            "add": ["NET_BIND_SERVICE"],
                                            "drop": ["all"],
                                        },
                                        "readOnlyRootFilesystem": True,
                                    },
                                    "livenessProbe": {
                                        "httpGet": {"path": "/health", "port": 8080},
                                        "periodSeconds": 10,
                                        "failureThreshold": 3,
                                    },
                                    "readinessProbe": {
                                        "httpGet": {"path": "/ready", "port": 8181},
                                        "periodSeconds": 2,
                                        "failureThreshold": 3,
                                    },
                                    "volumeMounts": [
                                        {
                                            "name": "config-volume",
                                            "mountPath": "/etc/coredns",
                                            "readOnly": True,
                                        }
                                    ],
                                }
                            ],
                            "volumes": [
                                {
                                    "name": "config-volume",
                                    "configMap": {
                                        "name": "coredns",
                                        "items": [{"key": "Corefile", "path": "Corefile"}],
                                    },
                                }
                            ],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kube-dns",
                    "namespace": "kube-system",
                    "labels": {
                        **labels,
                        "kubernetes.io/cluster-service": "true",
                        "kubernetes.io/name": "CoreDNS",
                    },
                },
                "spec": {
                    "selector": labels,
                    "clusterIP": CLUSTER_DNS,
                    "ports": [
                        {"name": "dns", "port": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                        {"name": "metrics", "port": 9153, "protocol": "TCP"},
                    ],
                },
            },
        ]

    def _start_coredns(self) -> None:
        self.cluster.apply(*self.coredns_manifests())
        self.wait_pods_ready("kube-system", "k8s-app=kube-dns", 1, timeout=NODE_TIMEOUT)

    # ------------------------------------------------------------ pods
    def pods(self, namespace: str, selector: str | None = None) -> list[Manifest]:
        return self.cluster.kube.list("v1", "Pod", namespace, label_selector=selector)

    @staticmethod
    def pod_ready(pod: Manifest) -> bool:
        st = pod.get("status") or {}
        conds = {c["type"]: c["status"] for c in st.get("conditions", [])}
        return bool(
            st.get("phase") == "Running"
            and conds.get("Ready") == "True"
            and not pod["metadata"].get("deletionTimestamp")
        )

    def describe_pods(self, namespace: str) -> str:
        lines = []
        for p in self.pods(namespace):
            st = p.get("status") or {}
            cs = [
                f"{c['name']}: ready={c.get('ready')} state={list(c.get('state') or {})}"
                f" {json.dumps(c.get('state'))[:200]}"
                for c in st.get("containerStatuses", [])
            ]
            lines.append(
                f"{p['metadata']['name']} phase={st.get('phase')} ip={st.get('podIP')} "
                f"deleting={bool(p['metadata'].get('deletionTimestamp'))} {'; '.join(cs)}"
            )
        events = self.cluster.events_text(namespace)
        return "\n".join(lines) + "\n--- events\n" + "\n".join(events.splitlines()[-30:])

    def pod_logs(self, namespace: str, lines: int = 20) -> str:
        """The last `lines` of every container log the kubelet wrote for the pods of
        `namespace` (its podLogsDir: <namespace>_<pod>_<uid>/<container>/<restart>.log), the
        newest restart of each container, for failure messages."""
        out = []
        for pod_dir in sorted((self.workdir / "pod-logs").glob(f"{namespace}_*")):
            for container in sorted(p for p in pod_dir.iterdir() if p.is_dir()):
                logs = sorted(container.glob("*.log"), key=lambda p: p.stat().st_mtime)
                if not logs:
                    continue
                tail = logs[-1].read_text(errors="replace").splitlines()[-lines:]
                pod = pod_dir.name.split("_")[1]
                out.append(f"--- {pod}/{container.name} ({logs[-1].name})\n" + "\n".join(tail))
        return "\n".join(out) + "\n"

    def wait_pods_ready(
        self,
        namespace: str,
        selector: str,
        count: int,
        image: str | None = None,
        timeout: float = 180,
    ) -> list[Manifest]:
        """Wait until exactly `count` pods match `selector`, all Running and Ready (through
        their real probes), none terminating, each running `image` when given."""

        def check() -> list[Manifest] | None:
            pods = self.pods(namespace, selector)
            if len(pods) != count or not all(self.pod_ready(p) for p in pods):
                return None
            if image and any(c["image"] != image for p in pods for c in p["spec"]["containers"]):
                return None
            return pods

        return wait_for(
            check,
            timeout,
            f"{count} pod(s) {selector} in {namespace} Running and Ready"
            + (f" with {image}" if image else ""),
            0.5,
            lambda: (
                self.describe_pods(namespace)
                + "\n"
                + self.cluster.diagnostics(15, ["kubelet", "containerd"])
            ),
        )

    def pod_get(self, pod: Manifest, path: str, port: int = 8080, timeout: float = 10) -> Any:
        """GET http://<pod IP>:port/path from the node; parsed JSON or text."""
        code, body = http_get(f"http://{pod['status']['podIP']}:{port}{path}", timeout=timeout)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body
        return code, parsed

    # ---------------------------------------------------------- teardown
    def _kill_pods(self) -> None:
        """Kill every shim of this node's containerd and every process under them (the
        containers): shims are daemons that outlive containerd, and pods of a stopped node
        would keep running. Only processes of this node: shims are told its socket address."""
        if "containerd" not in self.procs:
            return
        sock = str(self.containerd_socket).encode()
        containerd_pid = self.procs["containerd"].pid
        parents: dict[int, int] = {}
        shims: list[int] = []
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            pid = int(pid_dir.name)
            try:
                stat = (pid_dir / "stat").read_text()
                argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
            if sock in argv and pid != containerd_pid:
                shims.append(pid)
        victims = set(shims)
        grew = True
        while grew:
            more = {pid for pid, ppid in parents.items() if ppid in victims} - victims
            victims |= more
            grew = bool(more)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _unmount(self) -> None:
        """Unmount what the node mounted (rootfs overlays, volumes, pod netns) under its dirs."""
        prefixes = (str(self.workdir) + "/", str(self.run_dir) + "/")
        try:
            with open("/proc/self/mountinfo") as f:
                points = [line.split()[4] for line in f]
        except OSError:
            return
        for point in sorted((p for p in points if p.startswith(prefixes)), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)


class Poller:
    """GET a URL from the node every `interval` seconds in the background, counting answers
    (by body) and failures: `with Poller(url) as p: ...; p.failures`."""

    def __init__(self, url: str, interval: float = 0.1, timeout: float = 2):
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.answers: dict[str, int] = {}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="poller", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                code, body = http_get(self.url, timeout=self.timeout)
                if code == 200:
                    self.answers[body] = self.answers.get(body, 0) + 1
                else:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} HTTP {code}: {body[:80]}")
            except Exception as exc:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)


def in_cidr(address: str, cidr: str) -> bool:
    """Whether an address or a network (`10.42.0.0/24`) lies in `cidr`."""
    net = ipaddress.ip_network(address, strict=False)
    outer = ipaddress.ip_network(cidr)
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]
