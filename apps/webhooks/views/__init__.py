from apps.webhooks.views.routes import (
    route_active,
    route_create,
    route_detail,
    route_list,
    route_rotate,
)
from apps.webhooks.views.signals import signal_detail, signal_export, signal_list

__all__ = [
    "route_active",
    "route_create",
    "route_detail",
    "route_list",
    "route_rotate",
    "signal_detail",
    "signal_export",
    "signal_list",
]
