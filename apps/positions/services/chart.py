"""A position's price chart: the candles of its timeframe from its account's exchange (cached
briefly, so many open tabs ask the exchange once), and what is drawn over them: its levels
(average entry, every DCA leg, take profits, stop, trailing stop) and its fills.

The live part (`chart_state`: last price, levels, fills) is what a push carries to an open
page; the candles come once, with the page's `chart.json`.

Prices leave as strings from Decimal; the browser converts them to numbers for drawing only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.cache import cache

from apps.core.numbers import plain
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services.market_data import recent_candles
from apps.positions.domain.chart import (
    DEFAULT_TIMEFRAME,
    Level,
    Marker,
    candle_start,
    chart_timeframe,
    price_places,
    timeframe_seconds,
)
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs, rule_price_level

CANDLE_COUNT = 300  # about three days of 15m candles: enough to see where the position sits
_CANDLES_KEY = "chart-candles:{}:{}:{}"
_EXIT_LEVELS = (
    (RuleKind.INITIAL_STOP, "stop", "Stop"),
    (RuleKind.TRAILING_STOP, "trailing", "Trailing stop"),
    (RuleKind.TAKE_PROFIT, "take-profit", "Take profit"),
)
# The take-profit modes that arm the group's target, and each filled leg's (a ticket's position
# without a grid, mode "rules", has only its take-profit rule).
_GROUP_TP = (dca.TpMode.AGGREGATE, dca.TpMode.HYBRID)
_LEG_TP = (dca.TpMode.PER_LEG, dca.TpMode.HYBRID)
# A position still managed: its rules and resting legs are drawn; a closed one shows its fills.
_MANAGED = (PositionGroup.Status.OPEN, PositionGroup.Status.CLOSING, PositionGroup.Status.ERROR)


def chart_of_position(*, group: PositionGroup) -> dict:
    """Everything the position page's chart draws (its `chart.json`)."""
    timeframe = position_timeframe(group)
    return {
        **market_chart(account=group.account, symbol=group.symbol, timeframe=timeframe),
        "live": chart_live_id(group),
        "state": chart_state(group, timeframe=timeframe),
    }


def market_chart(*, account: ExchangeAccount, symbol: str, timeframe: str) -> dict:
    """The candles and the market's tick (the chart's price format), for any chart."""
    market = Market.objects.filter(account=account, symbol=symbol).first()
    tick = market.tick_size if market is not None else None
    candles, problem = cached_candles(account=account, symbol=symbol, timeframe=timeframe)
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "timeframe_seconds": timeframe_seconds(timeframe),
        "tick": str(tick.normalize()) if tick else None,
        "places": price_places(tick),
        "candles": candles,
        "problem": problem,
    }


def cached_candles(
    *, account: ExchangeAccount, symbol: str, timeframe: str
) -> tuple[list[dict], str]:
    """The recent candles, as the chart reads them, and what went wrong ("" if nothing). Kept
    CHART_CANDLES_SECONDS per account, symbol and timeframe; a failure is not kept."""
    key = _CANDLES_KEY.format(account.pk, symbol, timeframe)
    rows = cache.get(key)
    if rows is not None:
        return rows, ""
    try:
        candles = recent_candles(
            account=account, symbol=symbol, timeframe=timeframe, count=CANDLE_COUNT
        )
    except ExchangeError as error:
        return [], f"No candles from the exchange: {error}"
    rows = [
        {
            "time": int(candle.opened_at.timestamp()),
            "open": plain(candle.open),
            "high": plain(candle.high),
            "low": plain(candle.low),
            "close": plain(candle.close),
        }
        for candle in candles
    ]
    cache.set(key, rows, settings.CHART_CANDLES_SECONDS)
    return rows, ""


def chart_live_id(group: PositionGroup) -> str:
    """The element a page with this position's chart holds, and a push replaces."""
    return f"chart-live-{group.pk}"


