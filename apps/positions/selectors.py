"""Reads for the Positions page, a position's page and the CSV exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.core.installation import order_id_prefix
from apps.core.market_formats import attach_formats
from apps.core.models import Event
from apps.core.numbers import ZERO
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


def groups_for_page(user) -> QuerySet[PositionGroup]:
    """The user's groups as a position's page shows them (its facts count its pyramids)."""
    return groups_of(user).annotate(pyramid_count=Count("pyramids"))


def groups_for_page_push(*, ids: list[int]) -> QuerySet[PositionGroup]:
    """The same, for a live push of a position's page. Lazy: it renders after commit."""
    return (
        PositionGroup.objects.filter(pk__in=ids)
        .select_related("account", "strategy", "trade")
        .annotate(pyramid_count=Count("pyramids"))
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
    # The orders table's legend: what each sell's client order id code means.
    sell_codes: list[tuple[str, str]] = field(default_factory=Order.sell_codes)
    # What this installation's client order ids start with (`td7kq2`).
    id_prefix: str = field(default_factory=order_id_prefix)


def group_detail(group: PositionGroup, *, with_history: bool = True) -> GroupDetail:
    """A group's pyramids and legs (and, with history, its orders and events); the group gets
    its market's format (`fmt`) for the page's figures, which its orders share."""
    attach_formats([group])
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


# --- The Desk's open positions ---------------------------------------------------------------

# How the Desk's list can be sorted: the key a column header links to -> what it sorts by.
DESK_SORTS = ("opened", "symbol", "value", "pnl")
DESK_SORT_DEFAULT = "-opened"


def desk_sort(value: str | None) -> str | None:
    """`value` if it names a sort of the Desk's list (`pnl`, `-pnl`, …), else None."""
    if not value:
        return None
    return value if value.removeprefix("-") in DESK_SORTS else None


@dataclass(frozen=True)
class DeskTotals:
    quote: str
    count: int
    value: Decimal
    unrealised: Decimal
    realised: Decimal


# The Desk list's columns: (sort key or "", header, numeric).
DESK_COLUMNS = [
    ("", "Position", False),
    ("symbol", "Symbol", False),
    ("", "Opened by", False),
    ("opened", "Held for", False),
    ("", "Status", False),
    ("", "Quantity", True),
    ("", "Avg entry", True),
    ("", "Last", True),
    ("value", "Value", True),
    ("pnl", "Unrealised PnL", True),
    ("", "Realised", True),
    ("", "", False),
]


@dataclass(frozen=True)
class DeskColumn:
    key: str
    label: str
    numeric: bool
    state: str  # "asc", "desc" or "": how the list is sorted by this column now
    next_sort: str  # what a click asks for: the other direction of the current sort


@dataclass(frozen=True)
class DeskPositions:
    rows: list[PositionGroup]
    totals: list[DeskTotals]  # one per quote currency: sums never mix currencies
    sort: str

    @property
    def columns(self) -> list[DeskColumn]:
        current, descending = self.sort.removeprefix("-"), self.sort.startswith("-")
        columns = []
        for key, label, numeric in DESK_COLUMNS:
            state = ("desc" if descending else "asc") if key and key == current else ""
            # A first click on a figure sorts the biggest first; on a name, A to Z.
            first = key if key == "symbol" else f"-{key}"
            next_sort = (key if descending else f"-{key}") if state else first
            columns.append(DeskColumn(key, label, numeric, state, next_sort))
        return columns


def _value(group: PositionGroup) -> Decimal:
    price = group.last_price or group.average_entry
    return group.quantity * price if price is not None else ZERO


_SORT_KEYS = {
    "opened": lambda g: (g.opened_at, g.pk),
    "symbol": lambda g: (g.symbol, g.pk),
    "value": lambda g: (_value(g), g.pk),
    "pnl": lambda g: (g.unrealised_pnl or ZERO, g.pk),
}


def desk_positions(*, owner_id: int, sort: str = DESK_SORT_DEFAULT) -> DeskPositions:
    """Every position the owner still holds (open, closing or needing attention), from tickets
    and signals alike, sorted as asked, with a totals row per quote currency. Few rows (the
    pool bounds them), so they are sorted here, where the PnL is computed."""
    groups = attach_formats(
        _with_counts(PositionGroup.objects.filter(owner_id=owner_id, status__in=ACTIVE))
    )
    for group in groups:
        group.value_now = _value(group)  # what the row shows under Value
    key = sort.removeprefix("-")
    groups.sort(key=_SORT_KEYS[key], reverse=sort.startswith("-"))
    totals: dict[str, list] = {}
    for group in groups:
        quote = group.account.quote_currency
        count, value, unrealised, realised = totals.get(quote, (0, ZERO, ZERO, ZERO))
        totals[quote] = (
            count + 1,
            value + _value(group),
            unrealised + (group.unrealised_pnl or ZERO),
            realised + group.realised_pnl,
        )
    return DeskPositions(
        rows=groups,
        totals=[DeskTotals(quote, *sums) for quote, sums in sorted(totals.items())],
        sort=sort,
    )
