"""Settings → Webhook routes: create, edit, rotate and deactivate a trader's TradingView URLs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core.confirm import confirmed, refusal
from apps.core.scoping import get_owned_or_404
from apps.webhooks import selectors, services
from apps.webhooks.domain.messages import message_templates
from apps.webhooks.forms import RouteForm
from apps.webhooks.models import WebhookRoute
from apps.webhooks.views.receive import path_of


def _owned_route(request: HttpRequest, pk: int) -> WebhookRoute:
    routes = WebhookRoute.objects.select_related("owner", "account", "strategy")
    return get_owned_or_404(routes, request.user, owner_field="owner", pk=pk)


def _initial(route: WebhookRoute) -> dict:
    return {
        "label": route.label,
        "account": route.account,
        "strategy": route.strategy,
        "ip_allowlist": route.ip_allowlist,
        "max_lag_seconds": route.max_lag_seconds,
        "rate_limit_per_minute": route.rate_limit_per_minute,
        "duplicate_window_seconds": route.duplicate_window_seconds,
    }


def _save(form: RouteForm, action) -> WebhookRoute | None:
    data = dict(form.cleaned_data)
    try:
        return action(data)
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return None


@login_required
def route_list(request: HttpRequest) -> HttpResponse:
    return render(request, "webhooks/routes.html", {"routes": selectors.routes_for(request.user)})


@login_required
def route_create(request: HttpRequest) -> HttpResponse:
    form = RouteForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        route = _save(form, lambda data: services.create_route(owner=request.user, **data))
        if route is not None:
            messages.success(
                request, f"Route {route.label} created: paste its URL into TradingView."
            )
            return redirect("webhooks:route-detail", pk=route.pk)
    return render(request, "webhooks/route_form.html", {"form": form})


@login_required
def route_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The route's URL and message templates (its owner's eyes only), and its settings."""
    route = _owned_route(request, pk)
    form = RouteForm(request.POST or None, owner=request.user, route=route, initial=_initial(route))
    if request.method == "POST" and form.is_valid():

        def update(data: dict) -> WebhookRoute:
            secret = data.pop("secret")
            clear = data.pop("clear_secret", False)
            return services.update_route(route=route, new_secret=secret, clear_secret=clear, **data)

        if _save(form, update) is not None:
            messages.success(request, f"Route {form.cleaned_data['label']} saved.")
            return redirect("webhooks:route-detail", pk=route.pk)
    return _render_detail(request, route, form)


def _render_detail(request: HttpRequest, route: WebhookRoute, form=None, **extra) -> HttpResponse:
    if form is None:
        form = RouteForm(owner=request.user, route=route, initial=_initial(route))
    context = {
        "route": route,
        "form": form,
        "url": request.build_absolute_uri(path_of(route.token)),
        "templates": message_templates(has_secret=bool(route.secret)),
        "signals_url": f"{reverse('webhooks:signals')}?route={route.pk}",
    }
    return render(request, "webhooks/route_detail.html", context | extra)


# What Rotate and Deactivate break, said in their confirmation before they do it.
ROTATE_ASK = (
    "Rotate the URL of route {label}? The current URL stops working at once: every "
    "TradingView alert that still posts to it gets 404 and its signals are not recorded, until "
    "you paste the new URL into each alert. This cannot be undone."
)
DEACTIVATE_ASK = (
    "Deactivate route {label}? Its URL answers 404 to every alert from now on, and the "
    "signals it received that are still waiting (being processed, or queued for a pool slot) "
    "are rejected. You can reactivate it later; the rejected signals stay rejected."
)


def _ask(request: HttpRequest, route: WebhookRoute, kind: str, question: str) -> HttpResponse:
    """The first post only asks (200, the page with the confirmation; nothing changes)."""
    why = refusal(request, nothing="Nothing was changed")
    ask = {"kind": kind, "question": question.format(label=route.label), "why": why}
    return _render_detail(request, route, confirm_route=ask)


@login_required
@require_POST
def route_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Rotate the URL: asks first (every alert on the old URL breaks); the confirmation's post
    rotates."""
    route = _owned_route(request, pk)
    if not confirmed(request):
        return _ask(request, route, "rotate", ROTATE_ASK)
    route = services.rotate_token(route=route, now=timezone.now())
    messages.warning(
        request, f"Route {route.label} has a new URL: update your TradingView alerts with it."
    )
    return redirect("webhooks:route-detail", pk=route.pk)


@login_required
@require_POST
def route_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate asks first (waiting signals are rejected); Reactivate acts at once."""
    active = request.POST.get("active") == "1"
    route = _owned_route(request, pk)
    if not active and route.is_active and not confirmed(request):
        return _ask(request, route, "deactivate", DEACTIVATE_ASK)
    route = services.set_route_active(route=route, active=active)
    if active:
        messages.success(request, f"Route {route.label} accepts signals again.")
    else:
        messages.warning(request, f"Route {route.label} is deactivated: its URL answers 404.")
    return redirect("webhooks:route-detail", pk=route.pk)
