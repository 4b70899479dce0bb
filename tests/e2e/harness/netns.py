"""Run the whole e2e cluster in a private network namespace.

Every component is told to listen on 127.0.0.1, but Argo CD's application
controller hard-codes its metrics/healthz listener to 0.0.0.0. To guarantee
that nothing the harness starts is reachable from anywhere but loopback, the
test process moves itself into a fresh network namespace (which only has `lo`)
before starting anything; its children inherit it. Needs CAP_SYS_ADMIN (root,
as on CI). Opt out with GITOPS_BASE_E2E_HOST_NETWORK=1 (components then share
the host's network; the controller's metrics port listens on all interfaces).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = ctypes.CDLL(None, use_errno=True)
# The namespace the process started in, kept open when it enters a private one
# so that run_on_host_network() can still reach the internet (downloads).
_host_netns_fd: int | None = None
# Set once this process has entered its own namespace: from then on it may
# hold more interfaces than `lo` (a real node adds its own, see node.py).
_entered = False


def interfaces() -> list[str]:
    with open("/proc/net/dev") as f:
        lines = f.read().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def is_private() -> bool:
    """True when the only network interface is loopback."""
    return interfaces() == ["lo"]


def _loopback_up() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14s", b"lo", 0, b"\0" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        ifr = struct.pack("16sH14s", b"lo", flags | IFF_UP, b"\0" * 14)
        fcntl.ioctl(s, SIOCSIFFLAGS, ifr)
    finally:
        s.close()


def ensure_private_network() -> str:
    """Enter a new network namespace unless already in one; returns a short
    description of what was done. Raises RuntimeError with advice when that is
    impossible."""
    global _entered
    if os.environ.get("GITOPS_BASE_E2E_HOST_NETWORK") == "1":
        return "host network (GITOPS_BASE_E2E_HOST_NETWORK=1)"
    if _entered:
        return "already in the private network namespace it entered"
    if is_private():
        _loopback_up()
        _entered = True
        return "already in a private network namespace"
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("ensure_private_network() must run on the main thread")
    global _host_netns_fd
    host_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    if _libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        os.close(host_fd)
        raise RuntimeError(
            f"could not create a private network namespace: {os.strerror(err)}. The e2e "
            "harness isolates its servers that way (it needs root / CAP_SYS_ADMIN). "
            "Run as root, or under `unshare --net --map-root-user`, or set "
            "GITOPS_BASE_E2E_HOST_NETWORK=1 to use the host network (then Argo CD's "
            "controller metrics port listens on all interfaces)."
        )
    _host_netns_fd = host_fd
    _loopback_up()
    if not is_private():
        raise RuntimeError(f"unexpected interfaces after unshare: {interfaces()}")
    _entered = True
    return "entered a new private network namespace (only lo)"


def run_on_host_network(fn: Callable[[], T]) -> T:
    """Run `fn` with the network the process started with (for downloads),
    even after ensure_private_network(): in a helper thread that joins the
    original network namespace (namespaces are per thread). Without a private
    namespace, `fn` simply runs here."""
    if _host_netns_fd is None:
        return fn()
    fd = _host_netns_fd
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise RuntimeError(f"could not rejoin the host network: {os.strerror(err)}")
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="host-network", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
