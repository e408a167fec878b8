"""Selecting a loser and sizing the winners that offset its loss.

1. A losing group is *eligible* when every condition holds (not blocked or skipped, loss at or
   beyond the threshold, pyramids full, timer elapsed, old enough, nothing being sold).
2. Among eligible losers: deepest loss %, then largest loss in quote (USD), then oldest.
3. The required amount is the loser's absolute unrealised loss. Winners are the other open
   groups in profit, ranked by unrealised profit, at most `max_winners`. Each closes just
   enough quantity to realise what is still uncovered, at its average entry and current
   price, rounded *down* to the step: a plan never realises more than the loss it offsets.
4. A winner whose rounded quantity is below the market's minimum amount or notional is
   skipped with the reason. When the winners cannot cover the whole loss, the policy decides:
   offset partially (close what they cover, then the loser) or skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from apps.core.numbers import ZERO
from apps.exchanges.domain.precision import OrderRuleViolation, fmt, prepare_order, round_amount
from apps.exchanges.domain.types import MarketRules

HUNDRED = Decimal(100)
CENTS = Decimal("0.01")


class TimerStart(StrEnum):
    LAST_PYRAMID = "last_pyramid"
    DCA_SUBMITTED = "dca_submitted"
    DCA_FILLED = "dca_filled"


TIMER_START_LABELS = {
    TimerStart.LAST_PYRAMID: "After the last pyramid is added",
    TimerStart.DCA_SUBMITTED: "After all DCA orders are submitted",
    TimerStart.DCA_FILLED: "After all DCA orders are filled",
}


class Shortfall(StrEnum):
    PARTIAL = "partial"
    SKIP = "skip"


SHORTFALL_LABELS = {
    Shortfall.PARTIAL: "Offset partially, then close the loser",
    Shortfall.SKIP: "Skip: do nothing until the winners cover the whole loss",
}


@dataclass(frozen=True)
class EngineSettings:
    loss_threshold_pct: Decimal = Decimal(-5)
    require_all_pyramids: bool = True
    timer_start: TimerStart = TimerStart.LAST_PYRAMID
    wait: timedelta = timedelta(minutes=60)
    replacement_resets_timer: bool = True
    min_group_age: timedelta | None = None
    max_winners: int = 3
    shortfall: Shortfall = Shortfall.PARTIAL


@dataclass(frozen=True)
class GroupFacts:
    """One open group as the engine sees it. `price` is the current price (None: unknown)."""

    id: int
    label: str  # "ETH/USDT 15 long #12"
    rules: MarketRules
    quantity: Decimal
    average_entry: Decimal | None
    price: Decimal | None
    opened_at: datetime
    pyramids: int
    pyramid_limit: int
    last_pyramid_at: datetime | None = None
    dca_submitted_at: datetime | None = None  # None: some DCA order is not sent yet
    dca_filled_at: datetime | None = None  # None: some DCA leg is still working
    timer_reset_at: datetime | None = None  # a replacement signal's arrival
    skipped_at: datetime | None = None  # when the engine last skipped it once (timer restarts)
    blocked: bool = False
    skip_once: bool = False
    sell_in_flight: bool = False
    is_open: bool = True

    @property
    def pnl(self) -> Decimal | None:
        """Unrealised PnL in quote (gross of fees, as the Positions page shows it)."""
        if self.price is None or self.average_entry is None or self.quantity <= 0:
            return None
        return self.quantity * (self.price - self.average_entry)

    @property
    def pnl_pct(self) -> Decimal | None:
        if self.price is None or not self.average_entry or self.quantity <= 0:
            return None
        return (self.price - self.average_entry) / self.average_entry * HUNDRED


@dataclass(frozen=True)
class Eligibility:
    group_id: int
    eligible: bool
    reasons: tuple[str, ...]  # why not, in a trader's words; empty when eligible
    timer_started_at: datetime | None
    timer_remaining: timedelta | None  # None: not started; zero: elapsed

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def timer_started_at(group: GroupFacts, settings: EngineSettings) -> datetime | None:
    """When the group's timer started in the configured mode (None: not started yet). A
    replacement signal after that restarts it, if the settings say so; a skip-once always does
    (skipping once means "not this time": the group qualifies again after another wait)."""
    started = {
        TimerStart.LAST_PYRAMID: group.last_pyramid_at,
        TimerStart.DCA_SUBMITTED: group.dca_submitted_at,
        TimerStart.DCA_FILLED: group.dca_filled_at,
    }[settings.timer_start]
    if started is None:
        return None
    restarts = [group.skipped_at]
    if settings.replacement_resets_timer:
        restarts.append(group.timer_reset_at)
    return max([started, *(at for at in restarts if at is not None)])


_NOT_STARTED = {
    TimerStart.LAST_PYRAMID: "timer not started: no pyramid yet",
    TimerStart.DCA_SUBMITTED: "timer not started: DCA orders still being submitted",
    TimerStart.DCA_FILLED: "timer not started: DCA orders still working",
}


def loser_eligibility(group: GroupFacts, settings: EngineSettings, *, now: datetime) -> Eligibility:
    """Whether `group` may be closed as a loser now, and every reason it may not."""
    reasons: list[str] = []
    if group.blocked:
        reasons.append("blocked")
    if group.skip_once:
        reasons.append("skipping once")
    if not group.is_open:
        reasons.append("not open")
    if group.sell_in_flight:
        reasons.append("a sell is in flight")
    pct = group.pnl_pct
    if pct is None:
        reasons.append("no position or no price")
    elif pct >= 0:  # a winner: no "loss 0.74 %" of a group in profit
        reasons.append(f"in profit (PnL +{fmt(pct.quantize(CENTS))} %)")
    elif pct > settings.loss_threshold_pct:
        reasons.append(
            f"PnL {fmt(pct.quantize(CENTS))} % is short of the "
            f"{fmt(settings.loss_threshold_pct)} % loss threshold"
        )
    if settings.require_all_pyramids and group.pyramids < group.pyramid_limit:
        reasons.append(f"pyramids {group.pyramids} of {group.pyramid_limit}")
    started = timer_started_at(group, settings)
    remaining = None
    if started is None:
        reasons.append(_NOT_STARTED[settings.timer_start])
    else:
        remaining = max(started + settings.wait - now, timedelta(0))
        if remaining > timedelta(0):
            reasons.append(f"timer: {duration_text(remaining)} left")
    if settings.min_group_age is not None and now - group.opened_at < settings.min_group_age:
        reasons.append(f"younger than {duration_text(settings.min_group_age)}")
    return Eligibility(group.id, not reasons, tuple(reasons), started, remaining)


def duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def loser_rank_key(group: GroupFacts) -> tuple:
    """Deepest loss % first, then the largest loss in quote, then the oldest (then the id)."""
    return (group.pnl_pct, group.pnl, group.opened_at, group.id)


def rank_losers(groups: Sequence[GroupFacts]) -> list[GroupFacts]:
    return sorted(groups, key=loser_rank_key)


def winner_problem(group: GroupFacts) -> str:
    """Why `group` cannot be used as a winner ("" when it can)."""
    if group.blocked:
        return "blocked"
    if group.skip_once:
        return "skipping once"
    if not group.is_open:
        return "not open"
    if group.sell_in_flight:
        return "a sell is in flight"
    pnl = group.pnl
    if pnl is None or pnl <= 0:
        return "not in profit"
    return ""


def rank_winners(groups: Sequence[GroupFacts], *, loser_id: int, limit: int) -> list[GroupFacts]:
    """The other open groups in profit, by unrealised profit (largest first), at most `limit`."""
    winners = [g for g in groups if g.id != loser_id and not winner_problem(g)]
    return sorted(winners, key=lambda g: (-g.pnl, g.opened_at, g.id))[:limit]


@dataclass(frozen=True)
class WinnerSlice:
    group_id: int
    label: str
    price: Decimal
    average_entry: Decimal
    held: Decimal
    uncovered_before: Decimal
    quantity: Decimal  # rounded down to the step; zero when skipped
    realised: Decimal  # quantity × (price − average entry), gross of fees
    skipped: str = ""  # why nothing is closed from it
    # The winner's market, for the messages' figures (its tick and step); not in the record.
    rules: MarketRules | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        return {
            "group": self.group_id,
            "label": self.label,
            "price": str(self.price),
            "average_entry": str(self.average_entry),
            "held": str(self.held),
            "uncovered_before": str(self.uncovered_before),
            "quantity": str(self.quantity),
            "realised": str(self.realised),
            "skipped": self.skipped,
        }


def size_winner(winner: GroupFacts, *, uncovered: Decimal) -> WinnerSlice:
    """Just enough of `winner` to realise `uncovered`, never more.

    1. Per unit the winner realises price − average entry; the quantity needed is the
       uncovered amount over that, capped at what the group holds.
    2. Rounded down to the step; then stepped down again while the exact product would still
       exceed what is uncovered (a division rounded in its last digit must not overshoot).
    3. Below the minimum amount or notional after rounding: skipped, with the numbers.
    """
    price, average = winner.price, winner.average_entry
    per_unit = price - average
    needed = min(uncovered / per_unit, winner.quantity)
    step = winner.rules.step_size
    quantity = round_amount(needed, step)
    while quantity > 0 and quantity * per_unit > uncovered:
        quantity -= step
    base = dict(
        group_id=winner.id,
        label=winner.label,
        price=price,
        average_entry=average,
        held=winner.quantity,
        uncovered_before=uncovered,
        rules=winner.rules,
    )
    if quantity <= 0:
        return WinnerSlice(
            **base,
            quantity=ZERO,
            realised=ZERO,
            skipped=f"{fmt(needed)} {winner.rules.base} rounds down to 0 at the step of "
            f"{fmt(step)}",
        )
    try:
        prepare_order(winner.rules, amount=quantity, price=price)
    except OrderRuleViolation as violation:
        return WinnerSlice(**base, quantity=ZERO, realised=ZERO, skipped=str(violation))
    return WinnerSlice(**base, quantity=quantity, realised=quantity * per_unit)


@dataclass(frozen=True)
class OffsetPlan:
    loser: GroupFacts
    required: Decimal  # the loser's absolute unrealised loss
    slices: tuple[WinnerSlice, ...]
    execute: bool
    reason: str  # what will be done, or why nothing is

    @property
    def covered(self) -> Decimal:
        return sum((s.realised for s in self.slices), ZERO)

    @property
    def closing(self) -> tuple[WinnerSlice, ...]:
        return tuple(s for s in self.slices if s.quantity > 0)

    @property
    def skipped(self) -> tuple[WinnerSlice, ...]:
        return tuple(s for s in self.slices if s.skipped)

    def to_dict(self) -> dict:
        return {
            "loser": self.loser.id,
            "loser_label": self.loser.label,
            "loser_price": str(self.loser.price),
            "loser_average_entry": str(self.loser.average_entry),
            "loser_quantity": str(self.loser.quantity),
            "loser_pnl_pct": str(self.loser.pnl_pct),
            "required": str(self.required),
            "covered": str(self.covered),
            "winners": [s.to_dict() for s in self.slices],
            "execute": self.execute,
            "reason": self.reason,
        }


def plan_offset(
    loser: GroupFacts, groups: Sequence[GroupFacts], settings: EngineSettings
) -> OffsetPlan:
    """Size the winners against `loser`'s loss and decide by the shortfall policy."""
    required = -loser.pnl
    slices: list[WinnerSlice] = []
    uncovered = required
    for winner in rank_winners(groups, loser_id=loser.id, limit=settings.max_winners):
        if uncovered <= 0:
            break
        piece = size_winner(winner, uncovered=uncovered)
        slices.append(piece)
        uncovered -= piece.realised
    covered = required - uncovered
    quote = loser.rules.quote
    summary = f"{fmt(covered.quantize(CENTS))} of {fmt(required.quantize(CENTS))} {quote}"
    if covered <= 0:
        why = "no winner can offset any of it" if not slices else "every winner was skipped"
        return OffsetPlan(loser, required, tuple(slices), False, f"Nothing to offset: {why}.")
    if uncovered > 0 and settings.shortfall == Shortfall.SKIP:
        return OffsetPlan(
            loser,
            required,
            tuple(slices),
            False,
            f"The winners cover only {summary}; the policy is to skip.",
        )
    used = sum(1 for s in slices if s.quantity > 0)
    return OffsetPlan(
        loser,
        required,
        tuple(slices),
        True,
        f"Offsetting {summary} with {used} winner{'s' if used != 1 else ''}, then closing "
        f"{loser.label}.",
    )


