"""`make secrets`: detect-secrets over every file of the repository, every line of it.

Run as `python constructs_lib/tools/secret_scan.py --baseline .secrets.baseline FILE...` (the
arguments detect-secrets-hook takes). Three things on top of the stock hook, all named in
`.secrets.baseline`:

- YAML files are scanned line by line as text. The stock hook parses YAML and scans only
  `key: value` pairs, so a secret in a list item (`args: [--token, ghp_...]`, `- AKIA...`) or in
  a block scalar went unseen.
- `KubernetesEnvDetector`: a rendered env entry (`- name: DB_PASSWORD` then `value: hunter2`)
  holds a literal in a variable named like a secret: the same rule `validate` applies to the
  config (constructs_lib/model/secret_values.py), for what an overlay or a hand edit adds.
- `is_kubernetes_object_name`: the keyword detector flags `secretName: web-tls` because the
  key contains "secret"; the value of such a field is, by the Kubernetes schema, the name of
  another object. Only that detector's finding is dropped, only for those exact fields and only
  when the value is shaped like an object name; every other detector still reads the line.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# Fields whose value names an object or a key, never holds one: Kubernetes and Secrets Store
# CSI fields as rendered, and the config's own (secret_name).
_NAME_FIELDS = frozenset(
    {"secretName", "secretProviderClass", "secretKey", "secretPath", "secretObjects", "secret_name"}
)
# `field: value`, `"field": "value"`, `field=value` or `["field"] == "value"`, in YAML (block or
# flow), JSON or Python.
_FIELD_VALUE = re.compile(r"""["']?([A-Za-z_]+)["']?\]?\s*(?::|==?)\s*["']?([^\s"',{}\[\]]+)""")
_OBJECT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$")
_BLOCK_SCALAR = re.compile(r"^[|>][-+]?[0-9]?$")
_NOT_TEXT = frozenset({"true", "false", "null", "True", "False", "None"})
_ENV_VALUE = re.compile(r"^\s*(?:-\s+)?value:\s*(.*?)\s*$")
_ENV_NAME = re.compile(r"^\s*(?:-\s+)?name:\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?\s*$")
_ENV_FLOW = re.compile(
    r"\{\s*name:\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?\s*,\s*value:\s*(\"[^\"]*\"|'[^']*'|[^,}]*)"
)


def is_kubernetes_object_name(secret: str, line: str, plugin: Any) -> bool:
    """A detect-secrets filter: True drops the finding. Only the keyword detector's, and only
    when what it took for a secret is a boolean, a block scalar's `|`, or the object name in one
    of `_NAME_FIELDS`."""
    if type(plugin).__name__ != "KeywordDetector":
        return False
    # Read as raw text, a YAML line gives the detector the rest of the line: `x}` or `x  # ...`.
    secret = re.split(r"\s+#", secret)[0].rstrip("}], ").strip("\"'")
    if secret in _NOT_TEXT:
        return True
    for field, value in _FIELD_VALUE.findall(line):
        if value != secret:
            continue
        if _BLOCK_SCALAR.match(value):
            return True  # `key: |`: the block's own lines are scanned one by one
        if field in _NAME_FIELDS and _OBJECT_NAME.match(value):
            return True
    return False


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _plugin_class() -> type:
    from detect_secrets.core.potential_secret import PotentialSecret
    from detect_secrets.plugins.base import BasePlugin

    from constructs_lib.model.secret_values import named_like_secret

    class KubernetesEnvDetector(BasePlugin):
        """A rendered env var named like a secret (`*PASSWORD`, `*TOKEN`...) with a literal."""

        secret_type = "Kubernetes env var named like a secret"  # pragma: allowlist secret

        def analyze_string(self, string: str) -> Any:
            yield from ()

        def analyze_line(
            self, filename: str, line: str, line_number: int = 0, context: Any = None, **_: Any
        ) -> set[Any]:
            pairs = [(n, _unquote(v.strip())) for n, v in _ENV_FLOW.findall(line)]
            value = _ENV_VALUE.match(line)
            if value is not None and context is not None:
                name = _ENV_NAME.match(context.previous_line)
                if name is not None:
                    pairs.append((name.group(1), _unquote(value.group(1))))
            return {
                PotentialSecret(self.secret_type, filename, value, line_number)
                for name, value in pairs
                if named_like_secret(name, value)
            }

    return KubernetesEnvDetector


# detect-secrets loads this file by path (as a module, not as __main__) and collects the plugin
# classes it defines.
if __name__ != "__main__":
    KubernetesEnvDetector = _plugin_class()


def main(argv: list[str]) -> int:
    from detect_secrets import pre_commit_hook
    from detect_secrets.transformers import get_transformers
    from detect_secrets.transformers.yaml import YAMLTransformer

    transformers: Any = get_transformers()  # cached: the scan uses this very list
    if not isinstance(transformers, list):
        raise SystemExit("detect-secrets changed: get_transformers() no longer gives a list")
    transformers[:] = [t for t in transformers if not isinstance(t, YAMLTransformer)]
    return pre_commit_hook.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
