"""The kill switch: cancel every resting order of the account, close every position at market
(whoever opened it: a signal or a ticket), cancel the tickets waiting for their entry, remove
every entry waiting in its queue, pause the account, and record all of it. Resume is explicit
(`apps.risk.services.resume`).

Engaging pauses the account first (no new entries, no take profit, no rules, the queue
frozen), then sweeps. Until the operator resumes, every risk loop tick sweeps again, so an
entry that was already in flight when the switch was thrown is closed as soon as it fills.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from apps.core.confirm import counted, entry_name
from apps.core.models import Event
from apps.exchanges.adapters import get_adapter
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import Order, PositionGroup
from apps.positions.services.signals import close_group_locked
from apps.risk.services import live
from apps.risk.services.breaker import locked_guard
from apps.risk.services.events import risk_event
from apps.tickets.models import Trade
from apps.tickets.services.tickets import TicketError, cancel_trade
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services.queueing import conclude

logger = logging.getLogger(__name__)

WHY = "kill switch engaged;"


@dataclass
class Sweep:
    groups_closed: list[int] = field(default_factory=list)  # positions, ticket ones included
    legs_cancelled: int = 0
    trades_cancelled: list[int] = field(default_factory=list)
    foreign_cancelled: list[str] = field(default_factory=list)  # orders the desk did not place
    queued_removed: list[str] = field(default_factory=list)  # "BTC/USDT 15 long (signal #15)"
    waiting: list[str] = field(default_factory=list)  # what is still in flight

    @property
    def summary(self) -> str:
        parts = [
            counted(len(self.groups_closed), "position", "positions") + " closing at market",
            counted(self.legs_cancelled, "resting order", "resting orders") + " cancelled",
            counted(len(self.trades_cancelled), "waiting ticket", "waiting tickets") + " cancelled",
        ]
        if self.foreign_cancelled:
            foreign = counted(len(self.foreign_cancelled), "other open order", "other open orders")
            parts.append(f"{foreign} cancelled")
        removed = self.queued_removed
        parts.append(
            counted(len(removed), "queued entry", "queued entries")
            + " removed"
            + (f": {', '.join(removed)}" if removed else "")
        )
        if self.waiting:
            parts.append(f"still in flight: {', '.join(self.waiting)}")
        return "; ".join(parts)

    @property
    def acted(self) -> bool:
        return bool(
            self.groups_closed
            or self.legs_cancelled
            or self.trades_cancelled
            or self.foreign_cancelled
            or self.queued_removed
        )


def engage(*, account: ExchangeAccount, now: datetime) -> Sweep:
    """Throw the kill switch on `account`.

    1. In one transaction (account row, then its guard row): pause the account and mark the
       switch engaged.
    2. Sweep: close every position, cancel every waiting ticket and resting order (`sweep`).
    3. Record `account.kill_switch` with what was done.
    """
    with transaction.atomic():
        account = (
            ExchangeAccount.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=account.pk)
        )
        was_active = account.is_active
        ExchangeAccount.objects.filter(pk=account.pk).update(is_active=False)
        account.is_active = False
        guard = locked_guard(account.pk)
        guard.killed_at = guard.killed_at or now
        guard.save(update_fields=["killed_at", "updated_at"])
    done = sweep(account=account, now=now)
    with transaction.atomic():
        risk_event(
            account,
            "account.kill_switch",
            f"Kill switch engaged on {account.label}: {done.summary}; the account is paused"
            f"{'' if was_active else ' (it already was)'} until resumed.",
            level=Event.Level.ERROR,
            data={
                "groups": done.groups_closed,
                "trades_cancelled": done.trades_cancelled,
                "legs_cancelled": done.legs_cancelled,
                "other_orders_cancelled": done.foreign_cancelled,
                "queued_removed": done.queued_removed,
                "waiting": done.waiting,
            },
        )
        live.push_banner(account)
    return done


def sweep(*, account: ExchangeAccount, now: datetime) -> Sweep:
    """Make the account flat: safe to repeat; each step locks one object at a time. The queue
    goes first, so no entry is promoted into a slot the sweep frees."""
    done = Sweep()
    _remove_queued(account, done, now=now)
    for group_id in PositionGroup.objects.filter(
        account=account, status__in=PositionGroup.POOL
    ).values_list("pk", flat=True):
        _close_group(group_id, done, now=now)
    for trade in Trade.objects.filter(
        account=account, status=Trade.Status.PENDING, position__isnull=True
    ):
        _cancel_ticket(trade, done, now=now)
    _cancel_foreign_orders(account, done)
    return done


def _remove_queued(account: ExchangeAccount, done: Sweep, *, now: datetime) -> None:
    """Every entry waiting in the account's queue is removed (its signal decided cancelled):
    a queued entry kept through the switch would open a position the moment the trader
    resumes. Under the account's row lock, as every queue move is; an entry being promoted
    right now is left to its promotion, which the paused account then rejects."""
    with transaction.atomic():
        ExchangeAccount.objects.select_for_update(of=("self",)).filter(pk=account.pk).first()
        rows = (
            QueuedSignal.objects.select_for_update(of=("self",))
            .select_related("account", "owner")
            .filter(account_id=account.pk, status__in=QueuedSignal.WAITING)
            .order_by("queued_at", "pk")
        )
        for queued in rows:
            label = entry_name(queued)
            if queued.status == QueuedSignal.Status.PROMOTING:
                done.waiting.append(f"queued entry {label} being promoted")
                continue
            reason = (
                f"Removed by the kill switch on {account.label} at {now:%Y-%m-%d %H:%M:%S} UTC: "
                "it is not promoted when the account resumes."
            )
            conclude(queued, QueuedSignal.Status.REMOVED, reason, now=now)
            done.queued_removed.append(label)


def _close_group(group_id: int, done: Sweep, *, now: datetime) -> None:
    with transaction.atomic():
        group = (
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=group_id, status__in=PositionGroup.POOL)
            .first()
        )
        if group is None:
            return
        resting = group.orders.filter(side="buy", status__in=Order.LIVE).count()
        close_group_locked(
            group, purpose=Order.Purpose.KILL_SWITCH, price=None, signal_id=None, now=now, why=WHY
        )
    done.groups_closed.append(group_id)
    done.legs_cancelled += resting


def _cancel_ticket(trade: Trade, done: Sweep, *, now: datetime) -> None:
    """A ticket waiting for its entry is cancelled: it would open a position on resume."""
    try:
        cancel_trade(trade=trade, now=now)
    except TicketError:
        done.waiting.append(f"ticket #{trade.pk}")  # its entry opened a position meanwhile
    else:
        done.trades_cancelled.append(trade.pk)


def _cancel_foreign_orders(account: ExchangeAccount, done: Sweep) -> None:
    """Open orders on the exchange that the desk does not track (placed by hand, or by another
    tool on the same key) are cancelled too: the switch means every resting order."""
    adapter = get_adapter(account)
    try:
        open_orders = adapter.fetch_open_orders()
        known = set(
            Order.objects.filter(
                account=account, client_order_id__in=[o.client_order_id for o in open_orders]
            ).values_list("client_order_id", flat=True)
        )
        for order in open_orders:
            if order.client_order_id in known:
                continue  # the desk's own: cancelled through its intent (above)
            adapter.cancel_order(
                symbol=order.symbol,
                exchange_order_id=order.exchange_order_id,
                client_order_id=order.client_order_id,
            )
            done.foreign_cancelled.append(order.client_order_id or order.exchange_order_id)
    except ExchangeError as exc:
        done.waiting.append(f"other open orders ({exc})")
        logger.warning("Kill switch on account %s: open orders not swept: %s", account.pk, exc)
    finally:
        adapter.close()


def unpause(account: ExchangeAccount) -> None:
    """Resume trading (called by `resume.resume`, inside its transaction)."""
    ExchangeAccount.objects.filter(pk=account.pk).update(is_active=True)
    account.is_active = True
