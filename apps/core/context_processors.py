from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

# The main navigation, in the order the desk is used.
NAV = [
    ("desk", "Desk", ("tickets:desk", ())),
    ("positions", "Positions", ("positions:list", ())),
    ("signals", "Signals", ("webhooks:signals", ())),
    ("queue", "Queue", ("trade_queue:queue", ())),
    ("risk", "Risk", ("risk:risk", ())),
    ("performance", "Performance", ("performance:performance", ())),
    ("logs", "Logs", ("core:logs", ())),
    ("settings", "Settings", ("core:settings", ())),
]


def desk(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    match = request.resolver_match
    current = match.url_name if match else ""
    if current == "event-detail":
        current = "logs"
    if match and match.namespace in ("exchanges", "notifications"):
        current = "settings"
    if match and match.namespace == "webhooks":
        # The Signals page and a signal's page; the route pages are settings.
        current = "signals" if match.url_name.startswith("signal") else "settings"
    if match and match.namespace == "tickets":
        current = "desk"  # the Desk and every trade's page
    if match and match.namespace == "positions":
        current = "positions"  # Positions and every position's page
    if match and match.namespace == "trade_queue":
        current = "queue"
    if match and match.namespace == "strategies":
        current = "settings"
    return {
        "nav": [
            {"key": key, "label": label, "url": reverse(name, args=args), "active": key == current}
            for key, label, (name, args) in NAV
        ]
    }
