"""A ticket's entry rule fired: open its position through the one gate.

The ticket opens one pyramid: its sizing as leg 0 at market, or its strategy's DCA grid when
the strategy has one (the sizing is then the pyramid's capital). From then on the position
carries the ticket's exit rules (initial stop, trailing stop, take profit), which the rules
loop evaluates on it, and the trade's status follows the position.

Pool: every open position counts, whatever opened it. An entry that fires while the pool is
full does not open and is not queued: the ticket stays Active / Pending with the reason shown
(`Trade.waiting_reason`), its entry rule keeps being evaluated, and it opens on the first tick
its rule holds with a slot free. A refusal by the gate (paused account, kill switch, breaker,
guards, stale or missing market) rejects the ticket with the reason a signal would get.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.core.message_figures import figures_of_market
from apps.core.models import Event
from apps.exchanges.domain.precision import OrderRuleViolation
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services.markets import rules_of
from apps.positions.models import Order, PositionGroup
from apps.positions.services import hooks, intents, opening
from apps.positions.services import live as positions_live
from apps.positions.services.pool import pool_of
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import RuleKind, Side
from apps.strategies.domain.evaluation import Evaluation, Inputs, fired_state, stop_price
from apps.strategies.domain.sizing import SizingError
from apps.tickets.models import Trade
from apps.tickets.services import live
from apps.tickets.services.checks import EntrySize, size_entry_order
from apps.tickets.services.events import trade_event
from apps.tickets.services.tickets import refuse_entry

OPENED = "opened"
WAITING = "waiting"
REFUSED = "refused"
FAILED = "failed"
# One leg with all of the sizing, at market: a ticket without a strategy grid.
SINGLE_LEG = (dca.LegSpec(gap_pct=Decimal(0), weight_pct=Decimal(100), tp_pct=Decimal(0)),)


def open_for_ticket(
    *,
    trade: Trade,
    account: ExchangeAccount,
    evaluation: Evaluation,
    inputs: Inputs,
    now: datetime,
) -> str:
    """Open the ticket's position because its entry rule fired. Returns what happened
    (OPENED, WAITING, REFUSED, FAILED), or "" when the trade moved on meanwhile.

    1. Outside any transaction: the gate's checks (`opening.refusal`), then the sizing at the
       price a market buy pays now, checked against precision and minimums.
    2. In one transaction holding the account row lock, as signals take it: a full pool
       leaves the ticket waiting; else the position is written with the ticket's exit rules,
       its pyramid and leg orders laid (sent after commit), and the trade becomes Open.
    """
    market = opening.refusal(account=account, symbol=trade.symbol, now=now)
    if isinstance(market, opening.Refused):
        refuse_entry(trade_id=trade.pk, reason=market.reason, field=market.field, now=now)
        return REFUSED
    side = Side(trade.side)
    price = (inputs.ask if side == Side.LONG else inputs.bid) or inputs.last
    revision = trade.revision
    rules = revision.parsed_rules(trade.side)
    try:
        size = size_entry_order(
            account=account,
            market=market,
            side=side,
            sizing=revision.sizing,
            price=price,
            stop=stop_price(rules[RuleKind.INITIAL_STOP], inputs, side, price),
            tickers=None,
        )
        plan = plan_legs(trade, market, size)
    except (SizingError, OrderRuleViolation, dca.GridError) as exc:
        entry_failed(trade_id=trade.pk, reason=str(exc))
        return FAILED
    if not any(leg.ok for leg in plan[1]):
        entry_failed(
            trade_id=trade.pk, reason=f"no leg of the grid can be placed ({plan[1][0].problem})"
        )
        return FAILED
    with transaction.atomic():
        # Only the account's row: locking its owner's too would block the foreign-key checks
        # (FOR KEY SHARE) of every other transaction writing rows of that user.
        account = (
            ExchangeAccount.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=trade.account_id)
        )
        trade = (
            Trade.objects.select_for_update(of=("self",))
            .select_related("owner", "account", "revision", "strategy")
            .filter(pk=trade.pk, status=Trade.Status.PENDING, position__isnull=True)
            .first()
        )
        if trade is None:
            return ""
        pool = pool_of(account)
        if pool.is_full:
            _wait(trade, pool, evaluation)
            return WAITING
        position = _open(trade, account, market, size, plan, evaluation, now)
        hooks.pool_changed(account_id=account.pk, freed=False)
        live.push_table(owner_id=trade.owner_id)
        positions_live.push_group(position, created=True)
    return OPENED


def _wait(trade: Trade, pool, evaluation: Evaluation) -> None:
    reason = (
        f"Entry rule met, but {trade.account.label}'s pool is full ({pool.used} of {pool.size} "
        f"slots used): the position opens when a slot is free and the entry rule still holds."
    )
    if trade.waiting_reason == reason:
        return
    trade.waiting_reason = reason
    trade.save(update_fields=["waiting_reason", "updated_at"])
    trade_event(
        trade,
        "trade.entry_waiting",
        f"{reason} ({evaluation.explain(trade.fmt.tick)})",
        level=Event.Level.WARNING,
        data={"reason": reason, "pool_used": pool.used, "pool_size": pool.size},
    )
    live.push_table(owner_id=trade.owner_id)


def plan_legs(
    trade: Trade, market: Market, size: EntrySize
) -> tuple[tuple[dca.LegSpec, ...], tuple[dca.PlannedLeg, ...]]:
    """The ticket's pyramid: its sizing as one leg at market, or its strategy's DCA grid
    spread over the sizing's notional."""
    strategy = trade.strategy
    if strategy is None or not strategy.dca_legs:
        return SINGLE_LEG, (dca.PlannedLeg(0, SINGLE_LEG[0], size.price, size.amount),)
    grid = strategy.grid
    planned = dca.lay_grid(
        grid,
        entry_price=size.price,
        capital=size.notional,
        rules=rules_of(market),
        side=Side(trade.side),
        market_price=size.price,
    )
    return grid, planned