def position_timeframe(group: PositionGroup) -> str:
    """A signal's position: its own timeframe. A ticket's has none: the timeframe its rules
    read candles on, else DEFAULT_TIMEFRAME."""
    if group.timeframe:
        return chart_timeframe(group.timeframe)
    return rules_timeframe(group.parsed_exit_rules().values())


def rules_timeframe(rules: Iterable[Rule | None]) -> str:
    """The first timeframe these rules read candles on (a ticket's EMA(21, 1h) entry: 1h)."""
    for rule in rules:
        for operand in rule.operands if rule is not None else ():
            if operand.timeframe:
                return chart_timeframe(operand.timeframe)
    return DEFAULT_TIMEFRAME


def chart_state(group: PositionGroup, *, timeframe: str) -> dict:
    """What changes while the page is open: the last price, the levels and the fills."""
    legs = list(group.legs.select_related("pyramid").order_by("pyramid__index", "index"))
    fills = group.orders.filter(filled__gt=0, average__isnull=False).order_by("updated_at", "pk")
    return {
        "last": None if group.last_price is None else plain(group.last_price),
        "levels": [level.to_json() for level in position_levels(group, legs)],
        "markers": [marker.to_json() for marker in fill_markers(fills, timeframe=timeframe)],
    }


def position_levels(group: PositionGroup, legs: Iterable[DcaLeg]) -> list[Level]:
    """The price lines: average entry, each DCA leg (filled at its fill price, resting at its
    limit), the take-profit targets, and the exit rules that resolve to a price."""
    managed = group.status in _MANAGED
    side = Side(group.side)
    levels: list[Level] = []
    if group.average_entry is not None and group.quantity > 0:
        levels.append(Level("entry", "Average entry", group.average_entry))
    for leg in legs:
        levels.extend(_leg_levels(group, leg, managed=managed))
    if not managed:
        return levels
    if group.tp_mode in _GROUP_TP and group.average_entry and group.quantity > 0:
        target = dca.target_price(group.average_entry, group.group_tp_pct, side)
        levels.append(Level("take-profit", "Group take profit", target))
    levels.extend(rule_levels(group.parsed_exit_rules(), _inputs_of(group), side))
    return levels


def _leg_levels(group: PositionGroup, leg: DcaLeg, *, managed: bool) -> list[Level]:
    name = f"Leg {leg.pyramid.number}.{leg.number}"  # pyramid.leg, both from 1
    if leg.filled > 0 and leg.fill_price is not None:
        levels = [Level("leg", f"{name} filled", leg.fill_price)]
        if managed and group.tp_mode in _LEG_TP and leg.open_quantity > 0:
            target = dca.target_price(leg.fill_price, leg.tp_pct, Side(group.side))
            levels.append(Level("take-profit", f"{name} take profit", target))
        return levels
    if managed and leg.status == DcaLeg.Status.WORKING:
        return [Level("leg-resting", f"{name} resting", leg.price)]
    return []


def _inputs_of(group: PositionGroup) -> Inputs:
    # Right after a fill the rules loop has not yet seen a price: the entry stands in for the
    # highest and lowest, as it does for a position just entered.
    entry = group.average_entry
    return Inputs(
        last=group.last_price,
        entry_price=entry,
        highest=group.highest or entry,
        lowest=group.lowest or entry,
    )


def rule_levels(rules: Mapping[RuleKind, Rule | None], inputs: Inputs, side: Side) -> list[Level]:
    """The stop, trailing stop and take profit, where they resolve to a price."""
    levels = []
    for kind, css_kind, label in _EXIT_LEVELS:
        price = rule_price_level(rules.get(kind), inputs, side)
        if price is not None and price > 0:
            levels.append(Level(css_kind, label, price))
    return levels


def fill_markers(orders: Iterable[Order], *, timeframe: str) -> list[Marker]:
    """Each order that filled (in part), at its average price, on the candle of its last fill
    (an order's row keeps when it last changed, which is when its fill was recorded)."""
    return [
        Marker(
            time=candle_start(order.updated_at, timeframe),
            side=order.side,
            price=order.average,
            label=f"{order.side.title()} {plain(order.filled)}",
        )
        for order in orders
    ]
