"""What the admission guards (CEL, admission_guards.py) and the synth's trust policy (Python,
render/policy.py) both compare against, so the two lines refuse the same things; the constructs
that render these objects name them from here too. Plain values only: the synth imports this
without loading cdk8s."""

from __future__ import annotations

PSA_MODES = ("enforce", "audit", "warn")
"""The modes of Pod Security admission, one namespace label each."""
PSA_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
"""The Pod Security levels, weakest first; a missing label is `privileged`."""


def psa_label(mode: str) -> str:
    """The namespace label of one Pod Security mode: pod-security.kubernetes.io/enforce."""
    return f"pod-security.kubernetes.io/{mode}"


PSA_ENFORCE = psa_label("enforce")
PSA_ENFORCE_VERSION = psa_label("enforce-version")
PSA_LATEST = "latest"
ADMISSION_GROUP = "admissionregistration.k8s.io"
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
"""The kinds of the admission guards, which no AppProject may let Argo CD manage."""
DEFAULT_DENY = "default-deny"
"""The app namespace's NetworkPolicy that denies all traffic but what others allow."""
ARGOCD_CM = "argocd-cm"
ARGOCD_RBAC_CM = "argocd-rbac-cm"
ACCOUNTS_PREFIX = "accounts."
"""argocd-cm keys that define local Argo CD users."""
ANONYMOUS = "users.anonymous.enabled"
TRUTHY = ("1", "t", "T", "true", "TRUE", "True")
"""What Argo CD reads as true (Go's strconv.ParseBool)."""
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
