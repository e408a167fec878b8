"""The Positions page: every position (opened by a ticket or a signal), its pyramids and legs
(live), a position's page, Close at market, and the CSV exports of the filtered positions and
of their orders."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.confirm import confirmed, refusal
from apps.core.csv_export import csv_response
from apps.core.market_formats import attach_formats
from apps.core.timeframes import timeframe_words
from apps.exchanges.domain.precision import fmt
from apps.positions import selectors
from apps.positions.forms import PositionFilterForm
from apps.positions.models import Order, PositionGroup
from apps.positions.services import GroupError, close_group, protection
from apps.positions.services.chart import chart_live_id, chart_of_position, position_timeframe
from apps.positions.services.live import desk_sort_of
from apps.positions.services.trader import close_preview

POSITIONS = "positions/positions.html"
DETAIL = "positions/position_detail.html"


def _filtered(request: HttpRequest):
    form = PositionFilterForm(request.GET or None, user=request.user)
    position_filter = form.position_filter()
    return form, position_filter, selectors.positions(request.user, position_filter)


@login_required
@require_GET
def positions(request: HttpRequest) -> HttpResponse:
    """The page; for htmx aimed at the table (the filter form), the table alone."""
    form, position_filter, groups = _filtered(request)
    query = request.GET.urlencode()
    context = {
        "form": form,
        "groups": attach_formats(groups[: selectors.POSITIONS_LIMIT]),
        # New groups are pushed to the top of the table only where the table is unfiltered.
        "live_inserts": position_filter.is_default,
        "query": f"?{query}" if query else "",
    }
    if request.htmx and request.htmx.target == "positions-table":
        return render(request, f"{POSITIONS}#positions-table", context)
    return render(request, POSITIONS, context)


def _owned_group(request: HttpRequest, pk: int) -> PositionGroup:
    return get_object_or_404(selectors.groups_of(request.user), pk=pk)


def _owned_page(request: HttpRequest, pk: int) -> PositionGroup:
    return get_object_or_404(selectors.groups_for_page(request.user), pk=pk)


@login_required
@require_GET
def position_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A group's page; for htmx, its pyramids and legs as the row's expansion (or collapsed)."""
    if request.htmx:
        group = _owned_group(request, pk)
        if request.GET.get("collapse"):
            return render(request, f"{POSITIONS}#group-detail-collapsed", {"group": group})
        detail = selectors.group_detail(group, with_history=False)
        return render(request, f"{POSITIONS}#group-detail", {"group": group, "detail": detail})
    group = _owned_page(request, pk)
    detail = selectors.group_detail(group)
    context = {
        "group": group,
        "detail": detail,
        **protection.where_it_acts(group, detail.orders),
        **_chart(group),
    }
    return render(request, DETAIL, context)


def _chart(group: PositionGroup) -> dict[str, str]:
    return {
        "chart_url": reverse("positions:chart", args=[group.pk]),
        "live_id": chart_live_id(group),
        "chart_timeframe": position_timeframe(group),
    }


@login_required
@require_GET
def position_chart(request: HttpRequest, pk: int) -> JsonResponse:
    """The position page's chart: candles, the market's tick, levels and fills."""
    return JsonResponse(chart_of_position(group=_owned_group(request, pk)))


