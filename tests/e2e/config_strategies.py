"""Hypothesis strategies for whole config/app-config.yaml documents, for the property that
whatever `gitops-base validate` accepts the API server admits (test_server_dry_run.py).

The values are mostly valid and sit on the edges the API server checks: names of 1 to 63
characters (CronJobs and StatefulSets around 52), ports 1 and 65535, replica counts and probe
timings up to and just above int32, quantities in every notation up to the config's bounds,
cron schedules from the whole grammar (names, ranges, steps, lists, macros), IANA time zones,
long hosts and odd but legal paths, annotation keys with prefixes, long environment variable
names, probes, volumes, secrets, disruption budgets and pod security IDs. A share is invalid
on purpose: those must be refused by `validate`, never half-accepted.
"""

from __future__ import annotations

import string
import zoneinfo
from typing import Any

import yaml
from hypothesis import strategies as st

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ENVS = ("dev", "test", "prod")
DOMAIN = "example.com"

_LOWER = string.ascii_lowercase
_ALNUM = _LOWER + string.digits


@st.composite
def dns_label(draw: st.DrawFn, min_size: int = 1, max_size: int = 63) -> str:
    """A DNS label (starts with a letter), its length biased towards the limits."""
    size = draw(st.one_of(st.integers(min_size, max_size), st.sampled_from([min_size, max_size])))
    first = draw(st.sampled_from(_LOWER))
    if size == 1:
        return first
    middle = draw(st.text(_ALNUM + "-", min_size=size - 2, max_size=size - 2))
    last = draw(st.sampled_from(_ALNUM))
    return first + middle + last


def host_label(max_size: int = 63) -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z"),
        dns_label(max_size=max_size),
    )


@st.composite
def host_under(draw: st.DrawFn, domain: str) -> str:
    if draw(st.integers(0, 7)) == 0:  # as long as a hostname may be under `domain`
        sizes, room = [], 253 - len(domain)
        while room >= 2:
            sizes.append(min(63, room - 1))
            room -= sizes[-1] + 1
        return ".".join([*(draw(dns_label(min_size=n, max_size=n)) for n in sizes), domain])
    labels = draw(st.lists(host_label(), min_size=1, max_size=4))
    host = ".".join([*labels, domain])
    while len(host) > 253:
        host = host.split(".", 1)[1]
    return host


PATHS = st.one_of(
    st.sampled_from(
        [
            "/",
            "/api",
            "/v1/",
            "/a-b_c.d~e",
            "/%20",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/..",
            "/@x",
            "/x;y=1",
            "/$",
            "/(x)",
            "/a*",
            "/'",
            "/a,b",
            "/+:=&!",
        ]
    ),
    st.from_regex(r"\A/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,30}\Z"),
)

CPU = st.one_of(
    st.sampled_from(
        [
            "1m",
            "100m",
            "0.5",
            ".5",
            "1",
            "2.5",
            "1e3",
            "1k",
            "1n",
            "1u",
            "500000u",
            "0.001",
            "10000",
            "1e-3",
            "1E2",
            "0.0001",
            "10001",
            "1.5k",
        ]
    ),
    st.builds(lambda n: f"{n}m", st.integers(1, 4_000_000)),
)
MEMORY = st.one_of(
    st.sampled_from(
        [
            "1",
            "64Mi",
            "1Gi",
            "64Ti",
            "65Ti",
            "1e9",
            "1G",
            "0.5Gi",
            "100Ki",
            "1.5Mi",
            "128974848",
            "129e6",
            "123Mi",
            "1Pi",
            "1E",
            "1m",
            "10n",
            "0.5",
        ]
    ),
    st.builds(lambda n: f"{n}Mi", st.integers(1, 1_048_576)),
)


def resource_list() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"cpu": CPU, "memory": MEMORY})


RESOURCES = st.one_of(
    st.fixed_dictionaries({}, optional={"requests": resource_list(), "limits": resource_list()}),
    st.just(
        {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
    ),
)

# Mostly within int32, at its top, and now and then one above (which validate must refuse).
INT32_EDGES = st.sampled_from([1, 2, 10, 30, 60, INT32_MAX - 1, INT32_MAX] * 3 + [INT32_MAX + 1])
PORT_NUMBERS = st.one_of(
    st.sampled_from([1, 80, 443, 1023, 1024, 8080, 65535]), st.integers(1, 65535)
)


@st.composite
def port_name(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.sampled_from(["http", "metrics", "grpc", "a", "h2c", "x" * 15, "web-ui-2"]),
            st.from_regex(r"\A[a-z]([a-z0-9]{0,13}[a-z0-9])?\Z"),
        )
    )


