from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views

admin.site.site_header = "TradeDesk operations"
admin.site.site_title = "TradeDesk admin"
admin.site.index_title = "Operations"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/exchanges/", include("apps.exchanges.urls")),
    path("settings/notifications/", include("apps.notifications.urls")),
    path("settings/strategies/", include("apps.strategies.urls")),
    # Signals, webhook routes and the webhook itself; before core's /<section>/ pages.
    path("", include("apps.webhooks.urls")),
    # The Queue & Pool page.
    path("", include("apps.trade_queue.urls")),
    # The Desk (/) and the trades.
    path("", include("apps.tickets.urls")),
    # Positions, their pages and exports.
    path("positions/", include("apps.positions.urls")),
    # The Risk page.
    path("risk/", include("apps.risk.urls")),
    # The Performance page.
    path("performance/", include("apps.performance.urls")),
    path("", include("apps.core.urls")),
]
