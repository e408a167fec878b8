"""The trader's controls: settings (and reset to defaults), Skip once, Block, and the timer
reset a replacement signal causes."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.services.events import group_event
from apps.risk.models import GroupRisk, RiskSettings
from apps.risk.services.events import risk_event


class ControlError(Exception):
    """A control the group's state does not allow; the message says why."""


def save_settings(*, settings: RiskSettings) -> RiskSettings:
    """Store validated settings (the form validated them) with an event saying what is on."""
    with transaction.atomic():
        settings.save()
        account = settings.account
        risk_event(
            account,
            "risk.settings_saved",
            f"Risk settings of {account.label} saved: engine "
            f"{'on' if settings.enabled else 'off'}.",
            data={"enabled": settings.enabled},
        )
    return settings


def reset_settings(*, account: ExchangeAccount) -> RiskSettings:
    """Back to the defaults (the engine off)."""
    with transaction.atomic():
        RiskSettings.objects.filter(account=account).delete()
        fresh = RiskSettings.objects.create(account=account)
        risk_event(account, "risk.settings_saved", f"Risk settings of {account.label} reset.")
    return fresh


def _control(group: PositionGroup) -> GroupRisk:
    control, _ = GroupRisk.objects.select_for_update().get_or_create(group=group)
    return control


def _locked_open(group: PositionGroup) -> PositionGroup:
    group = (
        PositionGroup.objects.select_for_update(of=("self",))
        .select_related("owner", "account")
        .get(pk=group.pk)
    )
    if group.status not in (PositionGroup.Status.OPEN, PositionGroup.Status.ERROR):
        raise ControlError(f"Position #{group.pk} is {group.get_status_display().lower()}.")
    return group


def set_blocked(*, group: PositionGroup, blocked: bool) -> GroupRisk:
    """Block: the engine never uses the group, as loser or winner, until unblocked."""
    with transaction.atomic():
        group = _locked_open(group)
        control = _control(group)
        control.blocked = blocked
        control.save(update_fields=["blocked"])
        word = "blocked from" if blocked else "unblocked for"
        group_event(group, "risk.group_blocked", f"Position #{group.pk} {word} the risk engine.")
    return control


def set_skip_once(*, group: PositionGroup, skip: bool = True) -> GroupRisk:
    """Skip once: the next time the engine would use the group (as the loser it picks, or as a
    winner), it passes over it; a skipped loser's timer then starts again."""
    with transaction.atomic():
        group = _locked_open(group)
        control = _control(group)
        control.skip_once = skip
        control.save(update_fields=["skip_once"])
        text = "will be skipped once by" if skip else "is no longer skipped by"
        group_event(group, "risk.group_skip_once", f"Position #{group.pk} {text} the risk engine.")
    return control


def reset_timer(*, position: PositionGroup, now: datetime) -> None:
    """A replacement signal for `position` arrived: its risk timer starts again (when the
    account's settings say a replacement resets it). Call it inside the signal's transaction,
    with the group locked; it writes one row and no event (the signal has its own)."""
    updated = GroupRisk.objects.filter(group_id=position.pk).update(timer_reset_at=now)
    if not updated:
        GroupRisk.objects.get_or_create(group_id=position.pk, defaults={"timer_reset_at": now})