def _open(
    trade: Trade,
    account: ExchangeAccount,
    market: Market,
    size: EntrySize,
    plan: tuple[tuple[dca.LegSpec, ...], tuple[dca.PlannedLeg, ...]],
    evaluation: Evaluation,
    now: datetime,
) -> PositionGroup:
    strategy = trade.strategy
    grid, planned = plan
    with_grid = grid is not SINGLE_LEG
    position = opening.create_position(
        account=account,
        symbol=trade.symbol,
        timeframe="",
        side=trade.side,
        strategy=strategy,
        grid=grid,
        tp_mode=strategy.tp_mode if with_grid else dca.TpMode.RULES,
        group_tp_pct=strategy.group_tp_pct if with_grid else Decimal(0),
        pyramid_limit=1,
        rules=opening.exit_rules(trade.revision.rules, opening.EXIT_RULES_OF_TICKET),
        rest_take_profit=trade.rest_take_profit,
        trade_id=trade.pk,
        now=now,
    )
    trade.status = Trade.Status.OPEN
    trade.opened_at = now
    trade.waiting_reason = ""
    trade.rule_state = fired_state(trade.rule_state, evaluation, now)
    trade.save(update_fields=["status", "opened_at", "waiting_reason", "rule_state", "updated_at"])
    placed = [plan for plan in planned if plan.ok]
    buying = sum((plan.amount for plan in placed), Decimal(0))
    # The why first, then what the position does about it (its grid, its fills).
    trade_event(
        trade,
        "trade.entry_triggered",
        f"Entry rule met: {evaluation.explain(market.tick_size)} Position #{position.pk} "
        f"opened: buying {figures_of_market(market).amount(buying)} {market.base}"
        + (f" over a {len(grid)} leg grid." if with_grid else " at market."),
        data={"quantity": str(buying), "price": str(size.price), "position": position.pk},
    )
    intents.lay_pyramid(
        position,
        index=0,
        entry_price=size.price,
        capital=size.notional,
        planned=planned,
        signal_id=None,
        now=now,
        first_purpose=Order.Purpose.ENTRY,
    )
    return position


def entry_failed(*, trade_id: int, reason: str) -> None:
    """The entry rule fired but no order could be sized: the trade needs attention."""
    with transaction.atomic():
        trade = (
            Trade.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=trade_id, status=Trade.Status.PENDING, position__isnull=True)
            .first()
        )
        if trade is None:
            return
        trade.status = Trade.Status.ERROR
        trade.save(update_fields=["status", "updated_at"])
        trade_event(
            trade,
            "exchange.error",
            f"Entry rule met, but no order could be placed: {reason}",
            level=Event.Level.ERROR,
            data={"reason": reason},
        )
        live.push_table(owner_id=trade.owner_id)
