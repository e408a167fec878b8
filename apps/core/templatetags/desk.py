"""`{{ value|quote:"USDT" }}` → `10,001.45 USDT`; `{{ value|signed:"USDT" }}` → `+12.40 USDT`;
`{{ value|tone }}` → `gain` / `loss` / ``: the Desk header's way with quote values."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.core import dashboard

register = template.Library()


@register.filter
def quote(value, currency: str = "") -> str:
    if not isinstance(value, Decimal):
        return "–" if value in (None, "") else str(value)
    return dashboard.quote_amount(value, currency).rstrip()


@register.filter
def signed(value, currency: str = "") -> str:
    if not isinstance(value, Decimal):
        return "–" if value in (None, "") else str(value)
    return dashboard.signed(value, currency)


@register.filter
def tone(value) -> str:
    return dashboard.tone_of(value) if isinstance(value, Decimal) else ""
