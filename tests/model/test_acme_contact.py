"""The contacts Let's Encrypt refuses, as its CA (Boulder, `policy.ValidEmail`) checks them."""

from __future__ import annotations

import pytest

from constructs_lib.model.clusters import acme_contact_problem

REFUSED = {
    "platform@example.com": "example.com is reserved for examples (RFC 2606)",
    "ops@EXAMPLE.NET": "example.net is reserved for examples (RFC 2606)",
    "ops@example.org": "example.org is reserved for examples (RFC 2606)",
    "ops@shop.test": "'.test' is not a public top-level domain",
    "ops@shop.example": "'.example' is not a public top-level domain",
    "ops@nowhere.invalid": "'.invalid' is not a public top-level domain",
    "root@localhost": "'.localhost' is not a public top-level domain",
    "ops@printer.local": "'.local' is not a public top-level domain",
    "ops@x.onion": "'.onion' is not a public top-level domain",
    "ops@router.home.arpa": "'.home.arpa' is not a public top-level domain",
    "ops@svc.internal": "'.internal' is not a public top-level domain",
    "ops@nas.lan": "'.lan' is not a public top-level domain",
    "ops@intranet.corp": "'.corp' is not a public top-level domain",
    "ops@192.0.2.1": "'192.0.2.1' is an IP address, not a domain",
    "ops@[192.0.2.1]": "'[192.0.2.1]' is an IP address, not a domain",
    "ops@[IPv6:2001:db8::1]": "'[ipv6:2001:db8::1]' is an IP address, not a domain",
    "ops@mailhost": "'mailhost' has no dot: not a public domain",
    "ops@münchen.de": "'münchen.de': the label 'münchen' is not 1 to 63 letters, digits and "
    "inner hyphens (an internationalized name must be written in punycode, xn--...)",
    "ops@-shop.io": "'-shop.io': the label '-shop' is not 1 to 63 letters, digits and inner "
    "hyphens (an internationalized name must be written in punycode, xn--...)",
    "ops@ab--cd.io": "'ab--cd.io': the label 'ab--cd' has the reserved form '??--'",
    "ops@a.b.c.d.e.f.g.h.i.j.io": "'a.b.c.d.e.f.g.h.i.j.io' has more than 10 labels",
    "ops@shop.123": "'shop.123' ends in a number, not a top-level domain",
}


@pytest.mark.parametrize(("address", "reason"), REFUSED.items(), ids=list(REFUSED))
def test_a_contact_lets_encrypt_refuses_is_named_with_why(address: str, reason: str) -> None:
    assert acme_contact_problem(address) == (
        f"Let's Encrypt refuses the contact '{address}': {reason}; use an address at a domain "
        "that receives your mail"
    )


@pytest.mark.parametrize(
    "address",
    [
        "ops@acme-shop.io",
        "Ops.Team+acme@Mail.Acme-Shop.COM",
        "ops@xn--mnchen-3ya.de",
        "ops@dev.example.com",
    ],
)
def test_a_public_contact_passes(address: str) -> None:
    """dev.example.com is a public name under a reserved one: Boulder refuses only the three
    example domains themselves."""
    assert acme_contact_problem(address) is None
