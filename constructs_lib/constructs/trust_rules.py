"""What the admission guards (CEL, admission_guards.py) and the synth's trust policy (Python,
render/policy.py) both compare against, so the two lines refuse the same things. Plain values
only: the synth imports this without loading cdk8s."""

from __future__ import annotations

PSA_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
PSA_LATEST = "latest"
ARGOCD_RBAC_CM = "argocd-rbac-cm"
RBAC_DEFAULT = "policy.default"
RBAC_DEFAULT_ROLES = ("", "role:readonly")
"""The `policy.default` values that give every user no more than read access."""
RBAC_WIDE_LINE = r'^[ \t]*[pg][ \t]*,[ \t]*("?role:readonly"?[ \t]*(,|$)|[^,\n]*\*)'
"""A line of an Argo CD policy CSV (RE2 and Python) that reads as, or is, a grant to every
user: a `p` or `g` line whose subject holds `*` (Argo CD matches subjects exactly, so today it
names no one, but it is never what a reviewer should accept), or whose subject is
role:readonly, the role `policy.default` may give everyone (a permission added to it, or a
role it inherits, is everyone's)."""
