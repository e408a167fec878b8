"""Who may post to a route (IP allowlist) and whether a signal is still fresh. Pure."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist(text: str) -> list[Network]:
    """Addresses or CIDR networks separated by lines, commas or spaces; `#` starts a comment.
    Raises ValueError naming the first entry that is neither."""
    networks = []
    for line in text.splitlines():
        for entry in re.split(r"[\s,]+", line.split("#", 1)[0].strip()):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry} is not an IP address or network") from None
    return networks


def is_allowed(address: str | None, allowlist: str) -> bool:
    """True when `allowlist` is empty (anyone) or holds `address`."""
    try:
        networks = parse_allowlist(allowlist)
    except ValueError:
        return False  # a list the form refused never reaches here; fail closed if one does
    if not networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:52.89.214.238 from a dual-stack socket
    return any(ip in network for network in networks)


def staleness(
    *,
    fired_at: datetime | None,
    received_at: datetime,
    now: datetime,
    max_lag_seconds: int,
    signal_max_lag: int | None = None,
) -> str:
    """Why a signal is too old to act on, or "" when it is fresh.

    Its age is measured from when it fired (`timenow`, when the signal gives it) or else from
    when it was received, to `now`: a signal that waited in a stopped queue is as stale as one
    TradingView sent late. A limit of 0 turns the check off; the signal's own `max_lag`
    (3Commas) tightens the route's.
    """
    limits = [limit for limit in (max_lag_seconds, signal_max_lag) if limit]
    if not limits:
        return ""
    limit = min(limits)
    start = min(fired_at, received_at) if fired_at is not None else received_at
    age = (now - start).total_seconds()
    if age <= limit:
        return ""
    since = "fired" if fired_at is not None and fired_at <= received_at else "received"
    return f"Stale: {since} {_duration(age)} ago, more than the {limit} s allowed."


def _duration(seconds: float) -> str:
    if seconds < 600:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"
