"""Webhooks: routes (a trader's URLs), receiving signals, and processing them lane by lane."""

from apps.webhooks.services.ingest import Answer, client_ip, receive_signal
from apps.webhooks.services.processing import process_signal, sweep_loop
from apps.webhooks.services.routes import (
    create_route,
    ensure_demo_route,
    rotate_token,
    set_route_active,
    update_route,
)

__all__ = [
    "Answer",
    "client_ip",
    "create_route",
    "ensure_demo_route",
    "process_signal",
    "receive_signal",
    "rotate_token",
    "set_route_active",
    "sweep_loop",
    "update_route",
]
