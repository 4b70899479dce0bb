"""Secret-looking values in a workload's `env`, `command` and `args`.

Secrets reach pods through `secrets[]` (Infisical, by CSI); a secret written into the config
lands in Git and in three `dist/` trees. The detectors are detect-secrets' own plugins (the
scanner `make secrets` runs), plus two rules of ours: a variable named like a password or a
token holds a literal value, and so does an argument named so (`--password=...`, or the one
after `--password`).

Importing detect-secrets costs about 0.2 s (it loads `requests`), more than a whole synth of
the example. So a cheap gate runs first: every plugin below needs one of the fixed substrings
in `_GATE` to match at all, and only a value that holds one loads the plugins, which decide.
tests/model/test_secret_values.py proves the gate lets every detector's sample through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

# What each plugin's patterns cannot match without (case-insensitive: the gate may only be
# wider than the plugins, never narrower).
_GATE = re.compile(
    r"A3T|ABIA|ACCA|AKIA|ASIA"  # AWSKeyDetector
    r"|PRIVATE KEY|PuTTY-User-Key-File"  # PrivateKeyDetector
    r"|gh[pousr]_"  # GitHubTokenDetector
    r"|gl(?:pat|dt|ft|soat|rt)-"  # GitLabTokenDetector
    r"|xox|hooks\.slack\.com"  # SlackDetector
    r"|k_live_"  # StripeDetector
    r"|eyJ"  # JwtTokenDetector
    r"|://[^@]*@"  # BasicAuthDetector
    r"|T3BlbkFJ"  # OpenAIDetector
    r"|:_authToken="  # NpmDetector
    r"|pypi-AgEIcHlwaS5vcmc"  # PypiTokenDetector
    r"|SG\.",  # SendGridDetector
    re.IGNORECASE,
)

# detect-secrets plugin class -> the words a message uses for what it found.
_PLUGINS = {
    "aws.AWSKeyDetector": "AWS access key",
    "private_key.PrivateKeyDetector": "private key",  # pragma: allowlist secret
    "github_token.GitHubTokenDetector": "GitHub token",
    "gitlab_token.GitLabTokenDetector": "GitLab token",
    "slack.SlackDetector": "Slack token",
    "stripe.StripeDetector": "Stripe key",
    "jwt.JwtTokenDetector": "JSON Web Token",
    "basic_auth.BasicAuthDetector": "URL with a password",
    "openai.OpenAIDetector": "OpenAI key",
    "npm.NpmDetector": "npm token",
    "pypi_token.PypiTokenDetector": "PyPI token",
    "sendgrid.SendGridDetector": "SendGrid key",
}

# A variable named like one of these holds a secret unless its value is empty or a reference.
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|SECRET_KEY|ACCESS_KEY|TOKEN|API_KEY|APIKEY"
    r"|PRIVATE_KEY|CREDENTIALS|(?:^|_)PASS|(?:^|_)PWD)$",
    re.IGNORECASE,
)
# A command-line option named like one: `--password=x`, `--db-token x`, `-password x`.
_SECRET_OPTION = re.compile(
    r"^--?(?:[A-Za-z0-9]+[-_])*(password|passwd|passphrase|pass|pwd|secret|token|api[-_]?key"
    r"|access[-_]key|private[-_]key|credentials)(?:=(.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# `$(OTHER)`: Kubernetes expands it from another variable of the container.
_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")

NOT_SECRET_ENTRY = (
    r"^(?:[A-Za-z_][A-Za-z0-9_]*|(?:command|args|probes\.(?:readiness|liveness|startup)"
    r"\.exec\.command)\[\d+\])$"
)


@cache
def _plugins() -> tuple[tuple[Any, str], ...]:
    import importlib

    loaded = []
    for dotted, label in _PLUGINS.items():
        module, name = dotted.rsplit(".", 1)
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)
        loaded.append((plugin(), label))
    return tuple(loaded)


def detect(value: str) -> str | None:
    """What `value` looks like ("AWS access key", ...), or None if it looks like no secret."""
    if not _GATE.search(value):
        return None
    for plugin, label in _plugins():
        for found in plugin.analyze_string(value):
            # A URL whose password is a reference, e.g. postgres://app:$(DB_PASSWORD)@db/shop.
            if label == "URL with a password" and _REFERENCE.match(found):
                continue
            return str(label)
    return None


def detect_env(name: str, value: str, secrets_mount_path: str | None = None) -> str | None:
    """What the variable `name=value` looks like, or None."""
    return detect(value) or named_like_secret(name, value, secrets_mount_path)


def named_like_secret(name: str, value: str, secrets_mount_path: str | None = None) -> str | None:
    """Our one rule besides the plugins: a literal value in a variable named like a secret.
    Empty values, `$(OTHER)` references and paths under the secrets mount pass."""
    named = _SECRET_NAME.search(name)
    if named is None or not value or _REFERENCE.match(value):
        return None
    if secrets_mount_path and value.startswith(secrets_mount_path.rstrip("/") + "/"):
        return None  # the path of a secret file delivered by secrets[]
    suffix = named.group(1).upper().lstrip("_")
    return f"a literal value in a *{suffix} variable"


def secret_options(values: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(index, what) of each argument that gives a secret-named option a literal value:
    `--password=hunter2`, or `hunter2` after `--password`. Empty values, `$(OTHER)`
    references and the next option are fine."""
    for i, value in enumerate(values):
        option = _SECRET_OPTION.match(value)
        if option is None:
            continue
        name = option.group(1).lower()
        if option.group(2) is not None:
            literal, index = option.group(2), i
        elif i + 1 < len(values) and not values[i + 1].startswith("-"):
            literal, index = values[i + 1], i + 1
        else:
            continue
        if literal and not _REFERENCE.match(literal):
            yield index, f"a literal value of a --{name} option"


def findings(
    env: Mapping[str, str],
    command: Sequence[str] | None,
    args: Sequence[str] | None,
    secrets_mount_path: str | None = None,
    probes: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[tuple[str, str]]:
    """(entry, what it looks like) for each secret-looking value; entry is the env name or
    `command[i]` / `args[i]` / `probes.<probe>.exec.command[i]` (`probes` maps a probe to its
    exec command), which is also what `not_secret` lists to accept it."""
    for name, value in env.items():
        found = detect_env(name, value, secrets_mount_path)
        if found is not None:
            yield name, found
    fields = [("command", command), ("args", args)]
    fields += [(f"probes.{probe}.exec.command", cmd) for probe, cmd in (probes or {}).items()]
    for field, values in fields:
        options = dict(secret_options(values or ()))
        for i, value in enumerate(values or ()):
            found = detect(value) or options.get(i)
            if found is not None:
                yield f"{field}[{i}]", found


def message(entry: str, found: str) -> str:
    """`env.NAME: ...` or `args[2]: ...`, the value never echoed."""
    item = entry.endswith("]")
    where = entry if item else f"env.{entry}"
    shown = f"'{entry}'" if item else entry
    return (
        f"{where}: looks like a secret ({found}); deliver it through secrets[] (Infisical), "
        f"or mark it with not_secret: [{shown}] if it is not one"
    )
