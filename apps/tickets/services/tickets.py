"""The ticket's actions: Save, Activate, Modify, Cancel (and close at market)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.services import protection
from apps.positions.services.opening import EXIT_RULES_OF_TICKET, exit_rules
from apps.positions.services.signals import SignalOutcome
from apps.positions.services.trader import GroupError, close_group
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.sizing import Sizing
from apps.strategies.models import Strategy
from apps.tickets.models import Trade, TradeRevision
from apps.tickets.services import live
from apps.tickets.services.checks import Plan, check_activation
from apps.tickets.services.events import trade_event


class TicketError(Exception):
    """An action the trade's state does not allow; the message says why."""


@dataclass(frozen=True)
class Ticket:
    """A validated ticket form: what the trader asked for."""

    account: ExchangeAccount
    symbol: str
    side: Side
    sizing: Sizing
    rules: Mapping[RuleKind, Rule | None]
    portfolio: bool = False
    strategy: Strategy | None = None
    # The take profit rests on the exchange once the position opens (the stop stays on the
    # desk's rules loop).
    rest_take_profit: bool = False

    def rules_json(self) -> dict:
        return {kind.value: rule.to_dict() for kind, rule in self.rules.items() if rule}


@dataclass(frozen=True)
class Activation:
    trade: Trade
    plan: Plan

    @property
    def ok(self) -> bool:
        return self.plan.ok


def save_ticket(*, user, ticket: Ticket, trade: Trade | None = None) -> Trade:
    """Save the ticket.

    1. A new ticket becomes a Saved trade with revision 1.
    2. An editable trade (Draft, Saved, Rejected) is updated in place and becomes Saved.
    3. A running trade (Active/Pending, Open) is being modified: the ticket is written to its
       next revision, and the running revision keeps working until Activate swaps it in.
    """
    with transaction.atomic():
        if trade is None:
            trade = Trade.objects.create(
                owner=user,
                account=ticket.account,
                symbol=ticket.symbol,
                side=ticket.side,
                status=Trade.Status.SAVED,
                portfolio=ticket.portfolio,
                rest_take_profit=ticket.rest_take_profit,
                strategy=ticket.strategy,
            )
            trade.revision = _write_revision(trade, None, ticket)
            trade.save(update_fields=["revision"])
            trade_event(trade, "trade.saved", f"Ticket saved: {_summary(trade, ticket)}.")
        else:
            trade = Trade.objects.select_for_update().get(pk=trade.pk)
            if trade.is_editable:
                _update_editable(trade, ticket)
            elif trade.is_running:
                _write_next_revision(trade, ticket)
            else:
                raise TicketError(f"A {trade.get_status_display().lower()} trade cannot change.")
        live.push_table(owner_id=trade.owner_id)
    return trade


def _update_editable(trade: Trade, ticket: Ticket) -> None:
    trade.account = ticket.account
    trade.symbol = ticket.symbol
    trade.side = ticket.side
    trade.portfolio = ticket.portfolio
    trade.rest_take_profit = ticket.rest_take_profit
    trade.strategy = ticket.strategy
    trade.status = Trade.Status.SAVED
    trade.errors = {}
    trade.revision = _write_revision(trade, trade.revision, ticket)
    trade.save()
    trade_event(trade, "trade.saved", f"Ticket saved: {_summary(trade, ticket)}.")


def _write_next_revision(trade: Trade, ticket: Ticket) -> None:
    if (ticket.account.pk, ticket.symbol, ticket.side) != (
        trade.account_id,
        trade.symbol,
        trade.side,
    ):
        raise TicketError(
            "A running trade keeps its account, symbol and side; Modify changes sizing and rules."
        )
    trade.next_revision = _write_revision(trade, trade.next_revision, ticket)
    trade.portfolio = ticket.portfolio
    trade.rest_take_profit = ticket.rest_take_profit
    trade.errors = {}
    trade.save(
        update_fields=["next_revision", "portfolio", "rest_take_profit", "errors", "updated_at"]
    )
    trade_event(
        trade,
        "trade.modified",
        f"Revision {trade.next_revision.number} drafted; revision {trade.revision.number} "
        "keeps running until you activate the new one.",
        data={"rules": ticket.rules_json()},
    )


def _write_revision(trade: Trade, revision: TradeRevision | None, ticket: Ticket):
    if revision is None:
        number = (trade.revisions.order_by("-number").values_list("number", flat=True).first()) or 0
        revision = TradeRevision(trade=trade, number=number + 1)
    revision.sizing_kind = ticket.sizing.kind
    revision.sizing_value = ticket.sizing.value
    revision.rules = ticket.rules_json()
    revision.save()
    return revision


def modify_trade(*, trade: Trade) -> TradeRevision:
    """Start a new revision of a running trade (a copy of the running one), for editing."""
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade.pk)
        if not trade.is_running:
            raise TicketError("Only an active or open trade is modified; edit this one directly.")
        if trade.next_revision is None:
            current = trade.revision
            trade.next_revision = TradeRevision.objects.create(
                trade=trade,
                number=current.number + 1,
                sizing_kind=current.sizing_kind,
                sizing_value=current.sizing_value,
                rules=current.rules,
            )
            trade.save(update_fields=["next_revision", "updated_at"])
    return trade.next_revision


