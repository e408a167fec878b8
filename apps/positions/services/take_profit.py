"""The take-profit loop: per-leg, aggregate and hybrid take profit of open position groups.

Take profit sells at market once the loop sees the price at or past the target, rather than
resting limit sells at the targets. Why: hybrid arms two targets over the same coins, and an
exchange holds the base amount of every resting sell, so the two could not rest together
without cancel-and-replace churn on every fill; resting sells would also have to be cancelled
before every exit signal and every aggregate close. The cost is the taker fee and the loop's
latency (a wick through a target between two ticks is missed); the rules loop of tickets makes
the same choice. A position opened with `rest_take_profit` does rest its take profit
(`resting_take_profit`, its stop then on the desk): this loop leaves each target that rests to
the exchange and acts only on the rest (hybrid's whole-position target, a leg too small).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from apps.core.bulk import bulk_set
from apps.core.loops import each_isolated
from apps.core.message_figures import figures_of
from apps.exchanges.domain.types import OrderSide, Ticker
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import market_data
from apps.positions.domain.protection import GROUP_TP, LEG_TP
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.positions.services import intents, live, resting_take_profit
from apps.positions.services.events import group_event
from apps.positions.services.signals import close_group_locked
from apps.strategies.domain import dca

logger = logging.getLogger(__name__)

LOOP = "trades.take_profit"

TICK_FIELDS = (
    "owner_id",
    "account_id",
    "symbol",
    "side",
    "status",
    "tp_mode",
    "group_tp_pct",
    "quantity",
    "last_price",
    "rest_take_profit",
)


@dataclass
class TpReport:
    checked: int = 0
    unpriced: int = 0
    acted: list[tuple[int, str]] = field(default_factory=list)  # (group id, scope)


def take_profit(*, now: datetime, batch: int = 2000) -> TpReport:
    """One tick of the take-profit loop.

    1. Load open groups of active accounts with no sell in flight (a sell settles first, so
       two ticks never sell the same coins), and the legs they hold, in two queries.
    2. One ticker batch per account, outside any transaction.
    3. Decide per group in the domain (`dca.take_profit`); write the last prices in one bulk
       update and push the moved rows.
    4. Act on each decision under the group's lock, deciding again from the locked rows: a
       group that moved on meanwhile is left alone.
    """
    report = TpReport()
    groups = list(
        PositionGroup.objects.filter(status=PositionGroup.Status.OPEN, account__is_active=True)
        .exclude(intents.sell_in_flight())
        .only(*TICK_FIELDS)
        .order_by("pk")[:batch]
    )
    if not groups:
        return report
    legs: dict[int, list[DcaLeg]] = defaultdict(list)
    for leg in _held_legs_of(groups):
        legs[leg.group_id].append(leg)
    resting = resting_take_profit.resting_take_profits(
        [group.pk for group in groups if group.rest_take_profit]
    )
    accounts = ExchangeAccount.objects.select_related("owner").in_bulk(
        {group.account_id for group in groups}
    )
    tickers = _tickers(groups, accounts)

    moved: list[PositionGroup] = []
    due: dict[PositionGroup, Decimal] = {}

    def check(group: PositionGroup) -> None:
        ticker = tickers.get((group.account_id, group.symbol))
        if ticker is None:
            report.unpriced += 1
            return
        report.checked += 1
        if group.last_price != ticker.last:
            group.last_price = ticker.last
            moved.append(group)
        if _decide(group, legs[group.pk], ticker.last, resting.get(group.pk, set())):
            due[group] = ticker.last

    def take(group: PositionGroup) -> None:
        scope = act(group_id=group.pk, last=due[group], now=now)
        if scope:
            report.acted.append((group.pk, scope))

    # A group whose stored settings the domain cannot decide on, or whose sell cannot be
    # written, is recorded and skipped; the other groups are checked and acted on.
    def of_account(group: PositionGroup) -> ExchangeAccount | None:
        return accounts.get(group.account_id)

    each_isolated(LOOP, groups, check, account_of=of_account)
    with transaction.atomic():
        bulk_set(moved, ["last_price"])
        live.push_rows(moved)
    each_isolated(LOOP, due, take, account_of=of_account)
    return report


def _held_legs_of(groups: list[PositionGroup]):
    return (
        DcaLeg.objects.filter(
            group__in=[g.pk for g in groups],
            quantity__gt=F("closed_quantity"),
            fill_price__isnull=False,
        )
        .exclude(status=DcaLeg.Status.CLOSED)
        .only("group_id", "quantity", "closed_quantity", "fill_price", "tp_pct")
    )


def _tickers(groups: list[PositionGroup], accounts) -> dict[tuple[int, str], Ticker]:
    symbols: dict[int, set[str]] = defaultdict(set)
    for group in groups:
        symbols[group.account_id].add(group.symbol)
    found: dict[tuple[int, str], Ticker] = {}

    def fetch(account: ExchangeAccount) -> None:
        try:
            batch = market_data.tickers(account=account, symbols=sorted(symbols[account.pk]))
        except ExchangeError as exc:
            logger.warning("Take-profit loop: no tickers for account %s: %s", account.pk, exc)
            return
        for symbol, ticker in batch.items():
            found[(account.pk, symbol)] = ticker

    # An account whose batch fails unexpectedly leaves its groups unpriced this tick only.
    each_isolated(LOOP, [accounts[pk] for pk in symbols], fetch, account_of=lambda a: a)
    return found


def _decide(
    group: PositionGroup,
    legs: list[DcaLeg],
    last: Decimal,
    resting: set[tuple[str, int | None]],
) -> tuple[dca.TakeProfit, ...]:
    """What to sell at market now; a target whose limit sell rests on the exchange (`resting`:
    (purpose, leg id)) is the exchange's, never sold twice nor at the taker fee."""
    decisions = dca.take_profit(
        mode=dca.TpMode(group.tp_mode),
        last=last,
        legs=intents.as_held(legs),
        position_quantity=group.quantity,
        group_tp_pct=group.group_tp_pct,
        side=intents.side_of(group),
    )
    return tuple(
        decision
        for decision in decisions
        if ((LEG_TP, decision.leg) if decision.scope == dca.TpScope.LEG else (GROUP_TP, None))
        not in resting
    )


