"""The risk loop (Celery beat, single-flight): for every account, keep a thrown kill switch
flat, measure the guards, run the engine where it is enabled, and push the Risk page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from apps.core.broadcast import is_watched
from apps.core.loops import each_isolated, run_loop
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.risk import selectors
from apps.risk.models import RiskAction
from apps.risk.services import engine, guards, kill_switch, live

logger = logging.getLogger(__name__)


@dataclass
class RiskReport:
    accounts: int = 0
    actions: list[int] = field(default_factory=list)
    swept: list[int] = field(default_factory=list)


def risk_loop() -> bool:
    return run_loop("risk.tick", lambda: risk_tick(now=timezone.now()))


def risk_tick(*, now: datetime, batch: int = 200) -> RiskReport:
    """One tick over every active account, and every account whose kill switch is thrown.

    Each account is handled on its own (`each_isolated`): an exchange error is logged and the
    account waits for the next tick; any other failure (a stored setting out of bounds, a
    broken row) is recorded as `loop.item_failed` and on /readyz, and the tick goes on with the
    accounts after it.
    """
    report = RiskReport()
    accounts = (
        ExchangeAccount.objects.filter(Q(is_active=True) | Q(risk_guard__killed_at__isnull=False))
        .select_related("owner")
        .order_by("pk")[:batch]
    )

    def tick(account: ExchangeAccount) -> None:
        report.accounts += 1
        try:
            _tick_account(account, report, now=now)
        except ExchangeError as exc:
            logger.warning("Risk loop: account %s: %s", account.pk, exc)

    each_isolated("risk.tick", accounts, tick, account_of=lambda account: account)
    return report


class SettingsOutOfBounds(Exception):
    """An account's stored risk settings that the engine and the guards must not use."""


def _tick_account(account: ExchangeAccount, report: RiskReport, *, now: datetime) -> None:
    guard = selectors.guard_of(account)
    if guard.killed_at is not None:
        # Before the settings are read: keeping a killed account flat needs none of them.
        if kill_switch.sweep(account=account, now=now).acted:
            report.swept.append(account.pk)
        return
    settings = selectors.settings_of(account)
    problem = selectors.settings_problem(settings)
    if problem:
        raise SettingsOutOfBounds(
            f"the risk settings of {account.label} are out of bounds ({problem}); its guards "
            "and engine wait until they are saved within bounds"
        )
    guards.check_guards(account=account, now=now)
    if settings.enabled:
        action = engine.run(account=account, now=now, trigger=RiskAction.Trigger.LOOP)
        if action is not None:
            report.actions.append(action.pk)
            return  # run() pushed the page
    if not is_watched(account.owner_id):
        return  # the prices below are fetched only for the page: nobody has it open
    groups = list(selectors.open_groups(account))
    if groups:
        try:
            prices = selectors.fetch_prices(account=account, symbols=[g.symbol for g in groups])
        except ExchangeError:
            prices = None
        live.push_account(account, now=now, prices=prices)
