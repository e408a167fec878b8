"""Reads for the Positions page, a position's page and the CSV exports."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.core.models import Event
from apps.core.scoping import owned
from apps.positions.models import DcaLeg, Order, PositionGroup, Pyramid

GROUP_SUBJECT = "positions.positiongroup"  # Event.subject_type of a position's events

POSITIONS_LIMIT = 500


def _with_counts(groups: QuerySet[PositionGroup]) -> QuerySet[PositionGroup]:
    """What a positions row shows besides the group's own columns: pyramids, and legs filled
    out of the legs placed (a leg below the market minimum was never placed)."""
    return groups.select_related("account").annotate(
        pyramid_count=Count("pyramids", distinct=True),
        legs_placed=Count("legs", filter=~Q(legs__status=DcaLeg.Status.SKIPPED), distinct=True),
        legs_filled=Count("legs", filter=Q(legs__filled__gt=0), distinct=True),
    )


def groups_for_rows(*, ids: list[int]) -> QuerySet[PositionGroup]:
    """Rows to push live. Lazy: it renders after commit, so the pushed row is committed."""
    return _with_counts(PositionGroup.objects.filter(pk__in=ids)).order_by("-opened_at", "-pk")


def groups_of(user) -> QuerySet[PositionGroup]:
    """The user's groups, for views that look one up (another user's group is a 404)."""
    return owned(PositionGroup, user, owner_field="owner").select_related(
        "account", "strategy", "trade"
    )


@dataclass(frozen=True)
class PositionFilter:
    status: str = "active"  # active (open, closing, error), closed, all
    account_id: int | None = None
    symbol: str = ""

    @property
    def is_default(self) -> bool:
        return self == PositionFilter()


ACTIVE = [
    PositionGroup.Status.OPEN,
    PositionGroup.Status.CLOSING,
    PositionGroup.Status.ERROR,
]


def positions(user, position_filter: PositionFilter) -> QuerySet[PositionGroup]:
    """The Positions table (and its CSV): the user's groups through the page's filter."""
    groups = owned(PositionGroup, user, owner_field="owner")
    if position_filter.status == "active":
        groups = groups.filter(status__in=ACTIVE)
    elif position_filter.status == "closed":
        groups = groups.filter(status=PositionGroup.Status.CLOSED)
    if position_filter.account_id is not None:
        groups = groups.filter(account_id=position_filter.account_id)
    if position_filter.symbol:
        groups = groups.filter(symbol__iexact=position_filter.symbol)
    return _with_counts(groups).order_by("-opened_at", "-pk")


def orders_of_positions(groups: QuerySet[PositionGroup]) -> QuerySet[Order]:
    """The orders of the filtered groups, oldest first (the orders CSV)."""
    return (
        Order.objects.filter(group__in=groups.values("pk"))
        .select_related("account", "leg", "leg__pyramid")
        .order_by("group_id", "created_at", "pk")
    )


@dataclass(frozen=True)
class GroupDetail:
    """A group's pyramids with their legs, its orders and its timeline."""

    group: PositionGroup
    pyramids: list[Pyramid]
    orders: list[Order]
    events: list[Event]


def group_detail(group: PositionGroup, *, with_history: bool = True) -> GroupDetail:
    pyramids = list(
        group.pyramids.prefetch_related(
            # The group comes along: a leg's take-profit target depends on the group's side.
            Prefetch("legs", queryset=DcaLeg.objects.select_related("group").order_by("index"))
        ).order_by("index")
    )
    if not with_history:
        return GroupDetail(group, pyramids, [], [])
    events = Event.objects.filter(subject_type=GROUP_SUBJECT, subject_id=str(group.pk))
    return GroupDetail(
        group,
        pyramids,
        list(group.orders.select_related("leg", "leg__pyramid").order_by("created_at", "pk")),
        list(events.order_by("created_at", "id")),
    )
