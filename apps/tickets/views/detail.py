"""A trade's page: the ticket and the position it opened as one story: facts, orders and the
timeline that says why it did what it did."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.core.formatting import status_words
from apps.core.market_formats import attach_formats
from apps.positions.models import Order
from apps.positions.services import protection
from apps.strategies.domain.catalog import RuleKind
from apps.tickets import selectors
from apps.tickets.services.chart import chart_of_trade, trade_live_id, trade_timeframe
from apps.tickets.views.desk import owned_trade


@login_required
@require_GET
def trade_detail(request: HttpRequest, pk: int) -> HttpResponse:
    trade = owned_trade(request, str(pk))
    attach_formats([trade])  # its position and orders share its market
    position = trade.position_or_none
    if position is not None:
        position.fmt = trade.fmt
    reason = position.exit_reason if position else ""
    timeline = selectors.timeline(trade)
    context = {
        "trade": trade,
        "position": position,
        "timeline": timeline,
        "status": status_words(
            trade.get_status_display(), Order.exit_words(reason) if reason else ""
        ),
        "problems": [(_PROBLEM_LABELS.get(key, key), text) for key, text in trade.errors.items()],
        "chart_url": reverse("tickets:chart", args=[trade.pk]),
        "live_id": trade_live_id(trade),
        "chart_timeframe": trade_timeframe(trade),
        # Where each stop and the take profit act: resting on the exchange, or on the desk.
        **(protection.where_it_acts(position, timeline.orders) if position else {}),
    }
    return render(request, "tickets/trade_detail.html", context)


@login_required
@require_GET
def trade_chart(request: HttpRequest, pk: int) -> JsonResponse:
    """The trade page's chart: candles, the market's tick, levels and fills."""
    return JsonResponse(chart_of_trade(trade=owned_trade(request, str(pk))))


# What a failed activation check concerns, in the ticket's words.
_PROBLEM_LABELS = {
    "account": "Account",
    "symbol": "Symbol",
    "sizing": "Size",
    "portfolio": "Portfolio filters",
    **{kind.value: kind.label for kind in RuleKind},
}