def activate_ticket(*, user, ticket: Ticket, trade: Trade | None, now: datetime) -> Activation:
    """Save the ticket, run every activation check, and only if all pass put it to work.

    1. Save (a new or editable ticket in place; a running trade's next revision).
    2. Run the checks outside any transaction (they read the exchange). A trade still to
       enter must also pass the account guards; an Open trade's new revision changes only
       how its position is managed, so a guard never stands in the way of a tighter stop.
    3. Failed: an editable trade becomes Rejected and keeps its errors; a running trade keeps
       running its current revision, and the new one keeps its errors. Nothing is activated.
    4. Passed: lock the trade and, if it is still in the state the checks saw, make it
       Active/Pending — or swap the new revision in atomically for a running trade.
    """
    trade = save_ticket(user=user, ticket=ticket, trade=trade)
    plan = check_activation(
        account=ticket.account,
        symbol=ticket.symbol,
        side=ticket.side,
        sizing=ticket.sizing,
        rules=ticket.rules,
        portfolio=ticket.portfolio,
        now=now,
        opens_position=trade.status != Trade.Status.OPEN,
    )
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade.pk)
        if not plan.ok:
            _reject(trade, plan)
        elif trade.is_editable:
            _start(trade, plan, now)
        elif trade.is_running and trade.next_revision_id is not None:
            _swap_revision(trade, plan, now)
        else:
            raise TicketError("The trade changed while it was being checked; try again.")
        live.push_table(owner_id=trade.owner_id)
    return Activation(trade, plan)


def _reject(trade: Trade, plan: Plan) -> None:
    trade.errors = plan.problems
    fields = ["errors", "updated_at"]
    if trade.is_editable:
        trade.status = Trade.Status.REJECTED
        fields.append("status")
    trade.save(update_fields=fields)
    checks = "; ".join(
        f"{field}: {message.rstrip('.')}" for field, message in plan.problems.items()
    )
    running = "" if trade.status == Trade.Status.REJECTED else " The running revision continues."
    trade_event(
        trade,
        "trade.rejected",
        f"Activation refused: {checks}.{running}",
        level=Event.Level.WARNING,
        data={"problems": plan.problems, **plan.facts},
    )


def _start(trade: Trade, plan: Plan, now: datetime) -> None:
    trade.status = Trade.Status.PENDING
    trade.errors = {}
    trade.activated_at = now
    trade.rule_state = {}
    trade.save(update_fields=["status", "errors", "activated_at", "rule_state", "updated_at"])
    TradeRevision.objects.filter(pk=trade.revision_id).update(activated_at=now)
    trade_event(
        trade,
        "trade.activated",
        f"Activated. Checks passed: {'; '.join(plan.passed)}. Waiting for the entry rule "
        f"({_rule_label(trade, RuleKind.ENTRY)}).",
        data=_order_data(trade, plan),
    )


def _swap_revision(trade: Trade, plan: Plan, now: datetime) -> None:
    old, new = trade.revision, trade.next_revision
    # A rule that did not change keeps its memory (a cross in progress is not lost).
    trade.rule_state = {
        kind: state
        for kind, state in trade.rule_state.items()
        if old.rules.get(kind) == new.rules.get(kind)
    }
    trade.revision, trade.next_revision = new, None
    trade.errors = {}
    trade.save(update_fields=["revision", "next_revision", "rule_state", "errors", "updated_at"])
    TradeRevision.objects.filter(pk=new.pk).update(activated_at=now)
    _swap_exit_rules(trade, old, new, now)
    trade_event(
        trade,
        "trade.activated",
        f"Revision {new.number} activated in place of revision {old.number}. "
        f"Checks passed: {'; '.join(plan.passed)}.",
        data=_order_data(trade, plan),
    )


def _swap_exit_rules(trade: Trade, old: TradeRevision, new: TradeRevision, now: datetime) -> None:
    """The running position takes the new revision's exit rules (and where its take profit
    rests) at once; a rule that did not change keeps its memory. Its resting orders follow
    the new rules (`protection.protect`)."""
    position = (
        PositionGroup.objects.select_for_update(of=("self",))
        .select_related("owner", "account")
        .filter(trade=trade, status__in=PositionGroup.POOL)
        .first()
    )
    if position is None:
        return
    position.exit_rules = exit_rules(new.rules, EXIT_RULES_OF_TICKET)
    position.rule_state = {
        kind: state
        for kind, state in position.rule_state.items()
        if old.rules.get(kind) == new.rules.get(kind)
    }
    position.rest_take_profit = trade.rest_take_profit
    position.save(update_fields=["exit_rules", "rule_state", "rest_take_profit", "updated_at"])
    protection.protect(position, now=now)