# Cron: every construct of the Kubernetes grammar, mostly in range.
_CRON_FIELDS = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    (0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


@st.composite
def cron_part(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...]) -> str:
    kind = draw(st.sampled_from(["star", "value", "range", "step", "name", "question", "edge"]))
    a = draw(st.integers(low, high))
    b = draw(st.integers(a, high))
    step = draw(st.integers(1, high - low + 1))
    if kind == "star":
        return "*"
    if kind == "question":
        return "?"
    if kind == "value":
        return str(a)
    if kind == "range":
        return f"{a}-{b}" + (f"/{step}" if draw(st.booleans()) else "")
    if kind == "step":
        return f"*/{step}"
    if kind == "name" and names:
        return draw(st.sampled_from(names + tuple(n.upper() for n in names)))
    return str(draw(st.sampled_from([low, high, low, high, high + 1])))


@st.composite
def cron(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.sampled_from(
                [
                    "@daily",
                    "@hourly",
                    "@weekly",
                    "@monthly",
                    "@yearly",
                    "@annually",
                    "@midnight",
                    "@every 5m",
                    "@reboot",
                    "0 0 31 2 *",
                    "0 0 30 2 *",
                    "0 0 29 2 *",
                    "0 0 L * *",
                    "0 0 * * 5#3",
                    "0 0 15W * *",
                    "TZ=UTC 0 0 * * *",
                    "0 0 * * 7",
                ]
            )
        )
    fields = []
    for low, high, names in _CRON_FIELDS:
        parts = draw(st.lists(cron_part(low, high, names), min_size=1, max_size=3))
        fields.append(",".join(parts))
    return " ".join(fields)


_ZONES = sorted(zoneinfo.available_timezones())
TIME_ZONES = st.one_of(
    st.sampled_from(_ZONES),
    st.sampled_from(_ZONES),
    st.sampled_from(_ZONES),
    st.sampled_from(
        [
            "UTC",
            "Etc/UTC",
            "Europe/Paris",
            "Local",
            "utc",
            "Mars/Olympus",
            "EST5EDT",
            "Etc/GMT+12",
            "America/Argentina/ComodRivadavia",
        ]
    ),
)

ANNOTATION_KEYS = st.one_of(
    st.sampled_from(
        [
            "nginx.ingress.kubernetes.io/proxy-body-size",
            "example.com/x",
            "a",
            "A_b.C-d",
            "x" * 63,
            "x" * 64,
            ("p" * 63 + ".") * 3 + "p" * 61 + "/n",
            "-bad",
            "a/b/c",
            "UPPER.example.com/x",
            "kubernetes.io/x",
            "k8s.io/x",
        ]
    ),
    st.builds(
        lambda p, n: f"{p}/{n}",
        st.from_regex(r"\A[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}\Z"),
        st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?\Z"),
    ),
)
ANNOTATION_VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["", "true", "10m", "x" * 300]))


@st.composite
def env_name(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z"),
            st.builds(lambda n: "E" * n, st.sampled_from([63, 64, 253, 254, 300])),
        )
    )


ENV_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "true", "$(HOME)", "line\nbreak", "x" * 1000]),
)


@st.composite
def probe(draw: st.DrawFn, port_names: list[str], port_numbers: list[int]) -> dict[str, Any]:
    refs: list[int | str] = [*port_names, *port_numbers] or [8080]
    handler = draw(st.sampled_from(["http", "tcp", "exec"]))
    out: dict[str, Any]
    if handler == "http":
        out = {"http": {"path": draw(PATHS), "port": draw(st.sampled_from(refs))}}
    elif handler == "tcp":
        out = {"tcp": {"port": draw(st.sampled_from(refs))}}
    else:
        out = {
            "exec": {
                "command": draw(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3))
            }
        }
    for key, low in (
        ("initial_delay_seconds", 0),
        ("period_seconds", 1),
        ("timeout_seconds", 1),
        ("failure_threshold", 1),
    ):
        if draw(st.booleans()):
            out[key] = draw(st.one_of(st.integers(low, 100), INT32_EDGES))
    return out


