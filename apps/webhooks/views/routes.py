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

from apps.core.scoping import get_owned_or_404
from apps.webhooks import selectors, services
from apps.webhooks.domain.messages import message_templates
from apps.webhooks.forms import RouteForm
from apps.webhooks.models import WebhookRoute
from apps.webhooks.views.receive import path_of


def _owned_route(request: HttpRequest, pk: int) -> WebhookRoute:
    routes = WebhookRoute.objects.select_related("owner", "account", "strategy")
    return get_owned_or_404(routes, request.user, owner_field="owner", pk=pk)


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
    initial = {
        "label": route.label,
        "account": route.account,
        "strategy": route.strategy,
        "ip_allowlist": route.ip_allowlist,
        "max_lag_seconds": route.max_lag_seconds,
        "rate_limit_per_minute": route.rate_limit_per_minute,
        "duplicate_window_seconds": route.duplicate_window_seconds,
    }
    form = RouteForm(request.POST or None, owner=request.user, route=route, initial=initial)
    if request.method == "POST" and form.is_valid():

        def update(data: dict) -> WebhookRoute:
            secret = data.pop("secret")
            clear = data.pop("clear_secret", False)
            return services.update_route(route=route, new_secret=secret, clear_secret=clear, **data)

        if _save(form, update) is not None:
            messages.success(request, f"Route {form.cleaned_data['label']} saved.")
            return redirect("webhooks:route-detail", pk=route.pk)
    context = {
        "route": route,
        "form": form,
        "url": request.build_absolute_uri(path_of(route.token)),
        "templates": message_templates(has_secret=bool(route.secret)),
        "signals_url": f"{reverse('webhooks:signals')}?route={route.pk}",
    }
    return render(request, "webhooks/route_detail.html", context)


@login_required
@require_POST
def route_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    route = services.rotate_token(route=_owned_route(request, pk), now=timezone.now())
    messages.warning(
        request, f"Route {route.label} has a new URL: update your TradingView alerts with it."
    )
    return redirect("webhooks:route-detail", pk=route.pk)


@login_required
@require_POST
def route_active(request: HttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("active") == "1"
    route = services.set_route_active(route=_owned_route(request, pk), active=active)
    if active:
        messages.success(request, f"Route {route.label} accepts signals again.")
    else:
        messages.warning(request, f"Route {route.label} is deactivated: its URL answers 404.")
    return redirect("webhooks:route-detail", pk=route.pk)
