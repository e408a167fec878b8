"""The risk app's events: on the account's timeline, with the facts notifications show."""

from __future__ import annotations

from django.urls import reverse

from apps.core.events import Facts, record_event
from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount


def risk_event(
    account: ExchangeAccount,
    kind: str,
    message: str,
    *,
    subject=None,
    level: str = Event.Level.INFO,
    data: dict | None = None,
) -> Event:
    """Record `kind` about the account (inside the caller's transaction), linking to the
    account's risk page."""
    return record_event(
        kind=kind,
        message=message,
        user=account.owner,
        account=account,
        subject=subject or account,
        level=level,
        facts=Facts(account=account.label, url=f"{reverse('risk:risk')}?account={account.pk}"),
        data=data,
    )
