"""The ticket as the browser posts it: flat field names prefixed by the rule kind."""

from __future__ import annotations

from apps.exchanges.models import ExchangeAccount
from apps.strategies.domain.catalog import RuleKind
from tests.tickets.conftest import BTC, IMMEDIATELY

# The four examples, as a trader picks them in the dropdowns.
EMA_CROSS_ENTRY = {
    "primary": "last",
    "condition": "crosses_above",
    "secondary": "ema",
    "secondary_period": "21",
    "secondary_timeframe": "15m",
    "value": "+0.2",
    "unit": "percent",
}
STOP_BELOW_ENTRY = {
    "primary": "last",
    "condition": "at_or_below",
    "secondary": "entry_price",
    "value": "-2",
    "unit": "percent",
}
TRAIL_FROM_HIGH = {
    "primary": "last",
    "condition": "retraces_from",
    "secondary": "highest",
    "value": "1.5",
    "unit": "percent",
}
TAKE_PNL = {"primary": "pnl_pct", "condition": "at_or_above", "secondary": "fixed", "value": "3"}


def ticket_post(
    account: ExchangeAccount,
    *,
    action: str = "save",
    symbol: str = BTC,
    sizing: tuple[str, str] = ("quote", "1000"),
    portfolio: bool = False,
    rest_take_profit: bool = False,
    trade=None,
    **rows: dict | None,
) -> dict[str, str]:
    """POST data of a ticket; rows by kind name, the entry immediate unless given."""
    rows.setdefault("entry", IMMEDIATELY)
    data = {
        "action": action,
        "account": str(account.pk),
        "symbol": symbol,
        "side": "long",
        "sizing_kind": sizing[0],
        "sizing_value": sizing[1],
    }
    if portfolio:
        data["portfolio"] = "on"
    if rest_take_profit:
        data["rest_take_profit"] = "on"
    if trade is not None:
        data["trade"] = str(trade.pk)
    for kind in RuleKind:
        for field, value in (rows.get(kind.value) or {}).items():
            data[f"{kind.value}-{field}"] = value
    return data
