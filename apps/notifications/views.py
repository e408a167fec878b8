from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.scoping import get_owned_or_404
from apps.notifications import selectors, services
from apps.notifications.forms import DestinationForm
from apps.notifications.models import Destination

ACTIONS = {
    "test": ("Test notification queued for {label}.", lambda d: services.send_test(destination=d)),
    "pause": ("{label} paused.", lambda d: services.set_paused(destination=d, paused=True)),
    "unpause": (
        "{label} receives notifications again.",
        lambda d: services.set_paused(destination=d, paused=False),
    ),
    "resume": (
        "{label} resumed; waiting notifications go out now.",
        lambda d: services.resume(destination=d),
    ),
}


def _page(request: HttpRequest, form: DestinationForm) -> HttpResponse:
    context = {
        "form": form,
        "destinations": selectors.destinations_for(request.user),
        "deliveries": selectors.recent_deliveries_for(request.user),
    }
    return render(request, "notifications/settings.html", context)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    form = DestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            destination = services.create_destination(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{destination.label} added.")
            return redirect("notifications:settings")
    return _page(request, form)


@login_required
def destination_edit(request: HttpRequest, pk: int) -> HttpResponse:
    destination = get_owned_or_404(Destination, request.user, owner_field="owner", pk=pk)
    form = DestinationForm(
        request.POST or None,
        destination=destination,
        initial={
            "label": destination.label,
            "email_address": destination.email_address,
            "event_kinds": destination.event_kinds,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_destination(destination=destination, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{destination.label} saved.")
            return redirect("notifications:settings")
    return render(
        request, "notifications/destination_form.html", {"form": form, "destination": destination}
    )


@login_required
@require_POST
def destination_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    destination = get_owned_or_404(Destination, request.user, owner_field="owner", pk=pk)
    if action == "remove":
        services.remove_destination(destination=destination)
        messages.success(request, f"{destination.label} removed.")
        return redirect("notifications:settings")
    if action not in ACTIONS:
        raise Http404
    text, perform = ACTIONS[action]
    perform(destination)
    destination.refresh_from_db()
    if request.htmx:
        context = {"destination": destination, "notice": text.format(label=destination.label)}
        return render(request, "notifications/settings.html#destination-row", context)
    messages.success(request, text.format(label=destination.label))
    return redirect("notifications:settings")