@login_required
@require_POST
def position_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close at market: cancel the resting legs and sell what the group holds. The first post
    only asks (200, the page with the confirmation; nothing is sold); the confirmation's post
    closes."""
    group = _owned_group(request, pk)
    if request.htmx and request.POST.get("from") == "desk":
        return _close_from_desk(request, group)
    if not confirmed(request):
        group = _owned_page(request, pk)
        context = {
            "group": group,
            "detail": selectors.group_detail(group),
            "confirm_close": True,
            **_chart(group),
            "confirm_question": _close_question(group),
            "confirm_why": refusal(request, nothing="Nothing was sold"),
        }
        return render(request, DETAIL, context)
    try:
        outcome = close_group(group=group, now=timezone.now())
    except GroupError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, outcome.reason)
    return redirect("positions:detail", pk=group.pk)


def _close_from_desk(request: HttpRequest, group: PositionGroup) -> HttpResponse:
    """The Desk's Close…: the question in the panel above the list, then what happened there
    (the list itself follows live, pushed whole: a question inside it would be wiped)."""
    context = {"group": group, "group_pk": str(group.pk), "cell": "#desk-close-panel"}
    if not confirmed(request):
        context |= {
            "confirm_question": _close_question(group),
            "confirm_why": refusal(request, nothing="Nothing was sold"),
            "keep_url": f"{reverse('tickets:desk')}?sort={desk_sort_of(request.user.pk)}",
        }
    else:
        try:
            outcome = close_group(group=group, now=timezone.now())
        except GroupError as error:
            context["outcome"] = {"level": "error", "text": str(error)}
        else:
            context["outcome"] = {"level": "success", "text": outcome.reason}
    return render(request, "positions/desk_close.html", context)


def _close_question(group: PositionGroup) -> str:
    """What Close at market sells, as the order will carry it: rounded to the market's step, in
    the base asset, and the dust below the step that stays."""
    preview = close_preview(group=group)
    timeframe = timeframe_words(group.timeframe)
    question = f"Close {group.symbol} {timeframe} position #{group.pk} at market now? "
    question += "Its resting legs are cancelled and "
    if preview.sells is None:
        return question + f"nothing is sold ({preview.why_not})."
    question += f"{fmt(preview.sells)} {preview.base} is sold at market"
    if preview.stays > 0:
        question += f"; {fmt(preview.stays)} {preview.base} stays (dust below the market's step)"
    return question + "."


# --- CSV ------------------------------------------------------------------------------------


POSITION_COLUMNS = [
    "group",
    "opened_at",
    "closed_at",
    "account",
    "symbol",
    "opened_by",
    "ticket",
    "timeframe",
    "side",
    "status",
    "tp_mode",
    "group_tp_pct",
    "pyramids",
    "pyramid_limit",
    "legs_filled",
    "legs_placed",
    "quantity",
    "average_entry",
    "last_price",
    "unrealised_pnl",
    "unrealised_pnl_pct",
    "entry_cost",
    "exit_quantity",
    "exit_proceeds",
    "realised_pnl",
    "exit_reason",
]


@login_required
@require_GET
def positions_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The groups the page shows with the same filter, every value unrounded."""
    _, _, groups = _filtered(request)
    rows = (
        [
            group.pk,
            group.opened_at,
            group.closed_at,
            group.account.label,
            group.symbol,
            group.origin,
            group.trade_id or "",
            group.timeframe,
            group.side,
            group.status,
            group.tp_mode,
            group.group_tp_pct,
            group.pyramid_count,
            group.pyramid_limit,
            group.legs_filled,
            group.legs_placed,
            group.quantity,
            group.average_entry,
            group.last_price,
            group.unrealised_pnl,
            group.unrealised_pnl_pct,
            group.entry_cost,
            group.exit_quantity,
            group.exit_proceeds,
            group.realised_pnl,
            group.exit_reason,
        ]
        for group in groups.iterator(chunk_size=500)
    )
    return csv_response("positions.csv", POSITION_COLUMNS, rows)


ORDER_COLUMNS = [
    "created_at",
    "group",
    "pyramid",
    "leg",
    "account",
    "symbol",
    "purpose",
    "side",
    "type",
    "amount",
    "price",
    "status",
    "filled",
    "average",
    "fee_cost",
    "fee_currency",
    "client_order_id",
    "exchange_order_id",
    "sent_at",
    "error",
]


@login_required
@require_GET
def orders_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every order of the groups the page shows with the same filter, unrounded."""
    _, _, groups = _filtered(request)
    orders: Iterable[Order] = selectors.orders_of_positions(groups).iterator(chunk_size=500)
    rows = (
        [
            order.created_at,
            order.group_id,
            order.leg.pyramid.number if order.leg else "",
            order.leg.number if order.leg else "",
            order.account.label,
            order.symbol,
            order.purpose,
            order.side,
            order.type,
            order.amount,
            order.price,
            order.status,
            order.filled,
            order.average,
            order.fee_cost,
            order.fee_currency,
            order.client_order_id,
            order.exchange_order_id,
            order.sent_at,
            order.error,
        ]
        for order in orders
    )
    return csv_response("position-orders.csv", ORDER_COLUMNS, rows)
