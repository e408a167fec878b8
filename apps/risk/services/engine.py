"""The risk engine: preview, run (the loop's and the trader's Run now), with the offset
calculated by `apps.risk.domain.selection` and executed through the groups' intent-first path.

Execution re-checks everything: prices are fetched again, the account's groups are locked,
their facts are read again and the plan is recomputed from them. A plan chosen earlier (the
preview the trader saw, or the loop's selection) is compared with the new one: a winner that
closed or moved is reported and the plan adapts; a loser that no longer qualifies, or a
different loser, aborts the action. Quantities always come from the recomputed plan, so
nothing closes more than the loss still needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import transaction

from apps.core import formatting
from apps.core.market_formats import attach_formats
from apps.core.message_figures import figures_of
from apps.core.models import Event
from apps.exchanges.domain.precision import fmt
from apps.exchanges.domain.types import MarketRules
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import Order, PositionGroup
from apps.positions.services import intents
from apps.positions.services.events import group_event
from apps.positions.services.signals import close_group_locked
from apps.risk import selectors
from apps.risk.domain import selection
from apps.risk.domain.selection import OffsetPlan, Selection
from apps.risk.models import GroupRisk, RiskAction
from apps.risk.services import live
from apps.risk.services.events import risk_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preview:
    """What the engine would do now (nothing is written)."""

    account: ExchangeAccount
    selection: Selection
    rows: list[selectors.GroupRow]
    problem: str = ""  # why there is no preview (no prices)


def preview(*, account: ExchangeAccount, now: datetime) -> Preview:
    """The engine's decision at the current prices, without acting on it."""
    groups = list(selectors.open_groups(account))
    try:
        prices = selectors.fetch_prices(account=account, symbols=[g.symbol for g in groups])
    except ExchangeError as exc:
        prices = selectors.stored_prices(groups)
        problem = f"No current prices ({exc}); shown at the last prices seen."
    else:
        problem = ""
    chosen = _decide(account, groups, prices, now=now)
    return Preview(account, chosen, rows_of(groups, account, prices, chosen, now=now), problem)


def _decide(account, groups, prices, *, now: datetime) -> Selection:
    settings = selectors.settings_of(account)
    facts = selectors.facts_of(groups, account=account, prices=prices)
    return selection.select(facts, settings.engine(), now=now)


def rows_of(groups, account, prices, chosen: Selection | None, *, now: datetime):
    """The Risk page's rows for `groups` at `prices`; `chosen` marks the plan's roles. The
    groups get their markets' formats (one lookup) for the rows' figures."""
    groups = attach_formats(groups)
    settings = selectors.settings_of(account).engine()
    facts = {f.id: f for f in selectors.facts_of(groups, account=account, prices=prices)}
    roles: dict[int, str] = {}
    if chosen is not None and chosen.plan is not None:
        roles[chosen.plan.loser.id] = "loser"
        roles.update({s.group_id: "winner" for s in chosen.plan.closing})
    rows = []
    for group in groups:
        fact = facts.get(group.pk)
        if fact is None:
            continue
        eligibility = selection.loser_eligibility(fact, settings, now=now)
        rows.append(selectors.GroupRow(group, fact, eligibility, roles.get(group.pk, "")))
    return rows


