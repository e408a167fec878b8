"""This installation's client order id prefix: `td` and a short code generated once and stored
(`Installation`), e.g. `td7kq2`. Every order the desk writes starts with it (`td7kq2g42p1l1`),
so two desks trading one exchange account never collide, and reconciliation recognises an
order on the exchange as this desk's even when the desk has no row for it.
"""

from __future__ import annotations

import secrets

from apps.core.models import Installation

BRAND = "td"
CODE_LENGTH = 4
# Lowercase letters and digits: every supported exchange accepts them in a client order id.
ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"

_code: str | None = None


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def installation_code() -> str:
    """The stored code, created on first use (one row, whichever process gets there first:
    `get_or_create` on the one primary key). Read once per process: it never changes."""
    global _code
    if _code is None:
        row, _ = Installation.objects.get_or_create(pk=1, defaults={"code": _new_code()})
        _code = row.code
    return _code


def order_id_prefix() -> str:
    """What every client order id of this desk starts with: `td7kq2`."""
    return f"{BRAND}{installation_code()}"