@dataclass(frozen=True)
class Selection:
    """What the engine would do now: every group's eligibility, the plan (if any), and the
    skip-once groups it passes over (as the loser it would have picked, or as a winner the
    plan would have used)."""

    eligibility: dict[int, Eligibility] = field(default_factory=dict)
    plan: OffsetPlan | None = None
    skipped_losers: tuple[int, ...] = ()
    skipped_winners: tuple[int, ...] = ()

    @property
    def reason(self) -> str:
        if self.plan is not None:
            return self.plan.reason
        return "No losing position is eligible."


def select(groups: Sequence[GroupFacts], settings: EngineSettings, *, now: datetime) -> Selection:
    """The engine's decision: the first eligible loser (by rank) and its offset plan."""
    eligibility = {g.id: loser_eligibility(g, settings, now=now) for g in groups}
    losers = rank_losers([g for g in groups if eligibility[g.id].eligible])
    loser = losers[0] if losers else None
    unflagged = [replace(g, skip_once=False) if g.skip_once else g for g in groups]
    flagged = {g.id for g in groups if g.skip_once}
    # A flagged loser is passed over when, without its flag, it would rank before the pick.
    would_be = rank_losers(
        [g for g in unflagged if loser_eligibility(g, settings, now=now).eligible]
    )
    skipped_losers = []
    for group in would_be:
        if loser is not None and group.id == loser.id:
            break
        if group.id in flagged:
            skipped_losers.append(group.id)
    if loser is None:
        return Selection(eligibility, None, tuple(skipped_losers))
    plan = plan_offset(loser, groups, settings)
    top = rank_winners(unflagged, loser_id=loser.id, limit=settings.max_winners)
    skipped_winners = tuple(g.id for g in top if g.id in flagged)
    return Selection(eligibility, plan, tuple(skipped_losers), skipped_winners)