def act(*, group_id: int, last: Decimal, now: datetime) -> str:
    """Take profit on one group at `last`, deciding again under its lock. Returns the scope
    acted on ("group", "leg") or "" when nothing was done."""
    with transaction.atomic():
        group = (
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=group_id, status=PositionGroup.Status.OPEN)
            .first()
        )
        # A sell in flight settles first; a resting order (a stop, a take profit) is no sell
        # in flight: a sell written now cancels it first (`intents.write_sell`).
        if (
            group is None
            or group.orders.filter(
                side=OrderSide.SELL, status__in=Order.LIVE, protective=False
            ).exists()
        ):
            return ""
        held = intents.held_legs(group)
        resting = resting_take_profit.resting_take_profits([group.pk]).get(group.pk, set())
        decisions = _decide(group, held, last, resting)
        if not decisions:
            return ""
        group.last_price = last
        if decisions[0].scope == dca.TpScope.GROUP:
            decision = decisions[0]
            close_group_locked(
                group,
                purpose=Order.Purpose.GROUP_TAKE_PROFIT,
                price=last,
                signal_id=None,
                now=now,
                why=f"{decision.explain(last, figures_of(group).market.tick)};",
            )
            return dca.TpScope.GROUP.value
        by_pk = {leg.pk: leg for leg in held}
        sold = sum(_sell_leg(group, by_pk[d.leg], d, last) for d in decisions)
        group.save()
        live.push_group(group)
        return dca.TpScope.LEG.value if sold else ""


def _sell_leg(group: PositionGroup, leg: DcaLeg, decision: dca.TakeProfit, last: Decimal) -> int:
    """One leg's own take profit: its held quantity, rounded down, at market. A leg too small
    to sell alone is reported once and left to the group's close."""
    amount, why_not = intents.prepare_sell(group, leg.open_quantity, last)
    where = leg.label
    if amount is None:
        if leg.problem != why_not:
            leg.problem = why_not
            leg.save(update_fields=["problem"])
            group_event(
                group,
                "group.leg_unsellable",
                f"Per-leg take profit of {where} reached, but it cannot be sold alone: {why_not}",
                level="warning",
                data={"leg": leg.number, "quantity": str(leg.open_quantity), "reason": why_not},
            )
        return 0
    order = intents.write_sell(group, purpose=Order.Purpose.LEG_TAKE_PROFIT, amount=amount, leg=leg)
    shown = figures_of(group)
    group_event(
        group,
        "trade.take_profit_hit",
        f"Per-leg take profit of {where}: {decision.explain(last, shown.market.tick)}. "
        f"Selling {shown.amount(amount)} "
        f"{intents.base_of(group.symbol)} at market (order {order.client_order_id}).",
        data={
            "pyramid": leg.pyramid.number,
            "leg": leg.number,
            "quantity": str(amount),
            "price": str(last),
            "target": str(decision.target),
            "reason": "per-leg take profit",
            "client_order_id": order.client_order_id,
        },
    )
    return 1