@st.composite
def secret(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": draw(st.from_regex(r"\A[A-Za-z0-9_.-]{1,40}\Z")),
        "path": draw(st.sampled_from(["/", "/api", "/a/b", "/with space", "/x.y"])),
    }
    if draw(st.booleans()):
        out["env"] = draw(env_name())
    else:
        out["file"] = draw(
            st.one_of(
                st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}\Z"),
                st.sampled_from(["a.pem", "x" * 253, "x" * 254, "..data", ".hidden", "a..b"]),
            )
        )
    return out


@st.composite
def volume(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": draw(dns_label()),
        "mount_path": draw(
            st.one_of(
                st.sampled_from(
                    [
                        "/data",
                        "/var/cache/x",
                        "/a/../b",
                        "/a b",
                        "/" + "d" * 300,
                        "/data/",
                        "//data",
                    ]
                ),
                st.from_regex(r"\A/[a-z0-9._-]{1,20}(/[a-z0-9._-]{1,20}){0,2}\Z"),
            )
        ),
    }
    if draw(st.booleans()):
        out["read_only"] = draw(st.booleans())
    if draw(st.integers(0, 3)):
        empty: dict[str, Any] = {}
        if draw(st.booleans()):
            empty["size_limit"] = draw(MEMORY)
        if draw(st.booleans()):
            empty["medium"] = draw(st.sampled_from(["", "Memory"]))
        out["empty_dir"] = empty
    else:
        out["persistent_volume_claim"] = {
            "claim_name": draw(
                st.one_of(dns_label(), st.sampled_from(["a.b.c", "x" * 253, "data-0"]))
            )
        }
    return out


@st.composite
def ingress(draw: st.DrawFn, name: str, port_names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hosts": draw(st.lists(host_under(DOMAIN), min_size=1, max_size=2, unique=True)),
    }
    if draw(st.booleans()):
        out["paths"] = draw(st.lists(PATHS, min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 3)) == 0:
        out["env_hosts"] = {
            draw(st.sampled_from(ENVS)): draw(
                st.lists(host_under("example.org"), min_size=1, max_size=2, unique=True)
            )
        }
    if draw(st.booleans()) and port_names:
        out["port"] = draw(st.sampled_from(port_names))
    if draw(st.booleans()):
        tls: dict[str, Any] = {"enabled": draw(st.booleans())}
        if draw(st.booleans()):
            tls["secret_name"] = draw(
                st.one_of(st.just(f"{name}-cert"), dns_label(), st.sampled_from(["a.b", "x" * 253]))
            )
        out["tls"] = tls
    if draw(st.booleans()):
        out["annotations"] = draw(
            st.dictionaries(ANNOTATION_KEYS, ANNOTATION_VALUES, min_size=1, max_size=3)
        )
    return out


def _percent_or_count() -> st.SearchStrategy[int | str]:
    return st.one_of(
        st.sampled_from([0, 1, 2, INT32_MAX] * 2 + [INT32_MAX + 1]),
        st.builds(lambda n: f"{n}%", st.sampled_from([0, 1, 50, 100] * 2 + [101, 999])),
    )


