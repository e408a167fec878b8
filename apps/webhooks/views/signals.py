"""The Signals page: every signal received on the trader's routes, live, with its decision."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.csv_export import csv_response
from apps.core.market_formats import attach_formats
from apps.core.models import Event
from apps.core.scoping import get_owned_or_404
from apps.webhooks import selectors
from apps.webhooks.forms import SignalFilterForm
from apps.webhooks.models import Signal

CSV_COLUMNS = [
    "id",
    "received_at",
    "route",
    "status",
    "reason",
    "format",
    "action",
    "symbol",
    "symbol_given",
    "timeframe",
    "price",
    "quantity",
    "fired_at",
    "source_ip",
    "content_type",
    "group_id",
    "order_ids",
    "duplicate_of",
    "processed_at",
]


def _filtered(request: HttpRequest):
    form = SignalFilterForm(request.GET or None, owner=request.user)
    route_id, status = None, ""
    if form.is_bound and form.is_valid():
        route = form.cleaned_data["route"]
        route_id, status = (route.pk if route else None), form.cleaned_data["status"]
    signals = selectors.signals_for(request.user, route_id=route_id, status=status)
    return form, signals, bool(route_id or status)


@login_required
@require_GET
def signal_list(request: HttpRequest) -> HttpResponse:
    form, signals, filtered = _filtered(request)
    context = {
        "form": form,
        "signals": signals[: selectors.PAGE_LIMIT],
        "limit": selectors.PAGE_LIMIT,
        "filtered": filtered,
        "query": request.GET.urlencode(),
        "has_routes": form.fields["route"].queryset.exists(),
    }
    template = "webhooks/signals.html"
    return render(request, f"{template}#signal-table" if request.htmx else template, context)


@login_required
@require_GET
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_owned_or_404(
        Signal.objects.select_related("route", "account", "duplicate_of"),
        request.user,
        owner_field="route__owner",
        pk=pk,
    )
    if request.htmx and request.GET.get("hide"):
        return HttpResponse("")
    context = {
        "signal": signal,
        "orders": attach_formats(selectors.orders_of(signal)),
        "events": Event.objects.filter(
            subject_type="webhooks.signal", subject_id=str(signal.pk), user=request.user
        ).order_by("created_at", "id"),
    }
    if request.htmx:
        return render(request, "webhooks/signal_detail.html#signal-facts", context)
    return render(request, "webhooks/signal_detail.html", context)


@login_required
@require_GET
def signal_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered signals as CSV, all of them, values exactly as received (never rounded)."""
    _, signals, _ = _filtered(request)
    return csv_response("signals.csv", CSV_COLUMNS, _csv_rows(signals))


def _csv_rows(signals) -> Iterator[list]:
    for signal in signals.iterator(chunk_size=500):
        parsed = signal.parsed
        yield [
            signal.pk,
            signal.received_at,
            signal.route.label,
            signal.status,
            signal.reason,
            parsed.get("format", ""),
            signal.action,
            signal.symbol,
            parsed.get("symbol_given", ""),
            parsed.get("timeframe", ""),
            parsed.get("price", ""),
            parsed.get("quantity", ""),
            parsed.get("fired_at", ""),
            signal.source_ip or "",
            signal.content_type,
            "" if signal.group_id is None else signal.group_id,
            " ".join(str(pk) for pk in signal.order_ids),
            signal.duplicate_of_id or "",
            signal.processed_at,
        ]
