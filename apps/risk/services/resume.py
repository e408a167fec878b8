"""Resume: the trader puts a paused or guarded account back to work, after seeing what that
will do (`resume_plan`).

Resume releases the kill switch, the pause, the circuit breaker and a drawdown breach, and
measures the drawdown again from the current equity. A breached daily loss limit is kept
until the UTC day rolls over, and the day's starting equity is not measured again: otherwise
one click would clear the day's loss. Only an explicit, confirmed `reset_daily` does that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.core.confirm import counted, entry_name
from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.risk.models import AccountGuard
from apps.risk.services import live
from apps.risk.services.breaker import locked_guard
from apps.risk.services.events import risk_event
from apps.risk.services.guards import active_reasons, daily_breach, today
from apps.risk.services.kill_switch import unpause
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.selectors import pool_of, ranked_queue


@dataclass(frozen=True)
class ResumePlan:
    """What Resume would do now; nothing is done."""

    account: ExchangeAccount
    releases: list[str]  # what Resume releases: the kill switch, the pause, the breaker, ...
    daily_breach: str  # a breached daily loss limit in force today, kept unless reset
    day_start_equity: Decimal | None
    equity: Decimal | None
    promotes: list[QueuedSignal] = field(default_factory=list)  # in the order slots go
    stays_queued: int = 0  # waiting entries beyond the free slots
    free_slots: int = 0

    @property
    def items(self) -> list[str]:
        """What Resume will do, one line each, as the confirmation lists it."""
        quote = self.account.quote_currency
        lines = [f"Releases this hold: {reason}." for reason in self.releases]
        lines.append(f"{self.account.label} trades again: new entries are allowed.")
        if self.daily_breach:
            lines.append(
                f"Keeps the breached daily loss limit ({self.daily_breach}): new entries stay "
                "rejected until the day rolls over at 00:00 UTC, unless you tick the box below."
            )
        elif self.day_start_equity is not None:
            lines.append(
                f"Keeps the day's starting equity of {self.day_start_equity:.2f} {quote}: "
                "today's loss still counts against the daily loss limit."
            )
        lines.append(self._queue_line())
        return lines

    def _queue_line(self) -> str:
        if not self.promotes:
            if self.stays_queued:
                waiting = counted(self.stays_queued, "entry waits", "entries wait")
                return f"Promotes nothing now: no pool slot is free ({waiting})."
            return "Promotes nothing: no entry is waiting in the queue."
        names = ", ".join(entry_name(queued) for queued in self.promotes)
        line = f"Promotes {counted(len(self.promotes), 'queued entry', 'queued entries')} into "
        line += f"free pool slots: {names}"
        if self.stays_queued:
            line += f"; {self.stays_queued} more keep waiting"
        if self.daily_breach:
            line += "; while the daily loss limit holds, each is rejected with its reason"
        return line + "."

    @property
    def can_reset_daily(self) -> bool:
        return self.equity is not None


def resume_plan(*, account: ExchangeAccount, now: datetime) -> ResumePlan:
    """Read what Resume would release and keep, and the queued entries the free pool slots
    would go to once the account trades again (by the queue's priority)."""
    guard = AccountGuard.objects.filter(account=account).first() or AccountGuard(account=account)
    daily = daily_breach(guard, now=now)
    releases = [reason for reason in active_reasons(account, now=now) if reason != daily]
    if not account.is_active and guard.killed_at is None:
        releases.insert(0, f"{account.label} is paused")
    pool = pool_of(account)
    queued = [
        row.queued
        for row in ranked_queue(account.pk, pyramids_count=pool.pyramids_count)
        if row.queued.status == QueuedSignal.Status.QUEUED
    ]
    return ResumePlan(
        account=account,
        releases=releases,
        daily_breach=daily,
        day_start_equity=guard.day_start_equity if guard.day == today(now) else None,
        equity=guard.equity,
        promotes=queued[: pool.free],
        stays_queued=max(len(queued) - pool.free, 0),
        free_slots=pool.free,
    )


def resume(*, account: ExchangeAccount, now: datetime, reset_daily: bool = False) -> AccountGuard:
    """The trader resumes the account.

    1. Under the account row, then its guard row (the kill switch locks in the same order):
       release the kill switch, the circuit breaker and a drawdown breach; the drawdown is
       measured again from the current equity.
    2. A daily loss breach of today stays, and the day keeps its starting equity, unless
       `reset_daily`: then the day starts again from the current equity and the breach goes.
    3. The account trades again; `account.resumed` says what was released and what was kept.
    """
    with transaction.atomic():
        account = (
            ExchangeAccount.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=account.pk)
        )
        guard = locked_guard(account.pk)
        daily = daily_breach(guard, now=now)
        kept = daily if daily and not reset_daily else ""
        released = [reason for reason in active_reasons(account, now=now) if reason != kept]
        if guard.equity is not None:
            guard.peak_equity = guard.equity
            if reset_daily:
                guard.day, guard.day_start_equity = today(now), guard.equity
        if not kept:
            guard.breach_guard, guard.breach_reason, guard.breach_day = "", "", None
        guard.breaker_until, guard.breaker_reason = None, ""
        guard.error_count, guard.error_streak_started_at = 0, None
        guard.killed_at = None
        guard.save()
        unpause(account)
        risk_event(
            account,
            "account.resumed",
            resumed_text(account, released, kept, reset_daily, guard.equity),
            level=Event.Level.SUCCESS,
            data={
                "released": released,
                "kept": kept,
                "reset_daily": reset_daily,
                "equity": str(guard.equity or ""),
                "day_start_equity": str(guard.day_start_equity or ""),
            },
        )
        live.push_banner(account)
    return guard


def resumed_text(account, released: list[str], kept: str, reset_daily: bool, equity) -> str:
    text = f"{account.label} resumed by the trader"
    if released:
        text += f"; released: {'; '.join(released)}"
    if kept:
        text += f"; kept until the day rolls over at 00:00 UTC: {kept}"
    if reset_daily and equity is not None:
        text += (
            f"; the day's starting equity was measured again at {equity:.2f} "
            f"{account.quote_currency} (the trader's choice)"
        )
    return text + "."
