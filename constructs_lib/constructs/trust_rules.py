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
# What Argo CD trims around a policy line and before each CSV field (Go's unicode.IsSpace),
# as literal characters: RE2 and Python read a character class of them the same way.
_SPACE = "\t\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
RBAC_WIDE_LINE = (
    f'^[{_SPACE}]*"?[pg]"?[{_SPACE}]*,[{_SPACE}]*("?role:readonly"?[{_SPACE}]*(,|$)|[^,\n]*\\*)'
)
"""A line of an Argo CD policy CSV (RE2 and Python; lines split on newlines only, as Argo CD
does) that reads as, or is, a grant to every user: a `p` or `g` line whose subject holds `*`
(Argo CD matches subjects exactly, so today it names no one, but it is never what a reviewer
should accept), or whose subject is role:readonly, the role `policy.default` may give
everyone (a permission added to it, or a role it inherits, is everyone's)."""
NOTIFICATIONS_CM = "argocd-notifications-cm"
NOTIFICATIONS_SECRET = "argocd-notifications-secret"  # pragma: allowlist secret (a name)
DEPLOY_STATUS_SERVICE = "gitops-base-status"
"""The deploy status's notification service and trigger (constructs/argocd/deploy_status.py):
no other key of argocd-notifications-cm may name it."""
DEPLOY_STATUS_TOKEN_KEY = f"{DEPLOY_STATUS_SERVICE}-token"  # pragma: allowlist secret (a name)
"""The key of argocd-notifications-secret the service sends as its token."""
