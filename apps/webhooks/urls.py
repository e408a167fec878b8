from django.urls import path

from apps.webhooks import views

app_name = "webhooks"

urlpatterns = [
    # TradingView's URL; the trailing slash is optional (a pasted URL often loses it, and a
    # redirect would turn the POST into a GET).
    path("webhooks/tv/<str:token>/", views.receive, name="receive"),
    path("webhooks/tv/<str:token>", views.receive, name="receive-no-slash"),
    path("signals/", views.signal_list, name="signals"),
    path("signals/export.csv", views.signal_export, name="signal-export"),
    path("signals/<int:pk>/", views.signal_detail, name="signal-detail"),
    path("settings/webhooks/", views.route_list, name="route-list"),
    path("settings/webhooks/new/", views.route_create, name="route-create"),
    path("settings/webhooks/<int:pk>/", views.route_detail, name="route-detail"),
    path("settings/webhooks/<int:pk>/rotate/", views.route_rotate, name="route-rotate"),
    path("settings/webhooks/<int:pk>/active/", views.route_active, name="route-active"),
]
