"""Per-user isolation: the one place that turns "all objects" into "this user's objects".

Every view that reads a trading object goes through `owned` or `get_owned_or_404`, so another
user's object is indistinguishable from a missing one (404), never a 403 that confirms it exists.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=Model)


def owned(queryset: QuerySet[M] | type[M], user, *, owner_field: str = "user") -> QuerySet[M]:
    """The objects of `queryset` that belong to `user` (none for an anonymous user)."""
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{owner_field: user})


def get_owned_or_404(
    queryset: QuerySet[M] | type[M], user, *, owner_field: str = "user", **lookups
) -> M:
    """One object of `user`'s, or Http404 when it is missing or belongs to someone else."""
    return get_object_or_404(owned(queryset, user, owner_field=owner_field), **lookups)
