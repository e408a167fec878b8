"""The client order ids the desk writes, for assertions: this installation's prefix, `g`, the
position and the order's tail (`p1l1` a leg, `x2` a sell)."""

from __future__ import annotations

from apps.core.installation import order_id_prefix


def client_id(position, tail: str) -> str:
    """`td7kq2g42p1l1` for client_id(position 42, "p1l1"); `position` is a row or a pk."""
    pk = position if isinstance(position, int) else position.pk
    return f"{order_id_prefix()}g{pk}{tail}"
