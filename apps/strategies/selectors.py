"""Reads of a trader's strategies (the ticket's Strategy dropdown)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.scoping import owned
from apps.strategies.models import Strategy


def strategies_for(user) -> QuerySet[Strategy]:
    return owned(Strategy, user, owner_field="owner").order_by("name")