def refuse_entry(
    *, trade_id: int, reason: str, now: datetime, field: str = "account"
) -> Trade | None:
    """The entry rule fired, but the opening gate refuses a new position (`reason`: an
    account guard, a paused account, a stale market): nothing is bought, and the trade becomes
    Rejected with the reason against its `field`, so the ticket shows why and stays editable;
    activating it again re-runs every check. It does not wait for the guard to release: an
    entry that fires hours later, at another price, is not the one the trader planned.
    Returns None when the trade moved on meanwhile."""
    with transaction.atomic():
        trade = (
            Trade.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=trade_id, status=Trade.Status.PENDING, position__isnull=True)
            .first()
        )
        if trade is None:
            return None
        trade.status = Trade.Status.REJECTED
        trade.waiting_reason = ""
        trade.errors = {field: reason}
        trade.next_revision = None
        trade.save(
            update_fields=["status", "waiting_reason", "errors", "next_revision", "updated_at"]
        )
        trade_event(
            trade,
            "trade.rejected",
            f"Entry rule met, but the entry was refused: {reason} Nothing was bought; the "
            "ticket is Rejected and can be activated again once the guard is released.",
            level=Event.Level.WARNING,
            data={"problems": trade.errors, "at": "entry", "refused_at": now.isoformat()},
        )
        live.push_table(owner_id=trade.owner_id)
    return trade


def cancel_trade(*, trade: Trade, now: datetime) -> Trade:
    """Cancel a ticket or a trade waiting for its entry.

    A trade whose entry opened a position is not cancelled (it holds, or is buying, a
    position): use `close_trade` to close it at market.
    """
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade.pk)
        if trade.position_or_none is not None:
            raise TicketError("This trade holds a position: close it at market instead.")
        if not (trade.is_editable or trade.status == Trade.Status.PENDING):
            raise TicketError(f"A {trade.get_status_display().lower()} trade cannot be cancelled.")
        trade.status = Trade.Status.CANCELLED
        trade.next_revision = None
        trade.waiting_reason = ""
        trade.closed_at = now
        trade.save(
            update_fields=["status", "next_revision", "waiting_reason", "closed_at", "updated_at"]
        )
        trade_event(trade, "trade.cancelled", "Cancelled by the trader before any entry.")
        live.push_table(owner_id=trade.owner_id)
    return trade


def close_trade(*, trade: Trade, now: datetime) -> SignalOutcome:
    """Close the trade's position at market (the trader's own exit): its resting legs are
    cancelled and what it holds is sold."""
    position = trade.position_or_none
    if position is None:
        raise TicketError("This trade has not opened a position: cancel it instead.")
    try:
        return close_group(group=position, now=now)
    except GroupError as error:
        raise TicketError(str(error)) from error


def follow_position(position: PositionGroup) -> None:
    """The engine's hook (`groups.hooks`): a ticket's trade follows its position. Closed with
    something bought: the trade is Closed; closed with nothing ever filled (the entry was
    refused or cancelled): the trade is in Error, for the trader to look at; in Error (a sell
    was refused, the position is still held): the trade is in Error too."""
    if position.trade_id is None:
        return
    trade = (
        Trade.objects.select_for_update(of=("self",))
        .select_related("owner", "account")
        .get(pk=position.trade_id)
    )
    if position.status == PositionGroup.Status.CLOSED and position.entry_cost:
        status = Trade.Status.CLOSED
    else:
        status = Trade.Status.ERROR
    if trade.status == status:
        return
    trade.status = status
    trade.closed_at = position.closed_at if status == Trade.Status.CLOSED else None
    trade.save(update_fields=["status", "closed_at", "updated_at"])
    if status == Trade.Status.ERROR and position.status == PositionGroup.Status.CLOSED:
        trade_event(
            trade,
            "trade.entry_failed",
            f"The entry of position #{position.pk} ended with nothing filled; the trade needs "
            "attention (see the position's orders).",
            level=Event.Level.ERROR,
            data={"position": position.pk, "reason": "nothing filled"},
        )
    live.push_table(owner_id=trade.owner_id)


def discard_revision(*, trade: Trade) -> None:
    """Drop a Modify in progress; the running revision was never touched."""
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade.pk)
        if trade.next_revision_id is not None:
            number = trade.next_revision.number
            trade.next_revision = None
            trade.errors = {}
            trade.save(update_fields=["next_revision", "errors", "updated_at"])
            trade_event(trade, "trade.modified", f"Revision {number} discarded.")


# --- helpers -----------------------------------------------------------------------------


def _summary(trade: Trade, ticket: Ticket) -> str:
    return f"{ticket.side} {ticket.symbol} on {ticket.account.label}, {ticket.sizing.label}"


def _rule_label(trade: Trade, kind: RuleKind) -> str:
    rule = trade.revision.parsed_rules(trade.side)[kind]
    return rule.label if rule else "none"


def _order_data(trade: Trade, plan: Plan) -> dict:
    data = dict(plan.facts)
    if plan.amount is not None:
        data |= {"quantity": str(plan.amount), "price": str(plan.price)}
    return data
