from django.urls import path

from apps.webhooks import views

app_name = "webhooks"

urlpatterns = [
    # TradingView's URL, /webhooks/tv/<token>/, is routed in tradedesk.asgi ahead of Django.
    path("signals/", views.signal_list, name="signals"),
    path("signals/export.csv", views.signal_export, name="signal-export"),
    path("signals/<int:pk>/", views.signal_detail, name="signal-detail"),
    path("settings/webhooks/", views.route_list, name="route-list"),
    path("settings/webhooks/new/", views.route_create, name="route-create"),
    path("settings/webhooks/<int:pk>/", views.route_detail, name="route-detail"),
    path("settings/webhooks/<int:pk>/rotate/", views.route_rotate, name="route-rotate"),
    path("settings/webhooks/<int:pk>/active/", views.route_active, name="route-active"),
]
