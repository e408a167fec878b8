"""A known ledger for the page and browser tests: the four positions of test_figures (fees, a
partial exit, stops with and without R) as rows, five day opens, and another trader's
position that must never show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from apps.exchanges.models import ExchangeAccount
from apps.performance.services.snapshots import record_snapshot
from apps.positions.models import PositionGroup
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import StrategyFactory, TradeFactory

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PNL_STOP = {
    "primary": {"source": "pnl_pct"},
    "condition": "at_or_below",
    "secondary": {"source": "fixed"},
    "value": "-5",
    "unit": "number",
}
# Not read by any figure: the CSV must carry it to the last digit.
PRECISE_PROCEEDS = D("114.885123456789012345")
DAY_OPENS = [D("1000"), D("1020"), D("1005"), D("969"), D("1030")]
RANGE = {"range": "custom", "from": "2026-03-01", "to": "2026-03-05"}


@dataclass
class Ledger:
    user: object
    account: ExchangeAccount
    other_user: object
    positions: list[PositionGroup]


def _position(account, **fields) -> PositionGroup:
    defaults = {"owner": account.owner, "account": account, "status": "closed", "timeframe": "15"}
    return PositionGroup.objects.create(**(defaults | fields))


def build_ledger() -> Ledger:
    user = UserFactory()
    account = ExchangeAccountFactory(owner=user, label="Main", quote_currency="USDT")
    trend = StrategyFactory(owner=user, name="Trend")
    ticket = TradeFactory(owner=user, account=account)
    positions = [
        # A: bought 1 for 100.10 with fees; sold in two parts (a partial exit) for 114.885.
        _position(account, symbol="BTC/USDT", strategy=trend, entry_cost=D("100.10"),
                  exit_quantity=D("1"), exit_proceeds=PRECISE_PROCEEDS,
                  realised_pnl=D("14.785"), exit_reason="group_tp",
                  exit_rules={"initial_stop": PNL_STOP},
                  opened_at=T0, closed_at=T0 + timedelta(hours=6)),
        _position(account, symbol="ETH/USDT", timeframe="60", strategy=trend,
                  entry_cost=D("200.20"), realised_pnl=D("-10.39"), exit_reason="initial_stop",
                  exit_rules={"initial_stop": PNL_STOP},
                  opened_at=T0 + timedelta(days=1), closed_at=T0 + timedelta(days=1, hours=2)),
        _position(account, symbol="BTC/USDT", timeframe="", trade=ticket, entry_cost=D("50.05"),
                  realised_pnl=D("4.95"), exit_reason="close",
                  opened_at=T0 + timedelta(days=2), closed_at=T0 + timedelta(days=3)),
        _position(account, symbol="SOL/USDT", entry_cost=D("80"), realised_pnl=D("-2.50"),
                  exit_reason="exit_signal",
                  opened_at=T0 + timedelta(days=3), closed_at=T0 + timedelta(days=3, hours=4)),
    ]  # fmt: skip
    for offset, equity in enumerate(DAY_OPENS):
        day = datetime(2026, 3, 1, 0, 1, tzinfo=UTC) + timedelta(days=offset)
        record_snapshot(account=account, equity=equity, now=day)
        record_snapshot(account=account, equity=equity + 7, now=day + timedelta(hours=12))
    other = UserFactory()
    theirs = ExchangeAccountFactory(owner=other, label="Theirs", quote_currency="USDT")
    _position(theirs, symbol="DOGE/USDT", entry_cost=D("10"), realised_pnl=D("999.99"),
              opened_at=T0, closed_at=T0 + timedelta(hours=1))  # fmt: skip
    record_snapshot(account=theirs, equity=D("50000"), now=T0)
    return Ledger(user, account, other, positions)


__all__ = ["DAY_OPENS", "PRECISE_PROCEEDS", "RANGE", "Ledger", "build_ledger", "date"]
