"""The desk's number filters, in every template without a `{% load %}` (a builtin). Thin: the
writing is `apps.core.formatting`'s.

- `{{ value|plain }}`: exact, unrounded (CSV, inputs, forms).
- `{{ value|price:obj.fmt }}` / `{{ value|amount:obj.fmt }}`: to the market's tick / step,
  with the quote / base unit (`obj.fmt` from `apps.core.market_formats.attach_formats`); a
  Decimal argument is a bare tick or step, no argument the fallback places.
- `{{ value|quote:"USDT" }}`, `{{ value|signed:"USDT" }}`: QUOTE_PLACES, signed for PnL.
- `{{ value|pct }}` (`1.20 %`), `{{ value|change }}` (`+1.20 %`, a signed change).
- `{{ value|tone }}`: `gain` / `loss` / `` for the figure's class.
- `{{ value|timeframe }}`: as traders write it (`240` -> `4h`, `1D`), `apps.core.timeframes`.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings

from apps.core import formatting
from apps.core.formatting import MarketFormat
from apps.core.timeframes import timeframe_words

register = template.Library()


def _places() -> int:
    return settings.QUOTE_PLACES


@register.filter
def plain(value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    return formatting.plain(value)


@register.filter
def price(value, market=None) -> str:
    if isinstance(market, MarketFormat):
        return formatting.price(value, market.tick, market.quote)
    return formatting.price(value, market if isinstance(market, Decimal) else None)


@register.filter
def amount(value, market=None) -> str:
    if isinstance(market, MarketFormat):
        return formatting.amount(value, market.step, market.base)
    return formatting.amount(value, market if isinstance(market, Decimal) else None)


@register.filter
def quote(value, unit: str = "") -> str:
    return formatting.quote(value, unit or "", places=_places())


@register.filter
def signed(value, unit: str = "") -> str:
    return formatting.signed(value, unit or "", places=_places())


@register.filter
def pct(value) -> str:
    return formatting.pct(value)


@register.filter
def change(value) -> str:
    return formatting.pct(value, signed=True)


@register.filter
def tone(value) -> str:
    return formatting.tone(value, places=_places())


@register.filter
def timeframe(value) -> str:
    return timeframe_words(value)
