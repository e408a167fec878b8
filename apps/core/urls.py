from django.urls import path

from apps.core import views

app_name = "core"

urlpatterns = [
    path("logs/", views.logs, name="logs"),
    path("logs/csv", views.logs_csv, name="logs-csv"),
    path("logs/<int:pk>/", views.event_detail, name="event-detail"),
    path("settings/", views.settings_page, name="settings"),
    path("status/", views.status, name="status"),
]