def run(
    *,
    account: ExchangeAccount,
    now: datetime,
    trigger: str = RiskAction.Trigger.MANUAL,
    expected: dict | None = None,
) -> RiskAction | None:
    """Select and execute one risk action on `account` (the loop, or Run now).

    1. Outside any transaction: current prices of every listed group.
    2. In one transaction: lock the account, then its listed groups in id order (the order
       every other writer of groups follows: account, then group, then orders); read their
       facts again and recompute the selection.
    3. Compare with `expected` (the plan selected earlier, as `OffsetPlan.to_dict()`: what the
       trader previewed, as the server kept it; never data a client posted): abort when the
       loser changed or no longer qualifies; note winners that closed or changed, and go on
       with the recomputed quantities.
    4. Skip-once groups passed over are consumed (a skipped loser's timer restarts).
    5. Write each winner's partial market sell and the loser's close (intent first: the orders
       are sent after commit), the RiskAction with the whole calculation, and the events.

    Returns the action recorded, or None when there was nothing to do and nothing to report.
    """
    symbols = list(
        PositionGroup.objects.filter(account=account, status__in=selectors.LISTED)
        .values_list("symbol", flat=True)
        .distinct()
    )
    try:
        prices = selectors.fetch_prices(account=account, symbols=symbols)
    except ExchangeError as exc:
        if expected is None:
            logger.warning("Risk engine: no prices for account %s: %s", account.pk, exc)
            return None
        with transaction.atomic():
            return _record_abort(account, expected, f"No current prices: {exc}", trigger, now)
    with transaction.atomic():
        account = (
            ExchangeAccount.objects.select_for_update(of=("self",))
            .select_related("owner")
            .get(pk=account.pk)
        )
        list(
            PositionGroup.objects.select_for_update()
            .filter(account=account, status__in=selectors.LISTED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not account.is_active:
            if expected is None:
                return None
            return _record_abort(account, expected, f"{account.label} is paused.", trigger, now)
        groups = list(selectors.open_groups(account))
        chosen = _decide(account, groups, prices, now=now)
        _consume_skips(groups, chosen.skipped_losers, now=now, as_loser=True)
        changes, abort = _compare(expected, chosen)
        if abort:
            return _record_abort(account, expected, abort, trigger, now)
        plan = chosen.plan
        if plan is None:
            return None
        if not plan.execute:
            if trigger == RiskAction.Trigger.LOOP:
                return None  # the page shows why; the loop does not repeat it every tick
            return _record(account, plan, RiskAction.Status.SKIPPED, plan.reason, trigger, now)
        _consume_skips(groups, chosen.skipped_winners, now=now, as_loser=False)
        by_pk = {g.pk: g for g in groups}
        orders = _execute(plan, by_pk, now=now)
        action = _record(
            account,
            plan,
            RiskAction.Status.EXECUTED,
            plan.reason,
            trigger,
            now,
            changes=changes,
            orders=orders,
        )
        live.push_account(account, now=now)
    return action


def _compare(expected: dict | None, chosen: Selection) -> tuple[list[str], str]:
    """(what changed since `expected` was selected, why to abort or "")."""
    if not expected:
        return [], ""
    loser_id, loser_label = expected["loser"], expected["loser_label"]
    if chosen.plan is None:
        reason = chosen.eligibility.get(loser_id)
        why = reason.reason if reason is not None else "it is no longer open"
        return [], f"{loser_label} no longer qualifies: {why}."
    if chosen.plan.loser.id != loser_id:
        return [], (
            f"The loser changed since selection: {chosen.plan.loser.label} now comes before "
            f"{loser_label}; preview again."
        )
    if not chosen.plan.execute:
        return [], chosen.plan.reason
    changes = []
    now_used = {s.group_id: s for s in chosen.plan.slices}
    for piece in expected["winners"]:
        after = now_used.get(piece["group"])
        quantity, price = Decimal(piece["quantity"]), Decimal(piece["price"])
        if after is None:
            changes.append(
                f"{piece['label']} is no longer a winner (closed, blocked or not in profit)"
            )
        elif after.quantity != quantity or after.price != price:
            changes.append(
                f"{piece['label']}: {fmt(quantity)} at {fmt(price)} became "
                f"{fmt(after.quantity)} at {fmt(after.price)}"
            )
    required = Decimal(expected["required"])
    if chosen.plan.required != required:
        changes.append(
            f"the loss to offset moved from {fmt(required.quantize(selection.CENTS))} to "
            f"{fmt(chosen.plan.required.quantize(selection.CENTS))}"
        )
    return changes, ""


def _consume_skips(groups, ids, *, now: datetime, as_loser: bool) -> None:
    by_pk = {g.pk: g for g in groups}
    for pk in ids:
        group = by_pk[pk]
        fields = {"skip_once": False}
        if as_loser:
            fields["skipped_at"] = now
        GroupRisk.objects.filter(group_id=pk).update(**fields)
        role = "loser (its timer starts again)" if as_loser else "winner"
        group_event(
            group,
            "risk.skipped_once",
            f"The risk engine skipped position #{pk} once as a {role}.",
            data={"role": "loser" if as_loser else "winner"},
        )


def _execute(plan: OffsetPlan, groups: dict[int, PositionGroup], *, now: datetime) -> list[dict]:
    """Write the winners' partial sells, then the loser's close; all sent after commit."""
    written = []
    for piece in plan.closing:
        group = groups[piece.group_id]
        order = intents.write_sell(group, purpose=Order.Purpose.RISK, amount=piece.quantity)
        shown = figures_of(group, unit=group.account.quote_currency)
        group_event(
            group,
            "risk.winner_closing",
            f"Risk engine: selling {shown.amount(piece.quantity)} "
            f"{intents.base_of(group.symbol)} of this winner at market (order "
            f"{order.client_order_id}) to realise about {shown.quote(piece.realised)} "
            f"against the loss of {plan.loser.label}.",
            data=piece.to_dict() | {"client_order_id": order.client_order_id},
        )
        written.append(_order_data(order, piece.group_id, "winner"))
    loser = groups[plan.loser.id]
    outcome = close_group_locked(
        loser,
        purpose=Order.Purpose.RISK,
        price=plan.loser.price,
        signal_id=None,
        now=now,
        why=f"PnL {formatting.pct(plan.loser.pnl_pct)} offset by "
        f"{_quote(plan.covered, loser.account.quote_currency)} from winners;",
    )
    for order in Order.objects.filter(pk__in=outcome.order_ids):
        written.append(_order_data(order, loser.pk, "loser"))
    return written


def _order_data(order: Order, group_id: int, role: str) -> dict:
    return {
        "order": order.pk,
        "client_order_id": order.client_order_id,
        "group": group_id,
        "role": role,
        "amount": str(order.amount),
    }


def _record(
    account: ExchangeAccount,
    plan: OffsetPlan,
    status: str,
    reason: str,
    trigger: str,
    now: datetime,
    *,
    changes: list[str] | None = None,
    orders: list[dict] | None = None,
) -> RiskAction:
    calculation = plan.to_dict() | {"changes": changes or [], "orders": orders or []}
    action = RiskAction.objects.create(
        owner=account.owner,
        account=account,
        loser_id=plan.loser.id,
        status=status,
        trigger=trigger,
        required=plan.required,
        covered=plan.covered,
        reason=reason + (f" Since selection: {'; '.join(changes)}." if changes else ""),
        calculation=calculation,
        created_at=now,
    )
    quote = account.quote_currency
    winners = "; ".join(
        f"{s.label} {_amount(s.quantity, s.rules)} at {_price(s.price, s.rules)} realises "
        f"{_quote(s.realised, quote)}"
        if s.quantity > 0
        else f"{s.label} skipped: {s.skipped}"
        for s in plan.slices
    )
    verb = {"executed": "Risk action", "skipped": "Risk action skipped"}[status]
    risk_event(
        account,
        "risk.action" if status == RiskAction.Status.EXECUTED else "risk.action_skipped",
        f"{verb} #{action.pk}: {plan.loser.label} at "
        f"{formatting.pct(plan.loser.pnl_pct)} needs {_quote(plan.required, quote)}. "
        + (f"Winners: {winners}. " if winners else "")
        + action.reason,
        subject=action,
        level=Event.Level.WARNING,
        data={
            "rule": "risk engine",
            "reason": action.reason,
            "pnl": str(-plan.required),
            "required": str(plan.required),
            "covered": str(plan.covered),
            "symbol": plan.loser.label.split()[0],
        },
    )
    return action


def _record_abort(
    account: ExchangeAccount, expected: dict | None, why: str, trigger: str, now: datetime
) -> RiskAction | None:
    if not expected:
        return None
    # The previewed loser, if it is still one of this account's groups (never another's).
    loser = PositionGroup.objects.filter(pk=expected["loser"], account=account).first()
    action = RiskAction.objects.create(
        owner=account.owner,
        account=account,
        loser=loser,
        status=RiskAction.Status.ABORTED,
        trigger=trigger,
        required=Decimal(expected["required"]),
        covered=Decimal(expected["covered"]),
        reason=f"Aborted: {why}",
        calculation=expected | {"changes": [], "orders": []},
        created_at=now,
    )
    risk_event(
        account,
        "risk.action_aborted",
        f"Risk action #{action.pk} on {expected['loser_label']} aborted: {why}",
        subject=action,
        level=Event.Level.WARNING,
        data={"reason": why},
    )
    return action


def _quote(value: Decimal, unit: str) -> str:
    return formatting.quote(value, unit, places=django_settings.QUOTE_PLACES)


def _price(value: Decimal, rules: MarketRules | None) -> str:
    return formatting.price(value, rules.tick_size if rules else None)


def _amount(value: Decimal, rules: MarketRules | None) -> str:
    return formatting.amount(value, rules.step_size if rules else None)
