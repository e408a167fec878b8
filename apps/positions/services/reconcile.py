"""Reconciliation: each account's orders on the exchange against the desk's, by client order id.

The order-sync loop follows the orders the desk knows are live. Reconciliation takes the other
view, at start-up and every RECONCILE_SECONDS per account: what the exchange says is open,
against every order row of the account.

1. Each live order of the desk that the exchange does not list as open is looked up by its
   client order id: filled (a fill the desk missed is recorded), cancelled (a stop cancelled
   by hand is placed again and the trader told), or unknown to the exchange (it never got
   there: recorded so, and a stop is placed anew).
2. Each open order on the exchange with this installation's prefix and no row on the desk is
   reported, and cancelled when RECONCILE_CANCEL_UNKNOWN is on; one the desk has already
   given up on (cancelled) is cancelled again.
3. Each open position of the account gets its resting stop checked (`protection.protect`).
4. What it found is stored on the account (its page shows the last run) and each finding is
   an event, notifiable like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.core.events import record_event
from apps.core.installation import order_id_prefix
from apps.core.loops import each_isolated, run_loop
from apps.core.models import Event
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.precision import fmt
from apps.exchanges.domain.types import ExchangeOrder, OrderStatus
from apps.exchanges.errors import ExchangeError, OrderNotFound
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import Order, PositionGroup
from apps.positions.services import fills, intents, protection
from apps.positions.services.orders import SEND_GRACE, record_order

logger = logging.getLogger(__name__)

LOOP = "positions.reconcile"  # the task's name too
# Whether this process has reconciled every account since it started (the start-up pass).
_started = {"done": False}


@dataclass(frozen=True)
class Finding:
    kind: str  # missed_fill, cancelled_outside, never_placed, unknown_order, stale_open
    client_order_id: str
    message: str
    # Already told on the position's timeline (a resting stop placed again): no second event.
    told: bool = False


def reconcile_loop() -> bool:
    return run_loop(LOOP, lambda: reconcile_due(now=timezone.now()))


def reconcile_due(*, now: datetime) -> int:
    """Reconcile every active account that is due; all of them on a process's first run (the
    start-up pass). Returns how many were reconciled."""
    accounts = ExchangeAccount.objects.filter(is_active=True).select_related("owner")
    if _started["done"]:
        before = now - timedelta(seconds=settings.RECONCILE_SECONDS)
        accounts = accounts.filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lte=before))
    due = list(accounts.order_by("pk"))
    each_isolated(
        LOOP, due, lambda account: reconcile_account(account, now=now), account_of=lambda a: a
    )
    _started["done"] = True
    return len(due)


def reconcile_account(account: ExchangeAccount, *, now: datetime) -> list[Finding]:
    """One reconciliation of `account` (the module's steps). An exchange that does not answer
    leaves the account for the next run, with the error on its page."""
    adapter = get_adapter(account)
    try:
        try:
            open_orders = adapter.fetch_open_orders()
        except ExchangeError as exc:
            _store(account, now=now, checked=0, findings=[], error=f"{type(exc).__name__}: {exc}")
            return []
        findings: list[Finding] = []
        listed = {order.client_order_id: order for order in open_orders if order.client_order_id}
        rows = _rows(account, listed)
        checked = 0
        for row in _live_rows(account, now):
            checked += 1
            reported = listed.get(row.client_order_id)
            if reported is None:
                findings += _look_up(adapter, row, now)
            else:
                record_order(order_id=row.pk, reported=reported, now=now)
        findings += _strangers(adapter, listed, rows)
    finally:
        adapter.close()
    for position_id in _open_positions(account):
        protection.protect_position(position_id=position_id, now=now)
    _store(account, now=now, checked=checked, findings=findings)
    for finding in findings:
        _report(account, finding)
    return findings


def _live_rows(account: ExchangeAccount, now: datetime) -> Iterable[Order]:
    """The account's orders the desk believes may be on the exchange. A send in progress
    (sent within SEND_GRACE, or not sent yet) is its sender's to finish."""
    return (
        Order.objects.filter(account=account, status__in=[Order.Status.OPEN, Order.Status.UNKNOWN])
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lte=now - SEND_GRACE))
        .order_by("pk")
    )


def _rows(account: ExchangeAccount, listed: dict[str, ExchangeOrder]) -> dict[str, Order]:
    return {
        row.client_order_id: row
        for row in Order.objects.filter(account=account, client_order_id__in=list(listed))
    }


