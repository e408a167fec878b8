"""An event's inputs (`Event.data`) as a trader reads them: labels in words, nested values as
nested lists, numbers exactly as they were recorded (Decimals are stored as their strings and
shown as written, without trailing zeros; a percentage to 2 places, its exact value on hover),
ids of positions, trades and signals as links to their pages."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.core.events import FACT_KEYS
from apps.core.events import category_label as _category_label
from apps.core.numbers import plain

register = template.Library()

LABELS = {
    "pnl": "PnL",
    "url": "Link",
    "group": "Position",
    "signal": "Signal",
    "trade": "Trade",
    "orders": "Orders",
    "qty": "Quantity",
    "avg_entry": "Average entry",
    "tp": "Take profit",
    "sl": "Stop loss",
    "id": "ID",
    "ip": "IP address",
    "client_id": "Client order id",
    "client_order_id": "Client order id",
    "pct": "%",
}
# Words inside a key: `close_qty` reads "Close quantity", `stop_loss_pct` "Stop loss %".
WORDS = {
    "qty": "quantity",
    "pnl": "PnL",
    "pct": "%",
    "avg": "average",
    "id": "id",
    "tf": "timeframe",
}
# Keys whose value is the id of an object with a page of its own.
LINKED = {
    "group": "positions:detail",
    "signal": "webhooks:signal-detail",
    "trade": "tickets:detail",
}


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    words = str(key).replace("_", " ").replace("-", " ").strip()
    words = " ".join(WORDS.get(word, word) for word in words.split(" "))
    return words[:1].upper() + words[1:] if words else "(no name)"


# A number as a Decimal's string (how events store them): `0.030800000000000000`, `-1.5`.
_NUMBER = re.compile(r"-?\d{1,30}\.\d{1,40}", re.ASCII)
CENTS = Decimal("0.01")


def _is_pct(key: str) -> bool:
    return key == "pct" or str(key).endswith("_pct")


def _scalar(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value == "":
        return "(empty)"
    return str(value)


def _own_link(text: str) -> bool:
    site = settings.SITE_URL.rstrip("/") + "/"
    return text.startswith(site) or (text.startswith("/") and not text.startswith("//"))


def _value(key: str, value, depth: int) -> SafeString:
    if isinstance(value, dict):
        return _definitions(value, depth + 1)
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return format_html("{}", ", ".join(_scalar(item) for item in value) or "(none)")
        return format_html(
            '<ol class="inputs-list">{}</ol>',
            format_html_join(
                "", "<li>{}</li>", ((_value(key, item, depth + 1),) for item in value)
            ),
        )
    text = _scalar(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        exact = plain(Decimal(value))  # trailing zeros go; no digit that counts is lost
        if _is_pct(key) and exact != plain(Decimal(value).quantize(CENTS, ROUND_HALF_UP)):
            shown = plain(Decimal(value).quantize(CENTS, ROUND_HALF_UP))
            return format_html('<span title="{}">{}</span>', exact, shown)
        return format_html("{}", exact)
    if key == "url" and isinstance(value, str) and _own_link(value):
        return format_html('<a href="{}">{}</a>', value, value)
    if key in LINKED and (isinstance(value, int) or (text.isascii() and text.isdigit())):
        try:
            return format_html('<a href="{}">#{}</a>', reverse(LINKED[key], args=[int(text)]), text)
        except NoReverseMatch:
            pass
    return format_html("{}", text)


def _reading_order(key: str) -> tuple:
    # PostgreSQL's jsonb keeps keys shortest first; a trader reads the facts first (account,
    # symbol, side, quantity, price, PnL, reason), then the rest by name.
    return (FACT_KEYS.index(key), "") if key in FACT_KEYS else (len(FACT_KEYS), key)


def _definitions(data: dict, depth: int = 0) -> SafeString:
    if depth > 6:  # recorded inputs are shallow; a deeper one is shown as written
        return format_html("<code>{}</code>", data)
    data = {key: data[key] for key in sorted(data, key=lambda key: _reading_order(str(key)))}
    return format_html(
        '<dl class="facts inputs">{}</dl>',
        format_html_join(
            "",
            "<dt>{}</dt><dd>{}</dd>",
            ((label(key), _value(key, value, depth)) for key, value in data.items()),
        ),
    )


@register.simple_tag
def event_inputs(data) -> SafeString:
    """`{% event_inputs event.data %}`: a definition list, or "No inputs recorded"."""
    if not data:
        return format_html('<p class="muted">{}</p>', "No inputs recorded.")
    if not isinstance(data, dict):
        return format_html("<p><code>{}</code></p>", data)
    return _definitions(data)


@register.filter
def category_label(category: str) -> str:
    """`position` -> `Positions`: the Logs page's words for an event's category."""
    return _category_label(category or "")


@register.filter
def kind_words(kind: str) -> str:
    """`group.grid_laid` -> `Position grid laid`: an event's kind as words (the code stays on
    the event's page and in the CSV, for search and scripts). A trader reads of positions:
    `group` is only the code's older name for one."""
    words = str(kind or "").replace(".", " ").replace("_", " ").strip()
    if words.startswith("group "):
        words = "position " + words.removeprefix("group ")
    return words[:1].upper() + words[1:]
