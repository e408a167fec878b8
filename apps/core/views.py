from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core import selectors
from apps.core.csv_export import csv_response
from apps.core.event_csv import CHUNK_SIZE as CSV_CHUNK_SIZE
from apps.core.event_csv import CSV_HEADER, csv_rows
from apps.core.health import readiness
from apps.core.log_filters import read_query
from apps.core.models import Event
from apps.core.scoping import get_owned_or_404
from apps.core.subjects import describe


@login_required
def status(request: HttpRequest) -> HttpResponse:
    """For operators: every loop's last tick, how long it took and whether it is stale."""
    context = {
        "status": selectors.desk_status(now=timezone.now()),
        "stale_seconds": settings.LOOP_STALE_SECONDS,
    }
    return render(request, "core/status.html", context)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "core/settings.html")


@login_required
def logs(request: HttpRequest) -> HttpResponse:
    """The Logs page, or only its results when htmx asks (the filter form and the pager)."""
    query = read_query(request.GET, user=request.user)
    filters = query.filters
    page = selectors.events_for(
        request.user, filters=filters, cursor=query.cursor, direction=query.direction
    )
    subject = describe(filters.subject_type, filters.subject_id, user=request.user)
    params = query.params()
    context = {
        "form": query.form,
        "page": page,
        "problems": query.problems,
        "subject": subject,
        "filtered": filters.active,
        "cursor": query.cursor,
        # New events are pushed to the top only of the newest unfiltered page.
        "live": query.cursor is None and not filters.active,
        "params": params,
        "newest_params": params,
        "older_params": query.params(before=page.older),
        "newer_params": query.params(after=page.newer),
        "without_object": query.params(object=""),
    }
    template = "core/logs.html"
    if request.htmx and request.htmx.target == "log-results":
        template += "#log-results"
    return render(request, template, context)


@login_required
def logs_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every event of the filtered view (whatever page it was on), streamed: the rows are read
    from the database in chunks as the download goes, never all at once."""
    query = read_query(request.GET, user=request.user)
    events = selectors.iter_filtered_events(request.user, query.filters, chunk=CSV_CHUNK_SIZE)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_response(f"tradedesk-logs-{stamp}.csv", CSV_HEADER, csv_rows(events))


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_owned_or_404(Event, request.user, pk=pk)
    subject = describe(event.subject_type, event.subject_id, user=request.user)
    return render(request, "core/event_detail.html", {"event": event, "subject": subject})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else: a database outage never restarts it."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    ready, report = readiness(now=timezone.now())
    return JsonResponse(report, status=200 if ready else 503)