def _look_up(adapter, row: Order, now: datetime) -> list[Finding]:
    """A live order the exchange does not list as open: what became of it."""
    try:
        reported = adapter.fetch_order(
            symbol=row.symbol,
            exchange_order_id=row.exchange_order_id,
            client_order_id=row.client_order_id,
            conditional=row.is_stop,
        )
    except OrderNotFound:
        fills.cancelled_unsent(
            order_id=row.pk,
            now=now,
            why="Never placed: the exchange has no order with its client id (reconciliation).",
        )
        return [
            Finding(
                "never_placed",
                row.client_order_id,
                f"Order {row.client_order_id} ({row.purpose_words}, position #{row.group_id}) "
                "never reached the exchange: recorded as not placed.",
            )
        ]
    except ExchangeError as exc:
        logger.warning("Reconciliation: %s not looked up: %s", row.client_order_id, exc)
        return []
    found = []
    if reported.filled > row.filled:
        found.append(
            Finding(
                "missed_fill",
                row.client_order_id,
                f"Order {row.client_order_id} ({row.purpose_words}, position #{row.group_id}) "
                f"filled {fmt(reported.filled - row.filled)} more on the exchange than the desk "
                "had recorded: the fill is recorded now.",
            )
        )
    record_order(order_id=row.pk, reported=reported, now=now)
    if reported.status == OrderStatus.CANCELED and row.cancel_requested_at is None:
        again = ""
        if row.protective:
            gave_up = intents.resting_given_up(row.group)
            again = " It is placed again." if not gave_up else f" Not placed again: {gave_up}."
        found.append(
            Finding(
                "cancelled_outside",
                row.client_order_id,
                f"Order {row.client_order_id} ({row.purpose_words}, position #{row.group_id}) "
                f"was cancelled on the exchange, not by the desk.{again}",
                told=row.protective,
            )
        )
    return found


_CANCEL_IT = " Cancel it on the exchange, or set RECONCILE_CANCEL_UNKNOWN to let the desk."


def _strangers(adapter, listed: dict[str, ExchangeOrder], rows: dict[str, Order]) -> list[Finding]:
    """Open orders with this desk's prefix that it has no live row for."""
    prefix = order_id_prefix()
    found = []
    for client_id, order in listed.items():
        if not client_id.startswith(prefix):
            continue  # not this desk's: another desk's or the trader's own
        row = rows.get(client_id)
        if row is not None and row.status in Order.LIVE:
            continue
        if row is not None and row.status != Order.Status.CANCELLED:
            continue  # filled on the desk, open on the exchange: the sync loop records it
        unknown = row is None
        cancel = not unknown or settings.RECONCILE_CANCEL_UNKNOWN
        outcome = ""
        if cancel:
            try:
                adapter.cancel_order(
                    symbol=order.symbol,
                    exchange_order_id=order.exchange_order_id,
                    client_order_id=client_id,
                    conditional=order.trigger_price is not None,
                )
                outcome = " It is cancelled."
            except ExchangeError as exc:
                outcome = f" Cancelling it failed: {exc}."
        what = f"{order.side} {fmt(order.amount)} {order.symbol}" + (
            f" triggered at {fmt(order.trigger_price)}" if order.trigger_price is not None else ""
        )
        message = (
            f"Open order {client_id} ({what}) carries this desk's prefix but the desk has no "
            f"record of it.{outcome or _CANCEL_IT}"
            if unknown
            else f"Order {client_id} ({what}) is cancelled on the desk but open on the "
            f"exchange.{outcome}"
        )
        found.append(Finding("unknown_order" if unknown else "stale_open", client_id, message))
    return found


def _open_positions(account: ExchangeAccount) -> list[int]:
    return list(
        PositionGroup.objects.filter(
            account=account, status=PositionGroup.Status.OPEN, quantity__gt=0
        ).values_list("pk", flat=True)
    )


def _store(
    account: ExchangeAccount,
    *,
    now: datetime,
    checked: int,
    findings: list[Finding],
    error: str = "",
) -> None:
    summary = {
        "checked": checked,
        "error": error,
        "findings": [asdict(finding) for finding in findings],
    }
    ExchangeAccount.objects.filter(pk=account.pk).update(reconciled_at=now, reconciliation=summary)
    account.reconciled_at, account.reconciliation = now, summary


def _report(account: ExchangeAccount, finding: Finding) -> None:
    if finding.told:
        return
    record_event(
        kind=f"reconcile.{finding.kind}",
        message=finding.message,
        level=Event.Level.WARNING,
        user=account.owner,
        account=account,
        subject=account,
        data={"client_order_id": finding.client_order_id},
    )
