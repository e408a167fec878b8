"""ASGI entry point, served by daphne: TradingView's webhook straight to its endpoint, every
other HTTP request through Django, WebSockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from apps.webhooks.views.receive import PATH as WEBHOOK_PATH  # noqa: E402
from apps.webhooks.views.receive import tradingview_webhook  # noqa: E402
from tradedesk.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                # With or without its trailing slash: TradingView posts the URL as pasted, and
                # a redirect would turn the POST into a GET.
                path(WEBHOOK_PATH, tradingview_webhook),
                path(WEBHOOK_PATH.rstrip("/"), tradingview_webhook),
                re_path(r"", django_asgi_app),
            ]
        ),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