@st.composite
def service(draw: st.DrawFn, kind: str, name: str) -> dict[str, Any]:
    image: dict[str, Any] = {
        "repository": draw(
            st.sampled_from(
                [
                    "ghcr.io/acme/web",
                    "localhost:5000/team/app",
                    "registry.example.com/a/b/c",
                    "nginx",
                ]
            )
        )
    }
    pin = draw(st.sampled_from(["tag", "digest", "both"]))
    if pin in ("tag", "both"):
        image["tag"] = draw(
            st.one_of(
                st.sampled_from(["1.2.3", "v2", "x" * 128, "_x", "1.0.0-rc.1"]),
                st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z"),
            )
        )
    if pin in ("digest", "both"):
        image["digest"] = "sha256:" + draw(st.sampled_from(["a" * 64, "0123456789abcdef" * 4]))
    svc: dict[str, Any] = {"name": name, "type": kind, "image": image}

    port_names: list[str] = []
    port_numbers: list[int] = []
    serving = kind in ("Deployment", "StatefulSet")
    if serving:
        ports = []
        for port in draw(st.lists(port_name(), max_size=3, unique=True)):
            number = draw(PORT_NUMBERS)
            while number in port_numbers:
                number = number % 65535 + 1
            entry: dict[str, Any] = {"name": port, "container_port": number}
            if draw(st.booleans()):
                entry["service_port"] = draw(PORT_NUMBERS)
            if draw(st.integers(0, 4)) == 0:
                entry["protocol"] = "UDP"
            ports.append(entry)
            port_names.append(port)
            port_numbers.append(number)
        if ports:
            svc["ports"] = ports
        if draw(st.booleans()):
            svc["replicas"] = draw(st.one_of(st.integers(0, 5), INT32_EDGES))
    if draw(st.booleans()):
        probes: dict[str, Any] = {}
        for which in ("readiness", "liveness", "startup") if serving else ("liveness",):
            if draw(st.booleans()):
                probes[which] = draw(probe(port_names, port_numbers))
        svc["probes"] = probes
    if draw(st.booleans()):
        svc["resources"] = draw(RESOURCES)
    if draw(st.booleans()):
        svc["env"] = draw(st.dictionaries(env_name(), ENV_VALUES, max_size=3))
    if draw(st.integers(0, 2)) == 0:
        svc["command"] = draw(st.lists(st.text(max_size=20), min_size=1, max_size=3))
    if draw(st.integers(0, 2)) == 0:
        svc["args"] = draw(st.lists(st.text(max_size=20), max_size=3))
    if draw(st.booleans()):
        svc["secrets"] = draw(st.lists(secret(), max_size=3))
        if draw(st.integers(0, 3)) == 0:
            svc["secrets_mount_path"] = draw(st.sampled_from(["/run/secrets", "/s", "/a b"]))
    if draw(st.integers(0, 2)) == 0:
        svc["volumes"] = draw(st.lists(volume(), max_size=2, unique_by=lambda v: v["name"]))
    if draw(st.integers(0, 3)) == 0:
        svc["security"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "run_as_user": st.sampled_from(
                        [1, 1000, 65534, INT32_MAX] * 2 + [INT32_MAX + 1, INT64_MAX]
                    ),
                    "run_as_group": st.sampled_from([1, 1000, INT32_MAX] * 2 + [INT32_MAX + 1]),
                    "fs_group": st.sampled_from(
                        [1, 2000, INT32_MAX] * 2 + [INT32_MAX + 1, INT64_MAX]
                    ),
                    "read_only_root_filesystem": st.booleans(),
                    "add_capabilities": st.sampled_from([[], ["NET_BIND_SERVICE"]]),
                    "automount_service_account_token": st.booleans(),
                },
            )
        )
    if draw(st.integers(0, 3)) == 0:
        svc["egress"] = {
            "internet": draw(st.booleans()),
            "external": draw(
                st.lists(
                    st.one_of(
                        st.fixed_dictionaries(
                            {
                                "cidr": st.sampled_from(
                                    [
                                        "10.0.5.0/24",
                                        "0.0.0.0/0",
                                        "2001:db8::/32",
                                        "192.0.2.1/32",
                                        "::/0",
                                    ]
                                ),
                                "ports": st.lists(PORT_NUMBERS, min_size=1, max_size=2),
                            }
                        ),
                        st.fixed_dictionaries(
                            {
                                "host": host_under("example.net"),
                                "ports": st.lists(PORT_NUMBERS, min_size=1, max_size=2),
                            }
                        ),
                    ),
                    max_size=2,
                )
            ),
        }
    if serving and port_names and draw(st.booleans()):
        svc["ingress"] = draw(ingress(name, port_names))
    if serving and draw(st.integers(0, 2)) == 0:
        low = draw(st.one_of(st.integers(1, 3), INT32_EDGES))
        high = draw(st.one_of(st.integers(low, low + 5), st.integers(low, low + 5), INT32_EDGES))
        svc["autoscaling"] = {
            "min_replicas": low,
            "max_replicas": high,
            "target_cpu_utilization": draw(
                st.one_of(st.integers(1, 100), st.integers(1, 100), st.sampled_from([None, 1, 100]))
            ),
        }
        if draw(st.booleans()):
            svc["autoscaling"]["target_memory_utilization"] = draw(st.integers(1, 100))
        svc.setdefault("resources", {}).setdefault("requests", {}).setdefault("cpu", "100m")
    if serving and draw(st.integers(0, 2)) == 0:
        which = draw(st.sampled_from(["min_available", "max_unavailable"]))
        svc["disruption_budget"] = {which: draw(_percent_or_count())}
    if kind == "CronJob":
        cronjob = svc["cronjob"] = {"schedule": draw(cron())}
        if draw(st.booleans()):
            cronjob["time_zone"] = draw(TIME_ZONES)
        for key, values in (
            ("concurrency_policy", st.sampled_from(["Allow", "Forbid", "Replace"])),
            ("successful_jobs_history_limit", st.sampled_from([0, 1, 3, INT32_MAX])),
            ("failed_jobs_history_limit", st.sampled_from([0, 1, INT32_MAX])),
            ("starting_deadline_seconds", st.sampled_from([None, 10, 300, INT32_MAX, INT64_MAX])),
            ("suspend", st.booleans()),
        ):
            if draw(st.booleans()):
                cronjob[key] = draw(values)
    if kind in ("CronJob", "Job") and draw(st.booleans()):
        job = svc["job"] = {}
        for key, values in (
            ("backoff_limit", st.sampled_from([0, 2, 6, INT32_MAX])),
            ("active_deadline_seconds", st.sampled_from([1, 600, INT32_MAX, INT64_MAX])),
            ("restart_policy", st.sampled_from(["OnFailure", "Never"])),
        ):
            if draw(st.booleans()):
                job[key] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        svc["image"]["envs"] = {
            draw(st.sampled_from(ENVS)): {"tag": draw(st.sampled_from(["1.0.0", "2"]))}
        }
    return svc


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """One whole config document (a dict to dump as YAML)."""
    kinds = draw(
        st.lists(
            st.sampled_from(["Deployment", "Deployment", "StatefulSet", "CronJob", "Job"]),
            min_size=1,
            max_size=3,
        )
    )
    services = []
    names: set[str] = set()
    for i, kind in enumerate(kinds):
        limit = 52 if kind in ("CronJob", "StatefulSet") and draw(st.integers(0, 4)) else 63
        name = draw(dns_label(max_size=limit))
        if name in names:  # keep the length, change the end
            name = f"{name[: max(1, len(name) - 2)]}-{i}"
        names.add(name)
        services.append(draw(service(kind, name)))
    config: dict[str, Any] = {
        "version": 2,
        "app": {
            "name": draw(st.one_of(st.sampled_from(["shop", "a"]), dns_label())),
            "namespace": draw(st.one_of(st.sampled_from(["shop", "team-a"]), dns_label())),
        },
        "domain": DOMAIN,
        "tls": {
            "enabled": draw(st.booleans()),
            "issuer": draw(st.sampled_from(["letsencrypt-staging", "letsencrypt-production"])),
        },
        "secrets": {
            "infisical": {
                "url": "https://app.infisical.com",
                "project_id": "6f1a5c1e-8a42-4d0b-9b0e-2f7c4d9e1a10",
                "auth": {"method": "kubernetes", "identity_id": "3c9d2b7a-1e4f"},
            }
        },
        "services": services,
    }
    if draw(st.booleans()):
        config["defaults"] = {"resources": draw(RESOURCES)}
    if draw(st.booleans()):
        config["features"] = {
            k: draw(st.booleans()) for k in ("services", "ingresses", "network_policies")
        }
    if draw(st.booleans()):
        config["platform"] = {
            "quota": {
                "enabled": draw(st.booleans()),
                "headroom_percent": draw(st.sampled_from([0, 50, 100, 1000])),
            },
            "limit_range": {"enabled": draw(st.booleans())},
        }
    return config


class _NoAliases(yaml.SafeDumper):
    """Writes a value drawn twice out twice: the config loader refuses YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(config: dict[str, Any]) -> str:
    return yaml.dump(config, Dumper=_NoAliases, sort_keys=False, allow_unicode=True)
