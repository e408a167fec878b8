from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core import selectors
from apps.core.health import readiness
from apps.core.models import Event
from apps.core.scoping import get_owned_or_404

# Sections of the desk that later features fill in. Each page says what it will hold, so a
# trader who clicks it learns what the desk does rather than meeting an empty screen.
SECTIONS = {
    "risk": (
        "Risk",
        "The risk engine (offsetting a losing group with winners), account guards such as the "
        "daily loss limit and maximum drawdown, and the kill switch.",
    ),
    "performance": (
        "Performance",
        "Realised and unrealised profit and loss by account, strategy and symbol.",
    ),
}


@login_required
def section(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in SECTIONS:
        raise Http404
    title, summary = SECTIONS[slug]
    return render(request, "core/section.html", {"title": title, "summary": summary, "slug": slug})


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
    return render(request, "core/logs.html", {"events": selectors.events_for(request.user)})


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_owned_or_404(Event, request.user, pk=pk)
    return render(request, "core/event_detail.html", {"event": event})


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
