"""A ticket's price chart. Once its entry has opened a position, the chart is the position's
(its levels and fills, pushed live with the position's page); before that it shows where the
ticket would act: its entry's price level and, as if entered there, its stop, trailing stop and
take profit.

Its candles: a waiting ticket's are those of the timeframe its rules read candles on (an
EMA(21, 1h) entry: 1h), else the chart's default (15m); once it has a position, the position's
(the timeframe its exit rules read candles on, else 15m), so both pages show the same chart.
"""

from __future__ import annotations

from apps.core.numbers import plain
from apps.positions.domain.chart import Level
from apps.positions.services.chart import (
    chart_live_id,
    chart_state,
    market_chart,
    position_timeframe,
    rule_levels,
    rules_timeframe,
)
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs, as_if_entered, rule_price_level
from apps.tickets.models import Trade
from apps.tickets.services.candles import read_values


def chart_of_trade(*, trade: Trade) -> dict:
    """Everything the ticket page's chart draws (its `chart.json`)."""
    timeframe = trade_timeframe(trade)
    data = market_chart(account=trade.account, symbol=trade.symbol, timeframe=timeframe)
    position = trade.position_or_none
    if position is not None:
        return data | {
            "live": chart_live_id(position),
            "state": chart_state(position, timeframe=timeframe),
        }
    return data | {"live": trade_live_id(trade), "state": planned_state(trade)}


def trade_live_id(trade: Trade) -> str:
    """The live element of the chart: the position's once the ticket has one."""
    position = trade.position_or_none
    return chart_live_id(position) if position is not None else f"chart-live-trade-{trade.pk}"


def trade_timeframe(trade: Trade) -> str:
    """Its position's once it has one (the same chart as the position's page), else the first
    timeframe its rules read candles on (entry included)."""
    position = trade.position_or_none
    if position is not None:
        return position_timeframe(position)
    return rules_timeframe(_rules(trade).values())


def _rules(trade: Trade) -> dict[RuleKind, Rule | None]:
    revision = trade.revision or trade.next_revision
    return revision.parsed_rules(trade.side) if revision is not None else {}


def planned_state(trade: Trade) -> dict:
    """A waiting ticket: its last price and where its rules would act."""
    return {
        "last": None if trade.last_price is None else plain(trade.last_price),
        "levels": [level.to_json() for level in planned_levels(trade)],
        "markers": [],
    }


def planned_levels(trade: Trade) -> list[Level]:
    """The entry's price level (none for an immediate or RSI entry), then the exits as if the
    ticket entered there (or at the last price, for an immediate entry)."""
    rules, side = _rules(trade), Side(trade.side)
    candles = read_values([trade]).get((trade.account_id, trade.symbol), {})
    inputs = Inputs(last=trade.last_price, candles=candles)
    entry = rule_price_level(rules.get(RuleKind.ENTRY), inputs, side)
    levels = [Level("entry", "Entry", entry)] if entry is not None else []
    reference = entry if entry is not None else trade.last_price
    if reference is None:
        return levels
    exits = rule_levels(rules, as_if_entered(inputs, reference), side)
    return levels + [Level(level.kind, f"{level.label} (planned)", level.price) for level in exits]
