"""What an event is about, in words and as a link: `Position BTC/USDT 15m long #12`, not
`positions.positiongroup #12`.

Core is the ground floor and imports no other app, so the subjects are named here by their
model label and URL name, as record_event stores them, and fetched through Django's app
registry (as contenttypes does). A subject whose model or page is gone still reads as its kind
and id.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class SubjectKind:
    noun: str  # "Position": what the trader calls it
    url_name: str = ""  # its page, reversed with the id in `url_field`
    url_field: str = "pk"  # an order's page is its position's
    owner_field: str = "owner"


SUBJECT_KINDS: dict[str, SubjectKind] = {
    "positions.positiongroup": SubjectKind("Position", "positions:detail"),
    "positions.order": SubjectKind("Order", "positions:detail", "group_id", "group__owner"),
    "tickets.trade": SubjectKind("Trade", "tickets:detail"),
    "webhooks.signal": SubjectKind("Signal", "webhooks:signal-detail", owner_field="route__owner"),
    "webhooks.webhookroute": SubjectKind("Webhook route", "webhooks:route-detail"),
    "exchanges.exchangeaccount": SubjectKind("Account", "exchanges:account-detail"),
    "strategies.strategy": SubjectKind("Strategy", "strategies:edit"),
    "notifications.destination": SubjectKind(
        "Notification destination", "notifications:destination-edit"
    ),
    "risk.riskaction": SubjectKind("Risk action", "risk:risk"),
    "trade_queue.queuedsignal": SubjectKind("Queued signal", "trade_queue:queue"),
    "accounts.user": SubjectKind("Login", owner_field="pk"),
}


@dataclass(frozen=True)
class Subject:
    type: str
    id: str
    noun: str
    name: str  # the object's own name ("BTC/USDT 15m long position #12"), or "#12" if gone
    url: str  # its page, or ""

    @property
    def param(self) -> str:
        """The Logs page's `object` filter value."""
        return f"{self.type}:{self.id}"

    def __str__(self) -> str:
        return f"{self.noun} {self.name}"


def describe(subject_type: str, subject_id: str, *, user) -> Subject | None:
    """The subject of an event of `user`'s, named and linked; None when there is none. Another
    user's object is never named: it reads as its kind and id, without a link."""
    if not subject_type:
        return None
    kind = SUBJECT_KINDS.get(subject_type) or SubjectKind(
        subject_type.split(".")[-1].replace("_", " ").capitalize()
    )
    fallback = Subject(subject_type, subject_id, kind.noun, f"#{subject_id}", "")
    try:
        model = apps.get_model(subject_type)
    except (LookupError, ValueError):
        return fallback
    if not (subject_id.isascii() and subject_id.isdigit() and len(subject_id) < 19):
        return fallback
    if kind.owner_field == "pk":  # a login: only the user's own
        found = user if subject_id == str(user.pk) else None
    else:
        found = model._default_manager.filter(pk=subject_id, **{kind.owner_field: user}).first()
    if found is None:
        return fallback
    name = found.get_username() if subject_type == "accounts.user" else str(found)
    return Subject(subject_type, subject_id, kind.noun, name, _url(kind, found))


def _url(kind: SubjectKind, found) -> str:
    if not kind.url_name:
        return ""
    for args in ([getattr(found, kind.url_field)], []):  # a list page (risk, queue) takes none
        try:
            return reverse(kind.url_name, args=args)
        except NoReverseMatch:
            continue
    return ""
