"""The demo trader's webhook, as the embedded desk's start banner shows it (`make run`)."""

from __future__ import annotations

from django.db import DatabaseError

from apps.webhooks.selectors import demo_route
from apps.webhooks.views.receive import path_of


def demo_webhook_banner(host: str, port: int) -> str:
    """The demo trader's webhook URL and a `curl` that opens a paper position through it."""
    try:
        route = demo_route()
    except DatabaseError:  # not migrated yet: no banner rather than no desk
        return ""
    if route is None:
        return ""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    url = f"http://{reachable}:{port}{path_of(route.token)}"
    body = '{"action":"entry","symbol":"BTCUSDT","timeframe":"15"}'
    return (
        f"TradingView demo webhook (demo's {route.account.label} account): {url}\n"
        f"  Send a signal:  curl -X POST {url} -H 'Content-Type: application/json' -d '{body}'\n"
        "  Then log in as demo and open Signals."
    )
